// Elementwise unary ops: neg, exp, log, tanh, relu, gelu, sigmoid, clamp, sqrt, square, abs,
// pow with a constant exponent (all primitives).
//
// Each forward writes a fresh scratch output y of x's shape; each backward reads whichever of
// the record's input x (recA) or output y (recOut) its derivative needs and accumulates
// dx += dy * dy/dx. Transcendentals are the deterministic ones of math/det.ts, whose f32x4
// versions perform exactly the scalar versions' f32 operations, so every loop runs four lanes
// at a time in the SIMD build and the scalar function on the tail (and in the scalar build),
// with the same bits. Selections use v128.bitselect so that an element that gets no gradient
// keeps its accumulator bits untouched, as the scalar `if` does.

import { dataOf, gradPtrOf, newScratchLike, gradFor, sizeOf, requiresGrad, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recF0, recF1, setRecF0, setRecF1, BackwardFn } from '../autodiff/tape';
import {
  detExp, detExpX4, detLog, detLogX4, detTanh, detTanhX4, detSigmoid, detSigmoidX4,
  detGelu, detGeluX4, detGeluSlope, detGeluSlopeX4,
} from '../math/det';
import { splatAt, ONE_AT } from '../math/splat';

// ---- shared plumbing -----------------------------------------------------------------------

/** The output of a unary op on `a`: same shape, tracked when `a` is. Negative on failure. */
@inline function outputLike(a: i32): i32 {
  return newScratchLike(a, tracks(a));
}

/** Records `backward` for out = f(a) when out is tracked. False when the tape is out of memory. */
@inline function recorded(backward: BackwardFn, out: i32, a: i32): bool {
  return !requiresGrad(out) || record(backward, out, a) != 0;
}

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

// ---- neg -----------------------------------------------------------------------------------

// y = -x
export function opNeg(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.neg(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), -load<f32>(at(x, i)));
  if (!recorded(negBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = -x  =>  dx -= dy
function negBackward(r: usize): void {
  const ga = gradFor(recA(r));
  if (ga == 0) return;
  const n = sizeOf(recA(r)), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(ga, i), f32x4.sub(v128.load(at(ga, i)), v128.load(at(g, i))));
  }
  for (; i < n; i++) store<f32>(at(ga, i), load<f32>(at(ga, i)) - load<f32>(at(g, i)));
}

// ---- exp -----------------------------------------------------------------------------------

// y = exp(x)
export function opExp(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= n; i += 8) { // two vectors a step: their dependency chains overlap
      const lo = detExpX4(v128.load(at(x, i))), hi = detExpX4(v128.load(at(x, i + 4)));
      v128.store(at(y, i), lo);
      v128.store(at(y, i + 4), hi);
    }
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), detExpX4(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), detExp(load<f32>(at(x, i))));
  if (!recorded(expBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = exp(x)  =>  dx += dy * y
function expBackward(r: usize): void {
  const ga = gradFor(recA(r));
  if (ga == 0) return;
  const n = sizeOf(recA(r)), y = dataOf(recOut(r)), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const d = f32x4.mul(v128.load(at(g, i)), v128.load(at(y, i)));
      v128.store(at(ga, i), f32x4.add(v128.load(at(ga, i)), d));
    }
  }
  for (; i < n; i++) store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)) * load<f32>(at(y, i)));
}

// ---- log -----------------------------------------------------------------------------------

// y = log(x)   (NaN below 0, -inf at 0: the host's assertFinite reports it)
export function opLog(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= n; i += 8) { // two vectors a step: their dependency chains overlap
      const lo = detLogX4(v128.load(at(x, i))), hi = detLogX4(v128.load(at(x, i + 4)));
      v128.store(at(y, i), lo);
      v128.store(at(y, i + 4), hi);
    }
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), detLogX4(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), detLog(load<f32>(at(x, i))));
  if (!recorded(logBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = log(x)  =>  dx += dy / x
function logBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const n = sizeOf(a), x = dataOf(a), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const d = f32x4.div(v128.load(at(g, i)), v128.load(at(x, i)));
      v128.store(at(ga, i), f32x4.add(v128.load(at(ga, i)), d));
    }
  }
  for (; i < n; i++) store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)) / load<f32>(at(x, i)));
}

