// Merges from ranks: tiktoken-style files (GPT-2's r50k_base among them) list only each token's
// bytes, id = rank, with no merges. A token's merge is recovered by BPE-ing its own bytes with
// the tokens of lower rank only: what is left is two tokens, and those are the pair that made it.

import { ValueError } from '../core/errors';
import { bytesToByteLevel } from './byte_level';
import type { TokenizerSpec } from './tokenizer';

/**
 * The spec of a byte-level BPE given every token's bytes in rank order (id = rank); the first 256
 * must be the 256 single bytes in some order. `specialTokens` get the ids given.
 */
export function specFromRanks(tokenBytes: readonly Uint8Array[], specialTokens: Readonly<Record<string, number>> = {}): TokenizerSpec {
  const rankOf = new Map<string, number>();
  const names = tokenBytes.map((bytes) => bytesToByteLevel(bytes));
  names.forEach((name, rank) => {
    if (rankOf.has(name)) throw new ValueError(`specFromRanks: tokens ${rankOf.get(name)} and ${rank} have the same bytes`);
    rankOf.set(name, rank);
  });
  const merges: [string, string][] = [];
  names.forEach((name, rank) => {
    if (tokenBytes[rank]!.length === 1) return;
    if (rank < 256) throw new ValueError(`specFromRanks: token ${rank} has ${tokenBytes[rank]!.length} bytes; ranks 0..255 must be single bytes`);
    // Byte-level characters are one UTF-16 unit each, so name[i] is byte i's character.
    const parts = [...name];
    while (parts.length > 2) {
      let best = -1;
      let bestRank = rank;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rankOf.get(parts[i]! + parts[i + 1]!);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) throw new ValueError(`specFromRanks: token ${rank} ('${name}') cannot be built from tokens of lower rank`);
      parts.splice(best, 2, parts[best]! + parts[best + 1]!);
    }
    merges.push([parts[0]!, parts[1]!]);
  });
  return {
    vocab: Object.fromEntries(names.map((name, rank) => [name, rank])),
    merges,
    specialTokens: { ...specialTokens },
  };
}
