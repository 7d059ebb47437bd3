/**
 * Turns environment signals into training rewards. Managers are composable: a
 * CompositeRewardManager runs several in order, each transforming the previous one's output.
 *
 * @example
 * const rewards = new CompositeRewardManager([
 *   new ScaleClipReward({ scale: 0.5, clip: 5 }),
 *   new KlShapedReward({ coef: () => klController.value }),
 * ]);
 * const shaped = rewards.compute(batch);   // Float32Array, one reward per step
 */
export interface RewardManager {
  /** Rewards for one batch of steps; must not modify `batch`. */
  compute(batch: RewardBatch): Float32Array;
  /** Scalars describing the last compute() (e.g. `kl_penalty`); PPOTrainer adds them to each update's metrics as `rewards/<key>` (of the rollout's last step). */
  metrics?(): Record<string, number>;
  /** State to checkpoint (running statistics). */
  state?(): Record<string, number>;
  loadState?(state: Record<string, number>): void;
}

/** One batch of steps as the reward managers see it. All arrays have one entry per step. */
export interface RewardBatch {
  /** Rewards the environment returned (or the previous manager's output inside a composite). */
  rewards: Float32Array;
  /** Log-probability of the taken action under the policy that acted. */
  logProbs: Float32Array;
  /** Log-probability of the taken action under the reference model (absent: no reference). */
  refLogProbs?: Float32Array;
  /** 1 where an episode ended with this step. */
  dones: Uint8Array;
}
