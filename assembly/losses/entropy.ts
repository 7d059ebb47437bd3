// Entropy of the categorical distribution given by logits over the last axis, fused forward
// and backward, computed through a max-subtracted log-softmax so large logits do not overflow:
//
//   logits (..., A) -> H (...)
//   logp_j = (x_j - max x) - log(sum_k exp(x_k - max x))
//   H      = -sum_j p_j logp_j,   p_j = exp(logp_j)
//
// Terms with p_j == 0 (logits of -inf, e.g. masked actions) contribute 0, as p log p -> 0.

import { dataOf, gradPtrOf, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recPtr, setRecPtr } from '../autodiff/tape';
import { scratchAlloc } from '../memory';
import { sumCanonical, expShiftedSum, lastDim, newScratchDropLast } from '../ops/kernels';
import { detExp, detExpX4, detLog } from '../math/det';

// out[row] = -sum_j p_j logp_j over the last axis
export function opEntropy(logits: i32): i32 {
  const classes = lastDim(logits);
  const rows = sizeOf(logits) / classes;
  const requires = tracks(logits);
  const out = newScratchDropLast(logits, requires);
  if (out < 0) return out;
  // logp is kept for backward: (rows, A) when tracking, one row otherwise
  const logpAll = scratchAlloc(<usize>(requires ? rows * classes : classes) << 2);
  const tmp = scratchAlloc(<usize>classes << 2); // (A)
  if (logpAll == 0 || tmp == 0) return ERR_OUT_OF_MEMORY;
  const px = dataOf(logits), po = dataOf(out);
  for (let row = 0; row < rows; row++) {
    const x = px + (<usize>(row * classes) << 2);
    const logp = requires ? logpAll + (<usize>(row * classes) << 2) : logpAll;
    let m = load<f32>(x);
    for (let j = 1; j < classes; j++) m = max<f32>(m, load<f32>(x + (<usize>j << 2)));
    const lse = detLog(expShiftedSum(x, tmp, classes, m));
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const mv = f32x4.splat(m), lsev = f32x4.splat(lse);
      for (; j + 8 <= classes; j += 8) { // two vectors a step: their dependency chains overlap
        const o = <usize>j << 2;
        const lp0 = f32x4.sub(f32x4.sub(v128.load(x + o), mv), lsev);
        const lp1 = f32x4.sub(f32x4.sub(v128.load(x + o, 16), mv), lsev);
        const t0 = pLogPX4(lp0), t1 = pLogPX4(lp1);
        v128.store(logp + o, lp0);
        v128.store(logp + o, lp1, 16);
        v128.store(tmp + o, t0);
        v128.store(tmp + o, t1, 16);
      }
      for (; j + 4 <= classes; j += 4) {
        const o = <usize>j << 2;
        const lp = f32x4.sub(f32x4.sub(v128.load(x + o), mv), lsev);
        v128.store(logp + o, lp);
        v128.store(tmp + o, pLogPX4(lp));
      }
    }
    for (; j < classes; j++) {
      const o = <usize>j << 2;
      const lp = (load<f32>(x + o) - m) - lse;
      const p = detExp(lp);
      store<f32>(logp + o, lp);
      store<f32>(tmp + o, p == 0 ? 0 : p * lp);
    }
    store<f32>(po + (<usize>row << 2), -sumCanonical(tmp, classes));
  }
  if (requires) {
    const r = record(entropyBackward, out, logits);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecPtr(r, logpAll);
  }
  return out;
}

// Backward of H = -sum_j p_j logp_j (p = softmax(x)):
//   dH/dx_j = -p_j (logp_j + H),  so  dx_j += dH_row * -p_j (logp_j + H_row)
function entropyBackward(r: usize): void {
  const logits = recA(r), out = recOut(r);
  const gx = gradFor(logits);
  if (gx == 0) return;
  const classes = lastDim(logits);
  const rows = sizeOf(logits) / classes;
  const logpAll = recPtr(r), ph = dataOf(out), gh = gradPtrOf(out);
  for (let row = 0; row < rows; row++) {
    const h = load<f32>(ph + (<usize>row << 2));
    const dh = load<f32>(gh + (<usize>row << 2));
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const hv = f32x4.splat(h), dhv = f32x4.splat(dh);
      for (; j + 8 <= classes; j += 8) { // two vectors a step: their dependency chains overlap
        const o = <usize>(row * classes + j) << 2;
        const g0 = entropyGradX4(v128.load(logpAll + o), v128.load(gx + o), hv, dhv);
        const g1 = entropyGradX4(v128.load(logpAll + o, 16), v128.load(gx + o, 16), hv, dhv);
        v128.store(gx + o, g0);
        v128.store(gx + o, g1, 16);
      }
      for (; j + 4 <= classes; j += 4) {
        const o = <usize>(row * classes + j) << 2;
        v128.store(gx + o, entropyGradX4(v128.load(logpAll + o), v128.load(gx + o), hv, dhv));
      }
    }
    for (; j < classes; j++) {
      const o = <usize>(row * classes + j) << 2;
      const lp = load<f32>(logpAll + o);
      const p = detExp(lp);
      if (p != 0) store<f32>(gx + o, load<f32>(gx + o) + dh * (-p * (lp + h)));
    }
  }
}

/** p logp on four lanes, p = exp(logp), 0 where p underflows to 0 (as the scalar `p == 0 ? 0 : p * lp`). */
@inline function pLogPX4(lp: v128): v128 {
  const p = detExpX4(lp), zero = f32x4.splat(0);
  return v128.bitselect(zero, f32x4.mul(p, lp), f32x4.eq(p, zero));
}

/** acc + dH * -p (logp + H) on four lanes, acc unchanged where p underflows to 0 (as the scalar `if`). */
@inline function entropyGradX4(lp: v128, acc: v128, hv: v128, dhv: v128): v128 {
  const p = detExpX4(lp);
  const updated = f32x4.add(acc, f32x4.mul(dhv, f32x4.mul(f32x4.neg(p), f32x4.add(lp, hv))));
  return v128.bitselect(updated, acc, f32x4.ne(p, f32x4.splat(0)));
}
