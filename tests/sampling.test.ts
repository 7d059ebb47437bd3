// argmax and token sampling (assembly/sampling.ts, sampleTokens in sdk/core/random.ts):
//   - argmax against a plain first-max reference, ties and NaN;
//   - each draw reproduced from the same uniforms (the core's stream re-seeded and read with
//     uniform_) through a float64 reference of the processed distribution
//     (tests/reference/cross_entropy.ts: temperature, top-k, top-p as Hugging Face applies them);
//   - both log-probs against float64; SIMD vs scalar bit for bit; greedy and its RNG use;
//   - frequencies over many draws; ties at the top-k threshold; masked tokens; typed errors.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NumericError, ShapeError, Tensor, ValueError, getRngState, sampleTokens, seed, uniform_, type Core } from '../sdk/index';
import { logSoftmaxRow, processedDistributionRef, type SamplingRefOptions } from './reference/cross_entropy';
import { expectBitwiseEqual, expectClose, loadCores, randomData } from './util';

let cores: { simd: Core; scalar: Core };
beforeAll(async () => {
  cores = await loadCores();
});
afterEach(() => {
  cores.simd.endStep();
  cores.scalar.endStep();
});

describe('argmax', () => {
  it.each([[[1, 1]], [[4, 7]], [[2, 3, 33]], [[5]]])('shape %j: the first index of the max, both builds', (shape) => {
    const v = shape[shape.length - 1]!;
    const n = shape.reduce((p, d) => p * d, 1);
    // coarse values so that ties occur
    const x = randomData(n, v + n).map((a) => Math.round(a * 3));
    const expected: number[] = [];
    for (let r = 0; r < n / v; r++) {
      let best = 0;
      for (let j = 1; j < v; j++) if (x[r * v + j]! > x[r * v + best]!) best = j;
      expected.push(best);
    }
    const results = [cores.simd, cores.scalar].map((core) => Tensor.from(x, shape, { core }).argmax());
    expect(results[0]!.shape).toEqual(shape.slice(0, -1));
    expect(Array.from(results[0]!.toArray())).toEqual(expected);
    expectBitwiseEqual(results[1]!.toArray(), results[0]!.toArray(), 'argmax simd vs scalar');
  });

  it('counts NaN as the largest and -Infinity as the smallest', () => {
    expect(Array.from(Tensor.from([1, NaN, 5, NaN, -Infinity, -Infinity, -3, -Infinity], [2, 4]).argmax().toArray())).toEqual([1, 2]);
  });
});

const N = 64;

/** Logits (N, V) with a spread of scales, a few masked (-inf) per row. */
function logitsOf(v: number, seedValue: number): Float64Array {
  const x = randomData(N * v, seedValue, -4, 4);
  for (let r = 0; r < N; r++) if (v > 3) x[r * v + ((r * 7) % v)] = -Infinity;
  return x;
}

/** The index inverse-CDF picks for u, and how close u * total came to a boundary. */
function pickRef(p: Float64Array, u: number): { id: number; margin: number } {
  let running = 0;
  let margin = Infinity;
  let id = -1;
  for (let j = 0; j < p.length; j++) {
    running += p[j]!;
    if (p[j]! > 0) margin = Math.min(margin, Math.abs(running - u));
    if (id < 0 && u < running) id = j;
  }
  return { id, margin };
}

describe('sampleTokens reproduces each draw and its log-probs', () => {
  const cases: [number, SamplingRefOptions][] = [
    [1, { temperature: 1, topK: 0, topP: 1 }],
    [7, { temperature: 1, topK: 0, topP: 1 }],
    [50, { temperature: 0.7, topK: 5, topP: 1 }],
    [50, { temperature: 1, topK: 0, topP: 0.9 }],
    [50, { temperature: 1.3, topK: 10, topP: 0.8 }],
    [1000, { temperature: 0.5, topK: 50, topP: 0.95 }],
    [33, { temperature: 2, topK: 40, topP: 0.5 }],
  ];
  it.each(cases)('V %i, %j', (v, o) => {
    const x = logitsOf(v, v);
    const results = [cores.simd, cores.scalar].map((core) => {
      seed(1234, core);
      const s = sampleTokens(Tensor.from(x, [N, v], { core }), o);
      return { ids: s.ids.toArray(), logp: s.logProbs.toArray(), raw: s.rawLogProbs.toArray() };
    });
    const [simd, scalar] = results as [(typeof results)[0], (typeof results)[0]];
    expectBitwiseEqual(scalar.ids, simd.ids, 'ids simd vs scalar');
    expectBitwiseEqual(scalar.logp, simd.logp, 'logp simd vs scalar');
    expectBitwiseEqual(scalar.raw, simd.raw, 'raw logp simd vs scalar');

    // the same uniforms: one per row, in order, from the re-seeded stream
    seed(1234, cores.simd);
    const u = uniform_(Tensor.zeros([N])).toArray();
    let checked = 0;
    for (let r = 0; r < N; r++) {
      const row = x.subarray(r * v, (r + 1) * v);
      const p = processedDistributionRef(row, o);
      const id = simd.ids[r]!;
      expect(p[id], `row ${r}: token ${id} is outside the processed support`).toBeGreaterThan(0);
      const pick = pickRef(p, u[r]!);
      if (pick.margin > 1e-5) {
        expect(id, `row ${r}`).toBe(pick.id);
        checked++;
      }
      expect(simd.logp[r]).toBeCloseTo(Math.log(p[id]!), 4);
      expect(simd.raw[r]).toBeCloseTo(logSoftmaxRow(row)[id]!, 4);
    }
    expect(checked).toBeGreaterThan(N - 4);
  });
});

