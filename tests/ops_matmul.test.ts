// Matmul: forward against a float64 reference, the documented summation order bit for bit,
// gradients of both operands against central finite differences, the SIMD and scalar builds
// bitwise equal, shape errors, and memory that does not grow from step to step.
//
// Tolerances. The core sums K products in f32, in order; the classic bound (Higham, Accuracy
// and Stability of Numerical Algorithms, 3.1) for such a sum against the exact one is
//   |computed - exact| <= gamma(K) * sum_p |a_p b_p|,   gamma(n) = n u / (1 - n u), u = 2^-24,
// which counts the rounding of every product and every addition. Each element is checked
// against its own bound (the sum of |terms| comes from the same float64 reference run on
// absolute values), so the check stays tight for every shape instead of one loose rtol.

import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, Tensor, type Core } from '../sdk/index';
import { expectBitwiseEqual, finiteDiff, loadCores, randomData, TAIL_SIZES } from './util';

let simd: Core;
let scalar: Core;
beforeAll(async () => {
  ({ simd, scalar } = await loadCores());
});

const SIZES = [...TAIL_SIZES, 64, 65]; // 1, 3, 5, 17, 33, 64, 65
const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

/** Unit roundoff of f32. */
const U = 2 ** -24;
/** Higham's gamma(n): the relative error bound of n successive f32 roundings. */
function gamma(n: number): number {
  return (n * U) / (1 - n * U);
}

// ---- references ------------------------------------------------------------------------------

/** Everything about one (possibly batched) matmul case. Stored layouts are the core's. */
interface Case {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  /** 0: rank-2 operands; otherwise the batch size B. */
  batch: number;
  /** With a batch: B is (B, K, N) when true, a shared (K, N) when false. */
  batchedB: boolean;
}

function shapeA(c: Case): number[] {
  const s = c.transA ? [c.k, c.m] : [c.m, c.k];
  return c.batch > 0 ? [c.batch, ...s] : s;
}
function shapeB(c: Case): number[] {
  const s = c.transB ? [c.n, c.k] : [c.k, c.n];
  return c.batch > 0 && c.batchedB ? [c.batch, ...s] : s;
}
function shapeC(c: Case): number[] {
  return c.batch > 0 ? [c.batch, c.m, c.n] : [c.m, c.n];
}
const sizeOf = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
const label = (c: Case) =>
  `${c.batch > 0 ? `batch ${c.batch}${c.batchedB ? '' : ' (shared B)'} ` : ''}M=${c.m} K=${c.k} N=${c.n} transA=${c.transA} transB=${c.transB}`;

/**
 * C = op(A) op(B) over the stored layouts, batched like the core; each element is reduced by
 * `sum(terms)`. float64 arithmetic unless `sum` says otherwise.
 */
function matmulRef(c: Case, a: ArrayLike<number>, b: ArrayLike<number>, sum: (terms: number[]) => number): Float64Array {
  const { m, k, n, transA, transB } = c;
  const batches = Math.max(1, c.batch);
  const out = new Float64Array(batches * m * n);
  const terms = new Array<number>(k);
  for (let s = 0; s < batches; s++) {
    const oa = s * m * k, ob = c.batch > 0 && c.batchedB ? s * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        for (let p = 0; p < k; p++) {
          const av = a[oa + (transA ? p * m + i : i * k + p)]!;
          const bv = b[ob + (transB ? j * k + p : p * n + j)]!;
          terms[p] = av * bv;
        }
        out[s * m * n + i * n + j] = sum(terms);
      }
    }
  }
  return out;
}

const sum64 = (terms: number[]) => terms.reduce((x, t) => x + t, 0);
const absSum64 = (terms: number[]) => terms.reduce((x, t) => x + Math.abs(t), 0);
/** The documented order: acc = 0, then acc = fl(acc + fl(a*b)) for p = 0..K-1, in f32. */
const sequentialF32 = (terms: number[]) => terms.reduce((acc, t) => Math.fround(acc + Math.fround(t)), 0);

