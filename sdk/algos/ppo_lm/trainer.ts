// PPO for language models: the InstructGPT / TRL PPOTrainer recipe on a NovaRL GPT.
//
//   every step():
//     1. prompts = dataset.next(promptsPerStep)
//     2. rollout = collectLmRollout(...)        numGenerations completions per prompt; old, reference
//                                               and engine log-probs and values, (B, R) in the core
//     3. scores = sum_f weight_f * f(prompts, completions)  (- missingEosPenalty) (clipped)
//     4. rewards, advantages, returns = lmAdvantages(...)   per-token KL in the reward, GAE, whitening
//     5. lmPpoStep: epochs x minibatches of clipped PPO on the policy (+ value head or critic)
//     6. the adaptive KL controller sees the step's KL; metrics under TRL's names
//
// A reward function that fails rejects step() before any parameter moves, and puts the dataset
// position back, so the run can go on (or resume from its last checkpoint).

import { ValueError } from '../../core/errors';
import { noGrad } from '../../core/grad_mode';
import { klEstimate } from '../../core/losses';
import { Adam, AdamW, type Optimizer } from '../../core/optim';
import { seed as seedCore } from '../../core/random';
import { Tensor } from '../../core/tensor';
import type { CompletionEngine } from '../../interfaces/completion_engine';
import type { NamedRewardFunction, PromptRow } from '../../interfaces/reward_function';
import { LocalCompletionEngine } from '../../lm/local_engine';
import { frozenReference, trunkWeights } from '../../lm/reference';
import { collectLmRollout, type LmRollout } from '../../lm/rollout';
import type { WeightSync } from '../../engines/weight_sync';
import { GPT } from '../../nn/gpt';
import { completionRows, type CompletionRow } from '../../observability/completions_table';
import type { Logger } from '../../observability/logger';
import { checkRewardFuncs, scoreRewards } from '../../rewards/reward_funcs';
import type { Tokenizer } from '../../text/tokenizer';
import { engineMetrics, rewardMetrics } from '../lm/metrics';
import { promptSource, type PromptSource } from '../lm/prompt_source';
import { FixedKlController, ProportionalKlController, WindowKlController, type KlController } from '../ppo/kl_controller';
import { lmAdvantages } from './advantages';
import { loadLmPpoCheckpoint, saveLmPpoCheckpoint } from './checkpoint';
import { resolveLMPPOConfig, usesReference, type LMPPOConfig } from './config';
import { criticValues, SequencePolicy } from './policy';
import { lmPpoStep } from './step';

/**
 * Where per-step completion rows go: a CompletionsTable, or anything with its log(step, rows).
 * Each row: prompt, completion, each reward function's value, `advantage` (the mean over the
 * completion's tokens of its whitened advantage), `score` (the total after the EOS penalty and
 * clipping) and `kl` (the completion's sum of k1 to the reference, when there is one).
 */
export interface LmPpoCompletionsSink {
  log(step: number, rows: readonly CompletionRow[]): void;
}

export interface LMPPOTrainerOptions {
  /** The policy GPT; with valueModel 'head' it needs valueHead: true. */
  policy: GPT;
  tokenizer: Tokenizer;
  /** Prompts: a PromptDataset (next(k), sync or async) or a PromptRow array, cycled. */
  dataset: PromptSource | readonly PromptRow[];
  rewardFuncs: NamedRewardFunction[];
  /** Where completions come from (default LocalCompletionEngine(policy)). */
  engine?: CompletionEngine;
  /** The frozen reference (default frozenReference(policy) when the config has a KL term). */
  reference?: GPT;
  /** The value model for valueModel 'critic' (default: a copy of the policy's trunk with a fresh value head). */
  critic?: GPT;
  config?: Partial<LMPPOConfig>;
  logger?: Logger;
  completionsTable?: LmPpoCompletionsSink;
  /**
   * Called after every update with the new weights, for a server engine (NovaRLServerWeightSync,
   * VllmReloadWeightSync, NoWeightSync from sdk/engines/weight_sync.ts). A sync that fails after
   * its retries rejects step() with a WeightSyncError once the update is applied (and the engine
   * refuses rollouts until a sync succeeds), so training never goes on against unknown weights.
   */
  weightSync?: WeightSync;
}

/** Everything besides weights and optimizer moments that a bit-identical resume needs. */
export interface LMPPOTrainerState {
  updates: number;
  tokensGenerated: number;
  episodes: number;
  klCoef: number;
  dataset: unknown;
}

