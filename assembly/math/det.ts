// Deterministic f32 transcendentals: exp, expm1, log, tanh, sigmoid, GELU (tanh form) and its
// slope, each as a scalar function and an f32x4 function that perform the SAME f32 operations in
// the SAME order on every lane: + - * /, comparisons with selection, and exponent bit
// manipulation. No FMA, no relaxed SIMD, no f64. So the SIMD build, the scalar build (and the
// scalar tails of SIMD loops), and the host mirror sdk/core/det_math.ts give identical bits on
// every engine. Accuracy (max ULP error against float64 over the whole f32 range) and special
// values are listed in assembly/README.md, "Deterministic transcendentals"; the algorithms are
// Cephes-style (range reduction + polynomial, Moshier's coefficients).
//
// Where the scalar function branches (`a ? b : c`, or `if`), the vector one computes both sides
// and picks with v128.bitselect: every lane ends with the value of the branch the scalar took.
//
// The vector functions read their constants from linear memory (math/splat.ts says why), and
// clamp with a comparison and a selection (the same in both builds) rather than min/max, which
// wasm defines with NaN and signed-zero rules that take V8 eight instructions; the clamps here
// never see a zero bound, and a NaN passes through both forms.

import { splatAt, ONE_AT, TWO_AT } from './splat';

// ---- exp -------------------------------------------------------------------------------------

/** exp(89) > FLT_MAX: inputs are clamped here and the scaling overflows to +inf. */
const EXP_HI: f32 = 89;
const EXP_HI_AT = memory.data<f32>([EXP_HI]);
/** exp(-104) < 2^-150, which rounds to 0: inputs are clamped here. */
const EXP_LO: f32 = -104;
const EXP_LO_AT = memory.data<f32>([EXP_LO]);
const LOG2E: f32 = 1.4426950408889634;
const LOG2E_AT = memory.data<f32>([LOG2E]);
/** ln 2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so n * LN2_HI is exact for |n| < 2^15. */
const LN2_HI: f32 = 0.693359375;
const LN2_HI_AT = memory.data<f32>([LN2_HI]);
const LN2_LO: f32 = -2.12194440e-4;
const LN2_LO_AT = memory.data<f32>([LN2_LO]);
/** 1.5 * 2^23: t = v + ROUND_MAGIC rounds v to the nearest integer (ties to even) for |v| < 2^22. */
const ROUND_MAGIC: f32 = 12582912;
const ROUND_MAGIC_AT = memory.data<f32>([ROUND_MAGIC]);
/** The bits of ROUND_MAGIC: bits(t) - ROUND_MAGIC_BITS is that integer. */
const ROUND_MAGIC_BITS: i32 = 0x4b400000;
const ROUND_MAGIC_BITS_AT = memory.data<i32>([ROUND_MAGIC_BITS]);
const EXPONENT_BIAS_AT = memory.data<i32>([127]);
// exp(r) ~ 1 + r + r^2 P(r) on |r| <= ln2 / 2
const EXP_P0: f32 = 1.9875691500e-4;
const EXP_P0_AT = memory.data<f32>([EXP_P0]);
const EXP_P1: f32 = 1.3981999507e-3;
const EXP_P1_AT = memory.data<f32>([EXP_P1]);
const EXP_P2: f32 = 8.3334519073e-3;
const EXP_P2_AT = memory.data<f32>([EXP_P2]);
const EXP_P3: f32 = 4.1665795894e-2;
const EXP_P3_AT = memory.data<f32>([EXP_P3]);
const EXP_P4: f32 = 1.6666665459e-1;
const EXP_P4_AT = memory.data<f32>([EXP_P4]);
const EXP_P5: f32 = 5.0000001201e-1;
const EXP_P5_AT = memory.data<f32>([EXP_P5]);

