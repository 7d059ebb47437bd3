// The tokenizer's parts: the byte-level alphabet, GPT-2's pre-tokenizer, merge training (against
// a from-scratch reference), special tokens, decode, batches, and typed errors.

import { describe, expect, it } from 'vitest';
import { ValueError } from '../sdk/core/errors';
import { BYTE_TO_CHAR, BYTES_IN_VOCAB_ORDER, END_OF_TEXT, Tokenizer, preTokenize, trainBpe, wellFormed } from '../sdk/text/index';
import { readGutenbergBook } from '../examples/data/gutenberg';

const SAMPLE = `It was the best of times, it was the worst of times; it was the age of wisdom, it was the age
of foolishness. I'm sure you're right, they'll say: we've 1,234 reasons! Don't   shout...
  Indented line\twith a tab, "quotes", and naïve café déjà vu — 東京 and emoji 🎉🎉.`;

const tiny = Tokenizer.train(SAMPLE.repeat(3), { vocabSize: 400 });

describe('byte-level alphabet', () => {
  it("is GPT-2's bytes_to_unicode table", () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[65]).toBe('A');
    expect(BYTE_TO_CHAR[32]).toBe('Ġ'); // U+0120
    expect(BYTE_TO_CHAR[10]).toBe('Ċ'); // U+010A
    expect(BYTE_TO_CHAR[0]).toBe('\u0100');
    expect(BYTE_TO_CHAR[173]).toBe('\u0143'); // soft hyphen: the last byte moved, 256 + 67
    for (const char of BYTE_TO_CHAR) expect(char.length).toBe(1);
    // GPT-2's encoder.json: ids 0..93 are '!'..'~', id 188 is byte 0, id 220 is the space.
    expect(BYTES_IN_VOCAB_ORDER.slice(0, 94)).toEqual(Array.from({ length: 94 }, (_, i) => 33 + i));
    expect(BYTES_IN_VOCAB_ORDER[188]).toBe(0);
    expect(BYTES_IN_VOCAB_ORDER[220]).toBe(32);
  });
});

describe("GPT-2's pre-tokenizer", () => {
  it('splits words with their leading space, contractions, digits, punctuation and space runs', () => {
    expect(preTokenize("Hello world's  end\n")).toEqual(['Hello', ' world', "'s", ' ', ' end', '\n']);
    expect(preTokenize("I'm 12 o'clock!!")).toEqual(['I', "'m", ' 12', ' o', "'", 'clock', '!!']); // "'c" is no contraction
    expect(preTokenize('a \n\n b')).toEqual(['a', ' \n\n', ' b']);
    expect(preTokenize('   ')).toEqual(['   ']);
    expect(preTokenize('')).toEqual([]);
  });
});

