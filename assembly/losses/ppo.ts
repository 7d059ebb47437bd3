// PPO clipped surrogate (Schulman et al. 2017), fused forward and backward, with CleanRL's
// names (ppo.py):
//
//   logratio = logp - oldLogp                                   // all (N) or any common shape
//   ratio    = exp(logratio)
//   pgLoss1  = -A * ratio
//   pgLoss2  = -A * clamp(ratio, 1 - eps, 1 + eps)
//   loss     = mean(max(pgLoss1, pgLoss2))                      // eps <= 0: mean(pgLoss1)
//
// "mean" is the masked mean sum(x * mask) / sum(mask) when a mask is given (mask id >= 0), the
// plain mean otherwise. Only logp receives a gradient: old log-probs, advantages and the mask
// are data. On a tie between the two branches the gradient follows pgLoss1, as opMaximum does.
//
// Statistics of the last call, read with lossStat(i) (all means are masked like the loss):
//   0  policy loss            (the returned value)
//   1  objective_unclipped    mean(A * ratio)
//   2  clipfrac               mean(|ratio - 1| > eps)            (0 when eps <= 0)
//   3  approx_kl              mean((ratio - 1) - logratio)        (k3; CleanRL's approx_kl)
//   4  old_approx_kl          mean(-logratio)                     (k1)
// lossValue writes slots 5 and 6 (see value.ts).

import { dataOf, newScratch, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks } from '../autodiff/tape';
import { scratchAlloc } from '../memory';
import { getStat, setStat, meanDenominator, maskedMeanOf, recordSlopeBackward } from './stats';
import { detExp, detExpX4 } from '../math/det';
import { STAT_PPO_LOSS, STAT_OBJECTIVE_UNCLIPPED, STAT_CLIPFRAC, STAT_APPROX_KL, STAT_OLD_APPROX_KL } from '../abi';


/** Statistic `index` of the last lossPpo / lossValue call (slots listed above and in value.ts). */
export function lossStat(index: i32): f32 {
  return getStat(index);
}

// loss = mean(max(-A * ratio, -A * clamp(ratio, 1 - eps, 1 + eps))), ratio = exp(logp - oldLogp)
export function lossPpo(logp: i32, oldLogp: i32, advantages: i32, mask: i32, clipEps: f32): i32 {
  const n = sizeOf(logp);
  const requires = tracks(logp);
  const out = newScratch(0, 1, 1, 1, 1, requires);
  if (out < 0) return out;
  const ratios = scratchAlloc(<usize>n << 2); // (N) exp(logratio)
  const terms = scratchAlloc(<usize>n << 2); // (N) the per-element quantity being averaged
  const slopes = requires ? scratchAlloc(<usize>n << 2) : 0; // (N) d pgLoss_i / d logp_i
  if (ratios == 0 || terms == 0 || (requires && slopes == 0)) return ERR_OUT_OF_MEMORY;
  const pl = dataOf(logp), po = dataOf(oldLogp), pa = dataOf(advantages);
  const pm = mask >= 0 ? dataOf(mask) : 0;
  const clip = clipEps > 0;
  const lo: f32 = 1 - clipEps, hi: f32 = 1 + clipEps;
  const denom = meanDenominator(mask, pm, n);

  // ratio = exp(logp - oldLogp), four at a time
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(ratios + o, detExpX4(f32x4.sub(v128.load(pl + o), v128.load(po + o))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(ratios + o, detExp(load<f32>(pl + o) - load<f32>(po + o)));
  }

  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const ratio = load<f32>(ratios + o);
    const adv = load<f32>(pa + o);
    const pgLoss1 = -adv * ratio;
    let pgLoss = pgLoss1;
    let slope = pgLoss1; // d(-A * ratio)/d logp = -A * ratio
    if (clip) {
      const pgLoss2 = -adv * min<f32>(max<f32>(ratio, lo), hi);
      // pgLoss2 > pgLoss1 only where the clamp changed ratio, so its slope there is 0
      if (pgLoss2 > pgLoss1) {
        pgLoss = pgLoss2;
        slope = 0;
      }
    }
    store<f32>(terms + o, pgLoss);
    if (requires) store<f32>(slopes + o, slope);
  }
  const loss = maskedMeanOf(terms, mask, pm, n, denom);
  setStat(STAT_PPO_LOSS, loss);
  store<f32>(dataOf(out), loss);

  // objective_unclipped = mean(A * ratio)
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(terms + o, load<f32>(pa + o) * load<f32>(ratios + o));
  }
  setStat(STAT_OBJECTIVE_UNCLIPPED, maskedMeanOf(terms, mask, pm, n, denom));

  // clipfrac = mean(|ratio - 1| > eps)
  if (clip) {
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(terms + o, abs<f32>(load<f32>(ratios + o) - 1) > clipEps ? 1 : 0);
    }
    setStat(STAT_CLIPFRAC, maskedMeanOf(terms, mask, pm, n, denom));
  } else {
    setStat(STAT_CLIPFRAC, 0);
  }

  // approx_kl = mean((ratio - 1) - logratio)
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const logratio = load<f32>(pl + o) - load<f32>(po + o);
    store<f32>(terms + o, (load<f32>(ratios + o) - 1) - logratio);
  }
  setStat(STAT_APPROX_KL, maskedMeanOf(terms, mask, pm, n, denom));

  // old_approx_kl = mean(-logratio)
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(terms + o, -(load<f32>(pl + o) - load<f32>(po + o)));
  }
  setStat(STAT_OLD_APPROX_KL, maskedMeanOf(terms, mask, pm, n, denom));

  // Backward (stats.ts slopeBackward) of loss = sum(pgLoss_i * mask_i) / denom:
  //   dlogp_i += (dloss / denom) * mask_i * slope_i, slope_i = dpgLoss_i/dlogp_i saved above
  //   (-A_i * ratio_i on the unclipped branch, 0 where the clipped branch won).
  if (requires) return recordSlopeBackward(out, logp, mask, denom, slopes);
  return out;
}