export class LMPPOTrainer {
  readonly config: LMPPOConfig;
  readonly policy: GPT;
  readonly critic?: GPT;
  readonly reference?: GPT;
  readonly tokenizer: Tokenizer;
  readonly engine: CompletionEngine;
  readonly dataset: PromptSource;
  readonly rewardFuncs: readonly NamedRewardFunction[];
  readonly optimizer: Optimizer;
  readonly klController: KlController;
  readonly logger?: Logger;
  readonly completionsTable?: LmPpoCompletionsSink;
  readonly weightSync?: WeightSync;
  private readonly sequencePolicy: SequencePolicy;
  private readonly ownsReference: boolean;
  private readonly ownsCritic: boolean;
  private updateCount = 0;
  private generatedTokens = 0;
  private episodeCount = 0;
  // episodes per second counts this process's steps only (a resumed run starts its clock again)
  private elapsedSeconds = 0;
  private episodesThisProcess = 0;
  private running = false;
  private freed = false;

  constructor(options: LMPPOTrainerOptions) {
    if (!options || typeof options !== 'object') throw new ValueError('LMPPOTrainer: options must be an object');
    const config = (this.config = resolveLMPPOConfig(options.config ?? {}));
    if (!(options.policy instanceof GPT)) throw new ValueError('LMPPOTrainer: policy must be a GPT');
    if (!options.tokenizer || typeof options.tokenizer.decode !== 'function') throw new ValueError('LMPPOTrainer: tokenizer must be a Tokenizer');
    checkRewardFuncs(options.rewardFuncs, 'LMPPOTrainer');
    this.policy = options.policy;
    this.tokenizer = options.tokenizer;
    this.dataset = promptSource(options.dataset);
    this.rewardFuncs = [...options.rewardFuncs];
    this.engine = options.engine ?? new LocalCompletionEngine(this.policy);
    this.logger = options.logger;
    this.completionsTable = options.completionsTable;
    this.weightSync = options.weightSync;
    const core = this.policy.core;
    seedCore(config.seed, core);

    if (config.valueModel === 'critic') {
      this.ownsCritic = !options.critic;
      this.critic = options.critic ?? copyWithFreshValueHead(this.policy);
    } else {
      if (options.critic) throw new ValueError("LMPPOTrainer: a critic was given but config.valueModel is 'head' (set valueModel: 'critic')");
      this.ownsCritic = false;
    }
    this.sequencePolicy = new SequencePolicy(this.policy, this.critic, config.temperature);
    if (usesReference(config)) {
      this.ownsReference = !options.reference;
      this.reference = options.reference ?? frozenReference(this.policy);
    } else {
      this.ownsReference = false;
      this.reference = options.reference;
    }
    this.optimizer = config.adamW
      ? new AdamW(this.sequencePolicy.parameters(), { lr: config.learningRate, weightDecay: config.weightDecay })
      : new Adam(this.sequencePolicy.parameters(), { lr: config.learningRate });
    this.klController =
      config.adaptiveKl === 'window'
        ? new WindowKlController(config.beta, config.targetKl)
        : config.adaptiveKl === 'proportional'
          ? new ProportionalKlController(config.beta, config.targetKl, config.horizon)
          : new FixedKlController(config.beta);
  }

  /** PPO updates done (one per step()). */
  get updates(): number {
    return this.updateCount;
  }

  /** Completion tokens generated so far (the comparison's budget). */
  get tokensGenerated(): number {
    return this.generatedTokens;
  }

  /** One generation batch and its PPO optimisation; resolves to the step's metrics (also sent to the logger). */
  async step(): Promise<Record<string, number>> {
    if (this.freed) throw new ValueError('LMPPOTrainer.step: the trainer was freed');
    if (this.running) throw new ValueError('LMPPOTrainer.step: the previous step() has not finished (await it first)');
    this.running = true;
    try {
      return await this.runStep();
    } finally {
      this.running = false;
    }
  }

