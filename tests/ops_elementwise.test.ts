// The elementwise op families (assembly/ops/unary.ts, binary.ts, where.ts) against the float64
// reference (tests/reference/elementwise.ts): forwards on ranks 0..4 and SIMD-tail sizes,
// gradients against central finite differences of the reference, SIMD and scalar builds bit
// for bit, typed errors, and the no-grad mode.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NumericError, ShapeError, StaleTensorError, Tensor, ValueError, noGrad, type Core } from '../sdk/index';
import { TAIL_SIZES, expectBitwiseEqual, expectClose, finiteDiff, loadCores, randomData } from './util';
import {
  binaryOpRef, broadcastMapRef, clampRef, mapRef, powRef, unaryRef, weightedSum, whereRef,
  type BinaryName, type Shape,
} from './reference/elementwise';

let cores: { simd: Core; scalar: Core };
const builds = ['simd', 'scalar'] as const;

beforeAll(async () => {
  cores = await loadCores();
});

// Every case makes scratch tensors; release them so no test sees another's.
afterEach(() => {
  cores.simd.endStep();
  cores.scalar.endStep();
});

// ---- helpers -----------------------------------------------------------------------------------

const sizeOf = (shape: Shape) => shape.reduce((p, d) => p * d, 1);

function tensor(core: Core, data: ArrayLike<number>, shape: Shape, requiresGrad = false): Tensor {
  return Tensor.from(data, shape, { core, requiresGrad });
}

/** Ranks 0..4, last dims from TAIL_SIZES (n % 4 != 0 exercises the SIMD tail) plus 16 (none). */
const FORWARD_SHAPES: Shape[] = [[], ...[...TAIL_SIZES, 16].flatMap((n) => [[n], [2, n], [3, 1, n], [2, 1, 2, n]])];

/** Smaller set for finite differences (which cost O(n^2) reference evaluations). */
const GRAD_SHAPES: Shape[] = [[], [1], [5], [3, 17], [2, 1, 3, 3], [33]];

/**
 * The core's f32 results equal the float64 reference rounded once to f32. For one IEEE
 * operation (+ - * /, min, max, negation, selection) on f32 inputs this is exact: float64
 * carries more than 2*24+2 bits, so rounding to f64 and then to f32 equals rounding once.
 */
function expectCorrectlyRounded(actual: Float32Array, expected: Float64Array, label: string): void {
  expectBitwiseEqual(actual, Float32Array.from(expected), label);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Spacing of f32 numbers at |x|: one unit in the last place. */
function ulp32(x: number): number {
  f32[0] = Math.abs(x);
  const here = f32[0];
  u32[0]! += 1;
  return f32[0]! - here;
}

/** |actual - expected| <= maxUlps units in the last place of f32 at the expected value. */
function expectWithinUlps(actual: Float32Array, expected: Float64Array, maxUlps: number, label: string): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    const ulps = a === e ? 0 : Math.abs(a - e) / ulp32(e);
    if (!(ulps <= maxUlps)) expect.fail(`${label}: element ${i} is ${a}, expected ${e} (${ulps.toFixed(1)} ulp > ${maxUlps})`);
  }
}

/** |a - e| in f32 ulps at e. */
function ulpsOff(a: number, e: number): number {
  return a === e ? 0 : Math.abs(a - e) / ulp32(e);
}

/** Random f32 data in [lo, hi) whose elements all stay at least `margin` away from every kink. */
function dataAvoiding(n: number, seed: number, lo: number, hi: number, kinks: readonly number[], margin = 1e-3): Float64Array {
  const x = randomData(n, seed, lo, hi);
  for (let i = 0; i < n; i++) {
    for (const k of kinks) if (Math.abs(x[i]! - k) < margin) x[i] = Math.fround(k + (x[i]! < k ? -margin : margin) * 2);
  }
  return x;
}

let seedCounter = 1;
const nextSeed = () => seedCounter++ * 7919;

// ---- unary ops -------------------------------------------------------------------------------

interface UnaryCase {
  name: string;
  apply: (x: Tensor) => Tensor;
  ref: (x: number) => number;
  /** Range the test data is drawn from. */
  lo: number;
  hi: number;
  /** Forward error bound in f32 ulps; 0 means correctly rounded (checked bitwise). */
  ulps: number;
  /** Points where the derivative jumps; gradient tests sample away from them. */
  kinks?: number[];
  /** Gradient tolerance against finite differences (see each case's comment). */
  gradRtol: number;
  gradAtol: number;
}

