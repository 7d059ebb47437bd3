// AssemblyScript: the inner loop of scripts/det_math_accuracy.ts. Runs the core's scalar
// deterministic functions (assembly/math/det.ts; the f32x4 versions and the host mirror give
// the same bits, tests/det_math.test.ts checks that) on a range of f32 bit patterns and compares
// each result with a float64 reference computed with AssemblyScript's software f64 Math
// (musl's, within 1 ulp of f64: ~1e-16 relative, nothing next to an f32 ulp).

import { detExp, detExpm1, detLog, detTanh, detSigmoid, detGelu } from '../../assembly/math/det';

const SQRT_2_OVER_PI: f64 = 0.7978845608028654;

let maxUlp: f64 = 0;
let worstBits: u32 = 0;
let roundedCount: f64 = 0;
let checkedCount: f64 = 0;
let nanToNan: bool = true;

export function reset(): void {
  maxUlp = 0;
  worstBits = 0;
  roundedCount = 0;
  checkedCount = 0;
  nanToNan = true;
}
export function resultMaxUlp(): f64 { return maxUlp; }
export function resultWorstBits(): u32 { return worstBits; }
export function resultRounded(): f64 { return roundedCount; }
export function resultChecked(): f64 { return checkedCount; }
export function resultNanToNan(): bool { return nanToNan; }

@inline function evaluate(fn: i32, x: f32): f32 {
  switch (fn) {
    case 0: return detExp(x);
    case 1: return detLog(x);
    case 2: return detTanh(x);
    case 3: return detSigmoid(x);
    case 4: return detGelu(x);
    default: return detExpm1(x);
  }
}

@inline function reference(fn: i32, x: f64): f64 {
  switch (fn) {
    case 0: return Math.exp(x);
    case 1: return Math.log(x);
    case 2: return Math.tanh(x);
    case 3: return 1 / (1 + Math.exp(-x));
    case 4: {
      // x / (1 + exp(-2u)) = 0.5 x (1 + tanh u), without the tanh form's cancellation
      const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
      return x == 0 ? x : x / (1 + Math.exp(-2 * u));
    }
    default: return Math.expm1(x);
  }
}

/** Spacing of f32 numbers in the binade of the real |r| (2^-149 below 2^-126). */
function ulpAt(r: f64): f64 {
  const a = Math.abs(r);
  const f = <f32>a;
  const bits = reinterpret<u32>(f);
  let e = <i32>((bits >>> 23) & 0xff);
  if (<f64>f > a && (bits & 0x7fffff) == 0 && e > 1) e -= 1; // rounding carried into the next binade
  return e <= 1 ? Math.pow(2, -149) : Math.pow(2, <f64>(e - 150));
}

/** Checks `count` bit patterns start, start + stride, ..., accumulating into the results. */
export function scan(fn: i32, start: u32, count: u32, stride: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const x = reinterpret<f32>(start + i * stride);
    const y = evaluate(fn, x);
    if (isNaN(x)) {
      if (!isNaN(y)) nanToNan = false;
      continue;
    }
    checkedCount += 1;
    const r = reference(fn, <f64>x);
    let err: f64;
    if (isNaN(r)) {
      err = isNaN(y) ? 0 : Infinity;
    } else if (y == <f32>r) {
      err = <f64>y == r ? 0 : Math.min(0.5, Math.abs(<f64>y - r) / ulpAt(r));
    } else if (!isFinite(y) || !isFinite(r)) {
      err = Infinity;
    } else {
      err = Math.abs(<f64>y - r) / ulpAt(r);
    }
    if (err <= 0.5) roundedCount += 1;
    if (err > maxUlp) {
      maxUlp = err;
      worstBits = start + i * stride;
    }
  }
}
