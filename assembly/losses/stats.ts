// Shared by the fused losses (internal: not part of the ABI): the slots that lossStat() reads,
// the (masked) mean that every loss and statistic uses, and the backward of such a mean.
//
// Slot layout (the host reads them with lossStat(i) right after the call that wrote them):
//   0..4  lossPpo    (see ppo.ts)
//   5..6  lossValue  (see value.ts)

import { sumCanonical } from '../ops/kernels';
import { dataOf, gradPtrOf, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { record, recOut, recA, recB, recF0, recPtr, setRecF0, setRecPtr } from '../autodiff/tape';
import { STAT_SLOTS } from '../abi';

const stats = memory.data(STAT_SLOTS << 2);

@inline export function setStat(i: i32, v: f32): void {
  store<f32>(stats + (<usize>i << 2), v);
}
@inline export function getStat(i: i32): f32 {
  return load<f32>(stats + (<usize>i << 2));
}

/**
 * The denominator of a (masked) mean over n elements: sum(mask) in the canonical order, or n
 * when there is no mask (mask < 0 means none; `maskData` is then ignored).
 */
export function meanDenominator(mask: i32, maskData: usize, n: i32): f32 {
  return mask < 0 ? <f32>n : sumCanonical(maskData, n);
}

/**
 * sum(terms * mask) / denom with the sum in the canonical order (terms alone without a mask).
 * Overwrites `terms` (n floats) with the masked products.
 */
export function maskedMeanOf(terms: usize, mask: i32, maskData: usize, n: i32, denom: f32): f32 {
  if (mask >= 0) {
    let i = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        v128.store(terms + o, f32x4.mul(v128.load(terms + o), v128.load(maskData + o)));
      }
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(terms + o, load<f32>(terms + o) * load<f32>(maskData + o));
    }
  }
  return sumCanonical(terms, n) / denom;
}

/**
 * Records the backward of a fused loss of the form loss = sum(f_i * mask_i) / denom whose
 * forward saved slope_i = df_i/dx_i (n floats) for its differentiated input x. Returns the
 * output id, or ERR_OUT_OF_MEMORY.
 */
export function recordSlopeBackward(out: i32, x: i32, mask: i32, denom: f32, slopes: usize): i32 {
  const r = record(slopeBackward, out, x, mask);
  if (r == 0) return ERR_OUT_OF_MEMORY;
  setRecF0(r, denom);
  setRecPtr(r, slopes);
  return out;
}

// Backward of loss = sum(f_i * mask_i) / denom:
//   dx_i += (dloss / denom) * mask_i * slope_i, with the slope the forward saved.
function slopeBackward(r: usize): void {
  const x = recA(r), mask = recB(r);
  const g = gradFor(x);
  if (g == 0) return;
  const n = sizeOf(x), slopes = recPtr(r);
  const scale = load<f32>(gradPtrOf(recOut(r))) / recF0(r);
  const pm = mask >= 0 ? dataOf(mask) : 0;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const w = mask >= 0 ? scale * load<f32>(pm + o) : scale;
    store<f32>(g + o, load<f32>(g + o) + w * load<f32>(slopes + o));
  }
}
