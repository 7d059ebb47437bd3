// Affine rescaling then symmetric clipping: r' = clamp(scale * r + shift, -clip, clip).
// Keeps reward-model scores in a range where the value head and advantages stay well scaled.

import { NumericError, ValueError } from '../core/errors';
import type { RewardBatch, RewardManager } from '../interfaces/reward_manager';
import { checkRewardBatch } from './validate';

export interface ScaleClipOptions {
  /** Multiplies every reward. Default 1. */
  scale?: number;
  /** Added after scaling. Default 0. */
  shift?: number;
  /** Rewards are clipped to [-clip, clip] after scale and shift; > 0. Default Infinity (no clipping). */
  clip?: number;
}

export class ScaleClipReward implements RewardManager {
  readonly scale: number;
  readonly shift: number;
  readonly clip: number;

  constructor(options: ScaleClipOptions = {}) {
    this.scale = options.scale ?? 1;
    this.shift = options.shift ?? 0;
    this.clip = options.clip ?? Infinity;
    if (!Number.isFinite(this.scale)) throw new ValueError(`ScaleClipReward: scale must be finite, got ${this.scale}`);
    if (!Number.isFinite(this.shift)) throw new ValueError(`ScaleClipReward: shift must be finite, got ${this.shift}`);
    if (!(this.clip > 0)) throw new ValueError(`ScaleClipReward: clip must be > 0 (or Infinity), got ${this.clip}`);
  }

  compute(batch: RewardBatch): Float32Array {
    checkRewardBatch('ScaleClipReward', batch);
    const out = new Float32Array(batch.rewards.length);
    for (let i = 0; i < out.length; i++) {
      const r = this.scale * batch.rewards[i]! + this.shift;
      out[i] = Math.min(this.clip, Math.max(-this.clip, r));
      // A large scale can overflow float32 when clipping is off.
      if (!Number.isFinite(out[i]!)) throw new NumericError(`ScaleClipReward.compute: scale * rewards[${i}] + shift is ${out[i]} in float32 (rewards[${i}] = ${batch.rewards[i]})`);
    }
    return out;
  }
}
