// The seeded PRNG (assembly/random.ts, sdk/core/random.ts): reproducibility, checkpointed state,
// distributions (with fixed seeds, so every bound below is checked against one fixed sample
// and the test is deterministic; bounds are ~5 standard errors, so a correct generator passes
// and a biased one fails), orthogonal init, categorical sampling and permutations.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Tensor, ShapeError, ValueError, NumericError, type Core,
  seed, getRngState, setRngState, uniform_, normal_, orthogonal_, sampleCategorical, randomPermutation,
} from '../sdk/index';
import { expectClose, expectBitwiseEqual, loadCores } from './util';

let simd: Core;
let scalar: Core;
beforeAll(async () => {
  ({ simd, scalar } = await loadCores());
});
afterEach(() => {
  simd.endStep();
  scalar.endStep();
});

/** A mixed draw from every generator function: the stream a training run would consume. */
function drawAll(core: Core): Float32Array {
  const u = uniform_(Tensor.zeros([37], { core }), -2, 3).toArray();
  const z = normal_(Tensor.zeros([41], { core }), 1, 2).toArray();
  const q = orthogonal_(Tensor.zeros([6, 4], { core }), 1.5).toArray();
  const logits = Tensor.from([0, 1, 2, -1, 0.5, 3, 0, 0, 0], [3, 3], { core });
  const c = sampleCategorical(logits).toArray();
  const perm = randomPermutation(23, core).toArray();
  return Float32Array.from([...u, ...z, ...q, ...c, ...perm]);
}

