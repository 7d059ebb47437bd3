// Deterministic transcendentals for host code that feeds training (docs/architecture.md, "Determinism"):
// JavaScript engines disagree in the last bit of Math.exp/log/sin/cos/tanh/pow.
//
// exp, expm1, log, tanh, sigmoid and gelu below are the core's f32 algorithms
// (assembly/math/det.ts) written again in TypeScript, operation for operation, with
// Math.fround after every step: an f64 + - * / of two f32 values rounded once to f32 equals the
// f32 operation (f64 carries more than 2 * 24 + 2 bits), so these give the core's bits on every
// engine (tests/det_math.test.ts checks them against the core). Inputs are rounded to f32 first.
// sin, cos and pow stay the core's f64 software versions. + - * / and Math.sqrt are exact in
// JavaScript already and need no help.

import type { Core } from './core';
import { defaultCore } from './core';

export interface DetMath {
  /** e^x, the core's f32 algorithm (x rounded to f32). */
  exp(x: number): number;
  /** natural log, the core's f32 algorithm (x rounded to f32). */
  log(x: number): number;
  /** sin (radians), f64 */
  sin(x: number): number;
  /** cos (radians), f64 */
  cos(x: number): number;
  /** tanh, the core's f32 algorithm (x rounded to f32). */
  tanh(x: number): number;
  /** x^y, f64 */
  pow(x: number, y: number): number;
}

/** The deterministic math functions of a core (default: the one init() loaded). */
export function detMath(core: Core = defaultCore()): DetMath {
  const e = core.exports;
  return { exp: detExpF32, log: detLogF32, sin: e.mathSin, cos: e.mathCos, tanh: detTanhF32, pow: e.mathPow };
}

// ---- f32 bit views -----------------------------------------------------------------------------

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
const fr = Math.fround;

function bitsOf(x: number): number {
  f32[0] = x;
  return i32[0]!;
}
function fromBits(bits: number): number {
  i32[0] = bits;
  return f32[0]!;
}

// ---- exp ---------------------------------------------------------------------------------------

const EXP_HI = 89;
const EXP_LO = -104;
const LOG2E = fr(1.4426950408889634);
const LN2_HI = 0.693359375;
const LN2_LO = fr(-2.12194440e-4);
const ROUND_MAGIC = 12582912;
const ROUND_MAGIC_BITS = 0x4b400000;
const EXP_P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1].map(fr);

/** exp(x) in f32: assembly/math/det.ts detExp, bit for bit. */
export function detExpF32(x: number): number {
  const xf = fr(x);
  const xl = xf < EXP_LO ? EXP_LO : xf;
  const xc = xl > EXP_HI ? EXP_HI : xl; // a NaN fails both comparisons and stays NaN
  const t = fr(fr(xc * LOG2E) + ROUND_MAGIC);
  const n = fr(t - ROUND_MAGIC);
  const r = fr(fr(xc - fr(n * LN2_HI)) - fr(n * LN2_LO));
  const rr = fr(r * r);
  let p = fr(fr(EXP_P[0]! * r) + EXP_P[1]!);
  for (let i = 2; i < EXP_P.length; i++) p = fr(fr(p * r) + EXP_P[i]!);
  const y = fr(fr(fr(p * rr) + r) + 1);
  const k = (bitsOf(t) - ROUND_MAGIC_BITS) | 0;
  const k1 = k >> 1;
  const k2 = k - k1;
  return fr(fr(y * fromBits((k1 + 127) << 23)) * fromBits((k2 + 127) << 23));
}

// ---- expm1 -------------------------------------------------------------------------------------

const EXPM1_SERIES_MAX = 0.5;
const EXPM1_Q = [2.4801587301587302e-5, 1.9841269841269841e-4, 1.3888888888888889e-3, 8.3333333333333333e-3,
  4.1666666666666667e-2, 1.6666666666666667e-1, 0.5].map(fr);

/** exp(x) - 1 in f32, accurate near 0: assembly/math/det.ts detExpm1, bit for bit. */
export function detExpm1F32(x: number): number {
  x = fr(x);
  if (Math.abs(x) < EXPM1_SERIES_MAX) {
    let q = fr(fr(EXPM1_Q[0]! * x) + EXPM1_Q[1]!);
    for (let i = 2; i < EXPM1_Q.length; i++) q = fr(fr(q * x) + EXPM1_Q[i]!);
    return fr(fr(fr(x * x) * q) + x);
  }
  return fr(detExpF32(x) - 1);
}

// ---- log ---------------------------------------------------------------------------------------

const SMALLEST_NORMAL = 2 ** -126;
const TWO_POW_23 = 8388608;
const SQRT_HALF = fr(0.70710678118654752);
const LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1].map(fr);

/** log(x) in f32: assembly/math/det.ts detLog, bit for bit. */
export function detLogF32(x: number): number {
  x = fr(x);
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return x;
  const subnormal = x < SMALLEST_NORMAL;
  const xs = subnormal ? fr(x * TWO_POW_23) : x;
  const bits = bitsOf(xs);
  let e = (bits >> 23) - (subnormal ? 126 + 23 : 126);
  const m = fromBits((bits & 0x007fffff) | 0x3f000000);
  const low = m < SQRT_HALF;
  const f = low ? fr(fr(m + m) - 1) : fr(m - 1);
  if (low) e -= 1;
  const z = fr(f * f);
  let p = fr(fr(LOG_P[0]! * f) + LOG_P[1]!);
  for (let i = 2; i < LOG_P.length; i++) p = fr(fr(p * f) + LOG_P[i]!);
  let y = fr(fr(p * f) * z);
  y = fr(y + fr(e * LN2_LO));
  y = fr(y + fr(-0.5 * z));
  return fr(fr(f + y) + fr(e * LN2_HI));
}

// ---- tanh --------------------------------------------------------------------------------------

const TANH_EXP_MIN = 0.625;
const TANH_T = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1].map(fr);

/** tanh(x) in f32: assembly/math/det.ts detTanh, bit for bit. */
export function detTanhF32(x: number): number {
  x = fr(x);
  const z = Math.abs(x);
  let r: number;
  if (z >= TANH_EXP_MIN) {
    r = fr(1 - fr(2 / fr(detExpF32(fr(z + z)) + 1)));
  } else {
    const s = fr(z * z);
    let p = fr(fr(TANH_T[0]! * s) + TANH_T[1]!);
    for (let i = 2; i < TANH_T.length; i++) p = fr(fr(p * s) + TANH_T[i]!);
    r = fr(fr(fr(p * s) * z) + z);
  }
  // the sign of x on the bits of r (r >= 0 or NaN)
  return fromBits(bitsOf(r) | (bitsOf(x) & 0x80000000));
}

// ---- sigmoid and GELU ----------------------------------------------------------------------------

/** 1 / (1 + exp(-x)) in f32: assembly/math/det.ts detSigmoid, bit for bit. */
export function detSigmoidF32(x: number): number {
  x = fr(x);
  const e = detExpF32(-Math.abs(x));
  return fr((x >= 0 ? 1 : e) / fr(1 + e));
}

const SQRT_2_OVER_PI = fr(0.7978845608028654);
const GELU_K = fr(0.044715);

/** GELU (tanh form) as x sigmoid(2u) in f32: assembly/math/det.ts detGelu, bit for bit. */
export function detGeluF32(x: number): number {
  x = fr(x);
  const z = fr(2 * fr(SQRT_2_OVER_PI * fr(x + fr(fr(fr(GELU_K * x) * x) * x))));
  return fr(x * detSigmoidF32(z));
}