// Gradient tolerances. The f64 central difference (h = 1e-6) rounds to ~2^-53 |loss| / h per
// element: <= ~2e-8 for losses of size <= 200 (every case but exp; ~1e-9 measured). The exact
// ops' gradients (w or 0) see only that error: atol 5e-8.
const FD_ATOL = 5e-8;

const UNARY: UnaryCase[] = [
  // exact: a sign flip, a max, a max then a min
  { name: 'neg', apply: (x) => x.neg(), ref: unaryRef.neg, lo: -3, hi: 3, ulps: 0, gradRtol: 0, gradAtol: FD_ATOL },
  { name: 'relu', apply: (x) => x.relu(), ref: unaryRef.relu, lo: -3, hi: 3, ulps: 0, kinks: [0], gradRtol: 0, gradAtol: FD_ATOL },
  // 0.7 is not an f32: the core clamps at fround(0.7), so the reference does too
  { name: 'clamp(-0.5, 0.7)', apply: (x) => x.clamp(-0.5, 0.7), ref: (x) => clampRef(x, -0.5, Math.fround(0.7)), lo: -2, hi: 2, ulps: 0, kinks: [-0.5, 0.7], gradRtol: 0, gradAtol: FD_ATOL },
  { name: 'clamp(0.25)', apply: (x) => x.clamp(0.25), ref: (x) => clampRef(x, 0.25, Infinity), lo: -2, hi: 2, ulps: 0, kinks: [0.25], gradRtol: 0, gradAtol: FD_ATOL },
  { name: 'clamp(-inf, -1)', apply: (x) => x.clamp(-Infinity, -1), ref: (x) => clampRef(x, -Infinity, -1), lo: -3, hi: 1, ulps: 0, kinks: [-1], gradRtol: 0, gradAtol: FD_ATOL },
  // The core's exp and log (assembly/math/det.ts) are within 0.99 and 0.83 ulp of the exact
  // result over all f32 (assembly/README.md): bound 1 ulp.
  // Their gradients w * y and w / x add one or two roundings to that: rtol 1e-6 (~8 ulp).
  // exp's loss reaches ~66 * e^5 ~ 1e4, so its finite differences round to ~2e-7: atol 3e-7.
  { name: 'exp', apply: (x) => x.exp(), ref: unaryRef.exp, lo: -5, hi: 5, ulps: 1, gradRtol: 1e-6, gradAtol: 3e-7 },
  { name: 'log', apply: (x) => x.log(), ref: unaryRef.log, lo: 0.05, hi: 10, ulps: 1, gradRtol: 1e-6, gradAtol: FD_ATOL },
  // The core's tanh is within 1.33 ulp over all f32: bound 2. Its gradient 1 - y*y from the f32 output
  // has an absolute error of a few ulp(1) ~ 1.2e-7 (large relative to a tiny 1 - y^2): atol 3e-7.
  { name: 'tanh', apply: (x) => x.tanh(), ref: unaryRef.tanh, lo: -5, hi: 5, ulps: 2, gradRtol: 1e-6, gradAtol: 3e-7 },
  // sigmoid = 1/(1+e) or e/(1+e): exp's error plus two roundings, 2.4 ulp at most over all f32. Its gradient
  // y * (1 - y) inherits 1 - y's absolute error near y = 1, like tanh's: atol 3e-7.
  { name: 'sigmoid', apply: (x) => x.sigmoid(), ref: unaryRef.sigmoid, lo: -12, hi: 12, ulps: 3, gradRtol: 1e-6, gradAtol: 3e-7 },
  // gelu = x sigmoid(2u): u = c(x + k x^3) carries ~6 roundings (~4e-7 relative), and the
  // sigmoid amplifies a relative error in its argument by up to |2u| (~25 at x = -6): <= ~150
  // ulp by that bound (38 measured). The gradient s + x s(1-s) 2u' cancels near its zero
  // (x ~ -0.75), leaving an absolute error of a few 1e-8 times its terms: rtol 1e-5, atol 3e-7.
  { name: 'gelu', apply: (x) => x.gelu(), ref: unaryRef.gelu, lo: -6, hi: 6, ulps: 150, gradRtol: 1e-5, gradAtol: 3e-7 },
  // exact: IEEE sqrt, one multiply, a sign clear. sqrt's gradient w / (2y) and square's w * 2x
  // are one rounding each: rtol 1e-6.
  { name: 'sqrt', apply: (x) => x.sqrt(), ref: unaryRef.sqrt, lo: 0.05, hi: 10, ulps: 0, gradRtol: 1e-6, gradAtol: FD_ATOL },
  { name: 'square', apply: (x) => x.square(), ref: unaryRef.square, lo: -3, hi: 3, ulps: 0, gradRtol: 1e-6, gradAtol: FD_ATOL },
  { name: 'abs', apply: (x) => x.abs(), ref: unaryRef.abs, lo: -3, hi: 3, ulps: 0, kinks: [0], gradRtol: 0, gradAtol: FD_ATOL },
  // pow's exact exponents: x*x is one rounding; (x*x)*x, 1/(x*x) and 1/sqrt(x) two (each 2^-24
  // relative at most, so up to 2 ulp).
  { name: 'pow(2)', apply: (x) => x.pow(2), ref: (x) => powRef(x, 2), lo: -3, hi: 3, ulps: 0, gradRtol: 1e-6, gradAtol: FD_ATOL },
  { name: 'pow(3)', apply: (x) => x.pow(3), ref: (x) => powRef(x, 3), lo: -3, hi: 3, ulps: 2, gradRtol: 1e-6, gradAtol: FD_ATOL },
  { name: 'pow(0.5)', apply: (x) => x.pow(0.5), ref: (x) => powRef(x, 0.5), lo: 0.05, hi: 10, ulps: 0, gradRtol: 1e-6, gradAtol: FD_ATOL },
  { name: 'pow(-1)', apply: (x) => x.pow(-1), ref: (x) => powRef(x, -1), lo: 0.5, hi: 4, ulps: 0, gradRtol: 1e-6, gradAtol: FD_ATOL },
  { name: 'pow(-2)', apply: (x) => x.pow(-2), ref: (x) => powRef(x, -2), lo: 0.5, hi: 4, ulps: 2, gradRtol: 1e-6, gradAtol: 1e-7 },
  { name: 'pow(-0.5)', apply: (x) => x.pow(-0.5), ref: (x) => powRef(x, -0.5), lo: 0.1, hi: 4, ulps: 2, gradRtol: 1e-6, gradAtol: 1e-7 },
  // pow's general path exp(p log|x|): log's and exp's errors (<= 1 ulp each) plus the rounding of
  // p log|x|, which exp turns into a relative error of |p log x| 2^-24: with |p log x| <= 6.5 on
  // these ranges (|x| >= 0.3 for the integer powers of negatives), <= ~1 + 1 + 6.5 ulp: bound 8. Gradients p x^(p-1) add a rounding or two:
  // rtol 1e-5 (the general path's error, ~1e-6, sits well inside).
  { name: 'pow(2.5)', apply: (x) => x.pow(2.5), ref: (x) => powRef(x, 2.5), lo: 0.1, hi: 4, ulps: 8, gradRtol: 1e-5, gradAtol: 1e-7 },
  { name: 'pow(-1.5)', apply: (x) => x.pow(-1.5), ref: (x) => powRef(x, -1.5), lo: 0.5, hi: 4, ulps: 8, gradRtol: 1e-5, gradAtol: 1e-7 },
  { name: 'pow(4) of negatives', apply: (x) => x.pow(4), ref: (x) => powRef(x, 4), lo: -3, hi: -0.3, ulps: 8, gradRtol: 1e-5, gradAtol: 1e-7 },
  { name: 'pow(5) of negatives', apply: (x) => x.pow(5), ref: (x) => powRef(x, 5), lo: -2.5, hi: -0.3, ulps: 8, gradRtol: 1e-5, gradAtol: 1e-7 },
];

