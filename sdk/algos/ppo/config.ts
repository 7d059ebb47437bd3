// PPO configuration: every hyperparameter is a typed field with a one-line doc and a default
// (CleanRL's ppo.py where it has one). camelCase of the original NovaRL names.

import { ValueError } from '../../core/errors';
import type { KlEstimator } from '../../core/losses';

/** The KL estimator names of sdk/core/losses.ts klEstimate. */
export type KlEstimatorName = KlEstimator;

export interface PPOConfig {
  // ---- rollout
  /** Steps collected from each environment per update (CleanRL num_steps). */
  stepsPerUpdate: number;
  /** Discount factor. */
  gamma: number;
  /** GAE lambda. */
  gaeLambda: number;

  // ---- optimisation
  /** Adam learning rate. */
  learningRate: number;
  /** Anneal the learning rate linearly to 0 over `totalUpdates`. */
  annealLr: boolean;
  /** Planned number of updates (needed by annealLr). */
  totalUpdates: number;
  /** Passes over each rollout (CleanRL update_epochs). */
  epochs: number;
  /** Minibatches per epoch (CleanRL num_minibatches). */
  minibatches: number;
  /**
   * Whiten advantages per minibatch (CleanRL norm_adv). Whitened advantages have unit scale
   * whatever the rewards' scale, so a loss-side KL penalty (klPenalty 'loss') of a fixed beta
   * is swamped by them; put the KL in the reward, or turn this off, to keep the penalty's weight.
   */
  normalizeAdvantages: boolean;
  /** Adam epsilon (CleanRL uses 1e-5). */
  adamEps: number;
  /** Clip the global gradient norm to this (0 disables). */
  maxGradNorm: number;
  /** Stop an update's epochs once the last minibatch's approx_kl exceeds this (CleanRL target_kl; 0 disables). */
  targetKl: number;

  // ---- PPO loss
  /** Surrogate clipping epsilon; > 0 enables clipping, 0 gives the plain policy gradient surrogate. */
  clipRange: number;
  /** Entropy bonus coefficient. */
  entropyCoef: number;
  /** Value loss coefficient. */
  valueCoef: number;
  /** Clip value updates to +-valueClip around the old values (0 disables; CleanRL clips with 0.2). */
  valueClip: number;

  // ---- KL control against the reference model
  /** Initial KL coefficient beta; 0 disables the KL penalty (kl_to_ref is still logged). */
  klCoef: number;
  /**
   * Where the penalty goes: per-step reward shaping (InstructGPT) or a term in the loss.
   * In the loss, the estimator matters (the mathematics, not an implementation choice; see
   * lossKlWarnings): with samples a ~ pi, k1 = logp - logpRef has the loss gradient grad logp,
   * whose expectation under pi is 0 (the KL's gradient comes through the sampling, which the
   * loss does not differentiate): what remains raises the sampled actions' log-probs and drives
   * the policy to greedy. k2 = (logp - logpRef)^2 / 2 has the reverse KL's gradient and reaches
   * the KL-regularised optimum; k3 = exp(logpRef - logp) - 1 - (logpRef - logp)
   * converges to the fixed point of the forward KL(ref || pi) instead.
   */
  klPenalty: 'reward' | 'loss';
  /** KL estimator for the penalty: k1 (unbiased, can be < 0), k2, k3 (unbiased, >= 0); in the loss use k2 (see klPenalty). */
  klEstimator: KlEstimatorName;
  /** Adapt klCoef after every update to keep kl_to_ref near klTarget. */
  adaptiveKl: boolean;
  /** Target KL to the reference for the adaptive controller. */
  klTarget: number;
  /** 'window': x klFactor above 1.5 target, / below target/1.5 (PPO paper); 'proportional': Ziegler et al. 2019. */
  klController: 'window' | 'proportional';
  /** Multiplier of the window controller (PPO paper: 2). */
  klFactor: number;
  /** Horizon of the proportional controller (Ziegler et al.: 10000). */
  klHorizon: number;

  // ---- reproducibility
  /** Seeds the core's PRNG (sampling, shuffling) and the environment reset; an integer in [0, 2^52). */
  seed: number;
}

export const defaultPPOConfig: PPOConfig = {
  stepsPerUpdate: 128,
  gamma: 0.99,
  gaeLambda: 0.95,
  learningRate: 2.5e-4,
  annealLr: false,
  totalUpdates: 0,
  epochs: 4,
  minibatches: 4,
  normalizeAdvantages: true,
  adamEps: 1e-5,
  maxGradNorm: 0.5,
  targetKl: 0,
  clipRange: 0.2,
  entropyCoef: 0.01,
  valueCoef: 0.5,
  valueClip: 0.2,
  klCoef: 0,
  klPenalty: 'reward',
  klEstimator: 'k1',
  adaptiveKl: false,
  klTarget: 0.02,
  klController: 'window',
  klFactor: 2,
  klHorizon: 10000,
  seed: 1,
};

