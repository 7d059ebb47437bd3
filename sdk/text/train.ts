// Learning BPE merges from a corpus.
//
// The corpus is pre-tokenised (as encode does) and counted as distinct words with frequencies.
// Each word is a list of token ids, starting from its bytes. Each step merges the most frequent
// adjacent pair over all words into a new token. Pair counts are kept up to date incrementally:
// a merge only touches the words that hold the pair (an index pair -> words says which), and a
// max-heap with lazy updates finds the most frequent pair without rescanning.
//
// Ties: among pairs of equal count, the one with the smaller left id wins, then the smaller right
// id. Ids are fixed (the 256 bytes in GPT-2's order, then merges in the order they are made), so
// the result depends only on the corpus and the options: the same merges on every runtime, in
// whatever order the words happen to be counted.

import { ValueError } from '../core/errors';
import { BYTE_TO_CHAR, BYTES_IN_VOCAB_ORDER, utf8Encode } from './byte_level';
import { preTokenize, splitOnSpecialTokens } from './pretokenize';

export interface TrainBpeOptions {
  /** Number of merges to learn; fewer if the corpus runs out of pairs seen minFrequency times. */
  numMerges: number;
  /** A pair seen fewer times than this over the corpus is never merged. Default 2. */
  minFrequency?: number;
  /** Text equal to one of these is cut out of the corpus before counting, so no merge spans it. */
  specialTokens?: readonly string[];
}

export interface TrainedBpe {
  /** id -> byte-level token string: the 256 bytes, then one token per merge. */
  tokens: string[];
  /** The merges in rank order (rank r made token 256 + r). */
  merges: [string, string][];
}

/** Largest id a trained vocabulary may reach; pair keys (a * LIMIT + b) stay exact doubles. */
const MAX_TRAINED_VOCAB = 1 << 21;

export function trainBpe(corpus: string | Iterable<string>, options: TrainBpeOptions): TrainedBpe {
  const { numMerges, minFrequency = 2, specialTokens = [] } = options;
  if (!Number.isInteger(numMerges) || numMerges < 0 || numMerges + 256 > MAX_TRAINED_VOCAB) {
    throw new ValueError(`trainBpe: numMerges must be an integer from 0 to ${MAX_TRAINED_VOCAB - 256}, got ${numMerges}`);
  }
  if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new ValueError(`trainBpe: minFrequency must be an integer >= 1, got ${minFrequency}`);

  // Distinct words and how often each occurs.
  const wordCounts = new Map<string, number>();
  for (const text of typeof corpus === 'string' ? [corpus] : corpus) {
    if (typeof text !== 'string') throw new ValueError(`trainBpe: the corpus must be strings, got ${typeof text}`);
    for (const piece of splitOnSpecialTokens(text, specialTokens)) {
      if (piece.special) continue;
      for (const word of preTokenize(piece.text)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
  }

  const idOfByte = new Int32Array(256);
  BYTES_IN_VOCAB_ORDER.forEach((byte, id) => (idOfByte[byte] = id));
  const tokens = BYTES_IN_VOCAB_ORDER.map((byte) => BYTE_TO_CHAR[byte]!);
  const words: Int32Array[] = [];
  const frequency: number[] = [];
  for (const [word, count] of wordCounts) {
    const bytes = utf8Encode(word);
    if (bytes.length < 2) continue; // a single byte has no pair to merge
    words.push(Int32Array.from(bytes, (b) => idOfByte[b]!));
    frequency.push(count);
  }

  const key = (a: number, b: number): number => a * MAX_TRAINED_VOCAB + b;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1, touched?: Set<number>): void => {
    const word = words[w]!;
    const f = sign * frequency[w]!;
    for (let i = 0; i + 1 < word.length; i++) {
      const k = key(word[i]!, word[i + 1]!);
      pairCount.set(k, (pairCount.get(k) ?? 0) + f);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (set === undefined) pairWords.set(k, (set = new Set()));
        set.add(w);
        touched?.add(k);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);

  const heap = new PairHeap();
  for (const [k, count] of pairCount) heap.push(count, k);

  const merges: [string, string][] = [];
  while (merges.length < numMerges && heap.size > 0) {
    const top = heap.pop();
    const current = pairCount.get(top.key) ?? 0;
    // Counts only fall for pairs already in the heap, so a stale entry overstates its count:
    // push it back with the true count and look again.
    if (current !== top.count) {
      if (current > 0) heap.push(current, top.key);
      continue;
    }
    if (current < minFrequency) break;
    const a = Math.floor(top.key / MAX_TRAINED_VOCAB);
    const b = top.key - a * MAX_TRAINED_VOCAB;
    const merged = tokens.length;
    tokens.push(tokens[a]! + tokens[b]!);
    merges.push([tokens[a]!, tokens[b]!]);

    const touched = new Set<number>();
    for (const w of pairWords.get(top.key) ?? []) {
      const word = words[w]!;
      if (!holdsPair(word, a, b)) continue; // the index is lazy: an earlier merge may have taken it
      addPairs(w, -1);
      words[w] = mergePair(word, a, b, merged);
      addPairs(w, 1, touched);
    }
    pairWords.delete(top.key);
    pairCount.delete(top.key);
    // Only pairs with the new token are new or can have grown.
    for (const k of touched) {
      const left = Math.floor(k / MAX_TRAINED_VOCAB);
      if (left === merged || k - left * MAX_TRAINED_VOCAB === merged) heap.push(pairCount.get(k)!, k);
    }
  }
  return { tokens, merges };
}

function holdsPair(word: Int32Array, a: number, b: number): boolean {
  for (let i = 0; i + 1 < word.length; i++) if (word[i] === a && word[i + 1] === b) return true;
  return false;
}

/** `word` with every occurrence of (a, b), left to right and not overlapping, replaced by `merged`. */
function mergePair(word: Int32Array, a: number, b: number, merged: number): Int32Array {
  const out = new Int32Array(word.length);
  let n = 0;
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
      out[n++] = merged;
      i++;
    } else {
      out[n++] = word[i]!;
    }
  }
  return out.slice(0, n);
}

/** A max-heap of (count, pair key): the highest count first, ties to the smaller key (left id, then right id). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    let i = this.counts.length;
    this.counts.push(count);
    this.keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < this.counts.length && this.before(left, best)) best = left;
        if (right < this.counts.length && this.before(right, best)) best = right;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }

  private before(i: number, j: number): boolean {
    const { counts, keys } = this;
    return counts[i]! > counts[j]! || (counts[i] === counts[j] && keys[i]! < keys[j]!);
  }

  private swap(i: number, j: number): void {
    const { counts, keys } = this;
    [counts[i], counts[j]] = [counts[j]!, counts[i]!];
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
}
