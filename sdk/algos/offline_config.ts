// The settings the offline preference trainers (RewardModelTrainer, DPOTrainer) share, named
// after TRL's TrainingArguments (camelCase), and their checks.

import { ValueError } from '../core/errors';

export interface OfflineTrainerConfig {
  /** AdamW's learning rate (default TRL's: 1e-4 for the reward model, 1e-6 for DPO). */
  learningRate?: number;
  /** Pairs per optimisation step (per_device_train_batch_size, default 8). */
  batchSize?: number;
  /** AdamW's decoupled weight decay (default 0, as TrainingArguments). */
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

/** Checks the shared fields of a resolved config; `who` names the config type in messages. */
export function checkOfflineTrainerConfig(who: string, c: Required<OfflineTrainerConfig>): void {
  checkNumber(who, 'learningRate', c.learningRate, 0, false);
  checkInteger(who, 'batchSize', c.batchSize, 1);
  checkNumber(who, 'weightDecay', c.weightDecay, 0, true);
  checkNumber(who, 'maxGradNorm', c.maxGradNorm, 0, true);
  checkInteger(who, 'seed', c.seed, 0);
  if (typeof c.shuffle !== 'boolean') throw new ValueError(`${who}: shuffle must be a boolean, got ${JSON.stringify(c.shuffle)}`);
}

/** A finite number above `min` (or at it, when `inclusive`). */
export function checkNumber(who: string, field: string, value: unknown, min: number, inclusive: boolean): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || (inclusive ? value < min : value <= min)) {
    throw new ValueError(`${who}: ${field} must be a finite number ${inclusive ? '>=' : '>'} ${min}, got ${JSON.stringify(value)}`);
  }
}

/** A safe integer >= min. */
export function checkInteger(who: string, field: string, value: unknown, min: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min) throw new ValueError(`${who}: ${field} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
}
