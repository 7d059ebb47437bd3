// RolloutBuffer: host storage for one rollout of `steps` x `numEnvs` transitions, the GAE pass
// over it and optional whole-batch advantage whitening; toBatch() then moves the rollout into
// the core once, as a RolloutBatch of B = T * N rows of one step (per-minibatch whitening is
// the PPO step's, as CleanRL's).
//
// Layout: every per-step array is (T, N) row-major, flat index = t * numEnvs + env;
// observations are (T * N, observationSize).
//
// What a caller passes to add() is checked here (lengths, finite numbers, integer actions, 0/1
// dones) with an error naming the field, the step and the environment, so a bad value never
// reaches the core or silently poisons the advantages. A rollout engine that has checked the
// same things passes { validated: true }, so nothing is checked twice.

import { NumericError, ShapeError, ValueError } from '../core/errors';
import type { Core } from '../core/core';
import type { Buffer, Transition } from '../interfaces/buffer';
import { checkGaeCoefficients, computeGae } from './gae';
import { TensorRolloutBatch } from './rollout_batch';

/**
 * Where the buffer whitens advantages ((A - mean) / (std + 1e-8)):
 * - 'batch': once over the whole rollout, inside computeAdvantages();
 * - false: never (the PPO step whitens per minibatch, as CleanRL's norm_adv).
 */
export type AdvantageNormalization = 'batch' | false;

export interface RolloutBufferOptions {
  /** Steps per environment in one rollout (T, CleanRL's num_steps). */
  steps: number;
  /** Environments stepped together (N, CleanRL's num_envs). */
  numEnvs: number;
  /** Floats per observation row. */
  observationSize: number;
  /** Discount factor, in [0, 1]. */
  gamma: number;
  /** GAE lambda, in [0, 1]. */
  gaeLambda: number;
  /** Whole-batch advantage whitening (default false: the PPO step whitens per minibatch). */
  normalizeAdvantages?: AdvantageNormalization;
}

/**
 * @example
 * const buffer = new RolloutBuffer({ steps: 128, numEnvs: 4, observationSize: 4, gamma: 0.99, gaeLambda: 0.95 });
 * const stats = await engine.collect(policy, buffer, 128); // resets, then add() x 128
 * buffer.computeAdvantages(policy.values(stats.lastObservations), stats.lastDones);
 * const batch = buffer.toBatch();                        // into the core once: (T * N) rows
 * ppoStep(policy, batch, config, optimizer);
 */
export class RolloutBuffer implements Buffer {
  readonly steps: number;
  readonly numEnvs: number;
  readonly observationSize: number;
  readonly gamma: number;
  readonly gaeLambda: number;
  readonly normalizeAdvantages: AdvantageNormalization;

  // Storage, allocated once. Per-step arrays: (T, N); observations: (T * N, observationSize).
  private readonly obs: Float32Array;
  private readonly actionStore: Int32Array;
  private readonly logProbStore: Float32Array;
  private readonly valueStore: Float32Array;
  private readonly rewardStore: Float32Array;
  private readonly doneStore: Uint8Array;
  private readonly refLogProbStore: Float32Array;
  private readonly advantageStore: Float32Array;
  private readonly returnStore: Float32Array;

  private stored = 0;
  /** Whether this rollout's transitions carry refLogProbs (decided by its first add()). */
  private hasRefLogProbs = false;
  private advantagesReady = false;

  constructor(options: RolloutBufferOptions) {
    const { steps, numEnvs, observationSize, gamma, gaeLambda } = options;
    checkPositiveInteger('steps', steps);
    checkPositiveInteger('numEnvs', numEnvs);
    checkPositiveInteger('observationSize', observationSize);
    checkGaeCoefficients('RolloutBuffer', gamma, gaeLambda);
    const normalize = options.normalizeAdvantages ?? false;
    if (normalize !== 'batch' && normalize !== false) {
      throw new ValueError(`RolloutBuffer: normalizeAdvantages must be 'batch' or false (per-minibatch whitening is the PPO step's), got ${String(normalize)}`);
    }
    this.steps = steps;
    this.numEnvs = numEnvs;
    this.observationSize = observationSize;
    this.gamma = gamma;
    this.gaeLambda = gaeLambda;
    this.normalizeAdvantages = normalize;

    const total = steps * numEnvs;
    this.obs = new Float32Array(total * observationSize);
    this.actionStore = new Int32Array(total);
    this.logProbStore = new Float32Array(total);
    this.valueStore = new Float32Array(total);
    this.rewardStore = new Float32Array(total);
    this.doneStore = new Uint8Array(total);
    this.refLogProbStore = new Float32Array(total);
    this.advantageStore = new Float32Array(total);
    this.returnStore = new Float32Array(total);
  }