/** Asserts |actual - exact| <= gamma(n) * bound + atol elementwise, naming the first failure. */
function expectWithinBound(actual: ArrayLike<number>, exact: ArrayLike<number>, bound: ArrayLike<number>, n: number, what: string, atol = 0): void {
  expect(actual.length, `${what}: length`).toBe(exact.length);
  const g = gamma(n);
  for (let i = 0; i < exact.length; i++) {
    const err = Math.abs(actual[i]! - exact[i]!);
    if (!(err <= g * bound[i]! + atol)) {
      expect.fail(`${what}: element ${i} is ${actual[i]}, expected ${exact[i]} (error ${err} > bound ${g * bound[i]! + atol})`);
    }
  }
}

// ---- running the core ----------------------------------------------------------------------

interface Run {
  c: Float32Array;
  gradA?: Float32Array;
  gradB?: Float32Array;
}

/**
 * op(A) op(B) on `core`; with `weights` (shaped like C), also the gradients of
 * loss = sum(C * weights), whose dC is exactly `weights`.
 */
function runCore(core: Core, c: Case, a: ArrayLike<number>, b: ArrayLike<number>, weights?: ArrayLike<number>): Run {
  const grad = weights !== undefined;
  const ta = Tensor.from(a, shapeA(c), { core, persistent: true, requiresGrad: grad });
  const tb = Tensor.from(b, shapeB(c), { core, persistent: true, requiresGrad: grad });
  try {
    const out = ta.matmul(tb, { transA: c.transA, transB: c.transB });
    expect(out.shape, `${label(c)}: output shape`).toEqual(shapeC(c));
    const run: Run = { c: out.toArray() };
    if (grad) {
      out.mul(Tensor.from(weights, shapeC(c), { core })).sum().backward();
      run.gradA = ta.grad()!;
      run.gradB = tb.grad()!;
    }
    return run;
  } finally {
    core.endStep();
    ta.free();
    tb.free();
  }
}

function randomCase(c: Case, seed: number): { a: Float64Array; b: Float64Array; w: Float64Array } {
  return {
    a: randomData(sizeOf(shapeA(c)), seed),
    b: randomData(sizeOf(shapeB(c)), seed + 1),
    w: randomData(sizeOf(shapeC(c)), seed + 2),
  };
}

function plainCase(m: number, k: number, n: number, transA: boolean, transB: boolean): Case {
  return { m, k, n, transA, transB, batch: 0, batchedB: false };
}

/** Every 2-D case over SIZES^3 for one transpose combination. */
function allPlainCases(transA: boolean, transB: boolean): Case[] {
  const cases: Case[] = [];
  for (const m of SIZES) for (const k of SIZES) for (const n of SIZES) cases.push(plainCase(m, k, n, transA, transB));
  return cases;
}

const BATCHED: Case[] = [];
for (const [transA, transB] of TRANS) {
  BATCHED.push({ m: 5, k: 17, n: 3, transA, transB, batch: 3, batchedB: true });
  BATCHED.push({ m: 17, k: 3, n: 9, transA, transB, batch: 2, batchedB: false });
  BATCHED.push({ m: 6, k: 33, n: 11, transA, transB, batch: 4, batchedB: false });
}

// ---- forward ---------------------------------------------------------------------------------