describe('unary ops', () => {
  for (const c of UNARY) {
    it(`${c.name}: forward matches the float64 reference on ranks 0..4 and SIMD tails`, () => {
      for (const build of builds) {
        const core = cores[build];
        for (const shape of FORWARD_SHAPES) {
          const x = randomData(sizeOf(shape), nextSeed(), c.lo, c.hi);
          const y = c.apply(tensor(core, x, shape));
          expect(y.shape).toEqual(shape);
          const label = `${c.name} ${build} ${JSON.stringify(shape)}`;
          if (c.ulps === 0) expectCorrectlyRounded(y.toArray(), mapRef(x, c.ref), label);
          else expectWithinUlps(y.toArray(), mapRef(x, c.ref), c.ulps, label);
        }
        core.endStep();
      }
    });

    it(`${c.name}: gradient of sum(op(x) * w) matches finite differences`, () => {
      for (const build of builds) {
        const core = cores[build];
        for (const shape of GRAD_SHAPES) {
          const n = sizeOf(shape);
          const x = dataAvoiding(n, nextSeed(), c.lo, c.hi, c.kinks ?? []);
          const w = randomData(n, nextSeed(), -1, 1);
          const xt = tensor(core, x, shape, true);
          c.apply(xt).mul(tensor(core, w, shape)).sum().backward();
          const expected = finiteDiff((v) => weightedSum(mapRef(v, c.ref), w), x);
          expectClose(xt.grad()!, expected, `${c.name} grad ${build} ${JSON.stringify(shape)}`, c.gradRtol, c.gradAtol);
        }
        core.endStep();
      }
    });
  }

  it('stay finite and saturate cleanly at extreme inputs', () => {
    const core = cores.simd;
    const x = tensor(core, [-1e30, -100, -20, 20, 100, 1e30], [6], true);
    const sig = x.sigmoid().toArray();
    expect(Array.from(sig)).toEqual([0, Math.fround(unaryRef.sigmoid(-100)), Math.fround(unaryRef.sigmoid(-20)), 1, 1, 1]);
    const gelu = x.gelu();
    // gelu(x) is 0 far left (-0 as x * 0 with x < 0) and x far right
    expect(Array.from(gelu.toArray())).toEqual([-0, -0, -0, 20, 100, Math.fround(1e30)]);
    expect(Array.from(x.tanh().toArray())).toEqual([-1, -1, -1, 1, 1, 1]);
    gelu.add(x.sigmoid()).add(x.tanh()).sum().backward();
    const g = x.grad()!;
    // Far left gelu's and tanh's slopes are 0 and sigmoid's is y(1-y) = y (subnormal at -100);
    // far right gelu's slope is 1 and the others' 0 (y rounds to 1). Never NaN, never inf.
    const sigmoidSlope = (v: number) => unaryRef.sigmoid(v) * (1 - unaryRef.sigmoid(v));
    expect(g[0]).toBe(0);
    expectClose(g.subarray(1, 3), [sigmoidSlope(-100), sigmoidSlope(-20)], 'left tail slopes', 1e-6, 1e-45); // subnormal: exact to 1 denormal step
    expect(Array.from(g.subarray(3))).toEqual([1, 1, 1]);
  });

  it('pow: x < 0 with a non-integer exponent is NaN; zeros, infinities and signs', () => {
    const core = cores.simd;
    const y = Array.from(tensor(core, [-2, -Infinity, -0, 0, Infinity, 4], [6]).pow(1.5).toArray());
    // NaN for every x < 0, -inf included (IEEE pow would give +inf there)
    expect(y.slice(0, 2).every(Number.isNaN)).toBe(true);
    expect(y.slice(2, 5)).toEqual([0, 0, Infinity]);
    expect(ulpsOff(y[5]!, 8)).toBeLessThanOrEqual(8);
    expect(Array.from(tensor(core, [-2, -0, 0, 3], [4]).pow(-1).toArray())).toEqual([-0.5, -Infinity, Infinity, Math.fround(1 / 3)]);
    expect(Array.from(tensor(core, [-2, -0.5, Number.NaN, Infinity], [4]).pow(0).toArray())).toEqual([1, 1, 1, 1]);
    // odd integer powers keep the sign, even ones drop it (general path: exp(p log|x|))
    expect(Array.from(tensor(core, [-2, -1, -0, 2], [4]).pow(5).toArray())).toEqual([-32, -1, -0, 32]);
    expect(Array.from(tensor(core, [-2, -1, -Infinity], [3]).pow(4).toArray())).toEqual([16, 1, Infinity]);
  });

  it('pow(0) has no gradient; abs has none at 0; sqrt\'s is inf at 0', () => {
    const core = cores.simd;
    const x = tensor(core, [0, 2, -3], [3], true);
    x.pow(0).sum().add(x.abs().sum()).backward();
    expect(Array.from(x.grad()!)).toEqual([0, 1, -1]);
    const z = tensor(core, [0, 4], [2], true);
    z.sqrt().sum().backward();
    expect(Array.from(z.grad()!)).toEqual([Infinity, 0.25]);
  });

  it('pow rejects a non-finite exponent with a ValueError', () => {
    const x = tensor(cores.simd, [1, 2], [2]);
    expect(() => x.pow(Number.NaN)).toThrow(ValueError);
    expect(() => x.pow(Infinity)).toThrow(/pow: the exponent must be a finite number/);
  });

  it('gelu keeps its relative accuracy in the far left tail, where 1 + tanh(u) cancels', () => {
    // x = -5: 1 + tanh(u) ~ 1e-7, which f32 cannot form from tanh(u) ~ -1 without losing
    // every digit; x * sigmoid(2u) has no such cancellation. Reference: f64 (f64 keeps ~9 digits here).
    const core = cores.simd;
    const x = [-5, -4.5, -4, -3.5];
    expectWithinUlps(tensor(core, x, [4]).gelu().toArray(), mapRef(x, unaryRef.gelu), 150, 'gelu left tail');
  });
});

