// The order offline trainers (the reward model, DPO) visit their pairs in: each epoch a fresh
// permutation from the core's generator (or 0..n-1 without shuffling), taken batchSize at a time;
// an epoch's tail shorter than batchSize is a smaller last batch. The whole position (epoch,
// offset, this epoch's order) is plain JSON for checkpoints.

import type { Core } from '../core/core';
import { CheckpointError } from '../core/errors';
import { randomPermutation } from '../core/random';

export interface PairOrderState {
  /** Epochs started so far. */
  epoch: number;
  /** Pairs of this epoch's order already handed out. */
  offset: number;
  /** This epoch's order (pair indices), empty before the first batch. */
  order: number[];
}

export class PairOrder {
  private state: PairOrderState = { epoch: 0, offset: 0, order: [] };

  constructor(
    readonly size: number,
    readonly batchSize: number,
    readonly shuffle: boolean,
    private readonly core: Core,
  ) {}

  /** The indices of the next batch (a new epoch starts when the last one is used up). */
  next(): number[] {
    const s = this.state;
    if (s.offset >= s.order.length) {
      s.order = this.shuffle ? Array.from(randomPermutation(this.size, this.core).toArray()) : Array.from({ length: this.size }, (_, i) => i);
      s.offset = 0;
      s.epoch++;
    }
    const batch = s.order.slice(s.offset, s.offset + this.batchSize);
    s.offset += batch.length;
    return batch;
  }

  /** Fractional epochs done (TRL's `epoch` metric). */
  get epochProgress(): number {
    const s = this.state;
    return s.order.length === 0 ? 0 : s.epoch - 1 + s.offset / s.order.length;
  }

  toJSON(): PairOrderState {
    return { epoch: this.state.epoch, offset: this.state.offset, order: [...this.state.order] };
  }

  /** Restores a position saved by toJSON, checking it fits this dataset. */
  load(value: unknown, field = 'order'): void {
    const fail = (what: string): never => {
      throw new CheckpointError(`trainer.json: ${field} ${what}`, 'mismatch', 'trainer.json');
    };
    if (typeof value !== 'object' || value === null) fail('is not an object');
    const v = value as Record<string, unknown>;
    if (!Number.isSafeInteger(v['epoch']) || (v['epoch'] as number) < 0) fail(`.epoch must be an integer >= 0, got ${JSON.stringify(v['epoch'])}`);
    const order = v['order'];
    if (!Array.isArray(order) || (order.length !== 0 && order.length !== this.size)) fail(`.order must list the ${this.size} pairs (the checkpoint was made with another dataset?)`);
    const seen = new Set<number>();
    for (const i of order as unknown[]) {
      if (!Number.isSafeInteger(i) || (i as number) < 0 || (i as number) >= this.size || seen.has(i as number)) fail(`.order is not a permutation of 0..${this.size - 1}`);
      seen.add(i as number);
    }
    if (!Number.isSafeInteger(v['offset']) || (v['offset'] as number) < 0 || (v['offset'] as number) > (order as unknown[]).length) fail(`.offset must be an integer in [0, ${(order as unknown[]).length}]`);
    this.state = { epoch: v['epoch'] as number, offset: v['offset'] as number, order: [...(order as number[])] };
  }
}
