// The deterministic transcendentals (assembly/math/det.ts): the host mirror (sdk/core/det_math.ts)
// gives the core's bits, the SIMD and scalar builds give the same bits, the ULP error against
// float64 stays within the bounds in assembly/README.md on a few million inputs spread over the
// whole f32 range, and the special values (zeros, infinities, NaN, subnormals, the overflow and
// underflow thresholds) come out as documented. scripts/det_math_accuracy.ts runs the
// exhaustive version (every f32) of the accuracy check.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Tensor, detExpF32, detExpm1F32, detGeluF32, detLogF32, detMath, detSigmoidF32, detTanhF32, klEstimate, type Core,
} from '../sdk/index';
import { expectBitwiseEqual, loadCores } from './util';
import { ulpError, wideRef, type WideName } from './reference/elementwise';

let cores: { simd: Core; scalar: Core };
const builds = ['simd', 'scalar'] as const;

beforeAll(async () => {
  cores = await loadCores();
});

afterEach(() => {
  cores.simd.endStep();
  cores.scalar.endStep();
});

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);
function fromBits(b: number): number {
  bits[0] = b;
  return asFloat[0]!;
}
/** The next f32 above x (x finite). */
function nextUp(x: number): number {
  asFloat[0] = x;
  bits[0] = x >= 0 ? (Object.is(x, -0) ? 1 : bits[0]! + 1) : bits[0]! - 1;
  return asFloat[0]!;
}

const SPECIALS = [
  0, -0, Infinity, -Infinity, NaN, 1, -1, 2 ** -149, -(2 ** -149), 2 ** -126, -(2 ** -126), fromBits(0x007fffff),
  3.4028234663852886e38, -3.4028234663852886e38, 88.72283, 88.72284, -87.33654, -103.27893, -103.97208, -103.97209,
  -104, 89, 0.5, -0.5, 0.625, -0.625, 0.6249999, 9.01, -9.01, 44.4, 1e-20, -1e-20,
].map(Math.fround);

/** `count` f32 values whose bit patterns step evenly through all 2^32 (so every binade and sign), plus SPECIALS. */
function spreadInputs(count: number, offset = 0): Float32Array {
  const out = new Float32Array(count + SPECIALS.length);
  const u = new Uint32Array(out.buffer);
  const stride = Math.floor(2 ** 32 / count);
  for (let i = 0; i < count; i++) u[i] = (i * stride + offset) >>> 0;
  out.set(SPECIALS, count);
  return out;
}

type Fn = 'exp' | 'log' | 'tanh' | 'sigmoid' | 'gelu';
const OPS: Record<Fn, (t: Tensor) => Tensor> = {
  exp: (t) => t.exp(),
  log: (t) => t.log(),
  tanh: (t) => t.tanh(),
  sigmoid: (t) => t.sigmoid(),
  gelu: (t) => t.gelu(),
};
const HOST: Record<Fn | 'expm1', (x: number) => number> = {
  exp: detExpF32,
  log: detLogF32,
  tanh: detTanhF32,
  sigmoid: detSigmoidF32,
  gelu: detGeluF32,
  expm1: detExpm1F32,
};

function coreOp(core: Core, fn: Fn, x: Float32Array): Float32Array {
  return OPS[fn](Tensor.from(x, [x.length], { core })).toArray();
}

