// RewardModelTrainer's settings, named after TRL's RewardConfig (camelCase).

import { checkNumber, checkOfflineTrainerConfig, type OfflineTrainerConfig } from '../offline_config';

export interface RewardModelConfig extends OfflineTrainerConfig {
  /** Weight of TRL's reward-centring term mean((r_c + r_r)^2) (center_rewards_coefficient, default 0: off). */
  centerRewardsCoefficient?: number;
}

export type ResolvedRewardModelConfig = Required<RewardModelConfig>;

/** Fills in defaults for a model of `nPositions` and checks every field (ValueError names it). */
export function resolveRewardModelConfig(config: RewardModelConfig, nPositions: number): ResolvedRewardModelConfig {
  const maxPromptLength = config.maxPromptLength ?? Math.floor(nPositions / 2);
  const c: ResolvedRewardModelConfig = {
    learningRate: config.learningRate ?? 1e-4,
    batchSize: config.batchSize ?? 8,
    weightDecay: config.weightDecay ?? 0,
    maxGradNorm: config.maxGradNorm ?? 1.0,
    centerRewardsCoefficient: config.centerRewardsCoefficient ?? 0,
    maxPromptLength,
    maxCompletionLength: config.maxCompletionLength ?? nPositions - maxPromptLength,
    shuffle: config.shuffle ?? true,
    seed: config.seed ?? 42,
  };
  checkOfflineTrainerConfig('RewardModelConfig', c);
  checkNumber('RewardModelConfig', 'centerRewardsCoefficient', c.centerRewardsCoefficient, 0, true);
  return c;
}