  /** Steps stored so far (0..steps); each holds numEnvs transitions. */
  get size(): number {
    return this.stored;
  }

  /** steps * numEnvs: the number of transitions in a full rollout. */
  get batchSize(): number {
    return this.steps * this.numEnvs;
  }

  reset(): void {
    this.stored = 0;
    this.hasRefLogProbs = false;
    this.advantagesReady = false;
  }

  /** Appends one step of every environment; `validated` skips the checks a rollout engine already made. */
  add(step: Transition, options: { validated?: boolean } = {}): void {
    const t = this.stored;
    const n = this.numEnvs;
    if (t >= this.steps) {
      throw new ValueError(`RolloutBuffer.add: the buffer is full (${this.steps} steps); call reset() before the next rollout`);
    }
    if (t === 0) {
      this.hasRefLogProbs = step.refLogProbs !== undefined;
    } else if (this.hasRefLogProbs !== (step.refLogProbs !== undefined)) {
      throw new ValueError(
        `RolloutBuffer.add: step ${t} ${this.hasRefLogProbs ? 'lacks' : 'has'} refLogProbs but step 0 ${this.hasRefLogProbs ? 'had them' : 'did not'}; a rollout has them on every step or on none`,
      );
    }
    if (!options.validated) this.check(step, t);

    const row = t * n;
    this.obs.set(step.observations, row * this.observationSize);
    this.actionStore.set(step.actions, row);
    this.logProbStore.set(step.logProbs, row);
    this.valueStore.set(step.values, row);
    this.rewardStore.set(step.rewards, row);
    this.doneStore.set(step.dones, row);
    if (step.refLogProbs !== undefined) this.refLogProbStore.set(step.refLogProbs, row);
    this.stored = t + 1;
    this.advantagesReady = false;
  }

  /** Lengths, finite numbers, integer actions, 0/1 dones of one step (errors name step and env). */
  private check(step: Transition, t: number): void {
    const n = this.numEnvs;
    this.checkLength('observations', step.observations, [n, this.observationSize]);
    this.checkLength('actions', step.actions, [n]);
    this.checkLength('logProbs', step.logProbs, [n]);
    this.checkLength('values', step.values, [n]);
    this.checkLength('rewards', step.rewards, [n]);
    this.checkLength('dones', step.dones, [n]);
    if (step.refLogProbs !== undefined) this.checkLength('refLogProbs', step.refLogProbs, [n]);

    this.checkFinite('observations', step.observations, t, this.observationSize);
    this.checkFinite('logProbs', step.logProbs, t, 1);
    this.checkFinite('values', step.values, t, 1);
    this.checkFinite('rewards', step.rewards, t, 1);
    if (step.refLogProbs !== undefined) this.checkFinite('refLogProbs', step.refLogProbs, t, 1);
    for (let env = 0; env < n; env++) {
      const a = step.actions[env]!;
      // Int32Array always holds integers; this catches plain arrays and float arrays from JS callers.
      if (!Number.isInteger(a) || a < 0) {
        throw new ValueError(`RolloutBuffer.add: actions must be non-negative integers, got ${a} at step ${t}, env ${env}`);
      }
      const d = step.dones[env]!;
      if (d !== 0 && d !== 1) {
        throw new ValueError(`RolloutBuffer.add: dones must be 0 or 1, got ${d} at step ${t}, env ${env}`);
      }
    }
  }