// ---- binary ops --------------------------------------------------------------------------------

const BINARY: BinaryName[] = ['add', 'sub', 'mul', 'div', 'minimum', 'maximum'];

function applyBinary(op: BinaryName, a: Tensor, b: Tensor): Tensor {
  return a[op](b);
}

/** Shape pairs for binary ops: same shape with SIMD tails, every broadcast pattern, rank 0. */
const BINARY_PAIRS: [Shape, Shape][] = [
  [[17], [17]],
  [[3, 5], [5]], // (B, C) + (C)
  [[5], [3, 5]],
  [[2, 1, 5], [3, 1]], // (A, 1, C) * (B, 1) -> (A, B, C)
  [[3, 1], [2, 1, 5]],
  [[4, 1], [1, 33]],
  [[], [4, 3]], // rank-0 scalar operand
  [[4, 3], []],
  [[], []],
  [[2, 3, 1, 5], [3, 4, 1]], // rank 4 against rank 3
  [[1, 1, 1, 1], [3]],
];

/** Operand data for `op`: divisors kept away from 0, and no ties between min/max partners. */
function binaryData(op: BinaryName, shapeA: Shape, shapeB: Shape): { a: Float64Array; b: Float64Array } {
  for (;;) {
    const a = randomData(sizeOf(shapeA), nextSeed(), -2, 2);
    let b = randomData(sizeOf(shapeB), nextSeed(), -2, 2);
    if (op === 'div') b = b.map((v) => Math.fround(Math.sign(v || 1) * (0.5 + Math.abs(v)))); // |b| in [0.5, 2.5)
    if (op !== 'minimum' && op !== 'maximum') return { a, b };
    const gaps = broadcastMapRef([{ data: a, shape: shapeA }, { data: b, shape: shapeB }], (x, y) => Math.abs(x - y)).data;
    if (Math.min(...gaps) > 1e-3) return { a, b };
  }
}

