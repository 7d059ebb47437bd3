// TensorRolloutBatch: a RolloutBatch (sdk/interfaces/batch.ts) held in persistent core tensors.
// A rollout enters the core once: RolloutBuffer.toBatch() copies its validated arrays in, or
// fromArrays() checks a caller's arrays and copies them in. The PPO step then selects
// minibatch rows inside the core. free() releases the tensors.

import type { Core } from '../core/core';
import { defaultCore } from '../core/core';
import { NumericError, ShapeError, ValueError } from '../core/errors';
import { MAX_INDEX, Tensor } from '../core/tensor';
import type { RolloutBatch } from '../interfaces/batch';

/** Caller data for a batch: flat row-major arrays of B x T entries (observations: B x observationSize, or B x T token ids). */
export interface RolloutBatchArrays {
  /** (B, observationSize) when steps is 1; (B, T) token ids otherwise. */
  observations: ArrayLike<number>;
  /** Floats per observation row (T = 1); ignored for token ids, whose row is T long. */
  observationSize?: number;
  /** T (default 1). */
  steps?: number;
  actions: ArrayLike<number>;
  oldLogProbs: ArrayLike<number>;
  /** Default: oldLogProbs (no reference model). */
  refLogProbs?: ArrayLike<number>;
  values: ArrayLike<number>;
  rewards: ArrayLike<number>;
  advantages: ArrayLike<number>;
  returns: ArrayLike<number>;
  /** 0/1 per step; default all ones. */
  mask?: ArrayLike<number>;
}


export class TensorRolloutBatch implements RolloutBatch {
  readonly observations: Tensor;
  readonly actions: Tensor;
  readonly oldLogProbs: Tensor;
  readonly refLogProbs: Tensor;
  readonly values: Tensor;
  readonly rewards: Tensor;
  readonly advantages: Tensor;
  readonly returns: Tensor;
  readonly mask: Tensor;
  dense = true;
  private freed = false;

  /** Allocates zeroed persistent tensors for B rows of T steps; fill them with write(). */
  constructor(
    readonly rows: number,
    readonly steps: number,
    /** Floats per observation row (T = 1), or T for token ids. */
    readonly observationSize: number,
    readonly core: Core = defaultCore(),
  ) {
    for (const [name, n] of [['rows', rows], ['steps', steps], ['observationSize', observationSize]] as const) {
      if (!Number.isSafeInteger(n) || n < 1) throw new ValueError(`TensorRolloutBatch: ${name} must be a positive integer, got ${n}`);
    }
    if (rows > MAX_INDEX) throw new ValueError(`TensorRolloutBatch: rows must be at most 2^24 (the core's index range), got ${rows}`);
    const column = () => Tensor.zeros([rows, steps], { persistent: true, core });
    this.observations = Tensor.zeros([rows, observationSize], { persistent: true, core });
    this.actions = column();
    this.oldLogProbs = column();
    this.refLogProbs = column();
    this.values = column();
    this.rewards = column();
    this.advantages = column();
    this.returns = column();
    this.mask = column();
    this.mask.view().fill(1);
  }

