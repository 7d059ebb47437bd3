// What PromptDataset and PreferencePairs share besides reading their files
// (sdk/envs/dataset_files.ts): the per-epoch shuffled order that next(k) walks, with its
// checkpointable state.

import { ValueError } from '../core/errors';
import { Prng } from '../core/prng';
import { describeValue, isPlainObject } from '../envs/dataset_files';

/** Where an iteration stands: epoch e visits the entries in the order permutation(seed, e). */
export interface DatasetPosition {
  /** Completed passes over the data. */
  epoch: number;
  /** Entries of the current epoch already handed out. */
  index: number;
  /** The shuffle's seed. */
  seed: number;
  /** Number of entries, checked on load so a state is not restored into another dataset. */
  size: number;
}

/**
 * The order next(k) walks: epoch e is a Fisher-Yates permutation drawn from Prng(seed, stream e)
 * (identity when shuffle is off), so a position is just (epoch, index, seed) and every runtime
 * produces the same order.
 */
export class EpochOrder {
  private epoch = 0;
  private index = 0;
  private order: Int32Array;

  constructor(
    readonly size: number,
    private seed: number,
    private readonly shuffle: boolean,
  ) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ValueError(`seed must be a non-negative safe integer, got ${describeValue(seed)}`);
    this.order = this.orderOf(0);
  }

  /** The next k entry indices, crossing into new epochs as needed. */
  take(k: number, what: string): number[] {
    if (!Number.isSafeInteger(k) || k < 1) throw new ValueError(`${what}.next: k must be a positive integer, got ${describeValue(k)}`);
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      if (this.index === this.size) {
        this.epoch += 1;
        this.index = 0;
        this.order = this.orderOf(this.epoch);
      }
      out.push(this.order[this.index]!);
      this.index += 1;
    }
    return out;
  }

  state(): DatasetPosition {
    return { epoch: this.epoch, index: this.index, seed: this.seed, size: this.size };
  }

  /** Restores a state(); a malformed one or one from a dataset of another size is a ValueError. */
  loadState(state: unknown, what: string): void {
    if (!isPlainObject(state)) throw new ValueError(`${what}.loadState: expected an object {epoch, index, seed, size}, got ${describeValue(state)}`);
    for (const field of ['epoch', 'index', 'seed', 'size'] as const) {
      const v = state[field];
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw new ValueError(`${what}.loadState: field "${field}" must be a non-negative integer, got ${describeValue(v)}`);
    }
    const { epoch, index, seed, size } = state as unknown as DatasetPosition;
    if (size !== this.size) throw new ValueError(`${what}.loadState: the state is for a dataset of ${size} entries, this one has ${this.size}`);
    if (index > size) throw new ValueError(`${what}.loadState: field "index" is ${index}, past the ${size} entries of an epoch`);
    this.epoch = epoch;
    this.index = index;
    this.seed = seed;
    this.order = this.orderOf(epoch);
  }

  private orderOf(epoch: number): Int32Array {
    if (!this.shuffle) return Int32Array.from({ length: this.size }, (_, i) => i);
    return new Prng(this.seed, epoch).permutation(this.size);
  }
}
