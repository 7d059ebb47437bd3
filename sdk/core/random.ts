// Seeded randomness (assembly/random.ts): the generator lives in the core, so a seed gives the
// same numbers on every runtime. One stream per core: every fill, sample and permutation draws
// from it in call order. Save and restore it with getRngState / setRngState for checkpoints.

import { ERR_RANK_DEFICIENT } from '../../assembly/abi';
import type { Core } from './core';
import { defaultCore } from './core';
import { NumericError, ShapeError, ValueError, formatShape } from './errors';
import { MAX_INDEX, Tensor, checkVocabulary } from './tensor';

/** Largest n for randomPermutation: indices are stored as f32, exact up to 2^24. */
const MAX_PERMUTATION = 1 << 24;
const TWO_32 = 4294967296;

/** Seeds the core's generator (xoshiro128** through splitmix32) with an integer in [0, 2^53). */
export function seed(n: number, core: Core = defaultCore()): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new ValueError(`seed: needs an integer in [0, 2^53), got ${n}`);
  core.exports.rngSeed(n % TWO_32, Math.floor(n / TWO_32));
}

/** The generator's state: four unsigned 32-bit words. */
export function getRngState(core: Core = defaultCore()): number[] {
  return [0, 1, 2, 3].map((w) => core.exports.rngGetState(w) >>> 0);
}

/** Restores a state from getRngState: four integers in [0, 2^32), not all zero. */
export function setRngState(state: readonly number[], core: Core = defaultCore()): void {
  if (!Array.isArray(state) || state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_32)) {
    throw new ValueError(`setRngState: needs four integers in [0, 2^32), got [${String(state)}]`);
  }
  if (state.every((w) => w === 0)) throw new ValueError('setRngState: the all-zero state is not a valid xoshiro128** state');
  core.exports.rngSetState(state[0]!, state[1]!, state[2]!, state[3]!);
}

/** Fills t in place with values uniform in [lo, hi) (f32 rounding can reach hi); returns t. */
export function uniform_(t: Tensor, lo = 0, hi = 1): Tensor {
  t.assertLive('uniform_');
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new ValueError(`uniform_: needs finite lo <= hi, got [${lo}, ${hi})`);
  }
  t.core.exports.randUniform(t.id, lo, hi);
  return t;
}

/** Fills t in place with normal samples of the given mean and standard deviation; returns t. */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  t.assertLive('normal_');
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) {
    throw new ValueError(`normal_: needs a finite mean and a finite std >= 0, got mean ${mean}, std ${std}`);
  }
  t.core.exports.randNormal(t.id, mean, std);
  return t;
}

/**
 * torch.nn.init.orthogonal_: t (rank >= 2, trailing dims flattened) becomes gain times a matrix
 * with orthonormal columns (rows >= cols) or orthonormal rows (rows < cols), from the QR
 * decomposition of a normal matrix. Returns t.
 */
export function orthogonal_(t: Tensor, gain = 1): Tensor {
  t.assertLive('orthogonal_');
  if (t.rank < 2) throw new ShapeError('orthogonal_', [t.shape], 'needs a tensor of rank >= 2');
  if (!Number.isFinite(gain)) throw new ValueError(`orthogonal_: gain must be finite, got ${gain}`);
  const code = t.core.exports.initOrthogonal(t.id, gain);
  if (code === ERR_RANK_DEFICIENT) throw new NumericError(`orthogonal_: the random matrix for ${formatShape(t.shape)} was numerically rank-deficient`);
  t.core.check(code, 'orthogonal_');
  return t;
}

/**
 * One sample per row of logits (..., A) from softmax over the last axis: a scratch tensor of
 * shape (...) holding class indices as floats. Logits of -Infinity (masked classes) are never
 * drawn; NaN, +Infinity or a row with no finite logit is a NumericError.
 */