describe('matmul forward', () => {
  it.each(TRANS)('matches the float64 reference within the f32 summation bound, M, K, N in {1, 3, 5, 17, 33, 64, 65}, transA=%s transB=%s', (transA, transB) => {
    let seed = transA ? 1 : 2000;
    if (transB) seed += 1000;
    for (const c of allPlainCases(transA, transB)) {
      const { a, b } = randomCase(c, (seed += 3));
      const { c: out } = runCore(simd, c, a, b);
      // K products and K additions (the first, 0 + a*b, is exact): gamma(K) covers both
      expectWithinBound(out, matmulRef(c, a, b, sum64), matmulRef(c, a, b, absSum64), c.k, label(c));
    }
  });

  it('matches the float64 reference for batched (B, M, K) x (B, K, N) and (B, M, K) x (K, N)', () => {
    let seed = 5000;
    for (const c of BATCHED) {
      const { a, b } = randomCase(c, (seed += 3));
      const { c: out } = runCore(simd, c, a, b);
      expectWithinBound(out, matmulRef(c, a, b, sum64), matmulRef(c, a, b, absSum64), c.k, label(c));
    }
  });

  it('adds in the documented order on both builds: bitwise equal to acc = fl(acc + fl(a*b)) for p = 0..K-1', () => {
    // Math.fround of a double sum or product of two f32 values is the correctly rounded f32
    // result (53 >= 2*24 + 2 bits), so this emulation is exact.
    let seed = 9000;
    const cases = [...BATCHED];
    for (const [transA, transB] of TRANS) {
      for (const [m, k, n] of [[1, 1, 1], [5, 65, 8], [17, 33, 9], [33, 5, 64], [64, 64, 64], [65, 17, 65], [11, 300, 13]] as const) {
        cases.push(plainCase(m, k, n, transA, transB));
      }
    }
    for (const c of cases) {
      const { a, b } = randomCase(c, (seed += 3));
      const expected = Float32Array.from(matmulRef(c, a, b, sequentialF32));
      expectBitwiseEqual(runCore(simd, c, a, b).c, expected, `simd ${label(c)}`);
      expectBitwiseEqual(runCore(scalar, c, a, b).c, expected, `scalar ${label(c)}`);
    }
  });

  it('adds in the documented order for long K and for wide and tall shapes', () => {
    // K = 1024: a strip of B (32 KiB) no longer fits beside A in L1, the shape the kernel is
    // least tuned for; N = 600 and M = 600 run through many strips and panels
    let seed = 12000;
    for (const [m, k, n, transA, transB] of [[130, 1024, 17, false, false], [130, 1024, 9, true, true], [3, 7, 600, false, true], [600, 7, 3, true, false]] as const) {
      const c = plainCase(m, k, n, transA, transB);
      const { a, b } = randomCase(c, (seed += 3));
      const expected = Float32Array.from(matmulRef(c, a, b, sequentialF32));
      expectBitwiseEqual(runCore(simd, c, a, b).c, expected, `simd ${label(c)}`);
      expectBitwiseEqual(runCore(scalar, c, a, b).c, expected, `scalar ${label(c)}`);
    }
  });
});

// ---- backward --------------------------------------------------------------------------------

