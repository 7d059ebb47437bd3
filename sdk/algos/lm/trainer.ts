// What GRPOTrainer and RLOOTrainer share: one step() is TRL's _generate_and_score_completions
// followed by the optimisation of that generation batch:
//
//   step():  1. prompts (dataset)   2. rollout: n completions per prompt, old / reference / engine log-probs
//            3. rewards (every function checked: a bad one rejects here, before any parameter changes)
//            4. advantages (the algorithm's)   5. numIterations x minibatches of its loss   6. metrics, logs
//
// The subclass gives the advantages and the loss; everything else (metrics with TRL's names,
// checkpoints, the completions table) lives here once.

import type { Core } from '../../core/core';
import { ValueError } from '../../core/errors';
import { Adam } from '../../core/optim';
import { getRngState, seed as seedCore, setRngState } from '../../core/random';
import { Tensor } from '../../core/tensor';
import type { CompletionEngine } from '../../interfaces/completion_engine';
import type { NamedRewardFunction, PromptRow } from '../../interfaces/reward_function';
import { LocalCompletionEngine } from '../../lm/local_engine';
import { frozenReference } from '../../lm/reference';
import { collectLmRollout, type LmRollout } from '../../lm/rollout';
import type { WeightSync } from '../../engines/weight_sync';
import { GPT } from '../../nn/gpt';
import { completionRows, type CompletionsTable } from '../../observability/completions_table';
import { checkRewardFuncs, scoreRewards } from '../../rewards/reward_funcs';
import type { Tokenizer } from '../../text/tokenizer';
import { mean, unbiasedStd } from '../grpo/advantages';
import { loadLmTrainer, saveLmTrainer } from './checkpoint';
import type { LmTrainerConfig } from './config';
import { engineMetrics, rewardMetrics } from './metrics';
import { optimizeGenerationBatch, type LmMinibatch, type LmLoss } from './optimize';
import { promptSource, type PromptSource } from './prompt_source';

/** Where metrics go: a Logger (sdk/observability/logger.ts) or anything with log(step, metrics). */
export interface MetricsLogger {
  log(step: number, metrics: Record<string, number>): void;
}

/** Receives every step's completion rows: a CompletionsTable (sdk/observability/completions_table.ts). */
export type CompletionsSink = Pick<CompletionsTable, 'log'>;

export interface LmTrainerOptions<C extends LmTrainerConfig> {
  policy: GPT;
  tokenizer: Tokenizer;
  /** A PromptDataset (next(k), state(), loadState()) or an array of PromptRow, cycled. */
  dataset: PromptSource | readonly PromptRow[];
  rewardFuncs: readonly NamedRewardFunction[];
  /** Where completions come from (default: LocalCompletionEngine(policy)). */
  engine?: CompletionEngine;
  /** The frozen reference (default: frozenReference(policy) when the algorithm's beta > 0; given with beta 0, only objective/kl uses it). */
  reference?: GPT;
  config?: Partial<C>;
  logger?: MetricsLogger;
  completionsTable?: CompletionsSink;
  /**
   * Called after every update with the new weights, for a server engine (NovaRLServerWeightSync,
   * VllmReloadWeightSync, NoWeightSync from sdk/engines/weight_sync.ts). A sync that fails after
   * its retries rejects step() with a WeightSyncError once the update is applied (and the engine
   * refuses rollouts until a sync succeeds), so training never goes on against unknown weights.
   */
  weightSync?: WeightSync;
}

/** What an algorithm computes from one scored generation batch. */
export interface AdvantageResult {
  /** One per row. */
  advantages: number[];
  /** Metrics of this phase (e.g. frac_reward_zero_std, kl). */
  metrics: Record<string, number>;
}

