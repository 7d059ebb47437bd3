// Elementwise unary ops: neg, exp, log, tanh, relu, gelu, sigmoid, clamp (all primitives).
//
// Each forward writes a fresh scratch output y of x's shape; each backward reads whichever of
// the record's input x (recA) or output y (recOut) its derivative needs and accumulates
// dx += dy * dy/dx. Transcendentals use Mathf (software, the same bits on every engine) and run
// scalar in both builds. SIMD paths exist only where f32x4 performs exactly the scalar path's
// f32 operations: neg, relu and clamp forwards (sign flip, min/max) and the backwards that are
// plain arithmetic on saved values; selections use v128.bitselect so that an element that gets
// no gradient keeps its accumulator bits untouched, as the scalar `if` does.

import { dataOf, gradPtrOf, newScratchLike, gradFor, sizeOf, requiresGrad, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recF0, recF1, setRecF0, setRecF1, BackwardFn } from '../autodiff/tape';

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

/** e^(-|z|) -> sigmoid(z) without overflow: 1/(1+e) for z >= 0, e/(1+e) below. */
@inline function sigmoidOf(z: f32): f32 {
  if (z >= 0) return 1 / (1 + Mathf.exp(-z));
  const e = Mathf.exp(z);
  return e / (1 + e);
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
  for (let i = 0; i < n; i++) store<f32>(at(y, i), Mathf.exp(load<f32>(at(x, i))));
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
  for (let i = 0; i < n; i++) store<f32>(at(y, i), Mathf.log(load<f32>(at(x, i))));
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
  for (let i = 0; i < n; i++) store<f32>(at(y, i), Mathf.tanh(load<f32>(at(x, i))));
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
    const one = f32x4.splat(1);
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

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_K: f32 = 0.044715;

/** u(x) = sqrt(2/pi) (x + 0.044715 x^3), the tanh argument of the GELU approximation. */
@inline function geluArg(x: f32): f32 {
  return SQRT_2_OVER_PI * (x + GELU_K * x * x * x);
}

// y = 0.5 x (1 + tanh(u)),  u = sqrt(2/pi) (x + 0.044715 x^3)   (the tanh approximation)
// computed as y = x * sigmoid(2u), equal in exact arithmetic (1 + tanh(u) = 2 sigmoid(2u)) but
// free of the cancellation in 1 + tanh(u) when u is very negative.
export function opGelu(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  for (let i = 0; i < n; i++) {
    const xi = load<f32>(at(x, i));
    store<f32>(at(y, i), xi * sigmoidOf(2 * geluArg(xi)));
  }
  if (!recorded(geluBackward, out, a)) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = x s, s = sigmoid(z), z = 2u(x)  =>  dx += dy * (s + x * s(1-s) * 2 u'(x)),
// u'(x) = sqrt(2/pi) (1 + 3 * 0.044715 x^2), s(1-s) = e / (1+e)^2 with e = exp(-|z|).
// s and e are recomputed from x rather than saved. Where e underflows to 0 the second term is
// 0 (skipping it avoids 0 * inf once x^2 overflows).
function geluBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const n = sizeOf(a), x = dataOf(a), g = gradPtrOf(recOut(r));
  for (let i = 0; i < n; i++) {
    const xi = load<f32>(at(x, i));
    const z: f32 = 2 * geluArg(xi);
    const e = Mathf.exp(-Mathf.abs(z));
    const s: f32 = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    let slope = s;
    if (e != 0) {
      const du = SQRT_2_OVER_PI * (1 + 3 * GELU_K * xi * xi);
      slope += xi * (e / ((1 + e) * (1 + e))) * (2 * du);
    }
    store<f32>(at(ga, i), load<f32>(at(ga, i)) + load<f32>(at(g, i)) * slope);
  }
}

// ---- sigmoid -------------------------------------------------------------------------------

// y = 1 / (1 + exp(-x)), as e/(1+e) with e = exp(x) for x < 0 so exp never overflows
export function opSigmoid(a: i32): i32 {
  const out = outputLike(a);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  for (let i = 0; i < n; i++) store<f32>(at(y, i), sigmoidOf(load<f32>(at(x, i))));
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
    const one = f32x4.splat(1);
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
