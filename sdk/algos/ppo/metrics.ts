// The metrics of one PPO update, typed (glossary in README.md). Reward managers add their own
// keys (e.g. `rewards/0.reward_running_mean`) and the timer its `time/*` keys.

import type { TrainerMetrics } from '../../interfaces/trainer';

export interface PPOMetrics extends TrainerMetrics {
  /** -policy_loss: the clipped surrogate objective. */
  objective: number;
  /** mean(A * ratio). */
  objective_unclipped: number;
  /** Mean KL penalty: the per-step reward shaping ('reward') or beta * mean(k) ('loss'). */
  kl_penalty: number;
  /** CleanRL's old_approx_kl: mean(-logratio). */
  kl: number;
  /** CleanRL's approx_kl: mean((ratio - 1) - logratio). */
  approx_kl: number;
  /** Exact KL(policy || reference) over the rollout's observations. */
  kl_to_ref: number;
  /** The KL coefficient beta this update used. */
  kl_coef: number;
  /** Mean policy entropy over the rollout. */
  entropy: number;
  /** Mean environment reward per step. */
  reward_mean: number;
  /** Fraction of ratios clipped. */
  clipfrac: number;
  policy_loss: number;
  value_loss: number;
  /** 1 - Var(returns - values) / Var(returns); NaN when the returns do not vary. */
  explained_variance: number;
  /** Global gradient norm before clipping, averaged over minibatches. */
  grad_norm: number;
  /** Learning rate of this update. */
  lr: number;
  episodes_per_sec: number;
  /** Mean return of the episodes that ended in this rollout; NaN when none did. */
  episodic_return: number;
  /** Environment steps per second since the trainer was built. */
  sps: number;
  /** Epochs run before targetKl stopped the update (the configured epochs without targetKl). */
  epochs_run: number;
}