export abstract class LmGroupTrainer<C extends LmTrainerConfig> {
  readonly config: C;
  readonly core: Core;
  readonly policy: GPT;
  readonly tokenizer: Tokenizer;
  readonly reference?: GPT;
  readonly engine: CompletionEngine;
  readonly optimizer: Adam;
  readonly rewardFuncs: readonly NamedRewardFunction[];
  readonly prompts: PromptSource;
  private counters = { updates: 0, tokensGenerated: 0 };
  protected readonly logger?: MetricsLogger;
  protected readonly completionsTable?: CompletionsSink;
  readonly weightSync?: WeightSync;
  private readonly ownsReference: boolean;
  private freed = false;
  private stepping = false;
  /** The trainer's class name, for messages (kept as given: bundlers may rename classes). */
  private readonly label: string;
  /** 'grpo' | 'rloo': the checkpoint format's name. */
  abstract readonly algorithm: string;

  protected constructor(options: LmTrainerOptions<C>, config: C, needsReference: boolean, name: string) {
    if (options === null || typeof options !== 'object') throw new ValueError(`${name}: needs options { policy, tokenizer, dataset, rewardFuncs, config? }`);
    if (!(options.policy instanceof GPT)) throw new ValueError(`${name}: options.policy must be a GPT`);
    if (options.tokenizer === null || typeof options.tokenizer?.decode !== 'function') throw new ValueError(`${name}: options.tokenizer must be a Tokenizer`);
    checkRewardFuncs(options.rewardFuncs, name);
    this.label = name;
    this.config = config;
    this.policy = options.policy;
    this.core = this.policy.core;
    this.tokenizer = options.tokenizer;
    this.rewardFuncs = options.rewardFuncs;
    this.prompts = promptSource(options.dataset);
    this.engine = options.engine ?? new LocalCompletionEngine(this.policy, { padTokenId: this.padTokenId });
    this.logger = options.logger;
    this.completionsTable = options.completionsTable;
    this.weightSync = options.weightSync;
    if (options.reference !== undefined && !(options.reference instanceof GPT)) throw new ValueError(`${name}: options.reference must be a GPT`);
    if (options.reference === this.policy) throw new ValueError(`${name}: options.reference is the policy itself; pass frozenReference(policy) or leave it out`);
    if (config.stopTokenIds === undefined && this.stopTokenIds.length === 0) throw new ValueError(`${name}: the tokenizer has no EOS token; set config.stopTokenIds`);
    if (config.maxNewTokens + 1 > this.policy.config.nPositions) throw new ValueError(`${name}: config.maxNewTokens (${config.maxNewTokens}) leaves no room for a prompt in the policy's ${this.policy.config.nPositions} positions`);
    this.ownsReference = needsReference && options.reference === undefined;
    this.reference = options.reference ?? (needsReference ? frozenReference(this.policy) : undefined);
    this.optimizer = new Adam(this.policy.parameters(), { lr: config.learningRate, eps: config.adamEps });
    seedCore(config.seed, this.core);
  }

  /** The algorithm's advantages for the batch's total rewards. */
  protected abstract advantagesOf(rewards: readonly number[], rollout: LmRollout, mask: Float32Array): AdvantageResult;
  /** The algorithm's loss on one minibatch; `advantages` is the batch's (B, 1) persistent tensor. */
  protected abstract lossOf(minibatch: LmMinibatch, advantages: Tensor, extra: { rollout: LmRollout; generationBatchTokens: number; importanceWeights?: Tensor }): LmLoss;
  /** Per-batch tensors the loss needs besides the rollout (e.g. truncated importance weights; persistent, freed after the step) and their metrics. */
  protected prepareBatch(_rollout: LmRollout): { importanceWeights?: Tensor; metrics?: Record<string, number> } {
    return {};
  }

  get padTokenId(): number {
    return this.tokenizer.padTokenId ?? this.tokenizer.eosTokenId ?? 0;
  }

  get stopTokenIds(): number[] {
    return this.config.stopTokenIds ?? (this.tokenizer.eosTokenId === undefined ? [] : [this.tokenizer.eosTokenId]);
  }

  /** One generation batch and its optimisation; resolves to TRL-named metrics (also sent to the logger). */
  async step(): Promise<Record<string, number>> {
    if (this.freed) throw new ValueError(`${this.label}.step: the trainer was freed`);
    if (this.stepping) throw new ValueError(`${this.label}.step: the previous step() has not finished; await it before the next`);
    this.stepping = true;
    try {
      return await this.runStep();
    } finally {
      this.stepping = false;
    }
  }

