// Generation with a KV cache (sdk/nn/generate.ts) against generation that recomputes the whole
// sequence every step, against each row alone, against argmax and tokenLogProbs of the final
// sequences; seeds, stop tokens, leaks and typed errors.
//
// Why cached and recomputed log-probs agree to a few float32 ulps, not bit for bit: the fused
// attention (assembly/ops/attention.ts) works in blocks of 32 query rows, each over the keys up to
// its block's last row (width = P + i0 + n), and sums a row's softmax denominator with
// sumCanonical: 4 lanes over the first width & ~3 terms, then a serial tail. A cached step has
// one query and width P + 1; in the full pass the same query row sits in a block with a larger
// width, so the same nonzero terms (the future ones are exact zeros) fall into other lanes or
// the tail, and the sum rounds differently. The same holds for a left-padded row against the row
// alone (its keys sit at other indices). Tokens are the same (no near-ties); log-probs differ by
// at most ~5e-7 absolute (measured), checked at 1e-5 relative + 1e-6 absolute.

import { beforeAll, describe, expect, it } from 'vitest';
import { GPT, KVCache, NumericError, Tensor, ValueError, generate, init, normal_, sampleTokens, seed, type Core, type GenerateOptions, type GenerateResult } from '../sdk/index';
import { expectClose } from './util';

const CONFIG = { vocabSize: 61, nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 40 };
const PROMPTS = [[3, 14, 15, 9, 26, 5], [35], [8, 9, 7, 9]]; // different lengths: rows 1 and 2 are left-padded
const PAD = 0;

let core: Core;

beforeAll(async () => {
  core = await init();
});

/** A GPT with larger-than-GPT-2 weights, so its distributions are far from uniform (greedy has no near-ties). */
function model(seedValue = 11): GPT {
  seed(seedValue);
  const m = new GPT(CONFIG);
  for (const [name, p] of m.namedParameters()) {
    if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name.endsWith('ln_f.weight')) normal_(p, 1, 0.1);
    else if (name.endsWith('.bias')) normal_(p, 0, 0.05);
    else normal_(p, 0, 0.3);
  }
  return m;
}

/**
 * Generation by brute force: every step runs the model over the whole left-padded sequence so
 * far (no cache) and samples from its last position, with the same generator draws.
 */
function recompute(m: GPT, prompts: number[][], options: GenerateOptions): GenerateResult {
  const { maxNewTokens, temperature = 1, topK = 0, topP = 1, stopTokenIds = [] } = options;
  const pad = options.padTokenId ?? stopTokenIds[0] ?? PAD;
  if (options.seed !== undefined) seed(options.seed);
  const L = Math.max(...prompts.map((p) => p.length));
  const sequences = prompts.map((p) => [...Array<number>(L - p.length).fill(pad), ...p]);
  const attentionMask = prompts.map((p) => [...Array<number>(L - p.length).fill(0), ...Array<number>(p.length).fill(1)]);
  const out: GenerateResult = { completions: prompts.map(() => []), logProbs: prompts.map(() => []), rawLogProbs: prompts.map(() => []), finishReasons: prompts.map(() => 'length'), promptLength: L, sequences, attentionMask };
  const done = prompts.map(() => false);
  for (let step = 0; step < maxNewTokens && !done.every(Boolean); step++) {
    const T = L + step;
    const logits = m.forward(sequences, { attentionMask }).narrow(1, T - 1, 1).reshape([prompts.length, CONFIG.vocabSize]);
    const s = sampleTokens(logits, { temperature, topK, topP });
    const [ids, lp, raw] = [s.ids.toArray(), s.logProbs.toArray(), s.rawLogProbs.toArray()];
    prompts.forEach((_, b) => {
      sequences[b]!.push(done[b] ? pad : ids[b]!);
      attentionMask[b]!.push(done[b] ? 0 : 1);
      if (done[b]) return;
      out.completions[b]!.push(ids[b]!);
      out.logProbs[b]!.push(lp[b]!);
      out.rawLogProbs[b]!.push(raw[b]!);
      if (stopTokenIds.includes(ids[b]!)) [done[b], out.finishReasons[b]] = [true, 'stop'];
    });
    core.endStep();
  }
  return out;
}

const f32 = (rows: number[][]): Float32Array => new Float32Array(rows.flat());

