// Oracle: NovaRL's BPE loaded with GPT-2's own vocabulary must tokenize exactly as GPT-2 does.
// GPT-2's ranks come from the gpt-tokenizer package (its r50k_base, GPT-2's vocabulary), its
// merges are recovered from the ranks (specFromRanks), and gpt-tokenizer's own encoder (tiktoken's
// algorithm, independent of ours: it merges by the rank of the merged bytes) is the reference.

import fc from 'fast-check';
import ranks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { encode as gpt2Encode } from 'gpt-tokenizer/encoding/r50k_base';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer, specFromRanks, wellFormed } from '../sdk/text/index';
import { GUTENBERG_BOOKS, readGutenbergBook } from '../examples/data/gutenberg';

let gpt2: Tokenizer;
const reference = (text: string): number[] => gpt2Encode(text, { disallowedSpecial: new Set() });
const compared = { texts: 0, ids: 0 };

function expectSameIds(text: string): void {
  const ours = gpt2.encode(text);
  const theirs = reference(text);
  if (ours.length !== theirs.length || ours.some((id, i) => id !== theirs[i])) {
    // Show the first word that differs, not two 100k-id arrays.
    const at = ours.findIndex((id, i) => id !== theirs[i]);
    expect({ text: text.slice(0, 200), at, ours: ours.slice(Math.max(0, at - 3), at + 5) }).toEqual({ text: text.slice(0, 200), at, ours: theirs.slice(Math.max(0, at - 3), at + 5) });
  }
  expect(gpt2.decode(ours)).toBe(wellFormed(text));
  compared.texts++;
  compared.ids += ours.length;
}

beforeAll(() => {
  const encoder = new TextEncoder();
  const bytes = (ranks as (string | number[])[]).map((token) => (typeof token === 'string' ? encoder.encode(token) : Uint8Array.from(token)));
  gpt2 = new Tokenizer({ ...specFromRanks(bytes, { '<|endoftext|>': 50256 }), eosToken: '<|endoftext|>', bosToken: '<|endoftext|>', unkToken: '<|endoftext|>' });
});

describe("GPT-2's vocabulary in NovaRL's BPE", () => {
  it('has GPT-2 shape: 50,257 ids, 50,000 merges, the first merges of GPT-2 merges.txt', () => {
    expect(gpt2.vocabSize).toBe(50257);
    const { merges } = gpt2.toSpec();
    expect(merges).toHaveLength(50000);
    // merges.txt of the gpt2 model on the Hugging Face hub starts "Ġ t", "Ġ a", "h e", "i n", "r e".
    expect(merges.slice(0, 5)).toEqual([['Ġ', 't'], ['Ġ', 'a'], ['h', 'e'], ['i', 'n'], ['r', 'e']]);
    expect(gpt2.tokenToId('Ġthe')).toBe(262);
    expect(gpt2.encode('Hello world')).toEqual([15496, 995]);
    expect(gpt2.encode('<|endoftext|>', { allowedSpecial: 'all' })).toEqual([50256]);
  });

  it('encodes slices of every Gutenberg book to the same ids', async () => {
    let i = 0;
    for (const book of GUTENBERG_BOOKS) {
      const text = await readGutenbergBook(book.name);
      // Three 8 kB slices per book at fixed places (start, middle, end), cut anywhere.
      for (const at of [0, 0.5, 0.97]) {
        const start = Math.floor(text.length * at) + (i++ % 7);
        expectSameIds(text.slice(start, start + 8000));
      }
    }
    expectSameIds(await readGutenbergBook('carroll-alice')); // and one whole book (144 kB)
  });

  it('encodes random Unicode, whitespace-heavy and contraction-heavy strings to the same ids', () => {
    const whitespace = fc.string({ unit: fc.constantFrom(' ', '  ', '\n', '\t', '\r\n', '\u00a0', '\u3000', 'a', 'Z', '1', '.', "'s", "'ll", "'S", 'é', '日本') });
    const arbitraries = [
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.string({ unit: 'binary-ascii', maxLength: 200 }),
      whitespace,
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 40 }), // lone surrogates included
    ];
    arbitraries.forEach((arbitrary, k) => {
      for (const text of fc.sample(arbitrary, { numRuns: 400, seed: 1234 + k })) expectSameIds(text);
    });
    for (const text of ['', ' ', '   ', '\n\n\n', 'a  b   c', "I'm here, you're there; they'll've", ' \u00a0x', 'x\u200b y', '🎉🎉 🎉', '\ufeffBOM']) expectSameIds(text);
  });

  it("round-trips through Hugging Face files shaped like GPT-2's own (50,257-entry vocab.json, 50,000 merges)", () => {
    const files = gpt2.huggingFaceFiles();
    expect(Object.keys(JSON.parse(files['vocab.json']!))).toHaveLength(50257);
    expect(files['merges.txt']!.split('\n')).toHaveLength(1 + 50000 + 1);
    const { 'tokenizer.json': _, ...twoFiles } = files;
    for (const read of [Tokenizer.fromHuggingFaceFiles({ 'tokenizer.json': files['tokenizer.json']! }), Tokenizer.fromHuggingFaceFiles(twoFiles)]) {
      expect(read.vocabSize).toBe(50257);
      expect(read.eosTokenId).toBe(50256);
      for (const text of ['Hello world', "It's 2024 — naïve café 東京 🎉\n\n  indented"]) {
        expect(read.encode(text)).toEqual(reference(text));
      }
    }
  });

  it('compared enough', () => {
    // Printed for the report: how much the oracle covered.
    console.log(`GPT-2 oracle: ${compared.texts} texts, ${compared.ids} ids compared`);
    expect(compared.texts).toBeGreaterThan(2000);
    expect(compared.ids).toBeGreaterThan(100_000);
  });
});
