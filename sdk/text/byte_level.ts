// GPT-2's byte-level alphabet: every byte 0..255 is written as one printable unicode character,
// so a token (a sequence of bytes) is a readable string in vocab.json and merges.txt.
//
// Bytes that are already printable (33..126 '!'..'~', 161..172 '¡'..'¬', 174..255 '®'..'ÿ') stand
// for themselves; the other 68 (controls, space, 127..160, the soft hyphen 173) are given the
// characters U+0100, U+0101, ... in byte order. So a space (32) is 'Ġ' (U+0120) and a newline
// (10) is 'Ċ' (U+010A), as in GPT-2's files (bytes_to_unicode in openai/gpt-2's encoder.py).
//
// Text -> bytes uses UTF-8. A JavaScript string may hold a lone surrogate (half of a UTF-16 pair),
// which is not a unicode character and has no UTF-8 form: TextEncoder (like Python's
// errors="replace") writes it as U+FFFD, so such a string comes back from decode with U+FFFD in
// place of each lone surrogate. Every well-formed string round-trips exactly.

/** BYTE_TO_CHAR[b]: the character that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** The byte each byte-level character stands for. */
const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((char, byte) => [char, byte]));

/**
 * The 256 bytes in GPT-2's vocabulary order (ids 0..255 of GPT-2 and of trained tokenizers):
 * sorted by the code point of their byte-level character, so '!' (33) is first and the space's
 * 'Ġ' comes after 'ÿ'.
 */
export const BYTES_IN_VOCAB_ORDER: readonly number[] = Array.from({ length: 256 }, (_, b) => b).sort(
  (a, b) => BYTE_TO_CHAR[a]!.codePointAt(0)! - BYTE_TO_CHAR[b]!.codePointAt(0)!,
);

function buildByteToChar(): string[] {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const table: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) table.push(String.fromCodePoint(printable(b) ? b : next++));
  return table;
}

/** Bytes -> their byte-level string ("hi there" -> "hiĠthere"). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]!]!;
  return out;
}

/** A byte-level string -> its bytes, or null when a character is not one of the 256. */
export function byteLevelToBytes(token: string): Uint8Array | null {
  const bytes = new Uint8Array(token.length); // every byte-level character is one UTF-16 unit
  let n = 0;
  for (const char of token) {
    const byte = CHAR_TO_BYTE.get(char);
    if (byte === undefined) return null;
    bytes[n++] = byte;
  }
  return bytes.subarray(0, n);
}

const encoder = new TextEncoder();
// ignoreBOM: keep a leading U+FEFF (by default TextDecoder swallows it, which would break the
// round trip of a text that starts with one). Malformed bytes (a token sequence cut inside a
// character) decode to U+FFFD, like Python's errors="replace".
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** UTF-8 bytes of `text`; each lone surrogate becomes U+FFFD (EF BF BD). */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The text of UTF-8 bytes; malformed sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** `text` with each lone surrogate replaced by U+FFFD: what decode(encode(text)) gives back. */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
