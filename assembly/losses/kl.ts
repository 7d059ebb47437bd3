// KL estimators between the policy and a reference, per element (Schulman, "Approximating KL
// divergence", 2020), fused forward and backward. With samples drawn from the policy and
//
//   logr = logpRef - logp                                       // any shape, same for both
//   k1   = -logr                 unbiased, can be negative
//   k2   = logr^2 / 2            biased, non-negative
//   k3   = exp(logr) - 1 - logr  unbiased, non-negative (computed as expm1(logr) - logr,
//                                with math/det.ts detExpm1)
//
// Both inputs receive a gradient when they require one (a frozen reference does not).

import { dataOf, gradPtrOf, newScratchLike, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recB, recInt, setRecInt } from '../autodiff/tape';
import { detExpm1 } from '../math/det';

const K1: i32 = 1;
const K2: i32 = 2;

// out = k_estimator(logr), logr = logpRef - logp
export function opKl(logp: i32, logpRef: i32, estimator: i32): i32 {
  const requires = tracks(logp, logpRef);
  const out = newScratchLike(logp, requires);
  if (out < 0) return out;
  const n = sizeOf(logp), pl = dataOf(logp), pr = dataOf(logpRef), po = dataOf(out);
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const logr = load<f32>(pr + o) - load<f32>(pl + o);
    let k: f32;
    if (estimator == K1) k = -logr;
    else if (estimator == K2) k = logr * logr * 0.5;
    else k = detExpm1(logr) - logr; // detExpm1(x) >= x in f32 too, so k3 >= 0 elementwise
    store<f32>(po + o, k);
  }
  if (requires) {
    const r = record(klBackward, out, logp, logpRef);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecInt(r, estimator);
  }
  return out;
}

// Backward of k(logr), logr = logpRef - logp:
//   k1 = -logr                 dk/dlogr = -1
//   k2 = logr^2 / 2            dk/dlogr = logr
//   k3 = exp(logr) - 1 - logr  dk/dlogr = exp(logr) - 1
//   dlogp_i -= dout_i * dk/dlogr      dlogpRef_i += dout_i * dk/dlogr
function klBackward(r: usize): void {
  const logp = recA(r), logpRef = recB(r), estimator = recInt(r);
  const gl = gradFor(logp), gr = gradFor(logpRef);
  const n = sizeOf(logp), pl = dataOf(logp), pr = dataOf(logpRef), g = gradPtrOf(recOut(r));
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const logr = load<f32>(pr + o) - load<f32>(pl + o);
    let dk: f32;
    if (estimator == K1) dk = -1;
    else if (estimator == K2) dk = logr;
    else dk = detExpm1(logr);
    const d = load<f32>(g + o) * dk;
    if (gl != 0) store<f32>(gl + o, load<f32>(gl + o) - d);
    if (gr != 0) store<f32>(gr + o, load<f32>(gr + o) + d);
  }
}