// ---- tanh ----------------------------------------------------------------------------------

// y = tanh(x)
export function opTanh(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= n; i += 8) { // two vectors a step: their dependency chains overlap
      const lo = detTanhX4(v128.load(at(x, i))), hi = detTanhX4(v128.load(at(x, i + 4)));
      v128.store(at(y, i), lo);
      v128.store(at(y, i + 4), hi);
    }
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), detTanhX4(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), detTanh(load<f32>(at(x, i))));
  if (!recorded(tanhBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = tanh(x)  =>  dx += dy * (1 - y*y), from the saved output
function tanhBackward(r: usize): void {
  const ga = gradFor(recA(r));
  if (ga == 0) return;
  const n = sizeOf(recA(r)), y = dataOf(recOut(r)), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = splatAt(ONE_AT);
    for (; i + 4 <= n; i += 4) {
      const yv = v128.load(at(y, i));
      const d = f32x4.mul(v128.load(at(g, i)), f32x4.sub(one, f32x4.mul(yv, yv)));
      v128.store(at(ga, i), f32x4.add(v128.load(at(ga, i)), d));
    }
  }
  for (; i < n; i++) {
    const yi = load<f32>(at(y, i));
    store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)) * (1 - yi * yi));
  }
}

// ---- relu ----------------------------------------------------------------------------------

// y = max(x, 0)
export function opRelu(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.max(v128.load(at(x, i)), zero));
  }
  for (; i < n; i++) store<f32>(at(y, i), max<f32>(load<f32>(at(x, i)), 0));
  if (!recorded(reluBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = max(x, 0)  =>  dx += dy where x > 0 (nothing at the kink x = 0, as in PyTorch)
function reluBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const n = sizeOf(a), x = dataOf(a), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const acc = v128.load(at(ga, i));
      const pass = f32x4.gt(v128.load(at(x, i)), zero);
      v128.store(at(ga, i), v128.bitselect(f32x4.add(acc, v128.load(at(g, i))), acc, pass));
    }
  }
  for (; i < n; i++) {
    if (load<f32>(at(x, i)) > 0) store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)));
  }
}

// ---- gelu ----------------------------------------------------------------------------------

// y = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)   (the tanh approximation)
// computed as y = x * sigmoid(2u) (math/det.ts detGelu), equal in exact arithmetic
// (1 + tanh(u) = 2 sigmoid(2u)) but free of the cancellation in 1 + tanh(u) when u is very negative.
export function opGelu(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= n; i += 8) { // two vectors a step: their dependency chains overlap
      const lo = detGeluX4(v128.load(at(x, i))), hi = detGeluX4(v128.load(at(x, i + 4)));
      v128.store(at(y, i), lo);
      v128.store(at(y, i + 4), hi);
    }
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), detGeluX4(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), detGelu(load<f32>(at(x, i))));
  if (!recorded(geluBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = x s, s = sigmoid(z), z = 2u(x)  =>  dx += dy * (s + x * s(1-s) * 2 u'(x)),
// u'(x) = sqrt(2/pi) (1 + 3 * 0.044715 x^2): math/det.ts detGeluSlope, recomputed from x
// rather than saved.
function geluBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const n = sizeOf(a), x = dataOf(a), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= n; i += 8) { // two vectors a step: their dependency chains overlap
      const d0 = f32x4.mul(v128.load(at(g, i)), detGeluSlopeX4(v128.load(at(x, i))));
      const d1 = f32x4.mul(v128.load(at(g, i + 4)), detGeluSlopeX4(v128.load(at(x, i + 4))));
      v128.store(at(ga, i), f32x4.add(v128.load(at(ga, i)), d0));
      v128.store(at(ga, i + 4), f32x4.add(v128.load(at(ga, i + 4)), d1));
    }
    for (; i + 4 <= n; i += 4) {
      const d = f32x4.mul(v128.load(at(g, i)), detGeluSlopeX4(v128.load(at(x, i))));
      v128.store(at(ga, i), f32x4.add(v128.load(at(ga, i)), d));
    }
  }
  for (; i < n; i++) store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)) * detGeluSlope(load<f32>(at(x, i))));
}