  private async runStep(): Promise<Record<string, number>> {
    const c = this.config;
    const started = performance.now();
    // A step that fails before optimising leaves the dataset position and the generator as they were
    const promptState = this.prompts.state?.();
    const rngState = getRngState(this.core);
    let rollout: LmRollout | undefined;
    const owned: Tensor[] = [];
    let optimizing = false;
    try {
      const prompts = await this.prompts.next(c.promptsPerStep);
      rollout = await collectLmRollout({
        engine: this.engine,
        policy: this.policy,
        reference: this.reference,
        tokenizer: this.tokenizer,
        prompts,
        n: c.numGenerations,
        padTokenId: this.padTokenId,
        sampling: { maxNewTokens: c.maxNewTokens, temperature: c.temperature, topK: c.topK, topP: c.topP, seed: samplingSeed(c.seed, this.updates), stopTokenIds: this.stopTokenIds },
      });
      const scored = await scoreRewards(this.rewardFuncs, rollout.promptTexts, rollout.completionTexts, rollout.extra);

      const B = rollout.batch.rows, R = rollout.batch.responseLength;
      const mask = lossMask(rollout, c.maskTruncatedCompletions);
      const generationBatchTokens = sumOf(mask);
      const { advantages, metrics: advantageMetrics } = this.advantagesOf(scored.total, rollout, mask);
      const persistent = (data: Float32Array, shape: number[]) => {
        const t = Tensor.from(data, shape, { core: this.core, persistent: true });
        owned.push(t);
        return t;
      };
      const maskTensor = persistent(mask, [B, R]);
      const advantageTensor = persistent(Float32Array.from(advantages), [B, 1]);
      const prepared = this.prepareBatch(rollout);
      if (prepared.importanceWeights) owned.push(prepared.importanceWeights);

      // ---- optimisation: from here on the parameters change
      optimizing = true;
      const optimized = optimizeGenerationBatch({
        policy: this.policy,
        optimizer: this.optimizer,
        rollout,
        mask: maskTensor,
        numIterations: c.numIterations,
        minibatches: c.minibatches,
        maxGradNorm: c.maxGradNorm,
        temperature: c.temperature,
        learningRateAt: (steps) => this.learningRateAt(steps),
        label: `${this.label} step ${this.updates + 1}`,
        lossOf: (mb) => this.lossOf(mb, mb.take(advantageTensor), { rollout: rollout!, generationBatchTokens, importanceWeights: prepared.importanceWeights && mb.take(prepared.importanceWeights) }),
      });
      this.counters.updates++;
      this.counters.tokensGenerated += rollout.completions.completionIds.reduce((s, ids) => s + ids.length, 0);
      await this.weightSync?.afterUpdate(this.policy, this.updates);

      const metrics: Record<string, number> = {
        ...rewardMetrics(scored, stdOrZero),
        ...advantageMetrics,
        ...prepared.metrics,
        ...completionMetrics(rollout),
        ...optimized.means,
        ...(rollout.refLogProbs ? { 'objective/kl': sequenceKlMean(rollout) } : {}),
        ...engineMetrics(rollout),
        'timing/generation_s': rollout.generationSeconds,
        'timing/scoring_s': rollout.scoringSeconds,
        'timing/step_s': (performance.now() - started) / 1000,
        'tokens/generated': this.tokensGenerated,
      };
      this.logger?.log(this.updates, metrics);
      // TRL's completions log: prompt, completion, each reward, advantage
      this.completionsTable?.log(this.updates, completionRows({ prompts: rollout.promptTexts, completions: rollout.completionTexts, perFunction: scored.perFunction, advantages }));
      return metrics;
    } catch (error) {
      if (!optimizing) {
        if (promptState !== undefined) this.prompts.loadState?.(promptState);
        setRngState(rngState, this.core);
      }
      throw error;
    } finally {
      rollout?.free();
      for (const t of owned) t.free();
      this.core.endStep();
    }
  }

