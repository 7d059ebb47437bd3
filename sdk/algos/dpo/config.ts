// DPOTrainer's settings, named after TRL's DPOConfig (camelCase).

import { ValueError } from '../../core/errors';
import { checkInteger, checkNumber } from '../reward_model/config';
import { DPO_LOSS_TYPES, type DpoLossType } from './loss';

export interface DPOConfig {
  /** Strength of the implicit KL to the reference (beta, default 0.1). */
  beta?: number;
  /** 'sigmoid' (DPO, default), 'ipo' or 'hinge' (loss_type). */
  lossType?: DpoLossType;
  /** cDPO's label-flip probability for lossType 'sigmoid', in [0, 0.5) (label_smoothing, default 0). */
  labelSmoothing?: number;
  /** AdamW's learning rate (default 1e-6, TRL's). */
  learningRate?: number;
  /** Pairs per optimisation step (per_device_train_batch_size, default 8). */
  batchSize?: number;
  /** AdamW's decoupled weight decay (default 0). */
  weightDecay?: number;
  /** Clip the global gradient norm to this (default 1.0); 0 disables clipping. */
  maxGradNorm?: number;
  /** Prompt tokens kept, the last ones (max_prompt_length; default half of nPositions). */
  maxPromptLength?: number;
  /** Completion tokens kept, EOS included (max_completion_length; default nPositions - maxPromptLength). */
  maxCompletionLength?: number;
  /** Visit the pairs in a fresh random order each epoch (default true). */
  shuffle?: boolean;
  /** Seeds the core's generator when the trainer is built (default 42, TRL's). */
  seed?: number;
}

export type ResolvedDPOConfig = Required<DPOConfig>;

/** Fills in defaults for a model of `nPositions` and checks every field (ValueError names it). */
export function resolveDPOConfig(config: DPOConfig, nPositions: number): ResolvedDPOConfig {
  const maxPromptLength = config.maxPromptLength ?? Math.floor(nPositions / 2);
  const c: ResolvedDPOConfig = {
    beta: config.beta ?? 0.1,
    lossType: config.lossType ?? 'sigmoid',
    labelSmoothing: config.labelSmoothing ?? 0,
    learningRate: config.learningRate ?? 1e-6,
    batchSize: config.batchSize ?? 8,
    weightDecay: config.weightDecay ?? 0,
    maxGradNorm: config.maxGradNorm ?? 1.0,
    maxPromptLength,
    maxCompletionLength: config.maxCompletionLength ?? nPositions - maxPromptLength,
    shuffle: config.shuffle ?? true,
    seed: config.seed ?? 42,
  };
  const who = 'DPOConfig';
  checkNumber(who, 'beta', c.beta, 0, false);
  if (!DPO_LOSS_TYPES.includes(c.lossType)) throw new ValueError(`${who}: lossType must be one of ${DPO_LOSS_TYPES.join(', ')}, got ${JSON.stringify(c.lossType)}`);
  checkNumber(who, 'labelSmoothing', c.labelSmoothing, 0, true);
  if (c.labelSmoothing >= 0.5) throw new ValueError(`${who}: labelSmoothing must be < 0.5, got ${c.labelSmoothing}`);
  if (c.labelSmoothing > 0 && c.lossType !== 'sigmoid') throw new ValueError(`${who}: labelSmoothing applies to lossType 'sigmoid' only, not '${c.lossType}'`);
  checkNumber(who, 'learningRate', c.learningRate, 0, false);
  checkInteger(who, 'batchSize', c.batchSize, 1);
  checkNumber(who, 'weightDecay', c.weightDecay, 0, true);
  checkNumber(who, 'maxGradNorm', c.maxGradNorm, 0, true);
  checkInteger(who, 'seed', c.seed, 0);
  if (typeof c.shuffle !== 'boolean') throw new ValueError(`${who}: shuffle must be a boolean, got ${JSON.stringify(c.shuffle)}`);
  return c;
}
