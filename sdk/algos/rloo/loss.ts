// RLOO's loss (TRL RLOOTrainer._compute_loss): the PPO clip on the *sequence*, not on tokens.
// The ratio is of whole-sequence probabilities and the loss is the mean over sequences:
//
//   logp_seq  = sum_t logp_t * mask_t            (mb)   the same for the old policy
//   ratio     = exp(logp_seq - logp_old_seq)
//   loss      = mean(-min(ratio * A, clip(ratio, 1 - eps, 1 + epsHigh) * A))
//
// With numIterations = 1 the ratio is 1 and the gradient is REINFORCE with the leave-one-out
// baseline: -mean(A * grad logp_seq).

import { ShapeError } from '../../core/errors';
import { Tensor } from '../../core/tensor';

export interface RlooLossInput {
  /** (mb, R) the current policy's log-probs of the sampled tokens; gets the gradient. */
  logp: Tensor;
  /** (mb, R) the generating policy's log-probs. */
  oldLogp: Tensor;
  /** (mb) one advantage per sequence. */
  advantages: Tensor;
  /** (mb, R) 1 at tokens that count (response tokens; 0 for masked truncated completions). */
  mask: Tensor;
  epsilonLow: number;
  epsilonHigh: number;
}

export interface RlooLossOutput {
  /** Rank 0; backpropagate it. */
  loss: Tensor;
  /** Over sequences: ratio < 1 - eps with A < 0 (TRL clip_ratio/low_mean). */
  clipLow: number;
  /** Over sequences: ratio > 1 + epsHigh with A > 0 (TRL clip_ratio/high_mean). */
  clipHigh: number;
  /** Either (TRL clip_ratio/region_mean). */
  clipRegion: number;
}

export function rlooLoss(input: RlooLossInput): RlooLossOutput {
  const { logp, oldLogp, advantages, mask, epsilonLow, epsilonHigh } = input;
  const rows = logp.shape[0]!;
  if (logp.rank !== 2) throw new ShapeError('rlooLoss', [logp.shape], 'logp must be (rows, R)');
  for (const t of [oldLogp, mask]) if (t.rank !== 2 || t.shape[0] !== rows || t.shape[1] !== logp.shape[1]) throw new ShapeError('rlooLoss', [logp.shape, t.shape], "oldLogp and mask must have logp's shape");
  if (advantages.rank !== 1 || advantages.shape[0] !== rows) throw new ShapeError('rlooLoss', [advantages.shape, [rows]], 'advantages must be (rows)');

  const seqLogp = logp.mul(mask).sum(-1); // (mb)
  const seqOldLogp = oldLogp.mul(mask).sum(-1);
  const ratio = seqLogp.sub(seqOldLogp).exp();
  const clipped = ratio.clamp(1 - epsilonLow, 1 + epsilonHigh);
  const loss = ratio.mul(advantages).minimum(clipped.mul(advantages)).neg().mean();

  const r = ratio.view(), a = advantages.view();
  let low = 0, high = 0;
  for (let b = 0; b < rows; b++) {
    if (r[b]! < 1 - epsilonLow && a[b]! < 0) low++;
    else if (r[b]! > 1 + epsilonHigh && a[b]! > 0) high++;
  }
  return { loss, clipLow: low / rows, clipHigh: high / rows, clipRegion: (low + high) / rows };
}
