// RewardModelTrainer's settings, named after TRL's RewardConfig (camelCase).

import { ValueError } from '../../core/errors';

export interface RewardModelConfig {
  /** AdamW's learning rate (default 1e-4, TRL's RewardConfig). */
  learningRate?: number;
  /** Pairs per optimisation step (per_device_train_batch_size, default 8). */
  batchSize?: number;
  /** AdamW's decoupled weight decay (default 0, as TrainingArguments). */
  weightDecay?: number;
  /** Clip the global gradient norm to this (default 1.0); 0 disables clipping. */
  maxGradNorm?: number;
  /** Weight of TRL's reward-centring term mean((r_c + r_r)^2) (center_rewards_coefficient, default 0: off). */
  centerRewardsCoefficient?: number;
  /** Prompt tokens kept (the last ones; default half of nPositions). */
  maxPromptLength?: number;
  /** Completion tokens kept, EOS included (default nPositions - maxPromptLength). */
  maxCompletionLength?: number;
  /** Visit the pairs in a fresh random order each epoch (default true). */
  shuffle?: boolean;
  /** Seeds the core's generator when the trainer is built (default 42, TRL's). */
  seed?: number;
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
  checkNumber('RewardModelConfig', 'learningRate', c.learningRate, 0, false);
  checkInteger('RewardModelConfig', 'batchSize', c.batchSize, 1);
  checkNumber('RewardModelConfig', 'weightDecay', c.weightDecay, 0, true);
  checkNumber('RewardModelConfig', 'maxGradNorm', c.maxGradNorm, 0, true);
  checkNumber('RewardModelConfig', 'centerRewardsCoefficient', c.centerRewardsCoefficient, 0, true);
  checkInteger('RewardModelConfig', 'seed', c.seed, 0);
  if (typeof c.shuffle !== 'boolean') throw new ValueError(`RewardModelConfig: shuffle must be a boolean, got ${JSON.stringify(c.shuffle)}`);
  return c;
}

/** A finite number above `min` (or at it, when `inclusive`). */
export function checkNumber(who: string, field: string, value: unknown, min: number, inclusive: boolean): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || (inclusive ? value < min : value <= min)) {
    throw new ValueError(`${who}: ${field} must be a finite number ${inclusive ? '>=' : '>'} ${min}, got ${JSON.stringify(value)}`);
  }
}

/** A safe integer >= min. */
export function checkInteger(who: string, field: string, value: unknown, min: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min) throw new ValueError(`${who}: ${field} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
}
