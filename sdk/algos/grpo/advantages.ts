// GRPO's group-relative advantages (TRL GRPOTrainer._generate_and_score_completions, the
// 'sum_then_normalize' path): rows p*n .. p*n+n-1 are the n completions of prompt p, and
//
//   A_i = (r_i - mean_group(r)) / (std + 1e-4)      scaleRewards 'group': std of the group
//                                                    scaleRewards 'batch': std of the whole batch
//   A_i =  r_i - mean_group(r)                       scaleRewards 'none' (Dr. GRPO)
//
// std is the unbiased (Bessel-corrected) one, as TRL's nanstd and torch.std. In float64 on the
// host with + - * / and sqrt only, in a fixed order, so every JS engine gives the same bits.

import { ValueError } from '../../core/errors';
import type { ScaleRewards } from './config';

/** TRL's epsilon added to the std before dividing. */
export const STD_EPSILON = 1e-4;

export interface GroupAdvantages {
  /** One per row. */
  advantages: number[];
  /** Per group, the std of its rewards (unbiased); the 'batch' std is not this. */
  groupStd: number[];
  /** Fraction of groups whose rewards all agree (std ~0): they teach nothing (TRL frac_reward_zero_std). */
  fracZeroStd: number;
}

/** Group-relative advantages of `rewards` (length a multiple of n, n >= 2). */
export function groupRelativeAdvantages(rewards: readonly number[], n: number, scaleRewards: ScaleRewards): GroupAdvantages {
  if (!Number.isSafeInteger(n) || n < 2) throw new ValueError(`groupRelativeAdvantages: n must be an integer >= 2, got ${String(n)}`);
  if (rewards.length === 0 || rewards.length % n !== 0) throw new ValueError(`groupRelativeAdvantages: ${rewards.length} rewards do not split into groups of ${n}`);
  rewards.forEach((r, i) => {
    if (!Number.isFinite(r)) throw new ValueError(`groupRelativeAdvantages: reward ${i} is ${r}`);
  });
  const groups = rewards.length / n;
  const groupMean: number[] = [];
  const groupStd: number[] = [];
  for (let g = 0; g < groups; g++) {
    const group = rewards.slice(g * n, g * n + n);
    groupMean.push(mean(group));
    groupStd.push(unbiasedStd(group));
  }
  const batchStd = unbiasedStd(rewards);
  const advantages = rewards.map((r, i) => {
    const g = Math.floor(i / n);
    const centred = r - groupMean[g]!;
    if (scaleRewards === 'none') return centred;
    return centred / ((scaleRewards === 'group' ? groupStd[g]! : batchStd) + STD_EPSILON);
  });
  // TRL logs zero std (torch.isclose(std, 0): |std| <= 1e-8) with the std it scaled by ('batch': the batch's, for every row)
  const isZero = (s: number) => Math.abs(s) <= 1e-8;
  const zeroStd = scaleRewards === 'batch' ? (isZero(batchStd) ? groups : 0) : groupStd.filter(isZero).length;
  return { advantages, groupStd, fracZeroStd: zeroStd / groups };
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** sqrt(sum (x - mean)^2 / (n - 1)); NaN for fewer than 2 values (as torch.std). */
export function unbiasedStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}