function moments(x: Float32Array): { mean: number; variance: number; skew: number; kurtosis: number } {
  const n = x.length;
  let mean = 0;
  for (const v of x) mean += v;
  mean /= n;
  let m2 = 0, m3 = 0, m4 = 0;
  for (const v of x) {
    const d = v - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return { mean, variance: m2, skew: m3 / m2 ** 1.5, kurtosis: m4 / (m2 * m2) };
}

/** Pearson's chi-square statistic of observed counts against expected counts. */
function chiSquare(observed: number[], expected: number[]): number {
  return observed.reduce((s, o, i) => s + (o - expected[i]!) ** 2 / expected[i]!, 0);
}

describe('reproducibility', () => {
  it('the same seed gives the same stream; another seed (lo or hi word) another stream', () => {
    seed(42, simd);
    const a = drawAll(simd);
    seed(42, simd);
    const b = drawAll(simd);
    expectBitwiseEqual(a, b, 'seed 42 twice');
    for (const other of [43, 42 + 2 ** 32]) {
      seed(other, simd);
      const c = drawAll(simd);
      expect(c.some((v, i) => v !== a[i]), `seed ${other} differs from seed 42`).toBe(true);
    }
  });

  it('saving and restoring the state reproduces the stream from that point', () => {
    seed(7, simd);
    drawAll(simd); // advance somewhere
    const state = getRngState(simd);
    expect(state).toHaveLength(4);
    for (const w of state) expect(Number.isInteger(w) && w >= 0 && w < 2 ** 32).toBe(true);
    const first = drawAll(simd);
    expect(getRngState(simd)).not.toEqual(state);
    setRngState(state, simd);
    expectBitwiseEqual(drawAll(simd), first, 'after restore');
  });

  it('the SIMD and scalar builds give the same bits for the same seed', () => {
    seed(2024, simd);
    seed(2024, scalar);
    expectBitwiseEqual(drawAll(simd), drawAll(scalar), 'simd vs scalar');
    expect(getRngState(simd)).toEqual(getRngState(scalar));
  });

  it('refuses bad seeds and states with ValueError', () => {
    expect(() => seed(-1, simd)).toThrow(ValueError);
    expect(() => seed(1.5, simd)).toThrow(ValueError);
    expect(() => seed(2 ** 53, simd)).toThrow(ValueError);
    expect(() => setRngState([1, 2, 3], simd)).toThrow(ValueError);
    expect(() => setRngState([1, 2, 3, 2 ** 32], simd)).toThrow(ValueError);
    expect(() => setRngState([0, 0, 0, 0], simd)).toThrow(/all-zero/);
  });
});

describe('distributions', () => {
  const N = 200_000;

  it('uniform_: in range, mean 1/2 and variance 1/12 after scaling, flat histogram', () => {
    seed(1, simd);
    const t = Tensor.zeros([N], { core: simd });
    uniform_(t, -2, 3);
    const x = t.toArray();
    for (const v of x) if (!(v >= -2 && v <= 3)) expect.fail(`value ${v} outside [-2, 3]`);
    const u = x.map((v) => (v + 2) / 5);
    const m = moments(u);
    expect(Math.abs(m.mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N)); // 5 standard errors
    expect(Math.abs(m.variance - 1 / 12)).toBeLessThan(5 * Math.sqrt((1 / 80 - 1 / 144) / N));
    const bins = new Array(20).fill(0);
    for (const v of u) bins[Math.min(19, Math.floor(v * 20))]++;
    // chi-square with 19 degrees of freedom: P(> 50) ~ 1e-4
    expect(chiSquare(bins, new Array(20).fill(N / 20))).toBeLessThan(50);
  });

  it('normal_: mean, variance, skewness and kurtosis of a normal', () => {
    seed(2, simd);
    const t = Tensor.zeros([N + 1], { core: simd }); // odd size: the last pair is cut in half
    normal_(t, 0, 1);
    const m = moments(t.toArray());
    // standard errors: mean 1/sqrt(N), variance sqrt(2/N), skewness sqrt(6/N), kurtosis sqrt(24/N)
    expect(Math.abs(m.mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(m.variance - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    expect(Math.abs(m.skew)).toBeLessThan(5 * Math.sqrt(6 / N));
    expect(Math.abs(m.kurtosis - 3)).toBeLessThan(5 * Math.sqrt(24 / N));
    // mean and std are applied
    const s = Tensor.zeros([N], { core: simd });
    normal_(s, 2, 0.5);
    const ms = moments(s.toArray());
    expect(Math.abs(ms.mean - 2)).toBeLessThan(5 * 0.5 / Math.sqrt(N));
    expect(Math.abs(Math.sqrt(ms.variance) - 0.5)).toBeLessThan(5 * 0.5 / Math.sqrt(2 * N));
  });

  it('refuses bad ranges with ValueError', () => {
    const t = Tensor.zeros([3], { core: simd });
    expect(() => uniform_(t, 1, 0)).toThrow(ValueError);
    expect(() => uniform_(t, 0, Infinity)).toThrow(ValueError);
    expect(() => normal_(t, 0, -1)).toThrow(ValueError);
    expect(() => normal_(t, NaN, 1)).toThrow(ValueError);
  });
});

describe('orthogonal_', () => {
  for (const [shape, gain] of [[[8, 8], 1], [[16, 5], 2], [[5, 16], 1], [[3, 4, 5], 0.5], [[64, 64], Math.SQRT2]] as [number[], number][]) {
    it(`shape [${shape}], gain ${gain}: W^T W (tall) or W W^T (wide) is gain^2 I`, () => {
      seed(3, simd);
      const t = orthogonal_(Tensor.zeros(shape, { core: simd }), gain);
      const rows = shape[0]!, cols = t.size / rows;
      const w = t.toArray();
      const k = Math.min(rows, cols);
      const gram = new Float64Array(k * k);
      for (let a = 0; a < k; a++) {
        for (let b = 0; b < k; b++) {
          let s = 0;
          if (rows >= cols) for (let r = 0; r < rows; r++) s += w[r * cols + a]! * w[r * cols + b]!;
          else for (let c = 0; c < cols; c++) s += w[a * cols + c]! * w[b * cols + c]!;
          gram[a * k + b] = s;
        }
      }
      const expected = Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? gain * gain : 0));
      // entries are rounded to f32 (relative 6e-8): a dot product of up to 64 of them is off by < 1e-6
      expectClose(gram, expected, 'gram', 0, 2e-6 * gain * gain);
      // a random rotation, not the identity or a permutation of it
      expect(w.filter((v) => Math.abs(v) > 1e-3).length).toBeGreaterThan(rows * cols / 2);
    });
  }

  it('refuses rank-1 tensors and infinite gains', () => {
    expect(() => orthogonal_(Tensor.zeros([4], { core: simd }))).toThrow(ShapeError);
    expect(() => orthogonal_(Tensor.zeros([2, 2], { core: simd }), Infinity)).toThrow(ValueError);
  });
});

describe('sampleCategorical', () => {
  it('sample frequencies match the softmax probabilities (chi-square, fixed seed)', () => {
    seed(4, simd);
    const logits = [1, 0.5, -1, 2, 0];
    const rows = 50_000, classes = logits.length;
    const data = new Float32Array(rows * classes);
    for (let r = 0; r < rows; r++) data.set(logits, r * classes);
    const samples = sampleCategorical(Tensor.from(data, [rows, classes], { core: simd })).toArray();
    expect(samples.length).toBe(rows);
    const counts = new Array(classes).fill(0);
    for (const s of samples) counts[s]++;
    const z = logits.reduce((acc, x) => acc + Math.exp(x), 0);
    const expected = logits.map((x) => (rows * Math.exp(x)) / z);
    // chi-square with 4 degrees of freedom: P(> 25) ~ 5e-5
    expect(chiSquare(counts, expected)).toBeLessThan(25);
  });

  it('never draws a masked (-Infinity) class, keeps shape[:-1], and follows a near-certain logit', () => {
    seed(5, simd);
    const rows = 2000;
    const data = new Float32Array(rows * 4);
    for (let r = 0; r < rows; r++) data.set(r % 2 ? [0, -Infinity, 0, -Infinity] : [-50, 50, -50, -50], r * 4);
    const s = sampleCategorical(Tensor.from(data, [rows / 2, 2, 4], { core: simd }));
    expect(s.shape).toEqual([rows / 2, 2]);
    const v = s.toArray();
    for (let r = 0; r < rows; r++) {
      if (r % 2) expect([0, 2]).toContain(v[r]);
      else expect(v[r]).toBe(1);
    }
    // both unmasked classes of the masked rows do occur
    const odd = Array.from(v).filter((_, r) => r % 2);
    expect(odd.filter((x) => x === 0).length).toBeGreaterThan(400);
    expect(odd.filter((x) => x === 2).length).toBeGreaterThan(400);
    // rank 1 logits: one sample, rank 0
    expect(sampleCategorical(Tensor.from([0, 0, 0], [3], { core: simd })).shape).toEqual([]);
  });

  it('refuses NaN logits, rows without a finite logit and rank 0 with typed errors', () => {
    expect(() => sampleCategorical(Tensor.from([0, NaN], [2], { core: simd }))).toThrow(NumericError);
    expect(() => sampleCategorical(Tensor.from([0, Infinity], [2], { core: simd }))).toThrow(NumericError);
    expect(() => sampleCategorical(Tensor.from([0, 0, -Infinity, -Infinity], [2, 2], { core: simd }))).toThrow(/row 1/);
    expect(() => sampleCategorical(Tensor.scalar(1, { core: simd }))).toThrow(ShapeError);
  });
});

describe('randomPermutation', () => {
  for (const n of [1, 2, 5, 17, 1000]) {
    it(`is a permutation of 0..${n - 1}`, () => {
      seed(6, simd);
      const p = randomPermutation(n, simd);
      expect(p.shape).toEqual([n]);
      const sorted = Array.from(p.toArray()).sort((a, b) => a - b);
      expect(sorted).toEqual(Array.from({ length: n }, (_, i) => i));
    });
  }

  it('draws all 24 permutations of 4 elements equally often (chi-square, fixed seed)', () => {
    seed(8, simd);
    const draws = 24_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < draws; i++) {
      const key = Array.from(randomPermutation(4, simd).toArray()).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (i % 1000 === 999) simd.endStep();
    }
    expect(counts.size).toBe(24);
    // chi-square with 23 degrees of freedom: P(> 55) ~ 2e-4
    expect(chiSquare([...counts.values()], new Array(24).fill(draws / 24))).toBeLessThan(55);
  });

  it('refuses sizes outside [1, 2^24] with ValueError', () => {
    for (const n of [0, -1, 2.5, 2 ** 24 + 1]) expect(() => randomPermutation(n, simd)).toThrow(ValueError);
  });
});
