// RLOO's advantages (TRL RLOOTrainer._generate_and_score_completions; Ahmadian et al. 2024):
//
//   r_i  = score_i - beta * sum_t (logp_old_t - logp_ref_t)        k1 summed over the response (beta > 0)
//   A_i  = r_i - mean_{j != i in the group} r_j                     the leave-one-out baseline
//        = r_i - (sum_group - r_i) / (n - 1)
//   A    = (A - mean(A)) / (std(A) + 1e-4)                          normalizeAdvantages (TRL default off)
//
// In float64 on the host (+ - * / sqrt only, fixed order: the same bits on every JS engine).

import { ValueError } from '../../core/errors';
import { mean, STD_EPSILON, unbiasedStd } from '../grpo/advantages';

/** Leave-one-out advantages of `rewards` (length a multiple of n, n >= 2), rows grouped by prompt. */
export function leaveOneOutAdvantages(rewards: readonly number[], n: number, normalize = false): number[] {
  if (!Number.isSafeInteger(n) || n < 2) throw new ValueError(`leaveOneOutAdvantages: n must be an integer >= 2, got ${String(n)}`);
  if (rewards.length === 0 || rewards.length % n !== 0) throw new ValueError(`leaveOneOutAdvantages: ${rewards.length} rewards do not split into groups of ${n}`);
  rewards.forEach((r, i) => {
    if (!Number.isFinite(r)) throw new ValueError(`leaveOneOutAdvantages: reward ${i} is ${r}`);
  });
  const advantages: number[] = [];
  for (let g = 0; g < rewards.length / n; g++) {
    const group = rewards.slice(g * n, g * n + n);
    let sum = 0;
    for (const r of group) sum += r;
    for (const r of group) advantages.push(r - (sum - r) / (n - 1));
  }
  if (!normalize) return advantages;
  const m = mean(advantages), s = unbiasedStd(advantages);
  return advantages.map((a) => (a - m) / ((Number.isNaN(s) ? 0 : s) + STD_EPSILON));
}

/**
 * Per row, sum_t (logp_old_t - logp_ref_t) over the response tokens (mask 1): the k1 estimate of
 * the sequence's KL to the reference, from (B, R) float32 views.
 */
export function sequenceKl(oldLogProbs: Float32Array, refLogProbs: Float32Array, mask: Float32Array, R: number): number[] {
  const rows = mask.length / R;
  const out: number[] = [];
  for (let b = 0; b < rows; b++) {
    let s = 0;
    for (let t = 0; t < R; t++) if (mask[b * R + t] !== 0) s += oldLogProbs[b * R + t]! - refLogProbs[b * R + t]!;
    out.push(s);
  }
  return out;
}
