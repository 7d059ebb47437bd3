// Several reward managers in a row: each sees the previous one's output as batch.rewards.
// Metrics and states of manager i are merged under keys prefixed "i." (e.g. "1.kl_penalty"),
// so two managers of the same kind never collide and loadState() can route keys back.

import { ValueError } from '../core/errors';
import type { RewardBatch, RewardManager } from '../interfaces/reward_manager';
import { checkRewardBatch } from './validate';

export class CompositeRewardManager implements RewardManager {
  readonly managers: readonly RewardManager[];

  constructor(managers: readonly RewardManager[]) {
    if (!Array.isArray(managers)) throw new ValueError('CompositeRewardManager: expected an array of reward managers');
    managers.forEach((m, i) => {
      if (typeof m?.compute !== 'function') throw new ValueError(`CompositeRewardManager: managers[${i}] has no compute() method`);
    });
    this.managers = [...managers];
  }

  compute(batch: RewardBatch): Float32Array {
    checkRewardBatch('CompositeRewardManager', batch);
    let rewards = batch.rewards;
    for (const manager of this.managers) rewards = manager.compute({ ...batch, rewards });
    return rewards === batch.rewards ? rewards.slice() : rewards;
  }

  metrics(): Record<string, number> {
    return this.merge((m) => m.metrics?.());
  }

  state(): Record<string, number> {
    return this.merge((m) => m.state?.());
  }

  /** Routes "i.key" entries to manager i's loadState({key}). */
  loadState(state: Record<string, number>): void {
    const parts = this.managers.map((): Record<string, number> => ({}));
    for (const [key, value] of Object.entries(state)) {
      const dot = key.indexOf('.');
      const index = dot > 0 ? Number(key.slice(0, dot)) : NaN;
      if (!Number.isInteger(index) || index < 0 || index >= this.managers.length || !this.managers[index]!.loadState) {
        throw new ValueError(`CompositeRewardManager.loadState: key "${key}" does not belong to a manager with state (expected "i.name" with manager i having loadState)`);
      }
      parts[index]![key.slice(dot + 1)] = value;
    }
    this.managers.forEach((m, i) => {
      if (m.loadState && m.state) m.loadState(parts[i]!);
    });
  }

  private merge(get: (m: RewardManager) => Record<string, number> | undefined): Record<string, number> {
    const out: Record<string, number> = {};
    this.managers.forEach((m, i) => {
      for (const [key, value] of Object.entries(get(m) ?? {})) out[`${i}.${key}`] = value;
    });
    return out;
  }
}
