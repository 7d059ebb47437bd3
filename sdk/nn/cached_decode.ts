// The bookkeeping of decoding a batch through a KV cache, shared by generate() (./generate.ts)
// and the server's generateGroups() (sdk/serve/batch_generate.ts), which differ only in how
// they sample:
//
//   prompts ──left pad to L──▶ prefill(): one pass over (B, L) ──▶ logits (B, V) of the last column
//   per step: append(ids, fed) adds a column (padding, masked out, where a row produced nothing)
//             next(): that column (B, 1) through the cache ──▶ logits (B, V)
//
// The attention mask hides the padding and each row's positions count only its real tokens
// (1 at padding, as transformers' generate()), so a padded row sees what it would see alone.
// Run it under noGrad; free() releases the cache's persistent tensors.

import type { Tensor } from '../core/tensor';
import type { GPT } from './gpt';
import { KVCache } from './kv_cache';

export class CachedDecode {
  /** L, the longest prompt: row b's prompt sits at columns L - len_b .. L-1. */
  readonly promptLength: number;
  /** (B, L + columns appended): the left-padded prompts, then one column per step. */
  readonly sequences: number[][];
  /** (B, L + columns appended): 1 at real tokens, 0 at padding. */
  readonly attentionMask: number[][];
  /** The position of each row's next real token. */
  private readonly nextPosition: number[];
  private readonly cache: KVCache;

  /** Left-pads `prompts` with `padTokenId` and allocates a cache for `maxNewTokens` more columns. */
  constructor(
    private readonly model: GPT,
    prompts: readonly (readonly number[])[],
    private readonly padTokenId: number,
    maxNewTokens: number,
  ) {
    const L = Math.max(...prompts.map((p) => p.length));
    this.promptLength = L;
    this.sequences = prompts.map((p) => [...Array<number>(L - p.length).fill(padTokenId), ...p]);
    this.attentionMask = prompts.map((p) => [...Array<number>(L - p.length).fill(0), ...Array<number>(p.length).fill(1)]);
    this.nextPosition = prompts.map((p) => p.length);
    this.cache = new KVCache(model.config, prompts.length, L + maxNewTokens, model.core);
  }

  /** The prompts through the model, keys and values into the cache; logits (B, V) of each row's first new token. */
  prefill(): Tensor {
    const positionIds = this.attentionMask.map((row) => {
      let seen = 0;
      return row.map((m) => (m === 1 ? seen++ : 1));
    });
    return this.lastLogits(this.model.hiddenCached(this.sequences, { cache: this.cache, positionIds, attentionMask: this.attentionMask }));
  }

  /** Appends one column: ids[b] where fed[b], padding (masked out) where not. */
  append(ids: readonly number[], fed: readonly boolean[]): void {
    this.sequences.forEach((row, b) => row.push(fed[b] ? ids[b]! : this.padTokenId));
    this.attentionMask.forEach((row, b) => row.push(fed[b] ? 1 : 0));
  }

  /** The last appended column through the model; logits (B, V) of each row's next token. */
  next(): Tensor {
    const column = this.sequences[0]!.length - 1;
    const ids = this.sequences.map((row) => [row[column]!]);
    const positionIds = this.nextPosition.map((p) => [p]);
    for (let b = 0; b < this.nextPosition.length; b++) this.nextPosition[b]!++;
    return this.lastLogits(this.model.hiddenCached(ids, { cache: this.cache, positionIds, attentionMask: this.attentionMask }));
  }

  free(): void {
    this.cache.free();
  }

  // hidden (B, T, C) -> logits of the last position (B, V)
  private lastLogits(hidden: Tensor): Tensor {
    const [B, T, C] = hidden.shape as [number, number, number];
    return this.model.logitsOf(hidden.narrow(1, T - 1, 1).reshape([B, 1, C])).reshape([B, this.model.config.vocabSize]);
  }
}
