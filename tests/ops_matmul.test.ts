// Matmul: every transpose combination at ranks 2, 3 and 4 (and a shared right operand) over the
// tail sizes, forward against the float64 reference (tests/reference/matmul.ts) and the
// documented summation order bit for bit on both builds; gradients of both operands against
// central finite differences; the SIMD and scalar builds bitwise equal; shape errors; and
// memory that does not grow from step to step.
//
// Tolerances. The core sums K products in f32, in order; the classic bound (Higham, Accuracy
// and Stability of Numerical Algorithms, 3.1) for such a sum against the exact one is
//   |computed - exact| <= gamma(K) * sum_p |a_p b_p|,   gamma(n) = n u / (1 - n u), u = 2^-24,
// which counts the rounding of every product and every addition. Each element is checked
// against its own bound (the sum of |terms| comes from the same float64 reference run on
// absolute values), so the check stays tight for every shape instead of one loose rtol.

import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, Tensor, type Core } from '../sdk/index';
import { absSum64, matmulDims, matmulRef, sum64, type MatmulSpec, type TermSum } from './reference/matmul';
import { expectBitwiseEqual, finiteDiff, loadCores, randomData } from './util';

let simd: Core;
let scalar: Core;
beforeAll(async () => {
  ({ simd, scalar } = await loadCores());
});

/** Sizes in each of M, K, N: around the tile's 5 rows and 8 columns and the 4-wide vectors. */
const SIZES = [1, 3, 5, 7, 8, 9, 17, 33];
const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
/** Leading dims per rank: none, (B), (B, H). */
const BATCH_OF_RANK: Record<number, number[]> = { 2: [], 3: [2], 4: [2, 2] };

/** Unit roundoff of f32. */
const U = 2 ** -24;
/** Higham's gamma(n): the relative error bound of n successive f32 roundings. */
function gamma(n: number): number {
  return (n * U) / (1 - n * U);
}

// ---- cases -----------------------------------------------------------------------------------

/** Everything about one (possibly batched) matmul case. Stored layouts are the core's. */
interface Case {
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
  /** Leading dims of A: [], [B] or [B, H]. */
  batch: number[];
  /** With a batch: B is one (K, N) matrix shared by every batch instead of its own per batch. */
  sharedB: boolean;
}

function spec(c: Case): MatmulSpec {
  const a = c.transA ? [c.k, c.m] : [c.m, c.k];
  const b = c.transB ? [c.n, c.k] : [c.k, c.n];
  return { shapeA: [...c.batch, ...a], shapeB: c.sharedB ? b : [...c.batch, ...b], transA: c.transA, transB: c.transB };
}
const shapeC = (c: Case) => matmulDims(spec(c)).shapeC;
const sizeOf = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
const label = (c: Case) =>
  `${c.batch.length > 0 ? `batch [${c.batch}]${c.sharedB ? ' (shared B)' : ''} ` : ''}M=${c.m} K=${c.k} N=${c.n} transA=${c.transA} transB=${c.transB}`;

/** op(A) op(B) in float64, each element reduced by `sum` (tests/reference/matmul.ts). */
const ref = (c: Case, a: ArrayLike<number>, b: ArrayLike<number>, sum: TermSum = sum64) => matmulRef(a, b, spec(c), sum);
/** The documented order: acc = 0, then acc = fl(acc + fl(a*b)) for p = 0..K-1, in f32. */
const sequentialF32: TermSum = (terms) => terms.reduce((acc, t) => Math.fround(acc + Math.fround(t)), 0);

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
  const { shapeA, shapeB } = spec(c);
  const ta = Tensor.from(a, shapeA, { core, persistent: true, requiresGrad: grad });
  const tb = Tensor.from(b, shapeB, { core, persistent: true, requiresGrad: grad });
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
  const { shapeA, shapeB } = spec(c);
  return {
    a: randomData(sizeOf(shapeA), seed),
    b: randomData(sizeOf(shapeB), seed + 1),
    w: randomData(sizeOf(shapeC(c)), seed + 2),
  };
}

function makeCase(m: number, k: number, n: number, transA: boolean, transB: boolean, batch: number[] = [], sharedB = false): Case {
  return { m, k, n, transA, transB, batch, sharedB };
}

/** Every case over sizes^3 for one transpose combination and batch. */
function cube(sizes: number[], transA: boolean, transB: boolean, batch: number[], sharedB = false): Case[] {
  const cases: Case[] = [];
  for (const m of sizes) for (const k of sizes) for (const n of sizes) cases.push(makeCase(m, k, n, transA, transB, batch, sharedB));
  return cases;
}

/**
 * The forward checks of one case, on both builds: within the f32 summation bound of the
 * float64 reference, and bitwise equal to the documented order (so the builds agree too).
 */
