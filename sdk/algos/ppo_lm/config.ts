// LMPPOTrainer's configuration: TRL's PPOConfig in camelCase (names and, where they suit a tiny
// model, defaults), with NovaRL's KL options. Every field is checked once (the generation ones by
// sdk/algos/lm/config.ts, shared with GRPO and RLOO), with a ValueError naming it.

import { ValueError } from '../../core/errors';
import type { KlEstimator } from '../../core/losses';
import { checkLmSamplingConfig, type LmSamplingConfig } from '../lm/config';

/** LM PPO's fields; the generation ones (LmSamplingConfig) are TRL's per_device_train_batch_size / num_generations prompts, response_length tokens. */
export interface LMPPOConfig extends LmSamplingConfig {
  /** Adam's learning rate. */
  learningRate: number;
  /** Use AdamW (decoupled weight decay) instead of Adam. */
  adamW: boolean;
  /** AdamW's weight decay (ignored by Adam). */
  weightDecay: number;
  /** PPO epochs over each generation batch (TRL: num_ppo_epochs). */
  epochs: number;
  /** Minibatches per epoch; must divide the rows (TRL: num_mini_batches). */
  minibatches: number;
  /** PPO's policy clip range eps (TRL: cliprange). */
  clipRange: number;
  /** The value loss's clip range around the rollout's values (TRL: cliprange_value; 0: off). */
  clipRangeValue: number;
  /** Weight of the value loss (TRL: vf_coef). */
  valueCoef: number;
  /** Weight of the entropy bonus (TRL has none: 0). */
  entropyCoef: number;
  /** Global gradient-norm clip (TRL: max_grad_norm). */
  maxGradNorm: number;
  /** GAE discount over response tokens (TRL: gamma = 1). */
  gamma: number;
  /** GAE lambda (TRL: lam = 0.95). */
  lambda: number;
  /** Initial KL coefficient beta (TRL: kl_coef). 0 with adaptiveKl 'none': no reference model at all. */
  beta: number;
  /** Where the KL to the reference goes: 'reward' (InstructGPT: -beta * k per token) or 'loss' (beta * masked mean of k). */
  klPenalty: 'reward' | 'loss';
  /** The per-token KL estimator k (Schulman's k1, k2, k3; TRL: kl_estimator). */
  klEstimator: KlEstimator;
  /** Adapt beta after every step: 'window' (PPO paper), 'proportional' (Ziegler et al. 2019) or 'none'. */
  adaptiveKl: 'none' | 'window' | 'proportional';
  /** The KL per sequence (objective/kl) the adaptive controller aims at. */
  targetKl: number;
  /** The proportional controller's horizon, in sequences. */
  horizon: number;
  /** Subtracted from the score of a completion that ended without EOS (TRL: missing_eos_penalty; 0: off). */
  missingEosPenalty: number;
  /** Whiten the per-token rewards over the batch before GAE, without shifting their mean (TRL: whiten_rewards). */
  whitenRewards: boolean;
  /** Clip each total score to [-rewardClip, rewardClip] before the KL is added (0: off). */
  rewardClip: number;
  /** Truncated importance sampling against the engine's log-probs: multiply each token's policy loss by min(pi_old / pi_engine, cap) (0: off). */
  importanceSamplingCap: number;
  /** 'head': the policy's value head (shared trunk, TRL's AutoModelForCausalLMWithValueHead); 'critic': a separate GPT. */
  valueModel: 'head' | 'critic';
  /** Seed of the sampling and of the minibatch shuffles. */
  seed: number;
}

export const LM_PPO_DEFAULTS: Readonly<LMPPOConfig> = Object.freeze({
  promptsPerStep: 8,
  numGenerations: 1,
  maxNewTokens: 24,
  temperature: 1,
  topK: 0,
  topP: 1,
  learningRate: 3e-6,
  adamW: false,
  weightDecay: 0,
  epochs: 4,
  minibatches: 1,
  clipRange: 0.2,
  clipRangeValue: 0.2,
  valueCoef: 0.1,
  entropyCoef: 0,
  maxGradNorm: 1,
  gamma: 1,
  lambda: 0.95,
  beta: 0.05,
  klPenalty: 'reward',
  klEstimator: 'k1',
  adaptiveKl: 'none',
  targetKl: 6,
  horizon: 10000,
  missingEosPenalty: 0,
  whitenRewards: false,
  rewardClip: 0,
  importanceSamplingCap: 0,
  valueModel: 'head',
  seed: 0,
});

