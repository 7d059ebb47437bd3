// Pre-tokenisation: text is cut into words before BPE, and no merge crosses a word boundary.
// GPT-2's pattern keeps a leading space with the word after it (" world"), splits off English
// contractions, and keeps runs of letters, of digits and of other symbols apart. `\s+(?!\S)` takes
// a run of spaces except its last one, which then joins the next word.

/** GPT-2's pre-tokenisation pattern (openai/gpt-2's encoder.py; the Hugging Face ByteLevel pre-tokenizer's). */
export const GPT2_SPLIT_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

const GPT2_SPLIT = new RegExp(GPT2_SPLIT_PATTERN, 'gu');

/**
 * The pre-tokens of `text`, in order; their concatenation is `text` (the pattern's last
 * alternatives match any character, so nothing is skipped).
 */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_SPLIT) ?? [];
}

/** A piece of text between special tokens (special false), or one special token (special true). */
export interface TextPiece {
  text: string;
  special: boolean;
}

/** Matchers by token list, so encoding many texts builds each one once. */
const specialMatchers = new Map<string, RegExp>();

/**
 * Cuts `text` at every occurrence of the given special tokens. Where two could match at one place
 * the longer wins ("<|endoftext|>" over "<|end"), as in Hugging Face's added-token matcher.
 */
export function splitOnSpecialTokens(text: string, specials: readonly string[]): TextPiece[] {
  if (specials.length === 0 || text.length === 0) return text.length === 0 ? [] : [{ text, special: false }];
  const source = [...specials].sort((a, b) => b.length - a.length || (a < b ? -1 : 1)).map(escapeRegExp).join('|');
  let pattern = specialMatchers.get(source);
  if (pattern === undefined) {
    if (specialMatchers.size >= 64) specialMatchers.clear();
    specialMatchers.set(source, (pattern = new RegExp(source, 'g')));
  }
  const pieces: TextPiece[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) pieces.push({ text: text.slice(last, match.index), special: false });
    pieces.push({ text: match[0], special: true });
    last = match.index + match[0].length;
  }
  if (last < text.length) pieces.push({ text: text.slice(last), special: false });
  return pieces;
}

function escapeRegExp(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