// ---- sigmoid -------------------------------------------------------------------------------

// y = 1 / (1 + exp(-x)), as e/(1+e) with e = exp(x) for x < 0 so exp never overflows
export function opSigmoid(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= n; i += 8) { // two vectors a step: their dependency chains overlap
      const lo = detSigmoidX4(v128.load(at(x, i))), hi = detSigmoidX4(v128.load(at(x, i + 4)));
      v128.store(at(y, i), lo);
      v128.store(at(y, i + 4), hi);
    }
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), detSigmoidX4(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), detSigmoid(load<f32>(at(x, i))));
  if (!recorded(sigmoidBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = sigmoid(x)  =>  dx += dy * (y * (1 - y)), from the saved output
function sigmoidBackward(r: usize): void {
  const ga = gradFor(recA(r));
  if (ga == 0) return;
  const n = sizeOf(recA(r)), y = dataOf(recOut(r)), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = splatAt(ONE_AT);
    for (; i + 4 <= n; i += 4) {
      const yv = v128.load(at(y, i));
      const d = f32x4.mul(v128.load(at(g, i)), f32x4.mul(yv, f32x4.sub(one, yv)));
      v128.store(at(ga, i), f32x4.add(v128.load(at(ga, i)), d));
    }
  }
  for (; i < n; i++) {
    const yi = load<f32>(at(y, i));
    store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)) * (yi * (1 - yi)));
  }
}

// ---- clamp ---------------------------------------------------------------------------------

// y = min(max(x, lo), hi)   (the host has checked lo <= hi; +-inf leave a side open)
export function opClamp(a: i32, lo: f32, hi: f32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.min(f32x4.max(v128.load(at(x, i)), lov), hiv));
  }
  for (; i < n; i++) store<f32>(at(y, i), min<f32>(max<f32>(load<f32>(at(x, i)), lo), hi));
  if (requiresGrad(out)) {
    const r = record(clampBackward, out, a);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecF0(r, lo);
    setRecF1(r, hi);
  }
  return out;
}

// y = min(max(x, lo), hi)  =>  dx += dy where lo <= x <= hi (bounds included, NaN excluded)
function clampBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const lo = recF0(r), hi = recF1(r);
  const n = sizeOf(a), x = dataOf(a), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
    for (; i + 4 <= n; i += 4) {
      const xv = v128.load(at(x, i));
      const acc = v128.load(at(ga, i));
      const pass = v128.and(f32x4.ge(xv, lov), f32x4.le(xv, hiv));
      v128.store(at(ga, i), v128.bitselect(f32x4.add(acc, v128.load(at(g, i))), acc, pass));
    }
  }
  for (; i < n; i++) {
    const xi = load<f32>(at(x, i));
    if (xi >= lo && xi <= hi) store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)));
  }
}

// ---- sqrt ----------------------------------------------------------------------------------

// y = sqrt(x)   (IEEE sqrt: correctly rounded, the same on every engine; NaN below 0)
export function opSqrt(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.sqrt(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), sqrt<f32>(load<f32>(at(x, i))));
  if (!recorded(sqrtBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = sqrt(x)  =>  dx += dy / (2y), from the saved output (inf at x = 0, as in PyTorch)
function sqrtBackward(r: usize): void {
  const ga = gradFor(recA(r));
  if (ga == 0) return;
  const n = sizeOf(recA(r)), y = dataOf(recOut(r)), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const yv = v128.load(at(y, i));
      const d = f32x4.div(v128.load(at(g, i)), f32x4.add(yv, yv));
      v128.store(at(ga, i), f32x4.add(v128.load(at(ga, i)), d));
    }
  }
  for (; i < n; i++) {
    const yi = load<f32>(at(y, i));
    store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)) / (yi + yi));
  }
}