// exp(x) = 2^n exp(r),  n = nearest(x log2 e),  r = x - n ln2 (in two parts). 2^n is applied as
// two factors 2^(n>>1) and 2^(n - (n>>1)), each a normal f32 built from its exponent bits, so
// results near FLT_MAX and subnormal results (rounded once, by the last multiply) both come out
// right. NaN stays NaN (it fails both clamp comparisons), +inf -> +inf, -inf -> 0.
/** exp(x) in f32, deterministic. */
@inline export function detExp(x: f32): f32 {
  const xl = x < EXP_LO ? EXP_LO : x;
  const xc = xl > EXP_HI ? EXP_HI : xl;
  const t = xc * LOG2E + ROUND_MAGIC;
  const n = t - ROUND_MAGIC;
  const r = (xc - n * LN2_HI) - n * LN2_LO;
  const rr = r * r;
  const p = ((((EXP_P0 * r + EXP_P1) * r + EXP_P2) * r + EXP_P3) * r + EXP_P4) * r + EXP_P5;
  const y = (p * rr + r) + 1;
  const k = reinterpret<i32>(t) - ROUND_MAGIC_BITS;
  const k1 = k >> 1;
  const k2 = k - k1;
  return (y * reinterpret<f32>((k1 + 127) << 23)) * reinterpret<f32>((k2 + 127) << 23);
}

/** detExp on four lanes. */
@inline export function detExpX4(x: v128): v128 {
  const lo = splatAt(EXP_LO_AT), hi = splatAt(EXP_HI_AT);
  const xl = v128.bitselect(lo, x, f32x4.lt(x, lo));
  const xc = v128.bitselect(hi, xl, f32x4.gt(xl, hi));
  const t = f32x4.add(f32x4.mul(xc, splatAt(LOG2E_AT)), splatAt(ROUND_MAGIC_AT));
  const n = f32x4.sub(t, splatAt(ROUND_MAGIC_AT));
  const r = f32x4.sub(f32x4.sub(xc, f32x4.mul(n, splatAt(LN2_HI_AT))), f32x4.mul(n, splatAt(LN2_LO_AT)));
  const rr = f32x4.mul(r, r);
  let p = f32x4.add(f32x4.mul(splatAt(EXP_P0_AT), r), splatAt(EXP_P1_AT));
  p = f32x4.add(f32x4.mul(p, r), splatAt(EXP_P2_AT));
  p = f32x4.add(f32x4.mul(p, r), splatAt(EXP_P3_AT));
  p = f32x4.add(f32x4.mul(p, r), splatAt(EXP_P4_AT));
  p = f32x4.add(f32x4.mul(p, r), splatAt(EXP_P5_AT));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, rr), r), splatAt(ONE_AT));
  const k = i32x4.sub(t, splatAt(ROUND_MAGIC_BITS_AT));
  const k1 = i32x4.shr_s(k, 1);
  const k2 = i32x4.sub(k, k1);
  const s1 = i32x4.shl(i32x4.add(k1, splatAt(EXPONENT_BIAS_AT)), 23);
  const s2 = i32x4.shl(i32x4.add(k2, splatAt(EXPONENT_BIAS_AT)), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}

// ---- expm1 -----------------------------------------------------------------------------------

/** Below this |x|, expm1 uses its Taylor series (exp(x) - 1 would cancel). */
const EXPM1_SERIES_MAX: f32 = 0.5;
const EXPM1_SERIES_MAX_AT = memory.data<f32>([EXPM1_SERIES_MAX]);
// expm1(x) = x + x^2 Q(x), Q the Taylor series 1/2 + x/6 + ... + x^6/8!, to 5e-9 relative at 0.5
const EXPM1_Q0: f32 = 2.4801587301587302e-5; // 1/8!
const EXPM1_Q0_AT = memory.data<f32>([EXPM1_Q0]);
const EXPM1_Q1: f32 = 1.9841269841269841e-4; // 1/7!
const EXPM1_Q1_AT = memory.data<f32>([EXPM1_Q1]);
const EXPM1_Q2: f32 = 1.3888888888888889e-3; // 1/6!
const EXPM1_Q2_AT = memory.data<f32>([EXPM1_Q2]);
const EXPM1_Q3: f32 = 8.3333333333333333e-3; // 1/5!
const EXPM1_Q3_AT = memory.data<f32>([EXPM1_Q3]);
const EXPM1_Q4: f32 = 4.1666666666666667e-2; // 1/4!
const EXPM1_Q4_AT = memory.data<f32>([EXPM1_Q4]);
const EXPM1_Q5: f32 = 1.6666666666666667e-1; // 1/3!
const EXPM1_Q5_AT = memory.data<f32>([EXPM1_Q5]);
const EXPM1_Q6: f32 = 0.5;
const EXPM1_Q6_AT = memory.data<f32>([EXPM1_Q6]);

