// RewardModelTrainer: a GPTRewardModel trained on preference pairs with the Bradley-Terry loss
// and AdamW (TRL's RewardTrainer). Each step() takes the next batch of pairs and scores chosen
// and rejected rows (prompt + completion + EOS) in one forward pass:
//
//   encode pairs once -> per step: batch of pairs -> rewards (2B) -> Bradley-Terry loss ->
//   backward -> clip grad norm -> AdamW step -> metrics (loss, accuracy, margin)
//
// evaluate(pairs) gives the same metrics on a held-out split without a gradient. save / load
// resume bit for bit (model, AdamW's moments, the core's PRNG, the dataset position).

import { ValueError } from '../../core/errors';
import { noGrad } from '../../core/grad_mode';
import { AdamW } from '../../core/optim';
import { seed } from '../../core/random';
import type { Logger } from '../../observability/logger';
import { checkPairLengths, encodePairs, type EncodedPair, type PairTokenizer, type PairSource } from '../../lm/pair_encoding';
import { checkOfflineTrainerState, loadOfflineCheckpoint, saveOfflineCheckpoint, type OfflineCheckpointParts } from '../offline_checkpoint';
import { offlineUpdate } from '../offline_update';
import { PairOrder } from '../pair_order';
import { resolveRewardModelConfig, type RewardModelConfig, type ResolvedRewardModelConfig } from './config';
import { bradleyTerryLoss, preferenceStats } from './loss';
import type { GPTRewardModel } from './model';

export interface RewardModelTrainerOptions {
  model: GPTRewardModel;
  tokenizer: PairTokenizer;
  /** The training pairs: a PreferencePairs dataset, or {prompt, chosen, rejected} texts (exact ids optional). */
  pairs: PairSource;
  config?: RewardModelConfig;
  logger?: Logger;
}

/** One step's or one evaluation's metrics (TRL's names; eval_ prefixed from evaluate()). */
export type RewardModelMetrics = Record<string, number>;

const FORMAT = 'novarl-reward-model';

export class RewardModelTrainer {
  readonly model: GPTRewardModel;
  readonly config: ResolvedRewardModelConfig;
  readonly optimizer: AdamW;
  private readonly tokenizer: PairTokenizer;
  private readonly pairs: EncodedPair[];
  private readonly order: PairOrder;
  private readonly logger?: Logger;
  private updateCount = 0;

  constructor(options: RewardModelTrainerOptions) {
    const { model, tokenizer } = options;
    this.model = model;
    this.tokenizer = tokenizer;
    this.config = resolveRewardModelConfig(options.config ?? {}, model.config.nPositions);
    checkPairLengths(this.config, model.config.nPositions, 'RewardModelConfig');
    this.pairs = this.encode(options.pairs, 'pairs');
    if (this.pairs.length === 0) throw new ValueError('RewardModelTrainer: pairs is empty');
    seed(this.config.seed, model.core);
    this.optimizer = new AdamW(model.parameters(), { lr: this.config.learningRate, weightDecay: this.config.weightDecay });
    this.order = new PairOrder(this.pairs.length, this.config.batchSize, this.config.shuffle, model.core);
    this.logger = options.logger;
  }

  /** Optimisation steps taken. */
  get updates(): number {
    return this.updateCount;
  }

  /** One optimisation step on the next batch of pairs; returns (and logs) its metrics. */
  async step(): Promise<RewardModelMetrics> {
    const started = performance.now();
    const position = this.order.toJSON(); // put back if the step fails
    const batch = this.order.next().map((i) => this.pairs[i]!);
    const core = this.model.core;
    const { loss, chosen, rejected } = this.forward(batch);
    const { lossValue, gradNorm } = offlineUpdate(loss, this.optimizer, this.config.maxGradNorm, () => {
      this.order.load(position);
      core.endStep();
    }, 'RewardModelTrainer');
    const stats = preferenceStats(chosen, rejected);
    core.endStep();
    this.updateCount++;
    const metrics: RewardModelMetrics = {
      loss: lossValue,
      accuracy: stats.accuracy,
      margin: stats.margin,
      'rewards/chosen': mean(chosen),
      'rewards/rejected': mean(rejected),
      epoch: this.order.epochProgress,
      learning_rate: this.optimizer.lr,
      'timing/step_s': (performance.now() - started) / 1000,
    };
    if (this.config.maxGradNorm > 0) metrics['grad_norm'] = gradNorm;
    this.logger?.log(this.updateCount, metrics);
    return metrics;
  }

  /** Loss, accuracy and margin on `pairs` (e.g. a held-out split), without a gradient, in batches of batchSize. */
  evaluate(pairs: PairSource): RewardModelMetrics {
    const encoded = this.encode(pairs, 'evaluate pairs');
    if (encoded.length === 0) throw new ValueError('RewardModelTrainer.evaluate: pairs is empty');
    const chosen: number[] = [], rejected: number[] = [];
    let lossSum = 0;
    for (let at = 0; at < encoded.length; at += this.config.batchSize) {
      const batch = encoded.slice(at, at + this.config.batchSize);
      noGrad(() => {
        const out = this.forward(batch);
        lossSum += out.loss.item() * batch.length;
        chosen.push(...out.chosen);
        rejected.push(...out.rejected);
      }, this.model.core);
      this.model.core.endStep();
    }
    const stats = preferenceStats(chosen, rejected);
    return { eval_loss: lossSum / encoded.length, eval_accuracy: stats.accuracy, eval_margin: stats.margin };
  }

  private forward(batch: readonly EncodedPair[]) {
    const rows = [...batch.map((p) => [...p.promptIds, ...p.chosenIds]), ...batch.map((p) => [...p.promptIds, ...p.rejectedIds])];
    const rewards = this.model.rewards(rows); // (2B): chosen, then rejected
    const B = batch.length;
    const chosen = rewards.narrow(0, 0, B), rejected = rewards.narrow(0, B, B);
    const loss = bradleyTerryLoss({ chosen, rejected, centerRewardsCoefficient: this.config.centerRewardsCoefficient });
    const all = rewards.toArray();
    return { loss, chosen: Array.from(all.subarray(0, B)), rejected: Array.from(all.subarray(B)) };
  }

  private encode(pairs: PairSource, what: string): EncodedPair[] {
    return encodePairs(this.tokenizer, pairs, this.config, what);
  }

  private parts(): OfflineCheckpointParts {
    return { format: FORMAT, modules: { 'model.': this.model }, optimizer: this.optimizer, core: this.model.core };
  }

  /** Saves everything a bit-identical resume needs to `dir` (crash-safe, sdk/io/checkpoint.ts). */
  async save(dir: string): Promise<void> {
    await saveOfflineCheckpoint(dir, this.parts(), { updates: this.updateCount, order: this.order.toJSON(), config: this.config, pairs: this.pairs.length }, this.updateCount);
  }

  /** Restores a checkpoint saved by a trainer built with the same model architecture, pairs and config. */
  async load(dir: string): Promise<void> {
    const order = new PairOrder(this.pairs.length, this.config.batchSize, this.config.shuffle, this.model.core);
    const { trainer } = await loadOfflineCheckpoint(dir, this.parts(), (t) => checkOfflineTrainerState(t, this.pairs.length, order));
    this.order.load(trainer['order']);
    this.updateCount = trainer['updates'] as number;
  }

  /** Frees the optimizer's state (the model stays the caller's). */
  free(): void {
    this.optimizer.free();
  }
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