describe('binary ops (broadcasting)', () => {
  for (const op of BINARY) {
    it(`${op}: forward is the correctly rounded float64 result, broadcast`, () => {
      for (const build of builds) {
        const core = cores[build];
        for (const [sa, sb] of BINARY_PAIRS) {
          const { a, b } = binaryData(op, sa, sb);
          const out = applyBinary(op, tensor(core, a, sa), tensor(core, b, sb));
          const ref = binaryOpRef(op, a, sa, b, sb);
          expect(out.shape).toEqual(ref.shape);
          expectCorrectlyRounded(out.toArray(), ref.data, `${op} ${build} ${JSON.stringify([sa, sb])}`);
        }
        core.endStep();
      }
    });

    it(`${op}: gradients to both operands match finite differences, broadcast dims summed`, () => {
      for (const build of builds) {
        const core = cores[build];
        for (const [sa, sb] of BINARY_PAIRS) {
          const { a, b } = binaryData(op, sa, sb);
          const outShape = binaryOpRef(op, a, sa, b, sb).shape;
          const w = randomData(sizeOf(outShape), nextSeed(), -1, 1);
          const at = tensor(core, a, sa, true), bt = tensor(core, b, sb, true);
          applyBinary(op, at, bt).mul(tensor(core, w, outShape)).sum().backward();
          const label = `${op} ${build} ${JSON.stringify([sa, sb])}`;
          const lossOfA = (v: Float64Array) => weightedSum(binaryOpRef(op, v, sa, b, sb).data, w);
          const lossOfB = (v: Float64Array) => weightedSum(binaryOpRef(op, a, sa, v, sb).data, w);
          // A broadcast operand's gradient is an f32 sum of up to 33 terms of size <= 8 (div's
          // w x / y^2): rounding ~ 2^-24 * sum|t| <= ~1.6e-5; the finite difference is good to ~1e-8.
          expectClose(at.grad()!, finiteDiff(lossOfA, a), `${label} grad a`, 1e-5, 2e-5);
          expectClose(bt.grad()!, finiteDiff(lossOfB, b), `${label} grad b`, 1e-5, 2e-5);
        }
        core.endStep();
      }
    });
  }

  it('accumulates gradients when one tensor is both operands (x * x, x - x, x / x)', () => {
    const core = cores.simd;
    const x = randomData(7, nextSeed(), 0.5, 2);
    const xt = tensor(core, x, [7], true);
    xt.mul(xt).add(xt.sub(xt)).add(xt.div(xt)).sum().backward();
    // d/dx (x^2 + 0 + 1) = 2x, exact in f32 for the x * x part; the x/x part adds 1/x - x/x^2,
    // which is 0 up to rounding: tolerance 1e-6
    expectClose(xt.grad()!, x.map((v) => 2 * v), 'x*x + (x-x) + x/x', 1e-6, 1e-6);
  });

  it('minimum/maximum send a tie\'s gradient to the first operand', () => {
    const core = cores.simd;
    const a = tensor(core, [1, 2, 3], [3], true), b = tensor(core, [1, 5, 3], [3], true);
    a.minimum(b).add(a.maximum(b)).sum().backward();
    expect(Array.from(a.grad()!)).toEqual([2, 1, 2]);
    expect(Array.from(b.grad()!)).toEqual([0, 1, 0]);
  });

  it('div backward stays finite for tiny and huge divisors (no y*y)', () => {
    const core = cores.simd;
    const a = tensor(core, [1e-25, 1e20], [2], true), b = tensor(core, [1e-25, 1e20], [2], true);
    a.div(b).sum().backward();
    // d(a/b)/db = -(a/b)/b = -1/b: -1e25 and -1e-20, both normal f32 numbers (b*b would be 0
    // and inf); two roundings: rtol 1e-6
    expectClose(b.grad()!, [-1e25, -1e-20], 'div grad b', 1e-6, 0);
    expectClose(a.grad()!, [1e25, 1e-20], 'div grad a', 1e-6, 0);
  });
});

