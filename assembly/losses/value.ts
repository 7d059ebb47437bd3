// Value loss (CleanRL ppo.py, TRL's vf_loss), fused forward and backward:
//
//   unclipped (clip <= 0):  loss = 0.5 * mean((v - R)^2)
//   clipped   (clip > 0):   vClipped = vOld + clamp(v - vOld, -clip, clip)
//                           loss = 0.5 * mean(max((v - R)^2, (vClipped - R)^2))
//
// v: values, vOld: old values (ignored without clipping), R: returns, all the same shape.
// vClipped is computed as clamp(v, vOld - clip, vOld + clip) (TRL's form, equal in exact
// arithmetic): inside the range it is v itself, bit for bit, so rounding never makes the clipped
// branch win there. "mean" is masked when a mask is given. Only the values receive a gradient.
// On a tie between the two branches the gradient follows the unclipped one, as opMaximum does.
//
// Statistics, read with lossStat(i):
//   5  value loss           (the returned value)
//   6  value clipfrac       mean((vClipped - R)^2 > (v - R)^2): where the clipped branch wins
//                           (TRL's val/clipfrac; 0 without clipping)

import { dataOf, newScratch, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks } from '../autodiff/tape';
import { scratchAlloc } from '../memory';
import { setStat, meanDenominator, maskedMeanOf, recordSlopeBackward } from './stats';
import { STAT_VALUE_LOSS, STAT_VALUE_CLIPFRAC } from '../abi';


// loss = 0.5 * mean((v - R)^2), or of the max with the clipped version
export function lossValue(values: i32, oldValues: i32, returns: i32, mask: i32, clip: f32): i32 {
  const n = sizeOf(values);
  const requires = tracks(values);
  const out = newScratch(0, 1, 1, 1, 1, requires);
  if (out < 0) return out;
  const terms = scratchAlloc(<usize>n << 2); // (N) squared errors
  const clipped = scratchAlloc(<usize>n << 2); // (N) 1 where the clipped branch wins
  const slopes = requires ? scratchAlloc(<usize>n << 2) : 0; // (N) 0.5 * d sqErr_i / d v_i
  if (terms == 0 || clipped == 0 || (requires && slopes == 0)) return ERR_OUT_OF_MEMORY;
  const pv = dataOf(values), pr = dataOf(returns);
  const pold = clip > 0 ? dataOf(oldValues) : 0;
  const pm = mask >= 0 ? dataOf(mask) : 0;
  const denom = meanDenominator(mask, pm, n);

  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(pv + o), ret = load<f32>(pr + o);
    const err = v - ret;
    let sq = err * err;
    let slope = err; // 0.5 * d(v - R)^2 / dv
    let wins: f32 = 0;
    if (clip > 0) {
      const vOld = load<f32>(pold + o);
      const errClipped = min<f32>(max<f32>(v, vOld - clip), vOld + clip) - ret;
      const sqClipped = errClipped * errClipped;
      // the clipped branch can only win where the clamp changed v, so its slope there is 0
      if (sqClipped > sq) {
        sq = sqClipped;
        slope = 0;
        wins = 1;
      }
    }
    store<f32>(terms + o, sq);
    store<f32>(clipped + o, wins);
    if (requires) store<f32>(slopes + o, slope);
  }
  const loss: f32 = 0.5 * maskedMeanOf(terms, mask, pm, n, denom);
  store<f32>(dataOf(out), loss);
  setStat(STAT_VALUE_LOSS, loss);
  setStat(STAT_VALUE_CLIPFRAC, clip > 0 ? maskedMeanOf(clipped, mask, pm, n, denom) : 0);

  // Backward (stats.ts slopeBackward) of loss = 0.5 * sum(sqErr_i * mask_i) / denom:
  //   dv_i += (dloss / denom) * mask_i * slope_i, where slope_i = 0.5 * d sqErr_i / dv_i is
  //   (v - R) on the unclipped branch and 0 on the clipped one (the clamp is saturated there).
  if (requires) return recordSlopeBackward(out, values, mask, denom, slopes);
  return out;
}