function checkForward(c: Case, seed: number): void {
  const { a, b } = randomCase(c, seed);
  const fast = runCore(simd, c, a, b).c;
  // K products and K additions (the first, 0 + a*b, is exact): gamma(K) covers both
  expectWithinBound(fast, ref(c, a, b), ref(c, a, b, absSum64), c.k, label(c));
  // Math.fround of a double sum or product of two f32 values is the correctly rounded f32
  // result (53 >= 2*24 + 2 bits), so this emulation is exact
  const expected = Float32Array.from(ref(c, a, b, sequentialF32));
  expectBitwiseEqual(fast, expected, `simd ${label(c)}`);
  expectBitwiseEqual(runCore(scalar, c, a, b).c, expected, `scalar ${label(c)}`);
}

// ---- forward ---------------------------------------------------------------------------------

describe('matmul forward', () => {
  const cases = TRANS.flatMap(([transA, transB]) => [2, 3, 4].map((rank) => [transA, transB, rank] as const));
  it.each(cases)('M, K, N in {1, 3, 5, 7, 8, 9, 17, 33}: within the f32 bound of the float64 reference and bitwise in the documented order on both builds, transA=%s transB=%s rank %i', (transA, transB, rank) => {
    let seed = 1 + 100000 * rank + (transA ? 10000 : 0) + (transB ? 20000 : 0);
    for (const c of cube(SIZES, transA, transB, BATCH_OF_RANK[rank]!)) checkForward(c, (seed += 3));
  });

  it.each(TRANS)('(B, M, K) x (K, N) and (B, H, M, K) x (K, N) with a shared right operand, transA=%s transB=%s', (transA, transB) => {
    let seed = 500000 + (transA ? 10000 : 0) + (transB ? 20000 : 0);
    for (const batch of [[3], [2, 3]]) {
      for (const c of cube([1, 5, 8, 9, 33], transA, transB, batch, true)) checkForward(c, (seed += 3));
    }
  });

  it('adds in the documented order for long K, wide and tall shapes, attention shapes, and packed A in blocks', () => {
    // K = 1024: a strip of B (32 KiB) no longer fits beside A in L1, the shape the kernel is
    // least tuned for; N = 600 and M = 600 run through many strips and panels. A transposed
    // with M = 603, K = 1024 is packed in three blocks of at most 1 MiB (gemm.ts), the last
    // one ending in a panel of 3 rows.
    let seed = 12000;
    const cases = [
      makeCase(130, 1024, 17, false, false), makeCase(130, 1024, 9, true, true),
      makeCase(3, 7, 600, false, true), makeCase(600, 7, 3, true, false),
      makeCase(603, 1024, 9, true, false), makeCase(603, 1024, 13, true, true),
      // attention at (B 2, H 3, T 33, D 16): scores Q K^T, output P V, and backward's P^T dO
      makeCase(33, 16, 33, false, true, [2, 3]), makeCase(33, 33, 16, false, false, [2, 3]), makeCase(33, 33, 16, true, false, [2, 3]),
    ];
    for (const c of cases) checkForward(c, (seed += 3));
  });
});

// ---- backward --------------------------------------------------------------------------------