// ---- where -----------------------------------------------------------------------------------

/** (cond, a, b) shape triples: broadcast along every dim, rank 0, SIMD tails on the last dim. */
const WHERE_SHAPES: [Shape, Shape, Shape][] = [
  [[17], [17], [17]],
  [[3, 1], [3, 17], [17]], // cond broadcast along the last dim (the SIMD splat path)
  [[3, 5], [], [5]],
  [[], [4, 3], [4, 3]],
  [[2, 1, 33], [1, 4, 1], []],
  [[2, 1, 3, 1], [1, 5], [2, 4, 1, 1]],
  [[], [], []],
];

/** Conditions: mostly 0 and 1, with -0 (false), NaN and -2.5 (true) mixed in. */
function condData(n: number, seed: number): Float64Array {
  const special = [-0, Number.NaN, -2.5];
  return randomData(n, seed).map((v, i) => (i % 5 === 4 ? special[i % 3]! : v < 0 ? 0 : 1));
}

describe('where', () => {
  it('forward selects a where cond != 0 (NaN counts as true, -0 as false), broadcasting all three', () => {
    for (const build of builds) {
      const core = cores[build];
      for (const [sc, sa, sb] of WHERE_SHAPES) {
        const c = condData(sizeOf(sc), nextSeed());
        const a = randomData(sizeOf(sa), nextSeed()), b = randomData(sizeOf(sb), nextSeed(), 2, 3);
        const out = Tensor.where(tensor(core, c, sc), tensor(core, a, sa), tensor(core, b, sb));
        const ref = whereRef(c, sc, a, sa, b, sb);
        expect(out.shape).toEqual(ref.shape);
        expectCorrectlyRounded(out.toArray(), ref.data, `where ${build} ${JSON.stringify([sc, sa, sb])}`);
      }
      core.endStep();
    }
  });

  it('gradient goes to a where cond is true, to b elsewhere, none to cond', () => {
    for (const build of builds) {
      const core = cores[build];
      for (const [sc, sa, sb] of WHERE_SHAPES) {
        const c = condData(sizeOf(sc), nextSeed());
        const a = randomData(sizeOf(sa), nextSeed()), b = randomData(sizeOf(sb), nextSeed());
        const outShape = whereRef(c, sc, a, sa, b, sb).shape;
        const w = randomData(sizeOf(outShape), nextSeed(), -1, 1);
        const ct = tensor(core, c, sc, true), at = tensor(core, a, sa, true), bt = tensor(core, b, sb, true);
        Tensor.where(ct, at, bt).mul(tensor(core, w, outShape)).sum().backward();
        const label = `where ${build} ${JSON.stringify([sc, sa, sb])}`;
        // A broadcast operand's gradient sums up to 264 weights in [-1, 1] in f32 (b of rank 0
        // against (2, 4, 33)): each addition rounds by <= 2^-24 * |partial sum| (<~ 10), and
        // those errors random-walk to a few 1e-6: atol 1e-5.
        expectClose(at.grad()!, finiteDiff((v) => weightedSum(whereRef(c, sc, v, sa, b, sb).data, w), a), `${label} grad a`, 1e-5, 1e-5);
        expectClose(bt.grad()!, finiteDiff((v) => weightedSum(whereRef(c, sc, a, sa, v, sb).data, w), b), `${label} grad b`, 1e-5, 1e-5);
        expect(ct.grad(), `${label}: cond gets no gradient`).toBeNull();
      }
      core.endStep();
    }
  });
});