// A from-scratch trainer: recount every pair of every word at every step. Slow and obviously
// right; trainBpe's incremental counts must reproduce it merge for merge.
function referenceTrain(text: string, numMerges: number): [string, string][] {
  const counts = new Map<string, number>();
  for (const word of preTokenize(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  const idOfByte = new Map(BYTES_IN_VOCAB_ORDER.map((byte, id) => [byte, id]));
  const tokens = BYTES_IN_VOCAB_ORDER.map((byte) => BYTE_TO_CHAR[byte]!);
  let words = [...counts].map(([word, count]) => ({ ids: [...new TextEncoder().encode(word)].map((b) => idOfByte.get(b)!), count }));
  const merges: [string, string][] = [];
  while (merges.length < numMerges) {
    const pairs = new Map<string, { a: number; b: number; count: number }>();
    for (const { ids, count } of words) {
      for (let i = 0; i + 1 < ids.length; i++) {
        const k = `${ids[i]},${ids[i + 1]}`;
        const entry = pairs.get(k) ?? { a: ids[i]!, b: ids[i + 1]!, count: 0 };
        entry.count += count;
        pairs.set(k, entry);
      }
    }
    let best: { a: number; b: number; count: number } | undefined;
    for (const p of pairs.values()) {
      if (!best || p.count > best.count || (p.count === best.count && (p.a < best.a || (p.a === best.a && p.b < best.b)))) best = p;
    }
    if (!best || best.count < 2) break;
    const merged = tokens.length;
    tokens.push(tokens[best.a]! + tokens[best.b]!);
    merges.push([tokens[best.a]!, tokens[best.b]!]);
    words = words.map(({ ids, count }) => {
      const out: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (ids[i] === best!.a && ids[i + 1] === best!.b) {
          out.push(merged);
          i++;
        } else out.push(ids[i]!);
      }
      return { ids: out, count };
    });
  }
  return merges;
}

describe('training', () => {
  it('makes the same merges as a from-scratch recount, tie rule included', async () => {
    const text = (await readGutenbergBook('blake-poems')).slice(0, 20_000);
    const expected = referenceTrain(text, 300);
    expect(expected).toHaveLength(300);
    expect(trainBpe(text, { numMerges: 300 }).merges).toEqual(expected);
  });

  it('is independent of the order of the corpus texts', async () => {
    const a = (await readGutenbergBook('carroll-alice')).slice(0, 50_000);
    const b = (await readGutenbergBook('shakespeare-macbeth')).slice(0, 50_000);
    expect(trainBpe([a, b], { numMerges: 500 }).merges).toEqual(trainBpe([b, a], { numMerges: 500 }).merges);
  });

  it('gives exactly vocabSize ids: bytes, merges, then special tokens', () => {
    const tok = Tokenizer.train(SAMPLE.repeat(20), { vocabSize: 300, specialTokens: [END_OF_TEXT, '<|pad|>'], padToken: '<|pad|>' });
    expect(tok.vocabSize).toBe(300);
    expect(tok.eosTokenId).toBe(298);
    expect(tok.padTokenId).toBe(299);
    expect(tok.bosToken).toBe(END_OF_TEXT); // GPT-2's bos and unk are its eos
    expect(tok.unkToken).toBe(END_OF_TEXT);
    expect(tok.toSpec().merges).toHaveLength(300 - 256 - 2);
    for (let id = 0; id < 256; id++) expect(tok.idToToken(id)).toBe(BYTE_TO_CHAR[BYTES_IN_VOCAB_ORDER[id]!]);
  });

  it('stops early when no pair is seen minFrequency times', () => {
    const tok = Tokenizer.train('abcd', { vocabSize: 1000 });
    expect(tok.vocabSize).toBe(257); // no pair repeats: 256 bytes + <|endoftext|>
    expect(Tokenizer.train('abcd', { vocabSize: 1000, minFrequency: 1 }).vocabSize).toBe(257 + 3);
  });

  it('never merges across a special token', () => {
    const tok = Tokenizer.train('hello<|endoftext|>'.repeat(200), { vocabSize: 400 });
    for (const [a, b] of tok.toSpec().merges) expect(a + b).not.toMatch(/[<|>]/);
    expect(tok.encode('hello<|endoftext|>', { allowedSpecial: 'all' })).toEqual([tok.tokenToId('hello'), tok.eosTokenId]);
  });

  it('trains 1 MB at vocabulary 2048 in seconds', async () => {
    const text = (await readGutenbergBook('melville-moby_dick')).slice(0, 1_000_000);
    const start = performance.now();
    const tok = Tokenizer.train(text, { vocabSize: 2048 });
    const seconds = (performance.now() - start) / 1000;
    const ids = tok.encode(text);
    console.log(`train 1 MB (Moby Dick), vocab 2048: ${seconds.toFixed(2)} s; ${ids.length} tokens, ${(text.length / ids.length).toFixed(2)} chars/token`);
    expect(tok.vocabSize).toBe(2048);
    expect(tok.decode(ids)).toBe(text);
    expect(seconds).toBeLessThan(30); // ~1 s here; generous for a loaded machine
  });

  it('refuses bad options with a ValueError', () => {
    expect(() => Tokenizer.train('x', { vocabSize: 100 })).toThrow(ValueError);
    expect(() => Tokenizer.train('x', { vocabSize: 1.5e3 + 0.5 })).toThrow(ValueError);
    expect(() => Tokenizer.train('x', { vocabSize: 300, specialTokens: ['<a>', '<a>'] })).toThrow(ValueError);
    expect(() => Tokenizer.train('x', { vocabSize: 300, minFrequency: 0 })).toThrow(ValueError);
    expect(() => Tokenizer.train([1 as unknown as string], { vocabSize: 300 })).toThrow(ValueError);
  });
});

describe('encode and decode', () => {
  it('round-trips text, including a leading BOM, empty text and a long run of spaces', () => {
    for (const text of [SAMPLE, '', '\ufeffstarts with a BOM', ' '.repeat(200_000), 'x\u0000y\u007f\r\n']) expect(tiny.decode(tiny.encode(text))).toBe(text);
  });

  it('replaces lone surrogates with U+FFFD (they have no UTF-8 form)', () => {
    const text = 'a\ud800b\udc00c\ud83d';
    expect(tiny.encode(text)).toEqual(tiny.encode('a\ufffdb\ufffdc\ufffd'));
    expect(tiny.decode(tiny.encode(text))).toBe('a\ufffdb\ufffdc\ufffd');
    expect(wellFormed(text)).toBe('a\ufffdb\ufffdc\ufffd');
    expect(wellFormed('🎉')).toBe('🎉');
  });

  it('decodes ids that cut a character in half to U+FFFD', () => {
    const bytesOfYen = [...new TextEncoder().encode('¥')].map((byte) => tiny.tokenToId(BYTE_TO_CHAR[byte]!)!);
    expect(tiny.decode([bytesOfYen[0]!])).toBe('\ufffd');
    expect(tiny.decode(bytesOfYen)).toBe('¥');
  });

  it('treats special-token text as plain text unless allowedSpecial says otherwise', () => {
    const text = 'one<|endoftext|>two';
    const plain = tiny.encode(text);
    expect(plain).not.toContain(tiny.eosTokenId);
    expect(tiny.decode(plain)).toBe(text);
    const special = tiny.encode(text, { allowedSpecial: 'all' });
    expect(special.filter((id) => id === tiny.eosTokenId)).toHaveLength(1);
    expect(special).toEqual([...tiny.encode('one'), tiny.eosTokenId, ...tiny.encode('two')]);
    expect(tiny.encode(text, { allowedSpecial: [END_OF_TEXT] })).toEqual(special);
    expect(tiny.decode(special)).toBe(text);
    expect(tiny.decode(special, { skipSpecialTokens: true })).toBe('onetwo');
    expect(tiny.isSpecialId(tiny.eosTokenId!)).toBe(true);
    expect(tiny.isSpecialId(tiny.encode('one')[0]!)).toBe(false);
  });

  it('matches the longest special token where two start at one place', () => {
    const tok = Tokenizer.train(SAMPLE, { vocabSize: 300, specialTokens: ['<|end|>', '<|end|>more'] });
    const ids = tok.encode('a<|end|>more<|end|>', { allowedSpecial: 'all' });
    expect(ids.slice(-2)).toEqual([tok.tokenToId('<|end|>more'), tok.tokenToId('<|end|>')]);
  });

  it('refuses bad input with a ValueError', () => {
    expect(() => tiny.encode(42 as unknown as string)).toThrow(ValueError);
    expect(() => tiny.encode('x', { allowedSpecial: ['<|pad|>'] })).toThrow(/not a special token/);
    expect(() => tiny.encode('x', { allowedSpecial: 'some' as unknown as 'all' })).toThrow(ValueError);
    expect(() => tiny.decode([tiny.vocabSize])).toThrow(ValueError);
    expect(() => tiny.decode([-1])).toThrow(ValueError);
    expect(() => tiny.decode([0.5])).toThrow(ValueError);
  });
});

describe('batches', () => {
  const tok = tiny.withPadToken(END_OF_TEXT); // eos as pad, as Hugging Face users do with GPT-2
  const texts = ['Hello there', 'a', 'It was the best of times, it was the worst of times'];
  const rows = texts.map((text) => tok.encode(text));

  it('pads on the right with an attention mask by default', () => {
    expect(tok.vocabSize).toBe(tiny.vocabSize);
    const batch = tok.encodeBatch(texts);
    const T = Math.max(...rows.map((r) => r.length));
    expect([batch.batchSize, batch.seqLength]).toEqual([3, T]);
    expect(Array.from(batch.lengths)).toEqual(rows.map((r) => r.length));
    rows.forEach((row, b) => {
      const ids = Array.from(batch.inputIds.subarray(b * T, (b + 1) * T));
      const mask = Array.from(batch.attentionMask.subarray(b * T, (b + 1) * T));
      expect(ids).toEqual([...row, ...new Array<number>(T - row.length).fill(tok.padTokenId!)]);
      expect(mask).toEqual([...new Array<number>(row.length).fill(1), ...new Array<number>(T - row.length).fill(0)]);
    });
    expect(tok.decodeBatch(batch)).toEqual(texts);
  });

  it('pads on the left for generation prompts', () => {
    const batch = tok.encodeBatch(texts, { paddingSide: 'left', padding: 'max_length', maxLength: 20 });
    expect(batch.seqLength).toBe(20);
    rows.forEach((row, b) => {
      const ids = Array.from(batch.inputIds.subarray(b * 20, (b + 1) * 20));
      expect(ids.slice(20 - row.length)).toEqual(row);
      expect(Array.from(batch.attentionMask.subarray(b * 20, (b + 1) * 20))).toEqual([...new Array<number>(20 - row.length).fill(0), ...new Array<number>(row.length).fill(1)]);
    });
  });

  it('truncates to maxLength from the right or the left', () => {
    const long = rows[2]!;
    const right = tok.encodeBatch([texts[2]!], { maxLength: 4 });
    expect(Array.from(right.inputIds)).toEqual(long.slice(0, 4));
    const left = tok.encodeBatch([texts[2]!], { maxLength: 4, truncationSide: 'left' });
    expect(Array.from(left.inputIds)).toEqual(long.slice(-4));
    expect(() => tok.encodeBatch([texts[2]!], { maxLength: 4, truncation: false })).toThrow(ValueError);
  });

  it('a new pad token gets the next id; without one, batching is refused', () => {
    const padded = tiny.withPadToken('<|pad|>');
    expect(padded.vocabSize).toBe(tiny.vocabSize + 1);
    expect(padded.padTokenId).toBe(tiny.vocabSize);
    expect(padded.encode('<|pad|>', { allowedSpecial: 'all' })).toEqual([tiny.vocabSize]);
    expect(padded.decode([...padded.encode('hi'), padded.padTokenId!], { skipSpecialTokens: true })).toBe('hi');
    expect(() => tiny.encodeBatch(['a', 'bb'])).toThrow(/no pad token/);
    expect(() => tiny.withPadToken('a')).toThrow(ValueError); // an ordinary BPE token
    expect(() => tok.encodeBatch(['a'], { padding: 'max_length' })).toThrow(/needs maxLength/);
    expect(() => tok.encodeBatch(['a'], { maxLength: -1 })).toThrow(ValueError);
  });
});