  private async runStep(): Promise<Record<string, number>> {
    const c = this.config;
    const core = this.policy.core;
    const started = performance.now();
    const datasetState = this.dataset.state?.();
    let rollout: LmRollout | undefined;
    let trained = false;
    const owned: Tensor[] = [];
    try {
      const prompts = await this.dataset.next(c.promptsPerStep);
      const eos = this.tokenizer.eosTokenId;
      rollout = await collectLmRollout({
        engine: this.engine,
        policy: this.policy,
        reference: this.reference,
        tokenizer: this.tokenizer,
        prompts,
        n: c.numGenerations,
        sampling: { maxNewTokens: c.maxNewTokens, temperature: c.temperature, topK: c.topK, topP: c.topP, seed: stepSeed(c.seed, this.updateCount), stopTokenIds: eos === undefined ? [] : [eos] },
        values: !this.critic,
      });
      const { batch } = rollout;
      const B = batch.rows, R = batch.responseLength;

      // scores: the reward functions (a failure rejects here, before anything is trained)
      const scored = await scoreRewards(this.rewardFuncs, rollout.promptTexts, rollout.completionTexts, rollout.extra);
      const finishedWithEos = rollout.completions.finishReasons.map((r) => r === 'stop');
      const scores = scored.total.map((s, b) => {
        let x = finishedWithEos[b] ? s : s - c.missingEosPenalty;
        if (c.rewardClip > 0) x = Math.min(Math.max(x, -c.rewardClip), c.rewardClip);
        return x;
      });

      const values =
        rollout.values ??
        noGrad(() => {
          const v = criticValues(this.critic!, batch.ids, batch.attentionMask, batch.responseIds);
          const p = Tensor.from(v.view(), v.shape, { core, persistent: true });
          owned.push(p);
          return p;
        }, core);
      core.endStep();
      const mask = batch.responseMask.toArray();
      const oldLogProbs = rollout.oldLogProbs.toArray();
      const refLogProbs = rollout.refLogProbs?.toArray();
      // k per token for the reward; k1 per token for objective/kl
      const klTokens = rollout.refLogProbs ? noGrad(() => klEstimate(rollout!.oldLogProbs, rollout!.refLogProbs!, c.klEstimator).toArray(), core) : undefined;
      core.endStep();
      const beta = this.klController.value;
      const targets = lmAdvantages({
        rows: B,
        responseLength: R,
        scores,
        mask,
        values: values.toArray(),
        kl: c.klPenalty === 'reward' ? klTokens : undefined,
        beta,
        gamma: c.gamma,
        lambda: c.lambda,
        whitenRewards: c.whitenRewards,
      });

      const stats = lmPpoStep(this.sequencePolicy, rollout, { ...targets, values }, c, this.optimizer, {
        klCoef: c.klPenalty === 'loss' && this.reference ? beta : 0,
        label: `update ${this.updateCount + 1}`,
      });
      trained = true;

      // per-sequence sums, averaged over the batch (TRL's kl.sum(1).mean())
      const perRow = (x: ArrayLike<number>) => {
        let total = 0;
        for (let b = 0; b < B; b++) {
          let s = 0;
          for (let t = 0; t < R; t++) if (mask[b * R + t] !== 0) s += x[b * R + t]!;
          total += s;
        }
        return total / B;
      };
      const kl = refLogProbs ? perRow(oldLogProbs.map((lp, i) => lp - refLogProbs[i]!)) : 0;
      const nonScore = perRow(targets.nonScoreRewards);
      const meanScore = mean(scores);
      const lengths = batch.responseLengths;
      const generated = lengths.reduce((a, b) => a + b, 0);
      this.klController.update(kl, B);
      this.updateCount++;
      this.generatedTokens += generated;
      this.episodeCount += B;
      this.episodesThisProcess += B;
      await this.weightSync?.afterUpdate(this.policy, this.updateCount);
      const stepSeconds = (performance.now() - started) / 1000;
      this.elapsedSeconds += stepSeconds;

      const metrics = rewardMetrics(scored, std);
      // objective/kl only when there is a reference to measure against
      if (this.reference) metrics['objective/kl'] = kl;
      Object.assign(metrics, {
        'objective/entropy': perRow(oldLogProbs.map((x) => -x)),
        'objective/non_score_reward': nonScore,
        'objective/rlhf_reward': meanScore + nonScore,
        'objective/scores': meanScore,
        'policy/approxkl_avg': stats.approxKl,
        'policy/clipfrac_avg': stats.clipfrac,
        'loss/policy_avg': stats.policyLoss,
        'loss/value_avg': stats.valueLoss,
        'policy/entropy_avg': stats.entropy,
        'val/clipfrac_avg': stats.valueClipfrac,
        // mean(ratio) = mean((ratio - 1) - logratio) + 1 + mean(logratio), from the fused loss's
        // statistics (with importanceSamplingCap these means are weighted by the truncated ratios)
        'val/ratio': 1 + stats.approxKl - stats.oldApproxKl,
        'val/num_eos_tokens': finishedWithEos.filter(Boolean).length,
        'completions/mean_length': generated / B,
        'completions/min_length': Math.min(...lengths),
        'completions/max_length': Math.max(...lengths),
        'completions/clipped_ratio': rollout.completions.finishReasons.filter((r) => r === 'length').length / B,
        beta,
        lr: this.optimizer.lr,
        episode: this.episodeCount,
        eps: this.episodesThisProcess / this.elapsedSeconds,
        'tokens/generated': this.generatedTokens,
        'timing/generation_s': rollout.generationSeconds,
        'timing/scoring_s': rollout.scoringSeconds,
        'timing/step_s': stepSeconds,
      });
      if (c.klPenalty === 'loss') metrics['loss/kl_avg'] = stats.klLoss;
      Object.assign(metrics, engineMetrics(rollout));
      this.logger?.log(this.updateCount, metrics);
      if (this.completionsTable) {
        const perToken = (x: ArrayLike<number>) => lengths.map((n, b) => { let sum = 0; for (let t = 0; t < n; t++) sum += x[b * R + t]!; return sum; });
        const advantages = perToken(targets.advantages).map((sum, b) => (lengths[b]! > 0 ? sum / lengths[b]! : 0));
        const extra: Record<string, number[]> = { score: scores };
        if (refLogProbs) extra['kl'] = perToken(oldLogProbs.map((lp, i) => lp - refLogProbs[i]!));
        this.completionsTable.log(this.updateCount, completionRows({ prompts: rollout.promptTexts, completions: rollout.completionTexts, perFunction: scored.perFunction, advantages, extra }));
      }
      return metrics;
    } catch (error) {
      // failed before the update finished (a reward function, the engine, a NaN loss): the
      // prompts are not consumed; after a NaN mid-update resume from the last checkpoint
      if (!trained && datasetState !== undefined) this.dataset.loadState?.(datasetState);
      throw error;
    } finally {
      rollout?.free();
      for (const t of owned) t.free();
      core.endStep();
    }
  }