describe('matmul backward', () => {
  /** 2-D and batched gradient cases for one transpose combination. */
  function gradCases(transA: boolean, transB: boolean): Case[] {
    const cases = BATCHED.filter((c) => c.transA === transA && c.transB === transB);
    for (const [m, k, n] of [[5, 17, 3], [3, 5, 17], [17, 3, 6], [1, 9, 2], [9, 1, 13], [11, 8, 9]] as const) {
      cases.push(plainCase(m, k, n, transA, transB));
    }
    return cases;
  }

  /** float64 loss sum(C * w) as a function of A (or of B), for finite differences. */
  function lossOfA(c: Case, b: ArrayLike<number>, w: ArrayLike<number>) {
    return (a: Float64Array) => matmulRef(c, a, b, sum64).reduce((s, x, i) => s + x * w[i]!, 0);
  }
  function lossOfB(c: Case, a: ArrayLike<number>, w: ArrayLike<number>) {
    return (b: Float64Array) => matmulRef(c, a, b, sum64).reduce((s, x, i) => s + x * w[i]!, 0);
  }
  const abs = (x: ArrayLike<number>) => Float64Array.from(x, Math.abs);
  // The loss is linear in each operand, so a central difference has no truncation error for
  // any step; a large step keeps its float64 rounding (~1e-16 * sum |terms| <= 1e-12 here,
  // divided by 2h) below 1e-9, so FD_ATOL = 1e-8 leaves the f32 bound to do the real work.
  const H = 1e-3;
  const FD_ATOL = 1e-8;

  it.each(TRANS)('gives dA and dB equal to central finite differences of the float64 reference, 2-D and batched, transA=%s transB=%s', (transA, transB) => {
    let seed = 20000 + (transA ? 100 : 0) + (transB ? 200 : 0);
    for (const c of gradCases(transA, transB)) {
      const { a, b, w } = randomCase(c, (seed += 3));
      const run = runCore(simd, c, a, b, w);
      const batches = Math.max(1, c.batch);
      // dA[i][p] sums N terms dC[i][j] op(B)[p][j] (dC is exactly w). The per-element bound
      // sum_j |dC||op(B)| is the same derivative taken with |w| and |b|.
      const boundA = finiteDiff(lossOfA(c, abs(b), abs(w)), a, H);
      expectWithinBound(run.gradA!, finiteDiff(lossOfA(c, b, w), a, H), boundA, c.n, `dA ${label(c)}`, FD_ATOL);
      // dB sums M terms per batch. A shared B sums over all batches: as one run of B*M terms
      // when A is not transposed (the batch folds into the rows), else batch by batch with
      // one more addition per batch; batches*M + batches roundings bound both.
      const boundB = finiteDiff(lossOfB(c, abs(a), abs(w)), b, H);
      const termsB = c.batch > 0 && !c.batchedB ? batches * c.m + batches : c.m;
      expectWithinBound(run.gradB!, finiteDiff(lossOfB(c, a, w), b, H), boundB, termsB, `dB ${label(c)}`, FD_ATOL);
    }
  });

  it('adds into a gradient that already holds a contribution (an operand used twice), in the documented order', () => {
    for (const core of [simd, scalar]) usedTwice(core);
  });

  function usedTwice(core: Core): void {
    const m = 7, k = 9, n = 5;
    const a = randomData(m * k, 31), b1 = randomData(k * n, 32), b2 = randomData(n * k, 33);
    const w1 = randomData(m * n, 34), w2 = randomData(m * n, 35);
    const ta = Tensor.from(a, [m, k], { core, persistent: true, requiresGrad: true });
    try {
      const tb1 = Tensor.from(b1, [k, n], { core });
      const tb2 = Tensor.from(b2, [n, k], { core });
      // loss = sum(A B1 * w1) + sum(A B2^T * w2)
      const loss = ta.matmul(tb1).mul(Tensor.from(w1, [m, n], { core })).sum()
        .add(ta.matmul(tb2, { transB: true }).mul(Tensor.from(w2, [m, n], { core })).sum());
      loss.backward();
      const c1 = plainCase(m, k, n, false, false), c2 = plainCase(m, k, n, false, true);
      const f = (x: Float64Array) => lossOfA(c1, b1, w1)(x) + lossOfA(c2, b2, w2)(x);
      const fAbs = (x: Float64Array) => lossOfA(c1, abs(b1), abs(w1))(x) + lossOfA(c2, abs(b2), abs(w2))(x);
      // two sums of N terms, then one addition of the two
      expectWithinBound(ta.grad()!, finiteDiff(f, a, H), finiteDiff(fAbs, a, H), n + 1, 'dA of an operand used twice', FD_ATOL);
      // Bit for bit: backward runs the second product first, so dA = acc2, then dA = dA + acc1,
      // where acc sums over j in order: acc1[i][p] = sum_j w1[i][j] B1[p][j], acc2 with B2^T.
      const expected = new Float32Array(m * k);
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < k; p++) {
          let acc1 = 0, acc2 = 0;
          for (let j = 0; j < n; j++) {
            acc1 = Math.fround(acc1 + Math.fround(w1[i * n + j]! * b1[p * n + j]!));
            acc2 = Math.fround(acc2 + Math.fround(w2[i * n + j]! * b2[j * k + p]!));
          }
          expected[i * k + p] = Math.fround(Math.fround(0 + acc2) + acc1);
        }
      }
      expectBitwiseEqual(ta.grad()!, expected, `dA of an operand used twice (${core.simd ? 'simd' : 'scalar'})`);
    } finally {
      core.endStep();
      ta.free();
    }
  }
});

// ---- the two builds ----------------------------------------------------------------------------

