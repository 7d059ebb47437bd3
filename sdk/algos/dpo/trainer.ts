// DPOTrainer: Direct Preference Optimisation of a GPT policy on preference pairs (TRL's
// DPOTrainer), offline: no generation, each step() takes the next batch of pairs.
//
//   once: encode pairs; reference log-probs of every chosen and rejected completion (noGrad,
//         in batches of batchSize), kept for the whole run
//   per step: batch of pairs -> one SequenceBatch of 2B rows (chosen, then rejected) ->
//         responseForward -> per-sequence log-probs (sum; mean for IPO) -> dpoLoss -> backward
//         -> clip grad norm -> AdamW step -> TRL's metrics
//
// The reference enters DPO only through its log-probs, so a checkpoint stores those (not the
// reference model): a resumed run needs no reference, and continues bit for bit.

import type { Core } from '../../core/core';
import { ValueError } from '../../core/errors';
import { noGrad } from '../../core/grad_mode';
import { AdamW } from '../../core/optim';
import { seed } from '../../core/random';
import { Tensor } from '../../core/tensor';
import { checkPairLengths, encodePairs, type EncodedPair, type PairTokenizer, type PairSource } from '../../lm/pair_encoding';
import { frozenReference } from '../../lm/reference';
import type { GPT } from '../../nn/gpt';
import type { Logger } from '../../observability/logger';
import { checkOfflineTrainerState, loadOfflineCheckpoint, saveOfflineCheckpoint, type OfflineCheckpointParts } from '../offline_checkpoint';
import { offlineUpdate } from '../offline_update';
import { PairOrder } from '../pair_order';
import { resolveDPOConfig, type DPOConfig, type ResolvedDPOConfig } from './config';
import { dpoLoss } from './loss';
import { pairLogps, pairSequenceBatch } from './sequence_logps';

export interface DPOTrainerOptions {
  /** The model trained (its value head, if any, is not used). */
  policy: GPT;
  /** The frozen reference (default: a frozen copy of the policy as it is now). */
  reference?: GPT;
  tokenizer: PairTokenizer & { readonly padTokenId?: number | undefined };
  /** The preference pairs: a PreferencePairs dataset, or {prompt, chosen, rejected} texts (exact ids optional). */
  pairs: PairSource;
  config?: DPOConfig;
  logger?: Logger;
}

const FORMAT = 'novarl-dpo';
const REF_CHOSEN = 'reference_logps.chosen';
const REF_REJECTED = 'reference_logps.rejected';

export class DPOTrainer {
  readonly policy: GPT;
  readonly config: ResolvedDPOConfig;
  readonly optimizer: AdamW;
  private reference?: GPT;
  private readonly ownsReference: boolean;
  private readonly pairs: EncodedPair[];
  private readonly padTokenId: number;
  private readonly order: PairOrder;
  private readonly logger?: Logger;
  private referenceLogps?: { chosen: Float32Array; rejected: Float32Array };
  private updateCount = 0;

  constructor(options: DPOTrainerOptions) {
    const { policy, tokenizer } = options;
    this.policy = policy;
    this.config = resolveDPOConfig(options.config ?? {}, policy.config.nPositions);
    checkPairLengths(this.config, policy.config.nPositions, 'DPOConfig');
    this.pairs = encodePairs(tokenizer, options.pairs, this.config);
    if (this.pairs.length === 0) throw new ValueError('DPOTrainer: pairs is empty');
    this.padTokenId = tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
    if (options.reference && options.reference.core !== policy.core) throw new ValueError('DPOTrainer: the reference lives on another core than the policy');
    this.reference = options.reference ?? frozenReference(policy);
    this.ownsReference = options.reference === undefined;
    seed(this.config.seed, policy.core);
    this.optimizer = new AdamW(policy.parameters(), { lr: this.config.learningRate, weightDecay: this.config.weightDecay });
    this.order = new PairOrder(this.pairs.length, this.config.batchSize, this.config.shuffle, policy.core);
    this.logger = options.logger;
  }

  get core(): Core {
    return this.policy.core;
  }

  /** Optimisation steps taken. */
  get updates(): number {
    return this.updateCount;
  }

  /**
   * The reference's log-probs of every pair's chosen and rejected completion, computed on first
   * use (or restored by load) and kept; a reference this trainer made itself is freed then.
   */
  referenceLogProbs(): { chosen: Float32Array; rejected: Float32Array } {
    if (this.referenceLogps) return this.referenceLogps;
    const reference = this.reference!;
    const chosen = new Float32Array(this.pairs.length), rejected = new Float32Array(this.pairs.length);
    for (let at = 0; at < this.pairs.length; at += this.config.batchSize) {
      const batchPairs = this.pairs.slice(at, at + this.config.batchSize);
      const batch = pairSequenceBatch(batchPairs, this.padTokenId, this.core);
      noGrad(() => {
        const logps = pairLogps(reference, batch, this.config.lossType === 'ipo');
        chosen.set(logps.chosen.toArray(), at);
        rejected.set(logps.rejected.toArray(), at);
      }, this.core);
      batch.free();
      this.core.endStep();
    }
    this.referenceLogps = { chosen, rejected };
    this.releaseReference();
    return this.referenceLogps;
  }

