// The configuration every group-sampling language-model trainer (GRPO, RLOO) shares: generation,
// optimisation and reproducibility. TRL's field names in camelCase; defaults are TRL's unless the
// field's doc says why not.

import { ValueError } from '../../core/errors';

/** The generation fields every language-model trainer (GRPO, RLOO, LM PPO) shares. */
export interface LmSamplingConfig {
  /** Prompts per generation batch (each sampled numGenerations times). */
  promptsPerStep: number;
  /** Completions per prompt (rows = promptsPerStep x numGenerations; TRL num_generations). */
  numGenerations: number;
  /** Most tokens per completion (TRL max_completion_length / response_length). */
  maxNewTokens: number;
  /** Sampling temperature; the trainer scores tokens at the same temperature (TRL). */
  temperature: number;
  /** Top-k sampling, 0 off (TRL top_k 0). */
  topK: number;
  /** Nucleus sampling, 1 off (TRL top_p 1.0). */
  topP: number;
}

/**
 * Checks the generation fields; `name` is the config type in messages (e.g. "GRPOConfig") and
 * `minGenerations` the smallest group the algorithm accepts.
 */
export function checkLmSamplingConfig(name: string, c: LmSamplingConfig, minGenerations: number): void {
  const integer = (field: keyof LmSamplingConfig, min: number) => {
    const v = c[field];
    if (!Number.isSafeInteger(v) || v < min) throw new ValueError(`${name}.${field} must be an integer >= ${min}, got ${String(v)}`);
  };
  const finite = (field: keyof LmSamplingConfig, ok: (v: number) => boolean, what: string) => {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ValueError(`${name}.${field} must be ${what}, got ${String(v)}`);
  };
  integer('promptsPerStep', 1);
  integer('numGenerations', minGenerations);
  integer('maxNewTokens', 1);
  integer('topK', 0);
  finite('temperature', (v) => v > 0, 'a finite number > 0 (the trainer scores at this temperature)');
  finite('topP', (v) => v > 0 && v <= 1, 'in (0, 1]');
}

export interface LmTrainerConfig extends LmSamplingConfig {
  // ---- generation (and LmSamplingConfig's fields; numGenerations is the group size, TRL 8;
  // maxNewTokens TRL 256, 16 here: the tiny GPT has 64 positions)
  /** Token ids that end a completion (default: the tokenizer's EOS; [] for none: every completion runs to maxNewTokens). */
  stopTokenIds?: number[];
  /** Completions that end without a stop token get no loss (TRL mask_truncated_completions, false). */
  maskTruncatedCompletions: boolean;

  // ---- optimisation
  /** Adam learning rate (TRL 1e-6, for billion-parameter models; the tiny GPT wants ~1e-4 to 1e-3). */
  learningRate: number;
  /** Optimisation passes over each generation batch, clipped against the generating policy (TRL num_iterations, 1). */
  numIterations: number;
  /** Optimizer steps per pass: the generation batch's rows are shuffled and split into this many (1). */
  minibatches: number;
  /** Clip the global gradient norm to this, 0 off (TRL max_grad_norm 1.0). */
  maxGradNorm: number;
  /** Adam epsilon (TRL adam_epsilon 1e-8). */
  adamEps: number;
  /**
   * 'linear' decays the learning rate to 0 over maxSteps generation steps, per optimizer step
   * (TRL's default lr_scheduler_type, which needs max_steps); 'constant' (default here) keeps it.
   */
  lrScheduler: 'constant' | 'linear';
  /** Planned generation steps (TRL max_steps with one optimizer step per generation batch); needed by 'linear'. */
  maxSteps?: number;

  // ---- reproducibility
  /** Seeds the core's generator and every generation batch's sampling (TRL seed 42). */
  seed: number;
}

export function defaultLmTrainerConfig(): LmTrainerConfig {
  return {
    promptsPerStep: 4,
    numGenerations: 8,
    maxNewTokens: 16,
    temperature: 1,
    topK: 0,
    topP: 1,
    maskTruncatedCompletions: false,
    learningRate: 1e-6,
    numIterations: 1,
    minibatches: 1,
    maxGradNorm: 1,
    adamEps: 1e-8,
    lrScheduler: 'constant',
    seed: 42,
  };
}

/** Checks the shared fields; `name` is the config type in messages (e.g. "GRPOConfig"). */
export function checkLmTrainerConfig(name: string, c: LmTrainerConfig): void {
  const integer = (field: keyof LmTrainerConfig, min: number) => {
    const v = c[field];
    if (!Number.isSafeInteger(v) || (v as number) < min) throw new ValueError(`${name}.${field} must be an integer >= ${min}, got ${String(v)}`);
  };
  const finite = (field: keyof LmTrainerConfig, ok: (v: number) => boolean, what: string) => {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ValueError(`${name}.${field} must be ${what}, got ${String(v)}`);
  };
  checkLmSamplingConfig(name, c, 2); // a group of one has no baseline
  integer('numIterations', 1);
  integer('minibatches', 1);
  integer('seed', 0);
  finite('learningRate', (v) => v >= 0, 'a finite number >= 0');
  finite('maxGradNorm', (v) => v >= 0, 'a finite number >= 0 (0 turns clipping off)');
  finite('adamEps', (v) => v >= 0, 'a finite number >= 0');
  if (c.lrScheduler !== 'constant' && c.lrScheduler !== 'linear') throw new ValueError(`${name}.lrScheduler must be 'constant' or 'linear', got ${String(c.lrScheduler)}`);
  if (c.maxSteps !== undefined) integer('maxSteps', 1);
  if (c.lrScheduler === 'linear' && c.maxSteps === undefined) throw new ValueError(`${name}.lrScheduler 'linear' needs maxSteps (the planned number of step() calls)`);
  if (typeof c.maskTruncatedCompletions !== 'boolean') throw new ValueError(`${name}.maskTruncatedCompletions must be a boolean, got ${String(c.maskTruncatedCompletions)}`);
  const rows = c.promptsPerStep * c.numGenerations;
  if (rows % c.minibatches !== 0) throw new ValueError(`${name}.minibatches (${c.minibatches}) must divide promptsPerStep x numGenerations (${rows})`);
  if (c.stopTokenIds !== undefined && (!Array.isArray(c.stopTokenIds) || !c.stopTokenIds.every((t) => Number.isSafeInteger(t) && t >= 0))) {
    throw new ValueError(`${name}.stopTokenIds must be an array of token ids, got ${JSON.stringify(c.stopTokenIds)}`);
  }
}