describe('host mirror (sdk/core/det_math.ts) and core agree bit for bit', () => {
  const x = spreadInputs(200_000, 12345);

  for (const fn of Object.keys(OPS) as Fn[]) {
    it(`${fn}: the op on both builds equals the TypeScript mirror`, () => {
      const host = x.map(HOST[fn]);
      for (const build of builds) expectBitwiseEqual(coreOp(cores[build], fn, x), host, `${fn} ${build} vs host`);
    });
  }

  it('mathExp, mathLog, mathTanh exports and detMath() equal the mirror', () => {
    const small = x.subarray(0, 50_000);
    for (const build of builds) {
      const e = cores[build].exports;
      for (const [name, coreFn, hostFn] of [['exp', e.mathExp, detExpF32], ['log', e.mathLog, detLogF32], ['tanh', e.mathTanh, detTanhF32]] as const) {
        expectBitwiseEqual(small.map(coreFn), small.map(hostFn), `${name} ${build} export vs host`);
      }
    }
    const m = detMath(cores.simd);
    expect(m.exp(1)).toBe(detExpF32(1));
    expect(m.log(10)).toBe(detLogF32(10));
    expect(m.tanh(0.3)).toBe(detTanhF32(0.3));
  });

  it('expm1 (inside the k3 KL estimator) equals the mirror on both builds', () => {
    // k3 = expm1(logr) - logr with logr = logpRef - logp = x - 0 = x
    const small = spreadInputs(100_000, 777);
    const expected = small.map((v) => Math.fround(detExpm1F32(v) - v));
    for (const build of builds) {
      const core = cores[build];
      const k3 = klEstimate(Tensor.zeros([small.length], { core }), Tensor.from(small, [small.length], { core }), 'k3');
      expectBitwiseEqual(k3.toArray(), expected, `k3 ${build} vs host`);
    }
  });
});

// Bounds asserted here; the measured maxima over every f32 (scripts/det_math_accuracy.ts) are in
// assembly/README.md, and each bound sits a little above its maximum.
const ULP_BOUND: Record<Exclude<WideName, 'gelu'>, number> = { exp: 1, expm1: 2, log: 1, tanh: 1.5, sigmoid: 3 };

// GELU's f32 argument z = 2 sqrt(2/pi) (x + 0.044715 x^3) carries three roundings, and
// sigmoid(z) turns an absolute error d in z into a relative error of about |z| d for z < 0: a
// relative error of up to ~3 |z| 2^-24 that no f32 evaluation of the formula avoids. Bound:
// 4 + 3 |z| ulp (the maximum over every f32, 250 ulp at x = -9.89 where 4 + 3 |z| = 258, sits under it).
function geluBound(x: number): number {
  const z = 2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
  return 4 + 3 * Math.abs(z);
}

describe('ULP error against float64 on 2 million inputs spread over all f32 values', () => {
  for (const fn of [...Object.keys(OPS), 'expm1'] as WideName[]) {
    const bound = fn === 'gelu' ? geluBound : () => ULP_BOUND[fn as Exclude<WideName, 'gelu'>];
    it(`${fn}: error within ${fn === 'gelu' ? '4 + 3 |z|' : ULP_BOUND[fn as Exclude<WideName, 'gelu'>]} ulp; NaN in, NaN out`, () => {
      const x = spreadInputs(fn === 'expm1' ? 500_000 : 2_000_000, 99991);
      const y = fn === 'expm1' ? x.map(detExpm1F32) : coreOp(cores.simd, fn as Fn, x);
      let worst = 0, worstAt = NaN;
      for (let i = 0; i < x.length; i++) {
        const xi = x[i]!, yi = y[i]!;
        const r = wideRef[fn](xi);
        if (Number.isNaN(r) || Number.isNaN(xi)) {
          if (!Number.isNaN(yi)) expect.fail(`${fn}(${xi}) = ${yi}, expected NaN`);
          continue;
        }
        const e = ulpError(yi, r);
        if (!(e <= bound(xi))) expect.fail(`${fn}(${xi}) = ${yi}: ${e.toFixed(3)} ulp from ${r}, bound ${bound(xi).toFixed(1)}`);
        if (e > worst) {
          worst = e;
          worstAt = xi;
        }
      }
      // the inputs reach the regions where each function is least accurate
      expect(worst, `${fn}: worst ${worst.toFixed(3)} ulp at x = ${worstAt}`).toBeGreaterThan(0.5);
    });
  }
});

