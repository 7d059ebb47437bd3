// RLOOTrainer (TRL's RLOOTrainer; Ahmadian et al. 2024, "Back to Basics"): n completions per
// prompt, the KL to the reference (k1 summed over the sequence) subtracted from the reward, the
// leave-one-out baseline (advantages.ts), and the PPO clip on the whole sequence's ratio with the
// mean over sequences (loss.ts), as TRL's current RLOOTrainer does.
//
// @example
// const trainer = new RLOOTrainer({ policy, tokenizer, dataset: prompts, rewardFuncs: [{ name: 'sentiment', fn }],
//   config: { numGenerations: 4, beta: 0.05, learningRate: 5e-4 } });
// const metrics = await trainer.step(); // reward, kl, rewards/sentiment/mean, ...

import { Tensor } from '../../core/tensor';
import type { LmRollout } from '../../lm/rollout';
import { resumeOrFree } from '../lm/checkpoint';
import type { LmLoss, LmMinibatch } from '../lm/optimize';
import { LmGroupTrainer, type AdvantageResult, type LmTrainerOptions } from '../lm/trainer';
import { groupRelativeAdvantages } from '../grpo/advantages';
import { leaveOneOutAdvantages, sequenceKl } from './advantages';
import { resolveRLOOConfig, type RLOOConfig } from './config';
import { rlooLoss } from './loss';

export type RLOOTrainerOptions = LmTrainerOptions<RLOOConfig>;

export class RLOOTrainer extends LmGroupTrainer<RLOOConfig> {
  readonly algorithm = 'rloo';

  constructor(options: RLOOTrainerOptions) {
    const config = resolveRLOOConfig(options?.config ?? {});
    super(options, config, config.beta > 0, 'RLOOTrainer');
  }

  /** Builds a trainer from `options` (same policy architecture and config) and restores `dir` into it. */
  static async load(dir: string, options: RLOOTrainerOptions): Promise<RLOOTrainer> {
    return resumeOrFree(new RLOOTrainer(options), dir);
  }

  protected advantagesOf(scores: readonly number[], rollout: LmRollout, mask: Float32Array): AdvantageResult {
    const c = this.config;
    const metrics: Record<string, number> = {};
    let rewards = [...scores];
    if (c.beta > 0) {
      const R = rollout.batch.responseLength;
      const kl = sequenceKl(rollout.oldLogProbs.view(), rollout.refLogProbs!.view(), mask, R);
      rewards = rewards.map((r, b) => r - c.beta * kl[b]!);
      let tokens = 0;
      for (let i = 0; i < mask.length; i++) tokens += mask[i]!;
      metrics['kl'] = kl.reduce((s, x) => s + x, 0) / Math.max(1, tokens); // TRL: the per-token mean of k1
    }
    // TRL logs frac_reward_zero_std from the group std of the KL-penalised rewards
    metrics['frac_reward_zero_std'] = groupRelativeAdvantages(rewards, c.numGenerations, 'group').fracZeroStd;
    return { advantages: leaveOneOutAdvantages(rewards, c.numGenerations, c.normalizeAdvantages), metrics };
  }

  protected lossOf(mb: LmMinibatch, advantages: Tensor): LmLoss {
    const out = rlooLoss({ logp: mb.logp, oldLogp: mb.oldLogp, advantages: advantages.reshape([mb.rows]), mask: mb.mask, epsilonLow: this.config.epsilon, epsilonHigh: this.config.epsilonHigh });
    return { loss: out.loss, stats: { 'clip_ratio/low_mean': out.clipLow, 'clip_ratio/high_mean': out.clipHigh, 'clip_ratio/region_mean': out.clipRegion } };
  }
}