/** The defaults with `overrides` applied, every field checked (ValueError naming it). */
export function resolveLMPPOConfig(overrides: Partial<LMPPOConfig> = {}): LMPPOConfig {
  if (overrides === null || typeof overrides !== 'object') throw new ValueError(`LMPPOConfig must be an object, got ${String(overrides)}`);
  for (const key of Object.keys(overrides)) {
    if (!Object.hasOwn(LM_PPO_DEFAULTS, key)) throw new ValueError(`LMPPOConfig: unknown field '${key}'`);
  }
  const c: LMPPOConfig = { ...LM_PPO_DEFAULTS, ...overrides };
  const fail = (field: keyof LMPPOConfig, what: string): never => {
    throw new ValueError(`LMPPOConfig.${field} must be ${what}, got ${JSON.stringify(c[field]) ?? String(c[field])}`);
  };
  const integer = (field: keyof LMPPOConfig, min: number) => {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(field, `an integer >= ${min}`);
  };
  const number = (field: keyof LMPPOConfig, ok: (v: number) => boolean, what: string) => {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) fail(field, what);
  };
  const oneOf = (field: keyof LMPPOConfig, options: readonly unknown[]) => {
    if (!options.includes(c[field])) fail(field, `one of ${options.map((o) => JSON.stringify(o)).join(', ')}`);
  };
  checkLmSamplingConfig('LMPPOConfig', c, 1);
  integer('epochs', 1);
  integer('minibatches', 1);
  integer('seed', 0);
  number('learningRate', (v) => v >= 0, 'a finite number >= 0');
  number('weightDecay', (v) => v >= 0, 'a finite number >= 0');
  number('clipRange', (v) => v >= 0, 'a finite number >= 0');
  number('clipRangeValue', (v) => v >= 0, 'a finite number >= 0');
  number('valueCoef', (v) => v >= 0, 'a finite number >= 0');
  number('entropyCoef', () => true, 'a finite number');
  number('maxGradNorm', (v) => v > 0, 'a finite number > 0');
  number('gamma', (v) => v >= 0 && v <= 1, 'in [0, 1]');
  number('lambda', (v) => v >= 0 && v <= 1, 'in [0, 1]');
  number('beta', (v) => v >= 0, 'a finite number >= 0');
  number('targetKl', (v) => v > 0, 'a finite number > 0');
  number('horizon', (v) => v > 0, 'a finite number > 0');
  number('missingEosPenalty', (v) => v >= 0, 'a finite number >= 0');
  number('rewardClip', (v) => v >= 0, 'a finite number >= 0');
  number('importanceSamplingCap', (v) => v === 0 || v >= 1, '0 (off) or a finite number >= 1');
  if (typeof c.adamW !== 'boolean') fail('adamW', 'true or false');
  if (typeof c.whitenRewards !== 'boolean') fail('whitenRewards', 'true or false');
  oneOf('klPenalty', ['reward', 'loss']);
  oneOf('klEstimator', ['k1', 'k2', 'k3']);
  oneOf('adaptiveKl', ['none', 'window', 'proportional']);
  oneOf('valueModel', ['head', 'critic']);
  if (c.adaptiveKl !== 'none' && c.beta === 0) fail('beta', `> 0 with adaptiveKl '${c.adaptiveKl}' (a controller multiplies it)`);
  const rows = c.promptsPerStep * c.numGenerations;
  if (rows % c.minibatches !== 0) fail('minibatches', `a divisor of the rows per step (promptsPerStep x numGenerations = ${rows})`);
  return c;
}

/** Whether the run needs a reference model: any KL term, now or after adaptation. */
export function usesReference(c: LMPPOConfig): boolean {
  return c.beta > 0 || c.adaptiveKl !== 'none';
}
