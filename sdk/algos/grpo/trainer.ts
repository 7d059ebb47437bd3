// GRPOTrainer (TRL's GRPOTrainer, DeepSeekMath's GRPO): n completions per prompt, advantages
// relative to the group (advantages.ts), the clipped token loss with its normalisations
// (loss.ts), k3 KL to a reference in the loss when beta > 0 (no reference otherwise), and
// truncated importance sampling against the engine's log-probs when importanceSamplingCap > 0.
//
// @example
// const trainer = new GRPOTrainer({ policy, tokenizer, dataset: prompts, rewardFuncs: [{ name: 'exact', fn: exact }],
//   config: { numGenerations: 8, lossType: 'dapo', learningRate: 5e-4 } });
// for (let i = 0; i < 20; i++) console.log((await trainer.step())['reward']);
// await trainer.save('checkpoints/grpo');            // later: await GRPOTrainer.load('checkpoints/grpo', sameOptions)

import { ValueError } from '../../core/errors';
import { noGrad } from '../../core/grad_mode';
import { Tensor } from '../../core/tensor';
import { truncatedImportanceWeights, type LmRollout } from '../../lm/rollout';
import { resumeOrFree } from '../lm/checkpoint';
import type { LmLoss, LmMinibatch } from '../lm/optimize';
import { LmGroupTrainer, type AdvantageResult, type LmTrainerOptions } from '../lm/trainer';
import { groupRelativeAdvantages } from './advantages';
import { resolveGRPOConfig, type GRPOConfig } from './config';
import { grpoLoss } from './loss';

export type GRPOTrainerOptions = LmTrainerOptions<GRPOConfig>;

export class GRPOTrainer extends LmGroupTrainer<GRPOConfig> {
  readonly algorithm = 'grpo';

  constructor(options: GRPOTrainerOptions) {
    const config = resolveGRPOConfig(options?.config ?? {});
    super(options, config, config.beta > 0, 'GRPOTrainer');
  }

  /** Builds a trainer from `options` (same policy architecture and config) and restores `dir` into it. */
  static async load(dir: string, options: GRPOTrainerOptions): Promise<GRPOTrainer> {
    return resumeOrFree(new GRPOTrainer(options), dir);
  }

  protected advantagesOf(rewards: readonly number[]): AdvantageResult {
    const { advantages, fracZeroStd } = groupRelativeAdvantages(rewards, this.config.numGenerations, this.config.scaleRewards);
    return { advantages, metrics: { frac_reward_zero_std: fracZeroStd } };
  }

  protected override prepareBatch(rollout: LmRollout): { importanceWeights?: Tensor; metrics?: Record<string, number> } {
    const cap = this.config.importanceSamplingCap;
    if (cap === 0) return {};
    if (!rollout.engineLogProbs) throw new ValueError("GRPOTrainer: importanceSamplingCap needs the engine's log-probs, and this engine's are unusable (re-tokenised text); set importanceSamplingCap 0");
    const weights = truncatedImportanceWeights(rollout.oldLogProbs, rollout.engineLogProbs, cap);
    // TRL's sampling/importance_sampling_ratio/* over the response tokens
    const w = weights.view(), mask = rollout.batch.responseMask.view();
    let min = Infinity, max = -Infinity, sum = 0, n = 0;
    for (let i = 0; i < w.length; i++) {
      if (mask[i] === 0) continue;
      min = Math.min(min, w[i]!);
      max = Math.max(max, w[i]!);
      sum += w[i]!;
      n++;
    }
    const metrics: Record<string, number> = n ? { 'sampling/importance_sampling_ratio/min': min, 'sampling/importance_sampling_ratio/mean': sum / n, 'sampling/importance_sampling_ratio/max': max } : {};
    return { importanceWeights: noGrad(() => Tensor.from(w, weights.shape, { core: this.core, persistent: true }), this.core), metrics };
  }

  protected lossOf(mb: LmMinibatch, advantages: Tensor, extra: { rollout: LmRollout; generationBatchTokens: number; importanceWeights?: Tensor }): LmLoss {
    const c = this.config;
    const out = grpoLoss({
      logp: mb.logp,
      oldLogp: mb.oldLogp,
      advantages,
      mask: mb.mask,
      refLogp: c.beta > 0 ? mb.take(extra.rollout.refLogProbs!) : undefined,
      importanceWeights: extra.importanceWeights,
      beta: c.beta,
      epsilonLow: c.epsilon,
      epsilonHigh: c.epsilonHigh,
      lossType: c.lossType,
      maxCompletionLength: c.maxNewTokens,
      generationBatchTokens: extra.generationBatchTokens,
    });
    return {
      loss: out.loss,
      stats: { 'clip_ratio/low_mean': out.clipLow, 'clip_ratio/high_mean': out.clipHigh, 'clip_ratio/region_mean': out.clipRegion, kl: out.kl },
    };
  }
}