// |x| < 0.5: x + x^2 Q(x); otherwise exp(x) - 1 (exact subtraction near the switch: exp(x) is
// within a factor 2 of 1 there). Never below x, so k3 = expm1(logr) - logr >= 0.
/** exp(x) - 1 in f32, deterministic, accurate near 0. */
@inline export function detExpm1(x: f32): f32 {
  if (abs<f32>(x) < EXPM1_SERIES_MAX) {
    const q = (((((EXPM1_Q0 * x + EXPM1_Q1) * x + EXPM1_Q2) * x + EXPM1_Q3) * x + EXPM1_Q4) * x + EXPM1_Q5) * x + EXPM1_Q6;
    return (x * x) * q + x;
  }
  return detExp(x) - 1;
}

/** detExpm1 on four lanes. */
@inline export function detExpm1X4(x: v128): v128 {
  let q = f32x4.add(f32x4.mul(splatAt(EXPM1_Q0_AT), x), splatAt(EXPM1_Q1_AT));
  q = f32x4.add(f32x4.mul(q, x), splatAt(EXPM1_Q2_AT));
  q = f32x4.add(f32x4.mul(q, x), splatAt(EXPM1_Q3_AT));
  q = f32x4.add(f32x4.mul(q, x), splatAt(EXPM1_Q4_AT));
  q = f32x4.add(f32x4.mul(q, x), splatAt(EXPM1_Q5_AT));
  q = f32x4.add(f32x4.mul(q, x), splatAt(EXPM1_Q6_AT));
  const series = f32x4.add(f32x4.mul(f32x4.mul(x, x), q), x);
  const viaExp = f32x4.sub(detExpX4(x), splatAt(ONE_AT));
  return v128.bitselect(series, viaExp, f32x4.lt(f32x4.abs(x), splatAt(EXPM1_SERIES_MAX_AT)));
}

// ---- log -------------------------------------------------------------------------------------

const SMALLEST_NORMAL: f32 = 1.17549435e-38; // 2^-126
const SMALLEST_NORMAL_AT = memory.data<f32>([SMALLEST_NORMAL]);
const TWO_POW_23: f32 = 8388608;
const TWO_POW_23_AT = memory.data<f32>([TWO_POW_23]);
const SQRT_HALF: f32 = 0.70710678118654752;
const SQRT_HALF_AT = memory.data<f32>([SQRT_HALF]);
// log(1 + f) ~ f - f^2/2 + f^3 P(f) on sqrt(1/2) - 1 <= f < sqrt(2) - 1
const LOG_P0: f32 = 7.0376836292e-2;
const LOG_P0_AT = memory.data<f32>([LOG_P0]);
const LOG_P1: f32 = -1.1514610310e-1;
const LOG_P1_AT = memory.data<f32>([LOG_P1]);
const LOG_P2: f32 = 1.1676998740e-1;
const LOG_P2_AT = memory.data<f32>([LOG_P2]);
const LOG_P3: f32 = -1.2420140846e-1;
const LOG_P3_AT = memory.data<f32>([LOG_P3]);
const LOG_P4: f32 = 1.4249322787e-1;
const LOG_P4_AT = memory.data<f32>([LOG_P4]);
const LOG_P5: f32 = -1.6668057665e-1;
const LOG_P5_AT = memory.data<f32>([LOG_P5]);
const LOG_P6: f32 = 2.0000714765e-1;
const LOG_P6_AT = memory.data<f32>([LOG_P6]);
const LOG_P7: f32 = -2.4999993993e-1;
const LOG_P7_AT = memory.data<f32>([LOG_P7]);
const LOG_P8: f32 = 3.3333331174e-1;
const LOG_P8_AT = memory.data<f32>([LOG_P8]);
const NAN_BITS: i32 = 0x7fc00000;
const NAN_BITS_AT = memory.data<i32>([NAN_BITS]);
const NEG_INF_BITS: i32 = 0xff800000;
const NEG_INF_BITS_AT = memory.data<i32>([NEG_INF_BITS]);
const POS_INF_BITS: i32 = 0x7f800000;
const POS_INF_AT = memory.data<i32>([POS_INF_BITS]);
const MINUS_HALF_AT = memory.data<f32>([-0.5]);
const MANTISSA_MASK_AT = memory.data<i32>([0x007fffff]);
const HALF_BITS_AT = memory.data<i32>([0x3f000000]); // 0.5
const INT_ONE_AT = memory.data<i32>([1]);
const SUBNORMAL_BIAS_AT = memory.data<i32>([126 + 23]);
const NORMAL_BIAS_AT = memory.data<i32>([126]);