  /**
   * The learning rate for the optimizer step after `optimizerSteps` steps: constant, or
   * transformers' linear schedule (no warm-up): lr * max(0, 1 - steps / total), total =
   * maxSteps x numIterations x minibatches optimizer steps.
   */
  learningRateAt(optimizerSteps: number): number {
    const c = this.config;
    if (c.lrScheduler === 'constant') return c.learningRate;
    const total = c.maxSteps! * c.numIterations * c.minibatches;
    return c.learningRate * Math.max(0, (total - optimizerSteps) / total);
  }

  /** Writes the whole training state to `dir` (crash-safe; sdk/algos/lm/checkpoint.ts). */
  async save(dir: string): Promise<void> {
    await saveLmTrainer(dir, this);
  }

  /** Restores a checkpoint written by save() into this trainer, bit for bit. */
  async resume(dir: string): Promise<void> {
    await loadLmTrainer(dir, this);
  }

  /** Optimisation phases completed (one per step()). */
  get updates(): number {
    return this.counters.updates;
  }

  /** Completion tokens generated so far (the budget runs are compared at). */
  get tokensGenerated(): number {
    return this.counters.tokensGenerated;
  }

  /** For checkpoint restore (sdk/algos/lm/checkpoint.ts) only. @internal */
  restoreCounters(updates: number, tokensGenerated: number): void {
    this.counters = { updates, tokensGenerated };
  }

  /** Releases the optimizer's moments and the reference this trainer built; the trainer cannot be used afterwards. */
  free(): void {
    if (this.freed) return;
    if (this.stepping) throw new ValueError(`${this.label}.free: a step() is running; await it first`);
    this.freed = true;
    this.optimizer.free();
    if (this.ownsReference) this.reference?.free();
  }
}

/** A per-step sampling seed from the run's seed and the update count (the same for every engine). */
export function samplingSeed(seed: number, updates: number): number {
  const M = 2147483647; // 2^31 - 1: every intermediate stays an exact integer below 2^53
  return ((seed % M) * 1000003 + (updates % M) * 7919 + 1) % M;
}

/** The response mask, with the rows that ended without a stop token zeroed when asked (TRL mask_truncated_completions). */
function lossMask(rollout: LmRollout, maskTruncated: boolean): Float32Array {
  const mask = rollout.batch.responseMask.toArray();
  if (!maskTruncated) return mask;
  const R = rollout.batch.responseLength;
  rollout.completions.finishReasons.forEach((reason, b) => {
    if (reason === 'length') mask.fill(0, b * R, b * R + R);
  });
  return mask;
}

/** TRL's completion statistics (lengths in tokens, with the stop token). */
function completionMetrics(rollout: LmRollout): Record<string, number> {
  const lengths = rollout.completions.completionIds.map((ids) => ids.length);
  const reasons = rollout.completions.finishReasons;
  const terminated = lengths.filter((_, b) => reasons[b] === 'stop');
  return {
    'completions/mean_length': mean(lengths),
    'completions/min_length': Math.min(...lengths),
    'completions/max_length': Math.max(...lengths),
    'completions/clipped_ratio': reasons.filter((r) => r === 'length').length / reasons.length,
    'completions/mean_terminated_length': terminated.length ? mean(terminated) : 0,
    'completions/min_terminated_length': terminated.length ? Math.min(...terminated) : 0,
    'completions/max_terminated_length': terminated.length ? Math.max(...terminated) : 0,
  };
}

/** Mean over rows of sum_t (logp_old - logp_ref) over the response: the sequence KL (k1) to the reference. */
function sequenceKlMean(rollout: LmRollout): number {
  const old = rollout.oldLogProbs.view(), ref = rollout.refLogProbs!.view(), mask = rollout.batch.responseMask.view();
  let s = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) s += old[i]! - ref[i]!;
  return s / rollout.batch.rows;
}

function stdOrZero(xs: readonly number[]): number {
  const s = unbiasedStd(xs);
  return Number.isNaN(s) ? 0 : s;
}

function sumOf(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}