/** Most rows one rollout may have: stepsPerUpdate x numEnvs (the core's permutation and index range). */
export const MAX_ROWS = 2 ** 24;

/** Fills defaults and refuses values that cannot work, naming the field. */
export function resolvePPOConfig(partial: Partial<PPOConfig>): PPOConfig {
  // a misspelt field would otherwise be ignored silently, leaving its default in force
  for (const key of Object.keys(partial)) {
    if (!Object.hasOwn(defaultPPOConfig, key)) throw new ValueError(`PPOConfig has no field '${key}' (known: ${Object.keys(defaultPPOConfig).join(', ')})`);
  }
  const config = { ...defaultPPOConfig, ...partial };
  const positiveInt = ['stepsPerUpdate', 'epochs', 'minibatches'] as const;
  for (const key of positiveInt) {
    if (!Number.isInteger(config[key]) || config[key] < 1) throw new ValueError(`PPOConfig.${key} must be a positive integer (got ${config[key]})`);
  }
  // a rollout is at most 2^24 rows (the core's permutation and index range)
  if (config.stepsPerUpdate > MAX_ROWS) throw new ValueError(`PPOConfig.stepsPerUpdate must be at most 2^24 = ${MAX_ROWS} (got ${config.stepsPerUpdate})`);
  const nonNegative = ['learningRate', 'clipRange', 'entropyCoef', 'valueCoef', 'valueClip', 'klCoef', 'maxGradNorm', 'targetKl', 'adamEps'] as const;
  for (const key of nonNegative) {
    if (!(config[key] >= 0) || !Number.isFinite(config[key])) throw new ValueError(`PPOConfig.${key} must be a finite number >= 0 (got ${config[key]})`);
  }
  for (const key of ['gamma', 'gaeLambda'] as const) {
    if (!(config[key] >= 0 && config[key] <= 1)) throw new ValueError(`PPOConfig.${key} must be in [0, 1] (got ${config[key]})`);
  }
  for (const key of ['annealLr', 'normalizeAdvantages', 'adaptiveKl'] as const) {
    if (typeof config[key] !== 'boolean') throw new ValueError(`PPOConfig.${key} must be true or false (got ${String(config[key])})`);
  }
  if (!Number.isInteger(config.totalUpdates) || config.totalUpdates < 0) throw new ValueError(`PPOConfig.totalUpdates must be an integer >= 0 (got ${config.totalUpdates})`);
  if (config.annealLr && !(config.totalUpdates >= 1)) throw new ValueError('PPOConfig.annealLr needs totalUpdates >= 1');
  // the trainer offsets the seed by 2^32 - 1 at most, which must stay an exact integer
  if (!Number.isInteger(config.seed) || config.seed < 0 || config.seed >= 2 ** 52) throw new ValueError(`PPOConfig.seed must be an integer in [0, 2^52) (got ${config.seed})`);
  if (!['k1', 'k2', 'k3'].includes(config.klEstimator)) throw new ValueError(`PPOConfig.klEstimator must be 'k1', 'k2' or 'k3' (got ${config.klEstimator})`);
  if (!['reward', 'loss'].includes(config.klPenalty)) throw new ValueError(`PPOConfig.klPenalty must be 'reward' or 'loss' (got ${config.klPenalty})`);
  if (!['window', 'proportional'].includes(config.klController)) {
    throw new ValueError(`PPOConfig.klController must be 'window' or 'proportional' (got ${config.klController})`);
  }
  if (!(config.klTarget > 0 && config.klTarget < Infinity)) throw new ValueError(`PPOConfig.klTarget must be a finite number > 0 (got ${config.klTarget})`);
  if (!(config.klFactor > 1 && config.klFactor < Infinity)) throw new ValueError(`PPOConfig.klFactor must be a finite number > 1 (got ${config.klFactor})`);
  if (!(config.klHorizon > 0 && config.klHorizon < Infinity)) throw new ValueError(`PPOConfig.klHorizon must be a finite number > 0 (got ${config.klHorizon})`);
  return config;
}

/**
 * Warnings for configurations that run but do not do what they seem to (the mathematics of the
 * loss-side KL; see PPOConfig.klPenalty and normalizeAdvantages). Empty when none applies.
 */
export function lossKlWarnings(config: PPOConfig): string[] {
  if (config.klPenalty !== 'loss' || config.klCoef === 0) return [];
  const warnings: string[] = [];
  if (config.klEstimator === 'k1') {
    warnings.push(
      "PPOConfig: klPenalty 'loss' with klEstimator 'k1' has almost no expected gradient (E_pi[grad log pi] = 0) and drives the policy to greedy; use klEstimator 'k2' (the KL-regularised optimum) or klPenalty 'reward'",
    );
  }
  if (config.normalizeAdvantages) {
    warnings.push(
      "PPOConfig: klPenalty 'loss' with normalizeAdvantages true: the whitened advantages (unit scale) swamp the KL term; use klPenalty 'reward' or normalizeAdvantages false",
    );
  }
  return warnings;
}