// x = m 2^e with m in [sqrt(1/2), sqrt(2)), read from the bits (subnormals scaled by 2^23
// first); log x = e ln2 + log(1 + f), f = m - 1, with ln2 in two parts as in exp.
// log(+0 or -0) = -inf, log(x < 0) = NaN, log(NaN) = NaN (the canonical one), log(+inf) = +inf.
/** log(x) (natural) in f32, deterministic. */
@inline export function detLog(x: f32): f32 {
  const subnormal = x < SMALLEST_NORMAL;
  const xs = subnormal ? x * TWO_POW_23 : x;
  const bits = reinterpret<i32>(xs);
  let e = (bits >> 23) - (subnormal ? 126 + 23 : 126); // xs = m' 2^e, m' in [0.5, 1)
  const m = reinterpret<f32>((bits & 0x007fffff) | 0x3f000000);
  const low = m < SQRT_HALF;
  const f = low ? (m + m) - 1 : m - 1;
  e = low ? e - 1 : e;
  const fe = <f32>e;
  const z = f * f;
  const p = ((((((((LOG_P0 * f + LOG_P1) * f + LOG_P2) * f + LOG_P3) * f + LOG_P4) * f + LOG_P5) * f + LOG_P6) * f + LOG_P7) * f + LOG_P8);
  let y = (p * f) * z;
  y = y + fe * LN2_LO;
  y = y + -0.5 * z;
  const result = (f + y) + fe * LN2_HI;
  if (!(x > 0)) return reinterpret<f32>(x == 0 ? NEG_INF_BITS : NAN_BITS);
  if (x == <f32>Infinity) return x;
  return result;
}

/** detLog on four lanes. */
@inline export function detLogX4(x: v128): v128 {
  const subnormal = f32x4.lt(x, splatAt(SMALLEST_NORMAL_AT));
  const xs = v128.bitselect(f32x4.mul(x, splatAt(TWO_POW_23_AT)), x, subnormal);
  const bias = v128.bitselect(splatAt(SUBNORMAL_BIAS_AT), splatAt(NORMAL_BIAS_AT), subnormal);
  let e = i32x4.sub(i32x4.shr_s(xs, 23), bias);
  const m = v128.or(v128.and(xs, splatAt(MANTISSA_MASK_AT)), splatAt(HALF_BITS_AT));
  const low = f32x4.lt(m, splatAt(SQRT_HALF_AT));
  const one = splatAt(ONE_AT);
  const f = v128.bitselect(f32x4.sub(f32x4.add(m, m), one), f32x4.sub(m, one), low);
  e = v128.bitselect(i32x4.sub(e, splatAt(INT_ONE_AT)), e, low);
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(f, f);
  let p = f32x4.add(f32x4.mul(splatAt(LOG_P0_AT), f), splatAt(LOG_P1_AT));
  p = f32x4.add(f32x4.mul(p, f), splatAt(LOG_P2_AT));
  p = f32x4.add(f32x4.mul(p, f), splatAt(LOG_P3_AT));
  p = f32x4.add(f32x4.mul(p, f), splatAt(LOG_P4_AT));
  p = f32x4.add(f32x4.mul(p, f), splatAt(LOG_P5_AT));
  p = f32x4.add(f32x4.mul(p, f), splatAt(LOG_P6_AT));
  p = f32x4.add(f32x4.mul(p, f), splatAt(LOG_P7_AT));
  p = f32x4.add(f32x4.mul(p, f), splatAt(LOG_P8_AT));
  let y = f32x4.mul(f32x4.mul(p, f), z);
  y = f32x4.add(y, f32x4.mul(fe, splatAt(LN2_LO_AT)));
  y = f32x4.add(y, f32x4.mul(splatAt(MINUS_HALF_AT), z));
  let result = f32x4.add(f32x4.add(f, y), f32x4.mul(fe, splatAt(LN2_HI_AT)));
  const special = v128.bitselect(splatAt(NEG_INF_BITS_AT), splatAt(NAN_BITS_AT), f32x4.eq(x, f32x4.splat(0)));
  result = v128.bitselect(result, special, f32x4.gt(x, f32x4.splat(0)));
  return v128.bitselect(x, result, f32x4.eq(x, splatAt(POS_INF_AT)));
}