  /** Writes a crash-safe checkpoint of everything a bit-identical resume needs to `dir`. */
  async save(dir: string): Promise<void> {
    await saveLmPpoCheckpoint(dir, this);
  }

  /** Restores `dir` (written by save() of a trainer built with the same models, dataset and config). */
  async load(dir: string): Promise<void> {
    await loadLmPpoCheckpoint(dir, this);
  }

  /** What trainer.json holds (see sdk/algos/ppo_lm/checkpoint.ts). */
  trainerState(): LMPPOTrainerState {
    return { updates: this.updateCount, tokensGenerated: this.generatedTokens, episodes: this.episodeCount, klCoef: this.klController.value, dataset: this.dataset.state?.() ?? null };
  }

  /** Restores trainerState()'s fields (checked by the checkpoint loader first). */
  loadTrainerState(state: LMPPOTrainerState): void {
    this.updateCount = state.updates;
    this.generatedTokens = state.tokensGenerated;
    this.episodeCount = state.episodes;
    this.klController.loadState({ value: state.klCoef });
    if (state.dataset !== null) this.dataset.loadState?.(state.dataset);
  }

  /** Frees what the trainer made (the default reference and critic, the optimizer's moments), not the policy. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.optimizer.free();
    if (this.ownsReference) this.reference?.free();
    if (this.ownsCritic) this.critic?.free();
  }
}

/** A distinct sampling seed per update, from the run's seed. */
function stepSeed(seed: number, update: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(update + 1, 0x85ebca6b)) >>> 1;
}

/** TRL initialises a separate value model from a trained model: here the policy's trunk and a fresh head. */
function copyWithFreshValueHead(policy: GPT): GPT {
  const critic = new GPT(policy.config, { valueHead: true, init: false, core: policy.core });
  const trunk = trunkWeights(policy);
  const head = Object.fromEntries(Object.entries(critic.stateDict()).filter(([name]) => name.startsWith('v_head.')));
  noGrad(() => critic.loadStateDict({ ...trunk, ...head }), policy.core);
  critic.resetValueHead();
  return critic;
}

function mean(x: readonly number[]): number {
  return x.reduce((a, b) => a + b, 0) / x.length;
}

/** Population standard deviation (for logging). */
function std(x: readonly number[]): number {
  const m = mean(x);
  return Math.sqrt(x.reduce((a, b) => a + (b - m) * (b - m), 0) / x.length);
}
