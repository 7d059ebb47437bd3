// The environment's rewards, unchanged (after the shared checks): the default reward manager.

import type { RewardBatch, RewardManager } from '../interfaces/reward_manager';
import { checkRewardBatch } from './validate';

export class IdentityReward implements RewardManager {
  /** A copy of batch.rewards. */
  compute(batch: RewardBatch): Float32Array {
    checkRewardBatch('IdentityReward', batch);
    return batch.rewards.slice();
  }
}