describe('matmul backward', () => {
  /** Shapes (M, K, N) of the gradient checks, from the tail sizes. */
  const GRAD_SHAPES = [[1, 3, 5], [7, 8, 9], [17, 5, 3], [3, 33, 1], [9, 1, 8], [5, 7, 17]] as const;

  /** Rank-2, batched and shared-B gradient cases of one rank for one transpose combination. */
  function gradCases(transA: boolean, transB: boolean, rank: number): Case[] {
    const batch = BATCH_OF_RANK[rank]!;
    const cases = GRAD_SHAPES.map(([m, k, n]) => makeCase(m, k, n, transA, transB, batch));
    if (rank > 2) cases.push(...GRAD_SHAPES.map(([m, k, n]) => makeCase(m, k, n, transA, transB, batch, true)));
    return cases;
  }

  /** float64 loss sum(C * w) as a function of A (or of B), for finite differences. */
  function lossOfA(c: Case, b: ArrayLike<number>, w: ArrayLike<number>) {
    return (a: Float64Array) => ref(c, a, b).reduce((s, x, i) => s + x * w[i]!, 0);
  }
  function lossOfB(c: Case, a: ArrayLike<number>, w: ArrayLike<number>) {
    return (b: Float64Array) => ref(c, a, b).reduce((s, x, i) => s + x * w[i]!, 0);
  }
  const abs = (x: ArrayLike<number>) => Float64Array.from(x, Math.abs);
  // The loss is linear in each operand, so a central difference has no truncation error for
  // any step; a large step keeps its float64 rounding (~1e-16 * sum |terms| <= 1e-12 here,
  // divided by 2h) below 1e-9, so FD_ATOL = 1e-8 leaves the f32 bound to do the real work.
  const H = 1e-3;
  const FD_ATOL = 1e-8;

  const cases = TRANS.flatMap(([transA, transB]) => [2, 3, 4].map((rank) => [transA, transB, rank] as const));
  it.each(cases)('gives dA and dB equal to central finite differences of the float64 reference, transA=%s transB=%s rank %i (batched and shared B)', (transA, transB, rank) => {
    let seed = 20000 + 1000 * rank + (transA ? 100 : 0) + (transB ? 200 : 0);
    for (const c of gradCases(transA, transB, rank)) {
      const { a, b, w } = randomCase(c, (seed += 3));
      const run = runCore(simd, c, a, b, w);
      const batches = sizeOf(c.batch);
      // dA[i][p] sums N terms dC[i][j] op(B)[p][j] (dC is exactly w). The per-element bound
      // sum_j |dC||op(B)| is the same derivative taken with |w| and |b|.
      const boundA = finiteDiff(lossOfA(c, abs(b), abs(w)), a, H);
      expectWithinBound(run.gradA!, finiteDiff(lossOfA(c, b, w), a, H), boundA, c.n, `dA ${label(c)}`, FD_ATOL);
      // dB sums M terms per batch. A shared B sums over all batches: as one run of B*M terms
      // when A is not transposed (the batch folds into the rows), else batch by batch with
      // one more addition per batch; batches*M + batches roundings bound both.
      const boundB = finiteDiff(lossOfB(c, abs(a), abs(w)), b, H);
      const termsB = c.sharedB ? batches * c.m + batches : c.m;
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
      const c1 = makeCase(m, k, n, false, false), c2 = makeCase(m, k, n, false, true);
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
  it('agree bit for bit, forward and backward, on awkward sizes, all transposes, ranks 2, 3 and 4', () => {
    let seed = 30000;
    const cases: Case[] = [];
    for (const [transA, transB] of TRANS) {
      for (const [m, k, n] of [[1, 1, 1], [3, 5, 17], [17, 33, 5], [33, 17, 65], [65, 64, 33], [6, 7, 9], [4, 4, 4], [9, 100, 23]] as const) {
        cases.push(makeCase(m, k, n, transA, transB));
      }
      for (const [m, k, n] of [[7, 9, 8], [33, 3, 17], [5, 33, 9]] as const) {
        cases.push(makeCase(m, k, n, transA, transB, [3]), makeCase(m, k, n, transA, transB, [3], true));
        cases.push(makeCase(m, k, n, transA, transB, [2, 3]), makeCase(m, k, n, transA, transB, [2, 3], true));
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
        [[2, 3, 4, 5], [2, 3, 6, 7], {}],
        [[2, 3, 5, 4], [2, 3, 6, 7], { transA: true, transB: true }],
        [[2, 3, 4, 5], [6, 7], {}],
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
      // batch dims that differ, and ranks that do not pair up, are refused too
      const refused: [number[], number[], RegExp][] = [
        [[2, 3, 4], [3, 4, 5], /batch dims differ \(\[2\] vs \[3\]\)/],
        [[2, 3, 4, 5], [2, 4, 5, 6], /batch dims differ \(\[2, 3\] vs \[2, 4\]\)/],
        [[2, 3, 4, 5], [3, 5, 6], /operands must be/],
        [[4, 5], [2, 5, 6], /operands must be/],
        [[5], [5, 6], /operands must be/],
      ];
      for (const [sa, sb, message] of refused) {
        const matmul = () => Tensor.zeros(sa, { core }).matmul(Tensor.zeros(sb, { core }));
        expect(matmul, `${sa} x ${sb}`).toThrow(ShapeError);
        expect(matmul, `${sa} x ${sb}`).toThrow(message);
      }
    } finally {
      core.endStep();
    }
  });

  it('uses no more memory step after step (packing space is reused)', () => {
    for (const core of [simd, scalar]) {
      const w1 = Tensor.from(randomData(64 * 64, 41), [64, 64], { core, persistent: true, requiresGrad: true });
      const w2 = Tensor.from(randomData(64 * 3, 42), [3, 64], { core, persistent: true, requiresGrad: true });
      const x = Tensor.from(randomData(8 * 25 * 64, 43), [8, 25, 64], { core, persistent: true });
      const q = Tensor.from(randomData(2 * 4 * 33 * 16, 44), [2, 4, 33, 16], { core, persistent: true, requiresGrad: true });
      const step = () => {
        // a two-layer forward and backward, batched, with a transposed operand
        const h = x.matmul(w1).relu();
        const y = h.matmul(w2, { transB: true });
        y.sum().backward();
        // attention-like scores Q Q^T over (B, H), whose backward packs a transposed A
        q.matmul(q, { transB: true }).sum().backward();
        core.endStep();
      };
      step();
      const build = core.simd ? 'simd' : 'scalar';
      const memory = core.exports.memoryBytes(), persistent = core.exports.persistentBytes(), scratch = core.exports.scratchBytes();
      for (let i = 0; i < 5; i++) step();
      expect(core.exports.memoryBytes(), `${build}: wasm memory`).toBe(memory);
      expect(core.exports.persistentBytes(), `${build}: persistent bytes`).toBe(persistent);
      expect(core.exports.scratchBytes(), `${build}: scratch high-water mark`).toBe(scratch);
      for (const t of [w1, w2, x, q]) t.free();
    }
  });
});