describe('generate', () => {
  it('with the KV cache equals recomputing the whole sequence every step: same tokens, same log-prob bits', () => {
    const m = model();
    for (const options of [
      { maxNewTokens: 12, seed: 5, temperature: 0.9, topK: 20, topP: 0.95 },
      { maxNewTokens: 12, seed: 6, temperature: 1.3 },
      { maxNewTokens: 10, temperature: 0 },
    ]) {
      const cached = generate(m, PROMPTS, options);
      const full = recompute(m, PROMPTS, options);
      expect(cached.completions, JSON.stringify(options)).toEqual(full.completions);
      // TOLERANCE: not bit for bit (see the note at the top of this file): a few float32 ulps.
      expectClose(f32(cached.logProbs), f32(full.logProbs), 'processed log-probs', 1e-5, 1e-6);
      expectClose(f32(cached.rawLogProbs), f32(full.rawLogProbs), 'raw log-probs', 1e-5, 1e-6);
      expect(cached.sequences).toEqual(full.sequences);
      expect(cached.attentionMask).toEqual(full.attentionMask);
    }
    m.free();
  });

  it('a left-padded batch gives each row what it gives alone (greedy)', () => {
    const m = model();
    const batch = generate(m, PROMPTS, { maxNewTokens: 10, temperature: 0 });
    PROMPTS.forEach((prompt, b) => {
      const alone = generate(m, [prompt], { maxNewTokens: 10, temperature: 0 });
      expect(batch.completions[b], `row ${b}`).toEqual(alone.completions[0]);
      expectClose(batch.rawLogProbs[b]!, alone.rawLogProbs[0]!, `row ${b}`, 1e-5, 1e-6);
    });
    // Sampling draws one uniform per row per step, rows in order, so a sampled row depends on its
    // place in the batch; with one row, the batch's draws are the row's.
    m.free();
  });

  it('the same seed gives the same tokens; other seeds give other tokens', () => {
    const m = model();
    const options = { maxNewTokens: 16, temperature: 1.5 };
    const a = generate(m, PROMPTS, { ...options, seed: 1 });
    const b = generate(m, PROMPTS, { ...options, seed: 1 });
    expect(b.completions).toEqual(a.completions);
    expect(f32(b.logProbs)).toEqual(f32(a.logProbs));
    for (const other of [2, 3]) expect(generate(m, PROMPTS, { ...options, seed: other }).completions).not.toEqual(a.completions);
    m.free();
  });

  it('temperature 0 is greedy: each token is the argmax of the full recompute, with processed log-prob 0', () => {
    const m = model();
    const out = generate(m, PROMPTS, { maxNewTokens: 8, temperature: 0 });
    const L = out.promptLength;
    const argmax = m.forward(out.sequences, { attentionMask: out.attentionMask }).argmax().toArray(); // (B, L + 8)
    PROMPTS.forEach((_, b) => {
      const width = out.sequences[b]!.length;
      const expected = out.completions[b]!.map((_, n) => argmax[b * width + L - 1 + n]!);
      expect(out.completions[b]).toEqual(expected);
      expect(out.logProbs[b]!.every((x) => x === 0)).toBe(true);
    });
    core.endStep();
    m.free();
  });

  it('stop tokens finish a row (kept in its completion, then padding and mask 0); the rest run to maxNewTokens', () => {
    const m = model();
    const greedy = generate(m, PROMPTS, { maxNewTokens: 8, temperature: 0 });
    // a stop token that row 0 hits at step 3 and that no other row produces before then
    const stop = greedy.completions[0]![3]!;
    const firstHit = greedy.completions.map((c) => c.indexOf(stop));
    const out = generate(m, PROMPTS, { maxNewTokens: 8, temperature: 0, stopTokenIds: [stop], padTokenId: PAD });
    PROMPTS.forEach((_, b) => {
      const n = firstHit[b]!;
      if (n >= 0) {
        expect(out.finishReasons[b]).toBe('stop');
        expect(out.completions[b]).toEqual(greedy.completions[b]!.slice(0, n + 1));
        expect(out.completions[b]!.at(-1)).toBe(stop);
      } else {
        expect(out.finishReasons[b]).toBe('length');
        expect(out.completions[b]).toEqual(greedy.completions[b]);
      }
      expect(out.logProbs[b]).toHaveLength(out.completions[b]!.length);
      expect(out.rawLogProbs[b]).toHaveLength(out.completions[b]!.length);
      // after the stop: padding, masked out
      const tail = out.sequences[b]!.slice(out.promptLength + out.completions[b]!.length);
      expect(tail.every((id) => id === PAD)).toBe(true);
      expect(out.attentionMask[b]!.slice(out.promptLength + out.completions[b]!.length).every((x) => x === 0)).toBe(true);
    });
    expect(out.finishReasons[0]).toBe('stop');
    // every row stopped: generation ends early
    const all = generate(m, [[5], [5]], { maxNewTokens: 8, temperature: 0, stopTokenIds: [generate(m, [[5]], { maxNewTokens: 1, temperature: 0 }).completions[0]![0]!] });
    expect(all.completions).toEqual([[all.completions[0]![0]], [all.completions[0]![0]]]);
    expect(all.finishReasons).toEqual(['stop', 'stop']);
    expect(all.sequences[0]).toHaveLength(2);
    m.free();
  });

  it('log-probs equal tokenLogProbs of the final sequences: raw under log_softmax(logits), processed under log_softmax(logits / T)', () => {
    const m = model();
    const temperature = 0.7;
    const out = generate(m, PROMPTS, { maxNewTokens: 9, seed: 9, temperature });
    const logits = m.forward(out.sequences, { attentionMask: out.attentionMask }); // (B, W, V)
    const [B, W] = logits.shape as [number, number];
    const targets = Tensor.from(out.sequences.flatMap((row) => [...row.slice(1), PAD]), [B, W]);
    const raw = logits.tokenLogProbs(targets).toArray();
    const processed = logits.div(temperature).tokenLogProbs(targets).toArray();
    const L = out.promptLength;
    PROMPTS.forEach((_, b) => {
      const at = (xs: Float32Array) => out.completions[b]!.map((_, n) => xs[b * W + L - 1 + n]!);
      // the same row's logits through another op (a whole-sequence pass, then the fused
      // tokenLogProbs instead of the sampler's log-softmax): equal up to float32 rounding
      expectClose(out.rawLogProbs[b]!, at(raw), `raw log-probs, row ${b}`, 1e-5, 1e-6);
      expectClose(out.logProbs[b]!, at(processed), `processed log-probs, row ${b}`, 1e-5, 1e-6);
    });
    core.endStep();
    m.free();
  });

  it('frees every persistent tensor of its cache, on return and on error', () => {
    const m = model();
    generate(m, PROMPTS, { maxNewTokens: 4, temperature: 0 }); // warm: the tensor table and arena exist
    const before = core.exports.persistentBytes();
    generate(m, PROMPTS, { maxNewTokens: 20, seed: 3 });
    expect(core.exports.persistentBytes()).toBe(before);
    expect(core.exports.scratchTensorCount()).toBe(0); // each step's scratch tensors went at endStep()
    // an error inside the loop: a NaN weight makes the sampler refuse the logits
    const head = m.lmHeadWeight;
    const saved = head.toArray();
    head.set(new Float32Array(head.size).fill(Number.NaN));
    expect(() => generate(m, PROMPTS, { maxNewTokens: 4 })).toThrow(NumericError);
    expect(core.exports.persistentBytes()).toBe(before);
    head.set(saved);
    // a cache made by hand is freed by hand
    const cache = new KVCache(m.config, 2, 8);
    expect(core.exports.persistentBytes()).toBeGreaterThan(before);
    cache.free();
    cache.free(); // twice is fine
    expect(core.exports.persistentBytes()).toBe(before);
    expect(() => m.hiddenCached([[1]], { cache, positionIds: [[0]], attentionMask: [[1]] })).toThrow(ValueError);
    m.free();
  });

  it('refuses bad prompts and options with a ValueError naming the problem', () => {
    const m = model();
    const bad: [unknown, GenerateOptions | unknown, RegExp][] = [
      [[], { maxNewTokens: 1 }, /non-empty array/],
      [[[1], []], { maxNewTokens: 1 }, /prompt 1 is empty/],
      [[[1, 61]], { maxNewTokens: 1 }, /prompt 0 token 1 is 61, not a token id in \[0, 61\)/],
      [[[1, 2.5]], { maxNewTokens: 1 }, /prompt 0 token 1/],
      [[[1, -1]], { maxNewTokens: 1 }, /prompt 0 token 1/],
      [[Array(30).fill(1)], { maxNewTokens: 11 }, /30 tokens\) \+ maxNewTokens \(11\) exceeds the model's nPositions \(40\)/],
      [[[1]], { maxNewTokens: 0 }, /maxNewTokens must be an integer >= 1/],
      [[[1]], {}, /maxNewTokens/],
      [[[1]], undefined, /options must be an object/],
      [[[1]], { maxNewTokens: 1, temperature: -1 }, /temperature/],
      [[[1]], { maxNewTokens: 1, temperature: Number.NaN }, /temperature/],
      [[[1]], { maxNewTokens: 1, topK: 1.5 }, /topK/],
      [[[1]], { maxNewTokens: 1, topP: 0 }, /topP/],
      [[[1]], { maxNewTokens: 1, topP: 1.5 }, /topP/],
      [[[1]], { maxNewTokens: 1, seed: -1 }, /seed/],
      [[[1]], { maxNewTokens: 1, stopTokenIds: [99] }, /stopTokenIds is 99/],
      [[[1]], { maxNewTokens: 1, padTokenId: 61 }, /padTokenId is 61/],
    ];
    for (const [prompts, options, message] of bad) {
      expect(() => generate(m, prompts as number[][], options as GenerateOptions), String(message)).toThrow(ValueError);
      expect(() => generate(m, prompts as number[][], options as GenerateOptions), String(message)).toThrow(message);
    }
    // the longest prompt that fits, with the most tokens that fit
    expect(generate(m, [Array(30).fill(1)], { maxNewTokens: 10, temperature: 0 }).completions[0]).toHaveLength(10);
    m.free();
  });
});
