// The Bradley-Terry loss of a reward model (InstructGPT; TRL's RewardTrainer.compute_loss):
//
//   loss = mean_b -log sigmoid(r_chosen[b] - r_rejected[b])
//        + centerRewardsCoefficient * mean_b (r_chosen[b] + r_rejected[b])^2     (optional, TRL's
//          center_rewards_coefficient: keeps rewards centred on 0 without changing preferences)

import { ValueError } from '../../core/errors';
import { logSigmoid } from '../../core/log_sigmoid';
import type { Tensor } from '../../core/tensor';

export interface BradleyTerryInput {
  /** (B) rewards of the preferred completions. */
  chosen: Tensor;
  /** (B) rewards of the other completions of the same prompts. */
  rejected: Tensor;
  /** Weight of the centring term (default 0: none). */
  centerRewardsCoefficient?: number;
}

/** The mean Bradley-Terry loss (a scalar tensor). */
export function bradleyTerryLoss(input: BradleyTerryInput): Tensor {
  const { chosen, rejected } = input;
  if (chosen.rank !== 1 || rejected.rank !== 1 || chosen.shape[0] !== rejected.shape[0]) {
    throw new ValueError(`bradleyTerryLoss: chosen ${JSON.stringify(chosen.shape)} and rejected ${JSON.stringify(rejected.shape)} must both be (B)`);
  }
  const coefficient = input.centerRewardsCoefficient ?? 0;
  if (!(coefficient >= 0 && Number.isFinite(coefficient))) throw new ValueError(`bradleyTerryLoss: centerRewardsCoefficient must be a finite number >= 0, got ${coefficient}`);
  let loss = logSigmoid(chosen.sub(rejected)).neg().mean();
  if (coefficient > 0) loss = loss.add(chosen.add(rejected).square().mean().mul(coefficient));
  return loss;
}

/** Preference metrics from host rewards: accuracy (r_c > r_r, as TRL counts it) and margin (mean r_c - r_r). */
export function preferenceStats(chosen: ArrayLike<number>, rejected: ArrayLike<number>): { accuracy: number; margin: number } {
  let right = 0, margin = 0;
  for (let i = 0; i < chosen.length; i++) {
    if (chosen[i]! > rejected[i]!) right++;
    margin += chosen[i]! - rejected[i]!;
  }
  return { accuracy: right / chosen.length, margin: margin / chosen.length };
}