// ---- tanh ------------------------------------------------------------------------------------

/** From here on, tanh uses exp; below, its odd polynomial. */
const TANH_EXP_MIN: f32 = 0.625;
const TANH_EXP_MIN_AT = memory.data<f32>([TANH_EXP_MIN]);
// tanh(z) ~ z + z^3 T(z^2) on |z| < 0.625
const TANH_T0: f32 = -5.70498872745e-3;
const TANH_T0_AT = memory.data<f32>([TANH_T0]);
const TANH_T1: f32 = 2.06390887954e-2;
const TANH_T1_AT = memory.data<f32>([TANH_T1]);
const TANH_T2: f32 = -5.37397155531e-2;
const TANH_T2_AT = memory.data<f32>([TANH_T2]);
const TANH_T3: f32 = 1.33314422036e-1;
const TANH_T3_AT = memory.data<f32>([TANH_T3]);
const TANH_T4: f32 = -3.33332819422e-1;
const TANH_T4_AT = memory.data<f32>([TANH_T4]);
const SIGN_BIT: i32 = 0x80000000;
const SIGN_BIT_AT = memory.data<i32>([SIGN_BIT]);

// z = |x|: z < 0.625: z + z^3 T(z^2); otherwise 1 - 2 / (exp(2z) + 1), which saturates to 1
// (exp overflows to inf for 2z > 88.7, 2 / inf = 0). The sign of x is put back on the bits, so
// tanh is exactly odd and tanh(-0) = -0.
/** tanh(x) in f32, deterministic. */
@inline export function detTanh(x: f32): f32 {
  const z = abs<f32>(x);
  let r: f32;
  if (z >= TANH_EXP_MIN) {
    r = 1 - 2 / (detExp(z + z) + 1);
  } else {
    const s = z * z;
    r = (((((TANH_T0 * s + TANH_T1) * s + TANH_T2) * s + TANH_T3) * s + TANH_T4) * s) * z + z;
  }
  return reinterpret<f32>(reinterpret<i32>(r) | (reinterpret<i32>(x) & SIGN_BIT));
}

/** detTanh on four lanes. */
@inline export function detTanhX4(x: v128): v128 {
  const z = f32x4.abs(x);
  const one = splatAt(ONE_AT);
  const viaExp = f32x4.sub(one, f32x4.div(splatAt(TWO_AT), f32x4.add(detExpX4(f32x4.add(z, z)), one)));
  const s = f32x4.mul(z, z);
  let p = f32x4.add(f32x4.mul(splatAt(TANH_T0_AT), s), splatAt(TANH_T1_AT));
  p = f32x4.add(f32x4.mul(p, s), splatAt(TANH_T2_AT));
  p = f32x4.add(f32x4.mul(p, s), splatAt(TANH_T3_AT));
  p = f32x4.add(f32x4.mul(p, s), splatAt(TANH_T4_AT));
  const series = f32x4.add(f32x4.mul(f32x4.mul(p, s), z), z);
  const r = v128.bitselect(viaExp, series, f32x4.ge(z, splatAt(TANH_EXP_MIN_AT)));
  return v128.or(r, v128.and(x, splatAt(SIGN_BIT_AT)));
}

// ---- sigmoid ---------------------------------------------------------------------------------