  /**
   * GAE over the full rollout (see gae.ts for the done convention and precision), then batch
   * whitening when normalizeAdvantages is 'batch'. Returns are computed from the raw advantages.
   *
   * `lastDones` (the environment's dones of the last step) is redundant under NovaRL's
   * convention, where the last step's stored dones already say whether to bootstrap; it is
   * checked against them so that a caller who meant something else finds out.
   */
  computeAdvantages(lastValues: Float32Array, lastDones: Uint8Array): void {
    const n = this.numEnvs;
    if (this.stored !== this.steps) {
      throw new ValueError(`RolloutBuffer.computeAdvantages: the rollout holds ${this.stored} of ${this.steps} steps; fill it first`);
    }
    if (lastValues.length !== n) {
      throw new ShapeError('RolloutBuffer.computeAdvantages', [[lastValues.length], [n]], `lastValues has ${lastValues.length} values, expected numEnvs = ${n}`);
    }
    if (lastDones.length !== n) {
      throw new ShapeError('RolloutBuffer.computeAdvantages', [[lastDones.length], [n]], `lastDones has ${lastDones.length} values, expected numEnvs = ${n}`);
    }
    const lastRow = (this.steps - 1) * n;
    for (let env = 0; env < n; env++) {
      if (!Number.isFinite(lastValues[env]!)) {
        throw new NumericError(`RolloutBuffer.computeAdvantages: lastValues has a non-finite value ${lastValues[env]} at env ${env}`);
      }
      if (lastDones[env] !== this.doneStore[lastRow + env]) {
        throw new ValueError(
          `RolloutBuffer.computeAdvantages: lastDones[${env}] is ${lastDones[env]} but the last step stored dones = ${this.doneStore[lastRow + env]}; ` +
            'lastDones must be the dones the environment returned for the last step',
        );
      }
    }
    computeGae(
      {
        steps: this.steps,
        numEnvs: n,
        rewards: this.rewardStore,
        values: this.valueStore,
        dones: this.doneStore,
        lastValues,
        gamma: this.gamma,
        gaeLambda: this.gaeLambda,
      },
      { advantages: this.advantageStore, returns: this.returnStore },
    );
    if (this.normalizeAdvantages === 'batch') this.advantageStore.set(whiten(this.advantageStore));
    this.advantagesReady = true;
  }

  /**
   * Moves the rollout into the core once: a RolloutBatch of steps * numEnvs rows of one step
   * (T = 1), refilling `into` when given (same size) instead of allocating. The data was checked
   * on the way in, so it is not checked again. refLogProbs default to the acting policy's own.
   */
  toBatch(into?: TensorRolloutBatch, core?: Core): TensorRolloutBatch {
    this.checkAdvantagesReady('toBatch');
    const rows = this.batchSize;
    if (into && (into.rows !== rows || into.steps !== 1 || into.observationSize !== this.observationSize)) {
      throw new ShapeError('RolloutBuffer.toBatch', [[into.rows, into.observationSize], [rows, this.observationSize]], 'the batch to refill has another size');
    }
    const batch = into ?? new TensorRolloutBatch(rows, 1, this.observationSize, core);
    batch.write({
      observations: this.obs,
      actions: this.actionStore,
      oldLogProbs: this.logProbStore,
      refLogProbs: this.hasRefLogProbs ? this.refLogProbStore : this.logProbStore,
      values: this.valueStore,
      rewards: this.rewardStore,
      advantages: this.advantageStore,
      returns: this.returnStore,
    });
    return batch;
  }

  /** CleanRL's `explained_var` of this rollout's values against its returns. */
  explainedVariance(): number {
    return explainedVariance(this.values, this.returns);
  }

  // ---- flat views of the storage (do not modify; valid until the next reset/add) ----------

