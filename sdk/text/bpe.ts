// Byte-pair encoding of one pre-token word, by merge rank.
//
// A word starts as its UTF-8 bytes (one token each). Repeatedly, the adjacent pair whose merge has
// the lowest rank is replaced by the merged token, the leftmost occurrence first, until no
// adjacent pair has a merge. A min-heap of (rank, position) over a linked list of symbols makes
// this O(n log n) in the word's length (a run of a million spaces is one word), and gives the same
// tokens as GPT-2's encoder.py and Hugging Face's BPE model (which uses the same heap order).

import { TokenizerError } from '../core/errors';
import { BYTE_TO_CHAR, utf8Encode } from './byte_level';

/** Above this a word is encoded but not cached (a long run of one character is rarely repeated). */
const MAX_CACHED_WORD_CHARS = 256;
/** The word cache is emptied when it reaches this many entries, so memory stays bounded. */
const MAX_CACHE_ENTRIES = 50_000;

export class BpeModel {
  /** id -> the token's byte-level string. */
  readonly tokens: readonly string[];
  /** merge rank -> [left, right] byte-level strings. */
  readonly merges: readonly (readonly [string, string])[];
  /** byte -> its single-byte token's id. */
  private readonly byteIds = new Int32Array(256);
  /** left id * vocab size + right id -> merge rank. */
  private readonly rankOfPair = new Map<number, number>();
  /** merge rank -> the id of the merged token. */
  private readonly mergedId: Int32Array;
  /** pre-token word -> its ids. */
  private readonly cache = new Map<string, Int32Array>();

  /**
   * `tokens`: id -> byte-level string, for the ids this model may produce (special tokens may be
   * listed too; BPE never produces them since they are not byte-level strings of merges).
   * `merges`: in rank order; each side and the concatenation must be tokens.
   */
  constructor(tokens: readonly string[], merges: readonly (readonly [string, string])[], file?: string) {
    this.tokens = tokens;
    this.merges = merges;
    const idOf = new Map<string, number>();
    tokens.forEach((token, id) => {
      if (!idOf.has(token)) idOf.set(token, id);
    });
    for (let b = 0; b < 256; b++) {
      const id = idOf.get(BYTE_TO_CHAR[b]!);
      if (id === undefined) throw new TokenizerError(`the vocabulary lacks the token for byte ${b} ('${BYTE_TO_CHAR[b]}'), so not every text can be encoded`, file);
      this.byteIds[b] = id;
    }
    this.mergedId = new Int32Array(merges.length);
    merges.forEach(([left, right], rank) => {
      const a = idOf.get(left);
      const b = idOf.get(right);
      const merged = idOf.get(left + right);
      if (a === undefined || b === undefined || merged === undefined) {
        const missing = a === undefined ? left : b === undefined ? right : left + right;
        throw new TokenizerError(`merge ${rank} ('${left}' '${right}') names '${missing}', which is not in the vocabulary`, file);
      }
      const key = a * tokens.length + b;
      // A repeated merge keeps its first (lowest) rank, as Hugging Face's loader does.
      if (!this.rankOfPair.has(key)) this.rankOfPair.set(key, rank);
      this.mergedId[rank] = merged;
    });
  }

  /** The ids of one pre-token word (of its UTF-8 bytes). */
  encodeWord(word: string): Int32Array {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const ids = this.mergeBytes(utf8Encode(word));
    if (word.length <= MAX_CACHED_WORD_CHARS) {
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }

  private rank(a: number, b: number): number {
    return this.rankOfPair.get(a * this.tokens.length + b) ?? -1;
  }

  private mergeBytes(bytes: Uint8Array): Int32Array {
    const n = bytes.length;
    // symbol[i]: the token at original position i, or -1 once merged into its left neighbour.
    const symbol = new Int32Array(n);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      symbol[i] = this.byteIds[bytes[i]!]!;
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap();
    for (let i = 0; i + 1 < n; i++) {
      const r = this.rank(symbol[i]!, symbol[i + 1]!);
      if (r >= 0) heap.push(r, i);
    }
    while (heap.size > 0) {
      const { rank, position: i } = heap.pop();
      const j = next[i]!;
      // Stale entry: the left symbol was merged away, or the pair at i is no longer this merge.
      if (symbol[i] === -1 || j === -1 || this.rank(symbol[i]!, symbol[j]!) !== rank) continue;
      symbol[i] = this.mergedId[rank]!;
      symbol[j] = -1;
      next[i] = next[j]!;
      if (next[i] !== -1) prev[next[i]!] = i;
      const before = prev[i]!;
      if (before !== -1) {
        const r = this.rank(symbol[before]!, symbol[i]!);
        if (r >= 0) heap.push(r, before);
      }
      if (next[i] !== -1) {
        const r = this.rank(symbol[i]!, symbol[next[i]!]!);
        if (r >= 0) heap.push(r, i);
      }
    }
    let count = 0;
    for (let i = 0; i !== -1 && i < n; i = next[i]!) count++;
    const ids = new Int32Array(count);
    let k = 0;
    for (let i = 0; i !== -1 && i < n; i = next[i]!) ids[k++] = symbol[i]!;
    return ids;
  }
}

/** A binary min-heap of (rank, position), ordered by rank then position (the leftmost first). */
class MinHeap {
  private ranks: number[] = [];
  private positions: number[] = [];

  get size(): number {
    return this.ranks.length;
  }

  push(rank: number, position: number): void {
    const { ranks, positions } = this;
    let i = ranks.length;
    ranks.push(rank);
    positions.push(position);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { rank: number; position: number } {
    const { ranks, positions } = this;
    const top = { rank: ranks[0]!, position: positions[0]! };
    const lastRank = ranks.pop()!;
    const lastPosition = positions.pop()!;
    if (ranks.length > 0) {
      ranks[0] = lastRank;
      positions[0] = lastPosition;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < ranks.length && this.less(left, smallest)) smallest = left;
        if (right < ranks.length && this.less(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return top;
  }

  private less(i: number, j: number): boolean {
    const { ranks, positions } = this;
    return ranks[i]! < ranks[j]! || (ranks[i] === ranks[j] && positions[i]! < positions[j]!);
  }

  private swap(i: number, j: number): void {
    const { ranks, positions } = this;
    [ranks[i], ranks[j]] = [ranks[j]!, ranks[i]!];
    [positions[i], positions[j]] = [positions[j]!, positions[i]!];
  }
}