// e = exp(-|x|) never overflows: sigmoid = 1 / (1 + e) for x >= 0, e / (1 + e) below.
/** 1 / (1 + exp(-x)) in f32, deterministic. */
@inline export function detSigmoid(x: f32): f32 {
  const e = detExp(-abs<f32>(x));
  return (x >= 0 ? <f32>1 : e) / (1 + e);
}

/** detSigmoid on four lanes. */
@inline export function detSigmoidX4(x: v128): v128 {
  const one = splatAt(ONE_AT);
  const e = detExpX4(f32x4.neg(f32x4.abs(x)));
  const num = v128.bitselect(one, e, f32x4.ge(x, f32x4.splat(0)));
  return f32x4.div(num, f32x4.add(one, e));
}

// ---- GELU (tanh approximation) -----------------------------------------------------------------

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const SQRT_2_OVER_PI_AT = memory.data<f32>([SQRT_2_OVER_PI]);
const GELU_K: f32 = 0.044715;
const GELU_K_AT = memory.data<f32>([GELU_K]);
const GELU_3K: f32 = 3 * GELU_K; // an f32 product, as the host mirror computes it
const GELU_3K_AT = memory.data<f32>([GELU_3K]);

// gelu(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as x sigmoid(2u):
// equal in exact arithmetic (1 + tanh(u) = 2 sigmoid(2u)) and free of the cancellation in
// 1 + tanh(u) for very negative u. Far left (x^3 = -inf) it is x * 0 = -0; far right x.
/** GELU, tanh form, in f32, deterministic. */
@inline export function detGelu(x: f32): f32 {
  const z: f32 = 2 * (SQRT_2_OVER_PI * (x + GELU_K * x * x * x));
  return x * detSigmoid(z);
}

/** detGelu on four lanes. */
@inline export function detGeluX4(x: v128): v128 {
  const cube = f32x4.mul(f32x4.mul(f32x4.mul(splatAt(GELU_K_AT), x), x), x);
  const z = f32x4.mul(splatAt(TWO_AT), f32x4.mul(splatAt(SQRT_2_OVER_PI_AT), f32x4.add(x, cube)));
  return f32x4.mul(x, detSigmoidX4(z));
}

// d gelu / dx = s + x s (1 - s) 2 u'(x), s = sigmoid(z), z = 2u, u' = sqrt(2/pi)(1 + 3k x^2),
// with s (1 - s) = e / (1 + e)^2, e = exp(-|z|). Where e underflows to 0 the second term is 0;
// it is skipped there, which avoids 0 * inf once x^2 overflows.
/** The derivative of detGelu's function (the exact GELU-tanh slope, in f32). */
@inline export function detGeluSlope(x: f32): f32 {
  const z: f32 = 2 * (SQRT_2_OVER_PI * (x + GELU_K * x * x * x));
  const e = detExp(-abs<f32>(z));
  const d: f32 = 1 + e;
  const s = (z >= 0 ? <f32>1 : e) / d;
  if (e == 0) return s;
  const du = SQRT_2_OVER_PI * (1 + GELU_3K * x * x);
  return s + (x * (e / (d * d))) * (2 * du);
}

/** detGeluSlope on four lanes. */
@inline export function detGeluSlopeX4(x: v128): v128 {
  const one = splatAt(ONE_AT), two = splatAt(TWO_AT);
  const cube = f32x4.mul(f32x4.mul(f32x4.mul(splatAt(GELU_K_AT), x), x), x);
  const z = f32x4.mul(two, f32x4.mul(splatAt(SQRT_2_OVER_PI_AT), f32x4.add(x, cube)));
  const e = detExpX4(f32x4.neg(f32x4.abs(z)));
  const d = f32x4.add(one, e);
  const s = f32x4.div(v128.bitselect(one, e, f32x4.ge(z, f32x4.splat(0))), d);
  const x2k = f32x4.mul(f32x4.mul(splatAt(GELU_3K_AT), x), x);
  const du = f32x4.mul(splatAt(SQRT_2_OVER_PI_AT), f32x4.add(one, x2k));
  const slope = f32x4.add(s, f32x4.mul(f32x4.mul(x, f32x4.div(e, f32x4.mul(d, d))), f32x4.mul(two, du)));
  return v128.bitselect(s, slope, f32x4.eq(e, f32x4.splat(0)));
}