// ---- SIMD and scalar builds agree bit for bit ------------------------------------------------

/** Random data with special values mixed in: zeros of both signs, infinities, NaN, huge, tiny. */
function dataWithSpecials(n: number, seed: number, lo: number, hi: number): Float64Array {
  const special = [0, -0, Infinity, -Infinity, Number.NaN, 1e30, -1e30, 1e-40, -3e-39];
  return randomData(n, seed, lo, hi).map((v, i) => (i % 6 === 5 ? special[(i / 6) % special.length | 0]! : v));
}

/** Runs `build` on both cores with the same inputs; compares outputs and every input's gradient bitwise. */
function expectBuildsAgree(
  label: string,
  inputs: { data: Float64Array; shape: Shape; grad: boolean }[],
  build: (ts: Tensor[]) => Tensor,
): void {
  const results = builds.map((b) => {
    const core = cores[b];
    const ts = inputs.map((i) => tensor(core, i.data, i.shape, i.grad));
    const out = build(ts);
    const w = randomData(out.size, 99, -1, 1);
    out.mul(tensor(core, w, out.shape)).sum().backward();
    return { out: out.toArray(), grads: ts.map((t) => t.grad()) };
  });
  const [simd, scalar] = results as [typeof results[0], typeof results[0]];
  expectBitwiseEqual(simd.out, scalar.out, `${label}: forward`);
  simd.grads.forEach((g, i) => {
    if (g === null || scalar.grads[i] === null) expect(g, `${label}: grad ${i} exists in both`).toEqual(scalar.grads[i]);
    else expectBitwiseEqual(g, scalar.grads[i]!, `${label}: grad ${i}`);
  });
}

describe('SIMD and scalar builds agree bitwise, forward and backward', () => {
  it('unary ops, including zeros, infinities, NaN and subnormals', () => {
    for (const c of UNARY) {
      for (const shape of FORWARD_SHAPES) {
        const x = dataWithSpecials(sizeOf(shape), nextSeed(), c.lo, c.hi);
        expectBuildsAgree(`${c.name} ${JSON.stringify(shape)}`, [{ data: x, shape, grad: true }], ([t]) => c.apply(t!));
      }
      cores.simd.endStep();
      cores.scalar.endStep();
    }
  });

  it('binary ops on every broadcast pattern', () => {
    for (const op of BINARY) {
      for (const [sa, sb] of [...BINARY_PAIRS, ...TAIL_SIZES.map((n): [Shape, Shape] => [[2, n], [2, n]])]) {
        const a = dataWithSpecials(sizeOf(sa), nextSeed(), -2, 2), b = dataWithSpecials(sizeOf(sb), nextSeed(), -2, 2);
        expectBuildsAgree(`${op} ${JSON.stringify([sa, sb])}`, [
          { data: a, shape: sa, grad: true },
          { data: b, shape: sb, grad: true },
        ], ([x, y]) => applyBinary(op, x!, y!));
      }
      cores.simd.endStep();
      cores.scalar.endStep();
    }
  });

  it('where on every broadcast pattern', () => {
    for (const [sc, sa, sb] of [...WHERE_SHAPES, ...TAIL_SIZES.map((n): [Shape, Shape, Shape] => [[n], [n], [1]])]) {
      expectBuildsAgree(`where ${JSON.stringify([sc, sa, sb])}`, [
        { data: condData(sizeOf(sc), nextSeed()), shape: sc, grad: false },
        { data: dataWithSpecials(sizeOf(sa), nextSeed(), -2, 2), shape: sa, grad: true },
        { data: dataWithSpecials(sizeOf(sb), nextSeed(), -2, 2), shape: sb, grad: true },
      ], ([c, a, b]) => Tensor.where(c!, a!, b!));
    }
  });
});