describe('matmul SIMD and scalar builds', () => {
  it('agree bit for bit, forward and backward, on awkward sizes, all transposes, batched', () => {
    let seed = 30000;
    const cases: Case[] = [...BATCHED];
    for (const [transA, transB] of TRANS) {
      for (const [m, k, n] of [[1, 1, 1], [3, 5, 17], [17, 33, 5], [33, 17, 65], [65, 64, 33], [6, 7, 9], [4, 4, 4], [9, 100, 23]] as const) {
        cases.push(plainCase(m, k, n, transA, transB));
      }
    }
    for (const c of cases) {
      // wider data than [-1, 1) so rounding has more room to differ if an order did
      const { a, b, w } = randomCase(c, (seed += 3));
      const scaled = (x: Float64Array, s: number) => x.map((v) => Math.fround(v * s));
      const [sa, sb] = [scaled(a, 37), scaled(b, 0.03)];
      const fast = runCore(simd, c, sa, sb, w);
      const slow = runCore(scalar, c, sa, sb, w);
      expectBitwiseEqual(fast.c, slow.c, `C ${label(c)}`);
      expectBitwiseEqual(fast.gradA!, slow.gradA!, `dA ${label(c)}`);
      expectBitwiseEqual(fast.gradB!, slow.gradB!, `dB ${label(c)}`);
    }
  });
});

// ---- errors and memory -------------------------------------------------------------------------

describe('matmul errors and memory', () => {
  it('throws ShapeError naming both shapes when the inner dimensions differ', () => {
    const core = simd;
    try {
      const cases: [number[], number[], { transA?: boolean; transB?: boolean }][] = [
        [[3, 4], [5, 2], {}],
        [[4, 3], [5, 2], { transA: true }],
        [[3, 4], [2, 5], { transB: true }],
        [[2, 3, 4], [2, 5, 6], {}],
        [[2, 3, 4], [5, 6], {}],
      ];
      for (const [sa, sb, options] of cases) {
        const a = Tensor.zeros(sa, { core }), b = Tensor.zeros(sb, { core });
        let error: unknown;
        try {
          a.matmul(b, options);
        } catch (e) {
          error = e;
        }
        expect(error, `${sa} x ${sb}`).toBeInstanceOf(ShapeError);
        const message = (error as Error).message;
        expect(message).toContain(`[${sa.join(', ')}]`);
        expect(message).toContain(`[${sb.join(', ')}]`);
        expect(message).toMatch(/inner dimensions differ/);
      }
      // batch sizes that differ are refused too
      expect(() => Tensor.zeros([2, 3, 4], { core }).matmul(Tensor.zeros([3, 4, 5], { core }))).toThrow(ShapeError);
    } finally {
      core.endStep();
    }
  });

  it('uses no more memory step after step (packing space is reused)', () => {
    for (const core of [simd, scalar]) {
      const w1 = Tensor.from(randomData(64 * 64, 41), [64, 64], { core, persistent: true, requiresGrad: true });
      const w2 = Tensor.from(randomData(64 * 3, 42), [3, 64], { core, persistent: true, requiresGrad: true });
      const x = Tensor.from(randomData(8 * 25 * 64, 43), [8, 25, 64], { core, persistent: true });
      const step = () => {
        // a two-layer forward and backward, batched, with a transposed operand
        const h = x.matmul(w1).relu();
        const y = h.matmul(w2, { transB: true });
        y.sum().backward();
        core.endStep();
      };
      step();
      const build = core.simd ? 'simd' : 'scalar';
      const memory = core.exports.memoryBytes(), persistent = core.exports.persistentBytes(), scratch = core.exports.scratchBytes();
      for (let i = 0; i < 5; i++) step();
      expect(core.exports.memoryBytes(), `${build}: wasm memory`).toBe(memory);
      expect(core.exports.persistentBytes(), `${build}: persistent bytes`).toBe(persistent);
      expect(core.exports.scratchBytes(), `${build}: scratch high-water mark`).toBe(scratch);
      for (const t of [w1, w2, x]) t.free();
    }
  });
});
