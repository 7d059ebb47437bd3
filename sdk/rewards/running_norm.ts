// Divides rewards by the running standard deviation of every reward seen so far (and
// optionally subtracts the running mean), so reward scale stops mattering to the value head.
// Statistics accumulate across compute() calls with Welford's algorithm, one reward at a
// time in index order (deterministic), and are saved in checkpoints through state().

import { ValueError } from '../core/errors';
import type { RewardBatch, RewardManager } from '../interfaces/reward_manager';
import { checkRewardBatch } from './validate';

export interface RunningNormOptions {
  /** Added to the variance before the square root, so a constant reward stream stays finite. Default 1e-8. */
  epsilon?: number;
  /** Subtract the running mean as well as dividing by the std. Default false (rewards keep their sign). */
  subtractMean?: boolean;
}

export class RunningNormReward implements RewardManager {
  readonly epsilon: number;
  readonly subtractMean: boolean;
  /** Rewards seen so far. */
  count = 0;
  /** Their mean. */
  mean = 0;
  /** Sum of squared deviations from the mean (Welford's M2); variance = m2 / count. */
  m2 = 0;

  constructor(options: RunningNormOptions = {}) {
    this.epsilon = options.epsilon ?? 1e-8;
    this.subtractMean = options.subtractMean ?? false;
    if (!(Number.isFinite(this.epsilon) && this.epsilon > 0)) throw new ValueError(`RunningNormReward: epsilon must be a finite number > 0, got ${this.epsilon}`);
  }

  /** Population variance of the rewards seen so far (0 before any). */
  get variance(): number {
    return this.count > 0 ? this.m2 / this.count : 0;
  }

  /** Adds the batch to the statistics, then normalises it with the updated mean and std. */
  compute(batch: RewardBatch): Float32Array {
    checkRewardBatch('RunningNormReward', batch);
    const rewards = batch.rewards;
    for (let i = 0; i < rewards.length; i++) {
      // Welford: mean_n = mean_{n-1} + (r - mean_{n-1}) / n;  M2_n = M2_{n-1} + (r - mean_{n-1}) (r - mean_n)
      const r = rewards[i]!;
      this.count += 1;
      const delta = r - this.mean;
      this.mean += delta / this.count;
      this.m2 += delta * (r - this.mean);
    }
    const std = Math.sqrt(this.variance + this.epsilon);
    const center = this.subtractMean ? this.mean : 0;
    const out = new Float32Array(rewards.length);
    for (let i = 0; i < rewards.length; i++) out[i] = (rewards[i]! - center) / std;
    return out;
  }

  metrics(): Record<string, number> {
    return { reward_running_mean: this.mean, reward_running_std: Math.sqrt(this.variance) };
  }

  state(): Record<string, number> {
    return { count: this.count, mean: this.mean, m2: this.m2 };
  }

  loadState(state: Record<string, number>): void {
    const { count, mean, m2 } = state;
    if (!(Number.isInteger(count) && count! >= 0)) throw new ValueError(`RunningNormReward.loadState: count must be an integer >= 0, got ${count}`);
    if (!Number.isFinite(mean)) throw new ValueError(`RunningNormReward.loadState: mean must be finite, got ${mean}`);
    if (!(Number.isFinite(m2) && m2! >= 0)) throw new ValueError(`RunningNormReward.loadState: m2 must be finite and >= 0, got ${m2}`);
    this.count = count!;
    this.mean = mean!;
    this.m2 = m2!;
  }
}