// ---- typed errors ------------------------------------------------------------------------------

describe('typed errors', () => {
  it('ShapeError for operands that do not broadcast, naming the op and the shapes', () => {
    const core = cores.simd;
    const a = tensor(core, randomData(6, 1), [2, 3]), b = tensor(core, randomData(4, 2), [4]);
    expect(() => a.mul(b)).toThrow(ShapeError);
    expect(() => a.mul(b)).toThrow(/^mul: .*\[2, 3\] and \[4\]/);
    expect(() => Tensor.where(a, a, b)).toThrow(/^where: .*\[2, 3\] and \[2, 3\] and \[4\]/);
  });

  it('StaleTensorError when a scratch tensor is used after endStep()', () => {
    const core = cores.simd;
    const x = tensor(core, [1, 2, 3], [3]);
    const y = x.exp();
    core.endStep();
    expect(() => x.exp()).toThrow(StaleTensorError);
    expect(() => y.clamp(0, 1)).toThrow(StaleTensorError);
    const fresh = tensor(core, [1, 2, 3], [3]);
    expect(() => fresh.add(x)).toThrow(StaleTensorError);
    expect(() => Tensor.where(fresh, fresh, y)).toThrow(/where: scratch tensor \[3\] is from step/);
  });

  it('ValueError for clamp with lo > hi', () => {
    const x = tensor(cores.simd, [1, 2, 3], [3]);
    expect(() => x.clamp(1, 0)).toThrow(ValueError);
    expect(() => x.clamp(Number.NaN, 1)).toThrow(ValueError);
    expect(Array.from(x.clamp(2, 2).toArray())).toEqual([2, 2, 2]); // lo == hi is allowed
  });

  it('NumericError from assertFinite on the log of a negative number', () => {
    const y = tensor(cores.simd, [2, -1, 3], [3]).log();
    expect(() => y.assertFinite('log(x)')).toThrow(NumericError);
    expect(() => y.assertFinite('log(x)')).toThrow(/log\(x\) has a non-finite value NaN at flat index 1/);
    expect(() => tensor(cores.simd, [2, 3], [2]).log().assertFinite()).not.toThrow();
  });
});

// ---- no-grad mode ------------------------------------------------------------------------------

describe('noGrad', () => {
  const everyOp = (x: Tensor, y: Tensor, c: Tensor): Tensor[] => [
    ...UNARY.map((u) => u.apply(x)),
    ...BINARY.map((op) => applyBinary(op, x, y)),
    Tensor.where(c, x, y),
  ];

  it('records nothing on the tape, and results carry no gradient', () => {
    for (const build of builds) {
      const core = cores[build];
      core.endStep();
      const x = tensor(core, randomData(6, 5, 0.5, 2), [2, 3], true);
      const y = tensor(core, randomData(3, 6, 0.5, 2), [3], true);
      const c = tensor(core, [1, 0, 1], [3]);
      // the control: with gradients on, every op records itself
      const tracked = everyOp(x, y, c);
      expect(core.exports.tapeLength()).toBe(tracked.length);
      core.endStep();

      const x2 = tensor(core, randomData(6, 5, 0.5, 2), [2, 3], true);
      const y2 = tensor(core, randomData(3, 6, 0.5, 2), [3], true);
      const c2 = tensor(core, [1, 0, 1], [3]);
      const results = noGrad(() => everyOp(x2, y2, c2), core);
      expect(core.exports.tapeLength(), `${build}: tape after noGrad`).toBe(0);
      expect(core.gradEnabled).toBe(true);
      // a loss built from the no-grad results does not reach x2 or y2
      let loss = results[0]!.sum();
      for (const r of results.slice(1)) loss = loss.add(r.sum());
      expect(core.exports.tapeLength()).toBe(0);
      expect(() => loss.backward()).toThrow(/does not require a gradient/); // as PyTorch, not a silent no-op
      expect(x2.grad()).toBeNull();
      expect(y2.grad()).toBeNull();
      expect(loss.grad()).toBeNull();
      core.endStep();
    }
  });
});
