// Per-step KL shaping, as in InstructGPT / lm-human-preferences: the policy pays for moving away
// from the frozen reference model at every step it acts,
//   reward_t = reward_t - coef * (logp_t - logpRef_t)
// where logp_t - logpRef_t is the k1 estimator of KL(policy || reference) from the sampled
// action (unbiased; single samples can be negative, their mean over a batch rarely is).

import { ValueError } from '../core/errors';
import type { RewardBatch, RewardManager } from '../interfaces/reward_manager';
import { checkRewardBatch } from './validate';

export interface KlShapedOptions {
  /** The KL coefficient (beta): a constant, or a function read at every compute() (an adaptive KL controller). */
  coef: number | (() => number);
}

export class KlShapedReward implements RewardManager {
  private readonly coef: number | (() => number);
  private last: Record<string, number> = {};

  constructor(options: KlShapedOptions) {
    const coef = options?.coef;
    if (typeof coef !== 'function') checkCoef(coef);
    this.coef = coef;
  }

  compute(batch: RewardBatch): Float32Array {
    if (batch.refLogProbs === undefined) {
      throw new ValueError('KlShapedReward.compute: batch.refLogProbs is absent: KL shaping needs the log-probabilities of the taken actions under a reference model');
    }
    checkRewardBatch('KlShapedReward', batch, ['logProbs', 'refLogProbs']);
    const coef = typeof this.coef === 'function' ? this.coef() : this.coef;
    checkCoef(coef);
    const { rewards, logProbs, refLogProbs } = batch;
    const out = new Float32Array(rewards.length);
    let klSum = 0;
    let penaltySum = 0;
    for (let i = 0; i < rewards.length; i++) {
      const kl = logProbs[i]! - refLogProbs[i]!;
      const penalty = -coef * kl;
      out[i] = rewards[i]! + penalty;
      klSum += kl;
      penaltySum += penalty;
    }
    const n = rewards.length;
    this.last = n === 0 ? {} : { kl: klSum / n, kl_penalty: penaltySum / n, kl_coef: coef };
    return out;
  }

  /** Of the last compute(): kl = mean(logp - logpRef), kl_penalty = mean(-coef (logp - logpRef)), kl_coef. */
  metrics(): Record<string, number> {
    return { ...this.last };
  }
}

function checkCoef(coef: unknown): asserts coef is number {
  if (typeof coef !== 'number' || !Number.isFinite(coef) || coef < 0) {
    throw new ValueError(`KlShapedReward: coef must be a finite number >= 0 (or a function returning one), got ${String(coef)}`);
  }
}