// ---- square --------------------------------------------------------------------------------

// y = x * x
export function opSquare(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const xv = v128.load(at(x, i));
      v128.store(at(y, i), f32x4.mul(xv, xv));
    }
  }
  for (; i < n; i++) {
    const xi = load<f32>(at(x, i));
    store<f32>(at(y, i), xi * xi);
  }
  if (!recorded(squareBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = x * x  =>  dx += dy * (x + x)
function squareBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const n = sizeOf(a), x = dataOf(a), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const xv = v128.load(at(x, i));
      const d = f32x4.mul(v128.load(at(g, i)), f32x4.add(xv, xv));
      v128.store(at(ga, i), f32x4.add(v128.load(at(ga, i)), d));
    }
  }
  for (; i < n; i++) {
    const xi = load<f32>(at(x, i));
    store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)) * (xi + xi));
  }
}

// ---- abs -----------------------------------------------------------------------------------

// y = |x|
export function opAbs(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), f32x4.abs(v128.load(at(x, i))));
  }
  for (; i < n; i++) store<f32>(at(y, i), abs<f32>(load<f32>(at(x, i))));
  if (!recorded(absBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = |x|  =>  dx += dy * sign(x): +dy where x > 0, -dy where x < 0, nothing at 0 (PyTorch's
// sign(0) = 0) or NaN
function absBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const n = sizeOf(a), x = dataOf(a), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const xv = v128.load(at(x, i)), acc = v128.load(at(ga, i)), gv = v128.load(at(g, i));
      const negative = v128.bitselect(f32x4.sub(acc, gv), acc, f32x4.lt(xv, zero));
      v128.store(at(ga, i), v128.bitselect(f32x4.add(acc, gv), negative, f32x4.gt(xv, zero)));
    }
  }
  for (; i < n; i++) {
    const xi = load<f32>(at(x, i));
    if (xi > 0) store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)));
    else if (xi < 0) store<f32>(at(ga, i), load<f32>(at(ga, i)) - load<f32>(at(g, i)));
  }
}

// ---- pow with a constant exponent --------------------------------------------------------------

// How x^p is computed, chosen once per call from the constant p (finite: the host checks):
// exactly for the common exponents (one or two IEEE operations: x*x, (x*x)*x, sqrt, 1/x,
// 1/(x*x), 1/sqrt(x)), otherwise as exp(p log|x|) with math/det.ts's exp and log, the sign of x
// kept for an odd integer p and NaN for x < 0 with a non-integer p (IEEE pow's rules). The
// general path's relative error grows with |p log x| (the rounding of p log|x| is amplified by
// exp): about (1 + |p ln x|) * 2^-24 on top of exp's.
const POW_ZERO: i32 = 0; // 1
const POW_ONE: i32 = 1; // x
const POW_TWO: i32 = 2; // x * x
const POW_THREE: i32 = 3; // (x * x) * x
const POW_HALF: i32 = 4; // sqrt(x)
const POW_MINUS_ONE: i32 = 5; // 1 / x
const POW_MINUS_TWO: i32 = 6; // 1 / (x * x)
const POW_MINUS_HALF: i32 = 7; // 1 / sqrt(x)
const POW_EVEN: i32 = 8; // exp(p log|x|)
const POW_ODD: i32 = 9; // sign(x) exp(p log|x|)
const POW_FRACTION: i32 = 10; // exp(p log x), NaN for x < 0
const SIGN_BIT: i32 = 0x80000000;
const NAN_BITS: i32 = 0x7fc00000;
const SIGN_BIT_AT = memory.data<i32>([SIGN_BIT]);
const NAN_BITS_AT = memory.data<i32>([NAN_BITS]);

