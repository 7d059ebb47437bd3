// A KV cache for incremental decoding: for every layer, the keys and the values of every position
// decoded so far, as persistent (B, H, capacity, D) tensors that stay in the core. Each step
// writes its new keys and values at positions length..length+T-1 (Tensor.writeInto) and attends
// over positions 0..length+T-1, so a token's keys and values are computed once, not once per
// later token. Persistent tensors outlive endStep(): free() the cache when done.

import type { Core } from '../core/core';
import { defaultCore } from '../core/core';
import { ValueError } from '../core/errors';
import { Tensor } from '../core/tensor';

/** The parts of a GPT config a cache's shape depends on. */
export interface KVCacheShape {
  nLayer: number;
  nHead: number;
  nEmbd: number;
}

export class KVCache {
  /** keys[layer]: (B, H, capacity, D), positions [0, length) filled. */
  readonly keys: Tensor[] = [];
  /** values[layer]: (B, H, capacity, D), positions [0, length) filled. */
  readonly values: Tensor[] = [];
  readonly nLayer: number;
  readonly nHead: number;
  /** D = nEmbd / nHead. */
  readonly headSize: number;
  /** Positions filled so far (the past length P of the next step). */
  length = 0;
  private live = true;

  constructor(config: KVCacheShape, readonly batch: number, readonly capacity: number, readonly core: Core = defaultCore()) {
    for (const [name, n] of [['batch', batch], ['capacity', capacity]] as const) {
      if (!Number.isSafeInteger(n) || n < 1) throw new ValueError(`KVCache: ${name} must be a positive integer, got ${String(n)}`);
    }
    this.nLayer = config.nLayer;
    this.nHead = config.nHead;
    this.headSize = config.nEmbd / config.nHead;
    const shape = [batch, this.nHead, capacity, this.headSize];
    try {
      for (let layer = 0; layer < this.nLayer; layer++) {
        this.keys.push(Tensor.zeros(shape, { core, persistent: true }));
        this.values.push(Tensor.zeros(shape, { core, persistent: true }));
      }
    } catch (error) {
      this.free(); // the core ran out of memory part-way: give back what was allocated
      throw error;
    }
  }

  /** True once free() has run. */
  get freed(): boolean {
    return !this.live;
  }

  /** Forgets every position (the tensors are kept for the next sequence). */
  reset(): void {
    this.length = 0;
  }

  /** Frees every tensor of the cache; safe to call twice. */
  free(): void {
    if (!this.live) return;
    this.live = false;
    for (const t of [...this.keys, ...this.values]) t.free();
  }
}