describe('special values', () => {
  const run = (fn: Fn, xs: number[]) => Array.from(coreOp(cores.simd, fn, Float32Array.from(xs)));

  it('exp: exp(+-0) = 1, +inf -> inf, -inf -> 0, overflow and underflow at the f32 thresholds, subnormal results', () => {
    expect(run('exp', [0, -0, Infinity, -Infinity])).toEqual([1, 1, Infinity, 0]);
    expect(Number.isNaN(run('exp', [NaN])[0])).toBe(true);
    // the largest x whose exp is finite, and the next f32 above it
    const xMax = Math.fround(88.72283);
    expect(Math.fround(Math.exp(xMax))).toBeLessThan(Infinity);
    const [atMax, aboveMax] = run('exp', [xMax, nextUp(xMax)]);
    expect(atMax).toBeLessThan(Infinity);
    expect(ulpError(atMax!, Math.exp(xMax))).toBeLessThanOrEqual(1);
    expect(aboveMax).toBe(Infinity);
    expect(Math.fround(Math.exp(nextUp(xMax)))).toBe(Infinity);
    // subnormal results, rounded once: within 1 ulp (2^-149 absolute) of exp(x)
    const sub = [-87.5, -90, -95, -100, -103, -103.9].map(Math.fround);
    run('exp', sub).forEach((y, i) => expect(ulpError(y, Math.exp(sub[i]!)), `exp(${sub[i]})`).toBeLessThanOrEqual(1));
    // exp(x) < 2^-150 rounds to 0; the last x above that gives the smallest subnormal
    expect(run('exp', [-103.97209, -104, -1e30])).toEqual([0, 0, 0]);
    expect(run('exp', [-103.97207])).toEqual([2 ** -149]);
  });

  it('log: log(+-0) = -inf, negative -> NaN, +inf -> inf, log(1) = 0, subnormal inputs', () => {
    expect(run('log', [0, -0, Infinity, 1])).toEqual([-Infinity, -Infinity, Infinity, 0]);
    for (const v of run('log', [-1, -(2 ** -149), -Infinity, NaN])) expect(Number.isNaN(v)).toBe(true);
    const xs = [2 ** -149, fromBits(0x007fffff), 2 ** -126, 3.4028234663852886e38].map(Math.fround);
    run('log', xs).forEach((y, i) => expect(ulpError(y, Math.log(xs[i]!)), `log(${xs[i]})`).toBeLessThanOrEqual(1));
  });

  it('tanh: odd to the bit, tanh(+-0) = +-0, saturates to +-1, subnormals pass through', () => {
    const y = run('tanh', [0, -0, Infinity, -Infinity, 9.1, -9.1, 50, 2 ** -149, -(2 ** -140)]);
    expect(y).toEqual([0, -0, 1, -1, 1, -1, 1, 2 ** -149, -(2 ** -140)]);
    expect(Object.is(y[1], -0)).toBe(true);
    expect(Number.isNaN(run('tanh', [NaN])[0])).toBe(true);
    const x = spreadInputs(20_000, 5).filter((v) => !Number.isNaN(v));
    const plus = coreOp(cores.simd, 'tanh', x), minus = coreOp(cores.simd, 'tanh', x.map((v) => -v));
    expectBitwiseEqual(minus, plus.map((v) => -v), 'tanh(-x) = -tanh(x)');
  });

  it('sigmoid: 0 -> 0.5, +inf -> 1, -inf -> 0, far left subnormal then 0', () => {
    expect(run('sigmoid', [0, -0, Infinity, -Infinity, 20, -104])).toEqual([0.5, 0.5, 1, 0, 1, 0]);
    expect(Number.isNaN(run('sigmoid', [NaN])[0])).toBe(true);
    const xs = [-88, -95, -103];
    run('sigmoid', xs).forEach((y, i) => expect(ulpError(y, wideRef.sigmoid(xs[i]!))).toBeLessThanOrEqual(1));
  });

  it('gelu: +-0 -> +-0, +inf -> inf, -inf -> NaN (as 0.5 x (1 + tanh u) is), x far left -> -0', () => {
    const y = run('gelu', [0, -0, Infinity, -1e30, 1e30]);
    expect(y).toEqual([0, -0, Infinity, -0, Math.fround(1e30)]);
    expect(Object.is(y[1], -0)).toBe(true);
    expect(Number.isNaN(run('gelu', [-Infinity])[0])).toBe(true);
    expect(Number.isNaN(run('gelu', [NaN])[0])).toBe(true);
  });
});