export function sampleCategorical(logits: Tensor): Tensor {
  logits.assertLive('sampleCategorical');
  if (logits.rank === 0) throw new ShapeError('sampleCategorical', [logits.shape], 'logits need a last (class) axis: rank >= 1');
  const classes = logits.shape[logits.rank - 1]!;
  if (classes > MAX_INDEX) throw new ValueError(`sampleCategorical: ${classes} classes; sampled indices are f32, exact only below 2^24`);
  const v = logits.view();
  for (let row = 0; row < v.length / classes; row++) {
    let finite = false;
    for (let j = row * classes; j < (row + 1) * classes; j++) {
      const x = v[j]!;
      if (Number.isNaN(x) || x === Infinity) throw new NumericError(`sampleCategorical: logit ${x} at flat index ${j} (shape ${formatShape(logits.shape)})`);
      if (x !== -Infinity) finite = true;
    }
    if (!finite) throw new NumericError(`sampleCategorical: row ${row} has no finite logit, so no class can be drawn`);
  }
  const core = logits.core;
  return new Tensor(core, core.check(core.exports.sampleCategorical(logits.id), 'sampleCategorical'), logits.shape.slice(0, -1), core.epoch);
}

/** A scratch rank-1 tensor holding a uniformly random permutation of 0..n-1 (Fisher-Yates). */
export function randomPermutation(n: number, core: Core = defaultCore()): Tensor {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PERMUTATION) {
    throw new ValueError(`randomPermutation: n must be an integer in [1, 2^24], got ${n}`);
  }
  return new Tensor(core, core.check(core.exports.randPermutation(n), 'randomPermutation'), [n], core.epoch);
}

// ---- token sampling (assembly/sampling.ts) -------------------------------------------------------

export interface SampleTokensOptions {
  /** Divides the logits first; 0 means greedy (the first argmax; no random number is drawn). Default 1. */
  temperature?: number;
  /** Keep the k largest logits (and any tied with the k-th); 0 (default) turns it off. */
  topK?: number;
  /** Nucleus: keep the most probable tokens until the rest hold at most 1 - p (HF's rule); 1 (default) turns it off. */
  topP?: number;
}

export interface SampledTokens {
  /** The sampled token ids (...), as floats. */
  ids: Tensor;
  /** Their log-probs under the processed distribution (after temperature, top-k, top-p; 0 for greedy). */
  logProbs: Tensor;
  /** Their log-probs under the raw distribution, log_softmax(logits). */
  rawLogProbs: Tensor;
}

/**
 * One token per row of logits (..., V), drawn in the core from its seeded generator (one
 * uniform per row, rows in order), after temperature, then top-k, then top-p, as Hugging Face
 * applies them (rules, ties included, in assembly/sampling.ts). NaN, +Infinity or a row with
 * no finite logit is a NumericError.
 */
export function sampleTokens(logits: Tensor, options: SampleTokensOptions = {}): SampledTokens {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  const op = 'sampleTokens';
  logits.assertLive(op);
  if (logits.rank === 0) throw new ShapeError(op, [logits.shape], 'logits need a last (vocabulary) axis: rank >= 1');
  checkVocabulary(op, logits.shape);
  if (!Number.isFinite(temperature) || temperature < 0) throw new ValueError(`${op}: temperature must be finite and >= 0 (0: greedy), got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new ValueError(`${op}: topK must be an integer >= 0 (0: off), got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new ValueError(`${op}: topP must be in (0, 1] (1: off), got ${topP}`);
  const vocabulary = logits.shape[logits.rank - 1]!;
  const v = logits.view();
  for (let row = 0; row < v.length / vocabulary; row++) {
    let largest = 0;
    let finite = false;
    for (let j = row * vocabulary; j < (row + 1) * vocabulary; j++) {
      const x = v[j]!;
      if (Number.isNaN(x) || x === Infinity) throw new NumericError(`${op}: logit ${x} at flat index ${j} (shape ${formatShape(logits.shape)})`);
      if (x !== -Infinity) {
        finite = true;
        largest = Math.max(largest, Math.abs(x));
      }
    }
    if (!finite) throw new NumericError(`${op}: row ${row} has no finite logit, so no token can be drawn`);
    // logits / temperature must stay finite in f32
    if (temperature > 0 && !(largest / Math.fround(temperature) < 1e38)) {
      throw new ValueError(`${op}: temperature ${temperature} is too small for logits up to ${largest} (they overflow f32); use 0 for greedy`);
    }
  }
  const core = logits.core;
  const shape = logits.shape.slice(0, -1);
  const ids = Tensor.zeros(shape, { core });
  const logProbs = Tensor.zeros(shape, { core });
  const rawLogProbs = Tensor.zeros(shape, { core });
  core.check(core.exports.sampleTokens(logits.id, temperature, topK, topP, ids.id, logProbs.id, rawLogProbs.id), op);
  return { ids, logProbs, rawLogProbs };
}