  /** One optimisation step on the next batch of pairs; returns (and logs) TRL's metrics. */
  async step(): Promise<Record<string, number>> {
    const started = performance.now();
    const ref = this.referenceLogProbs();
    const position = this.order.toJSON(); // put back if the step fails
    const indices = this.order.next();
    const B = indices.length;
    const core = this.core;
    const batch = pairSequenceBatch(indices.map((i) => this.pairs[i]!), this.padTokenId, core);
    const logps = pairLogps(this.policy, batch, this.config.lossType === 'ipo');
    const refChosen = Float32Array.from(indices, (i) => ref.chosen[i]!);
    const refRejected = Float32Array.from(indices, (i) => ref.rejected[i]!);
    const loss = dpoLoss({
      chosenLogps: logps.chosen,
      rejectedLogps: logps.rejected,
      referenceChosenLogps: Tensor.from(refChosen, [B], { core }),
      referenceRejectedLogps: Tensor.from(refRejected, [B], { core }),
      beta: this.config.beta,
      lossType: this.config.lossType,
      labelSmoothing: this.config.labelSmoothing,
    });
    const chosen = logps.chosen.toArray(), rejected = logps.rejected.toArray();
    const { lossValue, gradNorm } = offlineUpdate(loss, this.optimizer, this.config.maxGradNorm, () => {
      this.order.load(position);
      batch.free();
      core.endStep();
    }, 'DPOTrainer');
    batch.free();
    core.endStep();
    this.updateCount++;

    // TRL's metrics: implicit rewards beta (logp - logpRef), their accuracy and margin
    const { beta } = this.config;
    let rc = 0, rr = 0, acc = 0, lc = 0, lr = 0;
    for (let b = 0; b < B; b++) {
      const chosenReward = beta * (chosen[b]! - refChosen[b]!), rejectedReward = beta * (rejected[b]! - refRejected[b]!);
      rc += chosenReward;
      rr += rejectedReward;
      if (chosenReward > rejectedReward) acc++;
      lc += chosen[b]!;
      lr += rejected[b]!;
    }
    const metrics: Record<string, number> = {
      loss: lossValue,
      'rewards/chosen': rc / B,
      'rewards/rejected': rr / B,
      'rewards/accuracies': acc / B,
      'rewards/margins': (rc - rr) / B,
      'logps/chosen': lc / B,
      'logps/rejected': lr / B,
      epoch: this.order.epochProgress,
      learning_rate: this.optimizer.lr,
      'timing/step_s': (performance.now() - started) / 1000,
    };
    if (this.config.maxGradNorm > 0) metrics['grad_norm'] = gradNorm;
    this.logger?.log(this.updateCount, metrics);
    return metrics;
  }

  private parts(): OfflineCheckpointParts {
    return { format: FORMAT, modules: { 'policy.': this.policy }, optimizer: this.optimizer, core: this.core };
  }

  /** Saves everything a bit-identical resume needs to `dir` (crash-safe, sdk/io/checkpoint.ts), the reference log-probs included. */
  async save(dir: string): Promise<void> {
    const ref = this.referenceLogProbs();
    await saveOfflineCheckpoint(
      dir,
      { ...this.parts(), arrays: { [REF_CHOSEN]: ref.chosen, [REF_REJECTED]: ref.rejected } },
      { updates: this.updateCount, order: this.order.toJSON(), config: this.config, pairs: this.pairs.length },
      this.updateCount,
    );
  }

  /** Restores a checkpoint saved by a trainer built with the same policy architecture, pairs and config. */
  async load(dir: string): Promise<void> {
    const scratch = new PairOrder(this.pairs.length, this.config.batchSize, this.config.shuffle, this.core);
    const check = (t: Record<string, unknown>): void => {
      checkOfflineTrainerState(t, this.pairs.length, scratch);
      const saved = t['config'] as Record<string, unknown> | undefined;
      if (saved?.['lossType'] !== this.config.lossType) {
        throw new ValueError(`DPOTrainer.load: the checkpoint's lossType is ${JSON.stringify(saved?.['lossType'])}, this trainer's '${this.config.lossType}' (its reference log-probs are aggregated differently)`);
      }
    };
    const { trainer, arrays } = await loadOfflineCheckpoint(dir, this.parts(), check, [REF_CHOSEN, REF_REJECTED], this.pairs.length);
    this.order.load(trainer['order']);
    this.updateCount = trainer['updates'] as number;
    this.referenceLogps = { chosen: arrays[REF_CHOSEN]!, rejected: arrays[REF_REJECTED]! };
    this.releaseReference();
  }

  private releaseReference(): void {
    if (this.ownsReference) this.reference?.free();
    this.reference = undefined;
  }

  /** Frees the optimizer's state and a reference this trainer made (the policy stays the caller's). */
  free(): void {
    this.optimizer.free();
    this.releaseReference();
  }
}