describe('sampleTokens rules', () => {
  it('temperature 0 is greedy: argmax, processed log-prob 0, no random number drawn', () => {
    const x = logitsOf(20, 3);
    const logits = Tensor.from(x, [N, 20]);
    const before = getRngState();
    const s = sampleTokens(logits, { temperature: 0, topK: 3, topP: 0.5 });
    expect(getRngState()).toEqual(before);
    expect(Array.from(s.ids.toArray())).toEqual(Array.from(logits.argmax().toArray()));
    expect(Array.from(s.logProbs.toArray()).every((l) => l === 0)).toBe(true);
    const raw = s.rawLogProbs.toArray();
    for (let r = 0; r < N; r++) expect(raw[r]).toBeCloseTo(logSoftmaxRow(x.subarray(r * 20, r * 20 + 20))[s.ids.toArray()[r]!]!, 5);
  });

  it('top-k 1 is greedy, whatever the temperature', () => {
    const logits = Tensor.from(logitsOf(30, 4), [N, 30]);
    const s = sampleTokens(logits, { temperature: 5, topK: 1 });
    expect(Array.from(s.ids.toArray())).toEqual(Array.from(logits.argmax().toArray()));
    expect(Array.from(s.logProbs.toArray()).every((l) => l === 0)).toBe(true);
  });

  it('keeps every token tied with the k-th largest', () => {
    // k = 2: the 2nd largest value 1 is shared by tokens 1, 3 and 4, so four tokens stay
    const row = [3, 1, 0, 1, 1, -2];
    const x = Array.from({ length: 400 }, () => row).flat();
    seed(5);
    const ids = sampleTokens(Tensor.from(x, [400, 6]), { topK: 2 }).ids.toArray();
    const seen = new Set(ids);
    expect([...seen].sort()).toEqual([0, 1, 3, 4]);
  });

  it('draws with the processed frequencies', () => {
    const v = 12, n = 20000;
    const row = Array.from(randomData(v, 77, -2, 2));
    const o = { temperature: 0.8, topK: 8, topP: 0.9 };
    const p = processedDistributionRef(row, o);
    seed(99);
    const ids = sampleTokens(Tensor.from(Array.from({ length: n }, () => row).flat(), [n, v]), o).ids.toArray();
    const counts = new Float64Array(v);
    for (const id of ids) counts[id]!++;
    for (let j = 0; j < v; j++) {
      const sigma = Math.sqrt((p[j]! * (1 - p[j]!)) / n);
      expect(Math.abs(counts[j]! / n - p[j]!), `token ${j}: p ${p[j]}`).toBeLessThanOrEqual(5 * sigma + 1e-9);
    }
  });

  it('never draws a masked (-Infinity) token, and is reproducible from the seed', () => {
    const x = logitsOf(16, 8);
    const draw = () => {
      seed(42);
      return sampleTokens(Tensor.from(x, [N, 16]), { temperature: 1.5 }).ids.toArray();
    };
    const a = draw(), b = draw();
    expectBitwiseEqual(a, b, 'same seed');
    for (let r = 0; r < N; r++) expect(x[r * 16 + a[r]!]).not.toBe(-Infinity);
    seed(43);
    expect(Array.from(sampleTokens(Tensor.from(x, [N, 16]), { temperature: 1.5 }).ids.toArray())).not.toEqual(Array.from(a));
  });

  it('processed and raw log-probs agree without processing', () => {
    const x = logitsOf(25, 9);
    const s = sampleTokens(Tensor.from(x, [N, 25]));
    expectClose(s.logProbs.toArray(), s.rawLogProbs.toArray(), 'plain sampling', 0, 1e-6);
  });
});

describe('errors', () => {
  it('refuses bad logits and options with typed errors', () => {
    const logits = Tensor.zeros([2, 5]);
    expect(() => sampleTokens(Tensor.from([0, NaN, 1, 2], [2, 2]))).toThrow(NumericError);
    expect(() => sampleTokens(Tensor.from([0, Infinity, 1, 2], [2, 2]))).toThrow(NumericError);
    expect(() => sampleTokens(Tensor.from([0, 1, -Infinity, -Infinity], [2, 2]))).toThrow(/no finite logit/);
    expect(() => sampleTokens(logits, { temperature: -1 })).toThrow(ValueError);
    expect(() => sampleTokens(logits, { temperature: NaN })).toThrow(ValueError);
    expect(() => sampleTokens(logits, { topK: -1 })).toThrow(ValueError);
    expect(() => sampleTokens(logits, { topK: 1.5 })).toThrow(ValueError);
    expect(() => sampleTokens(logits, { topP: 0 })).toThrow(ValueError);
    expect(() => sampleTokens(logits, { topP: 1.01 })).toThrow(ValueError);
    expect(() => sampleTokens(Tensor.from([100, 1], [1, 2]), { temperature: 1e-38 })).toThrow(/too small/);
    expect(() => sampleTokens(Tensor.scalar(1))).toThrow(ShapeError);
  });

  it('refuses vocabularies of 2^24 or more (ids are f32)', () => {
    const big = Tensor.zeros([1, 2 ** 24]);
    expect(() => big.argmax()).toThrow(/2\^24/);
    expect(() => sampleTokens(big)).toThrow(ValueError);
    expect(() => big.tokenLogProbs(Tensor.zeros([1]))).toThrow(ValueError);
    expect(() => big.crossEntropy(Tensor.zeros([1]))).toThrow(ValueError);
  });
});
