// Global gradient-norm clipping, as torch.nn.utils.clip_grad_norm_ (L2):
//
//   norm = sqrt(sum over parameters, in argument order, of sum(g * g))
//   if maxNorm > 0 and norm > maxNorm:  g *= maxNorm / (norm + 1e-6)      for every gradient
//   returns norm, before clipping
//
// Each tensor's sum of squares uses the canonical order of sumCanonical (ops/kernels.ts): four
// interleaved partial sums combined as (s0 + s1) + (s2 + s3), then the tail. The per-tensor
// sums are added in parameter order. Arguments (argument buffer, see args.ts): n parameter ids;
// parameters without a gradient buffer are skipped.

import { gradPtrOf, sizeOf } from '../tensor';
import { argId } from './args';

/** Clips the gradients of the n parameters in the argument buffer; returns their norm before. */
export function clipGradNorm(n: i32, maxNorm: f32): f32 {
  let total: f32 = 0;
  for (let k = 0; k < n; k++) {
    const g = gradPtrOf(argId(k));
    if (g != 0) total += sumSquaresCanonical(g, sizeOf(argId(k)));
  }
  const norm = Mathf.sqrt(total);
  if (maxNorm > 0 && norm > maxNorm) {
    const coef: f32 = maxNorm / (norm + 1e-6);
    for (let k = 0; k < n; k++) {
      const g = gradPtrOf(argId(k));
      if (g != 0) scaleInPlace(g, sizeOf(argId(k)), coef);
    }
  }
  return norm;
}

/** sum(x[i]^2) over n floats in sumCanonical's order. */
function sumSquaresCanonical(x: usize, n: i32): f32 {
  const n4 = n & ~3;
  let total: f32;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    total = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    for (let i = 0; i < n4; i += 4) {
      const p = x + (<usize>i << 2);
      const x0 = load<f32>(p), x1 = load<f32>(p, 4), x2 = load<f32>(p, 8), x3 = load<f32>(p, 12);
      s0 += x0 * x0;
      s1 += x1 * x1;
      s2 += x2 * x2;
      s3 += x3 * x3;
    }
    total = (s0 + s1) + (s2 + s3);
  }
  for (let i = n4; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    total += v * v;
  }
  return total;
}

/** x[i] *= c for n floats. */
function scaleInPlace(x: usize, n: i32, c: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vc = f32x4.splat(c);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(x + o, f32x4.mul(v128.load(x + o), vc));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, load<f32>(x + o) * c);
  }
}