  /**
   * A batch from a caller's arrays, checked here once (lengths, finite numbers, integer actions,
   * a 0/1 mask that selects something) with an error naming the field.
   */
  static fromArrays(data: RolloutBatchArrays, core: Core = defaultCore()): TensorRolloutBatch {
    if (data === null || typeof data !== 'object') throw new ValueError(`TensorRolloutBatch.fromArrays: needs an object of arrays, got ${String(data)}`);
    const steps = data.steps ?? 1;
    if (!Number.isSafeInteger(steps) || steps < 1) throw new ValueError(`TensorRolloutBatch.fromArrays: steps must be a positive integer, got ${String(steps)}`);
    const length = (name: string, a: ArrayLike<number> | undefined): number => {
      if (a === null || typeof a !== 'object' || typeof a.length !== 'number') throw new ValueError(`TensorRolloutBatch.fromArrays: ${name} must be an array of numbers, got ${String(a)}`);
      return a.length;
    };
    const n = length('actions', data.actions);
    if (n === 0 || n % steps !== 0) throw new ShapeError('TensorRolloutBatch.fromArrays', [[n], [-1, steps]], `actions has ${n} values, not a positive multiple of steps = ${steps}`);
    const rows = n / steps;
    const rowSize = steps === 1 ? (data.observationSize ?? length('observations', data.observations) / rows) : steps;
    if (!Number.isSafeInteger(rowSize) || rowSize < 1) throw new ValueError(`TensorRolloutBatch.fromArrays: observationSize must be a positive integer, got ${rowSize}`);
    const fields = ['oldLogProbs', 'refLogProbs', 'values', 'rewards', 'advantages', 'returns', 'mask'] as const;
    const expect = (name: string, a: ArrayLike<number>, size: number) => {
      if (length(name, a) !== size) throw new ShapeError('TensorRolloutBatch.fromArrays', [[a.length], [rows, size / rows]], `${name} has ${a.length} values, expected ${size}`);
    };
    expect('observations', data.observations, rows * rowSize);
    for (const name of fields) if (data[name] !== undefined) expect(name, data[name]!, n);
    checkFinite('observations', data.observations);
    for (const name of fields) if (data[name] !== undefined) checkFinite(name, data[name]!);
    checkIndices('actions', data.actions);
    if (steps > 1) checkIndices('observations (token ids)', data.observations);
    let selected = false;
    if (data.mask !== undefined) {
      for (let i = 0; i < n; i++) {
        const m = data.mask[i]!;
        if (m !== 0 && m !== 1) throw new ValueError(`TensorRolloutBatch.fromArrays: mask must hold 0 or 1, got ${m} at flat index ${i}`);
        if (m === 1) selected = true;
      }
      if (!selected) throw new ValueError('TensorRolloutBatch.fromArrays: the mask selects no step');
    }
    const batch = new TensorRolloutBatch(rows, steps, rowSize, core);
    batch.write({ ...data, refLogProbs: data.refLogProbs ?? data.oldLogProbs });
    return batch;
  }

  /** Overwrites the tensors with already validated arrays (the rollout buffer's, or fromArrays'). */
  write(data: Omit<RolloutBatchArrays, 'refLogProbs'> & { refLogProbs: ArrayLike<number> }): void {
    this.assertLive();
    this.observations.set(data.observations);
    this.actions.set(data.actions);
    this.oldLogProbs.set(data.oldLogProbs);
    this.refLogProbs.set(data.refLogProbs);
    this.values.set(data.values);
    this.rewards.set(data.rewards);
    this.advantages.set(data.advantages);
    this.returns.set(data.returns);
    if (data.mask) {
      this.mask.set(data.mask);
      let dense = true;
      for (let i = 0; i < data.mask.length; i++) if (data.mask[i] !== 1) dense = false;
      this.dense = dense;
    }
  }

  /** Releases the core tensors; the batch cannot be used afterwards. Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const t of [this.observations, this.actions, this.oldLogProbs, this.refLogProbs, this.values, this.rewards, this.advantages, this.returns, this.mask]) t.free();
  }

  private assertLive(): void {
    if (this.freed) throw new ValueError('TensorRolloutBatch: the batch was freed');
  }
}

function checkFinite(name: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) throw new NumericError(`TensorRolloutBatch.fromArrays: ${name} has a non-finite value ${a[i]} at flat index ${i}`);
  }
}

/** Integers in [0, 2^24): float32 holds them exactly. */
function checkIndices(name: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (!Number.isInteger(x) || x < 0 || x >= MAX_INDEX) {
      throw new ValueError(`TensorRolloutBatch.fromArrays: ${name} must be integers in [0, 2^24) (float32 holds them exactly), got ${x} at flat index ${i}`);
    }
  }
}