function powMode(p: f32): i32 {
  if (p == 0) return POW_ZERO;
  if (p == 1) return POW_ONE;
  if (p == 2) return POW_TWO;
  if (p == 3) return POW_THREE;
  if (p == 0.5) return POW_HALF;
  if (p == -1) return POW_MINUS_ONE;
  if (p == -2) return POW_MINUS_TWO;
  if (p == -0.5) return POW_MINUS_HALF;
  if (p != nearest<f32>(p)) return POW_FRACTION;
  const half: f32 = p * 0.5;
  return half == nearest<f32>(half) ? POW_EVEN : POW_ODD;
}

/** x^p for the mode of p. */
@inline function powOf(x: f32, p: f32, mode: i32): f32 {
  if (mode == POW_ZERO) return 1;
  if (mode == POW_ONE) return x;
  if (mode == POW_TWO) return x * x;
  if (mode == POW_THREE) return (x * x) * x;
  if (mode == POW_HALF) return sqrt<f32>(x);
  if (mode == POW_MINUS_ONE) return 1 / x;
  if (mode == POW_MINUS_TWO) return 1 / (x * x);
  if (mode == POW_MINUS_HALF) return 1 / sqrt<f32>(x);
  const y = detExp(p * detLog(abs<f32>(x)));
  if (mode == POW_ODD) return reinterpret<f32>(reinterpret<i32>(y) | (reinterpret<i32>(x) & SIGN_BIT));
  if (mode == POW_FRACTION && x < 0) return reinterpret<f32>(NAN_BITS);
  return y;
}

/** powOf on four lanes. */
@inline function powOfX4(x: v128, p: f32, mode: i32): v128 {
  const one = splatAt(ONE_AT);
  if (mode == POW_ZERO) return one;
  if (mode == POW_ONE) return x;
  if (mode == POW_TWO) return f32x4.mul(x, x);
  if (mode == POW_THREE) return f32x4.mul(f32x4.mul(x, x), x);
  if (mode == POW_HALF) return f32x4.sqrt(x);
  if (mode == POW_MINUS_ONE) return f32x4.div(one, x);
  if (mode == POW_MINUS_TWO) return f32x4.div(one, f32x4.mul(x, x));
  if (mode == POW_MINUS_HALF) return f32x4.div(one, f32x4.sqrt(x));
  const y = detExpX4(f32x4.mul(f32x4.splat(p), detLogX4(f32x4.abs(x))));
  if (mode == POW_ODD) return v128.or(y, v128.and(x, splatAt(SIGN_BIT_AT)));
  if (mode == POW_FRACTION) return v128.bitselect(splatAt(NAN_BITS_AT), y, f32x4.lt(x, f32x4.splat(0)));
  return y;
}

// y = x^p, p a constant
export function opPow(a: i32, p: f32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  const mode = powMode(p);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(at(y, i), powOfX4(v128.load(at(x, i)), p, mode));
  }
  for (; i < n; i++) store<f32>(at(y, i), powOf(load<f32>(at(x, i)), p, mode));
  if (requiresGrad(out)) {
    const r = record(powBackward, out, a);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecF0(r, p);
  }
  return out;
}

// y = x^p  =>  dx += dy * (p * x^(p-1)), x^(p-1) computed as the forward computes a power;
// nothing for p = 0 (y is the constant 1)
function powBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  const p = recF0(r);
  if (ga == 0 || p == 0) return;
  const q: f32 = p - 1;
  const mode = powMode(q);
  const n = sizeOf(a), x = dataOf(a), g = gradPtrOf(recOut(r));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const pv = f32x4.splat(p);
    for (; i + 4 <= n; i += 4) {
      const d = f32x4.mul(v128.load(at(g, i)), f32x4.mul(pv, powOfX4(v128.load(at(x, i)), q, mode)));
      v128.store(at(ga, i), f32x4.add(v128.load(at(ga, i)), d));
    }
  }
  for (; i < n; i++) {
    store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)) * (p * powOf(load<f32>(at(x, i)), q, mode)));
  }
}