  /** (T * N, observationSize) */
  get observations(): Float32Array {
    return this.obs.subarray(0, this.stored * this.numEnvs * this.observationSize);
  }
  /** (T * N) */
  get actions(): Int32Array {
    return this.actionStore.subarray(0, this.stored * this.numEnvs);
  }
  /** (T * N) log-probabilities under the policy that acted */
  get logProbs(): Float32Array {
    return this.logProbStore.subarray(0, this.stored * this.numEnvs);
  }
  /** (T * N) value estimates made while acting */
  get values(): Float32Array {
    return this.valueStore.subarray(0, this.stored * this.numEnvs);
  }
  /** (T * N) rewards as added (after any reward manager) */
  get rewards(): Float32Array {
    return this.rewardStore.subarray(0, this.stored * this.numEnvs);
  }
  /** (T * N) 1 where the episode ended with that step */
  get dones(): Uint8Array {
    return this.doneStore.subarray(0, this.stored * this.numEnvs);
  }
  /** (T * N) reference-model log-probabilities, or undefined when the rollout has none */
  get refLogProbs(): Float32Array | undefined {
    return this.hasRefLogProbs ? this.refLogProbStore.subarray(0, this.stored * this.numEnvs) : undefined;
  }
  /** (T * N) GAE advantages (whitened when normalizeAdvantages is 'batch') */
  get advantages(): Float32Array {
    this.checkAdvantagesReady('advantages');
    return this.advantageStore;
  }
  /** (T * N) advantages + values, from the raw advantages */
  get returns(): Float32Array {
    this.checkAdvantagesReady('returns');
    return this.returnStore;
  }

  // ---- checks ------------------------------------------------------------------------------

  private checkAdvantagesReady(what: string): void {
    if (!this.advantagesReady) {
      throw new ValueError(`RolloutBuffer.${what}: call computeAdvantages() after the rollout is collected`);
    }
  }

  private checkLength(field: string, values: ArrayLike<number> | undefined, shape: number[]): void {
    const expected = shape.reduce((a, b) => a * b, 1);
    const length = values?.length;
    if (length !== expected) {
      const detail = shape.length > 1 ? `numEnvs x observationSize = ${shape.join(' x ')} = ${expected}` : `numEnvs = ${expected}`;
      throw new ShapeError('RolloutBuffer.add', [[length ?? 0], shape], `${field} has ${length ?? 'no'} values, expected ${detail}`);
    }
  }

  private checkFinite(field: string, values: ArrayLike<number>, step: number, rowSize: number): void {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        const env = Math.floor(i / rowSize);
        const where = rowSize > 1 ? `step ${step}, env ${env}, element ${i - env * rowSize}` : `step ${step}, env ${env}`;
        throw new NumericError(`RolloutBuffer.add: ${field} has a non-finite value ${values[i]} at ${where}`);
      }
    }
  }
}

/**
 * (x - mean) / (std + 1e-8), with the sample standard deviation (Bessel's n - 1, like
 * torch.std). Sums run in a plain left-to-right float64 loop (fixed order, same bits on every
 * engine); results are rounded to float32. Needs at least 2 values (n - 1 = 0 would give NaN).
 */
export function whiten(values: ArrayLike<number>): Float32Array {
  const n = values.length;
  if (n < 2) throw new ValueError(`whiten: needs at least 2 values for a sample standard deviation, got ${n}`);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    squares += d * d;
  }
  const std = Math.sqrt(squares / (n - 1));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (values[i]! - mean) / (std + 1e-8);
  return out;
}

/**
 * 1 - Var(returns - values) / Var(returns) (population variances, like CleanRL's np.var):
 * 1 means the value function predicts the returns perfectly, 0 means no better than their
 * mean. NaN when Var(returns) is 0, as in CleanRL.
 */
export function explainedVariance(values: ArrayLike<number>, returns: ArrayLike<number>): number {
  const n = returns.length;
  if (values.length !== n) {
    throw new ShapeError('explainedVariance', [[values.length], [n]], `values has ${values.length} entries, returns has ${n}`);
  }
  if (n === 0) return NaN;
  const varReturns = variance(n, (i) => returns[i]!);
  if (varReturns === 0) return NaN;
  return 1 - variance(n, (i) => returns[i]! - values[i]!) / varReturns;
}

/** Population variance of x(0..n-1), float64, plain loops. */
function variance(n: number, x: (i: number) => number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x(i);
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = x(i) - mean;
    squares += d * d;
  }
  return squares / n;
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new ValueError(`RolloutBuffer: ${name} must be a positive integer, got ${value}`);
}
