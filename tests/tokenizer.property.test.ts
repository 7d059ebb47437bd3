// Properties over arbitrary input (fast-check): the round trip on any Unicode string, special
// tokens, pre-tokenization covering the text, batch padding and masks, and the Hugging Face
// files giving back the same encodings.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { END_OF_TEXT, Tokenizer, padBatch, preTokenize, wellFormed } from '../sdk/text/index';
import { readGutenbergBook } from '../examples/data/gutenberg';

const RUNS = 1000;
const corpus = (await readGutenbergBook('carroll-alice')) + (await readGutenbergBook('shakespeare-caesar')).slice(0, 40_000) + ' naïve café déjà 東京 🎉 Ελληνικά русский';
const tok = Tokenizer.train(corpus, { vocabSize: 1024, specialTokens: [END_OF_TEXT, '<|pad|>'], padToken: '<|pad|>' });
const fromTokenizerJson = Tokenizer.fromHuggingFaceFiles({ 'tokenizer.json': tok.huggingFaceFiles()['tokenizer.json']!, 'tokenizer_config.json': tok.huggingFaceFiles()['tokenizer_config.json']! });
const { 'tokenizer.json': _, ...twoFileForm } = tok.huggingFaceFiles();
const fromVocabAndMerges = Tokenizer.fromHuggingFaceFiles(twoFileForm);

// Strings of arbitrary code points, of grapheme clusters, of raw UTF-16 code units (so lone
// surrogates too), and of pieces chosen to stress the pre-tokenizer.
const codePoints = fc.string({ unit: 'binary' });
const graphemes = fc.string({ unit: 'grapheme' });
const codeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)) });
const tricky = fc.string({ unit: fc.constantFrom(' ', '  ', '\n', '\t', '\r', '\u00a0', "'s", "'ll", "'", 'the', ' the', 'Alice', '1', '23', '.', '!?', 'é', '\u0301', '🎉', '\ufeff', '\u0000') });
const anyText = fc.oneof(codePoints, graphemes, codeUnits, tricky);

describe('round trip', () => {
  it(`decode(encode(s)) === s for well-formed strings, U+FFFD for lone surrogates (${RUNS} runs each)`, () => {
    for (const arbitrary of [codePoints, graphemes, codeUnits, tricky]) {
      fc.assert(
        fc.property(arbitrary, (text) => {
          const ids = tok.encode(text);
          expect(tok.decode(ids)).toBe(wellFormed(text));
          expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize && !tok.isSpecialId(id))).toBe(true);
        }),
        { numRuns: RUNS },
      );
    }
  });

  it('pre-tokens cover the text exactly, in order', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const words = preTokenize(text);
        expect(words.join('')).toBe(text);
        expect(words.every((w) => w.length > 0)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('encoding is the concatenation of the encodings of the pre-tokens', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        expect(tok.encode(text)).toEqual(preTokenize(text).flatMap((word) => tok.encode(word)));
      }),
      { numRuns: RUNS },
    );
  });

  it('special tokens: one id each when allowed, plain text otherwise; skipSpecialTokens drops them', () => {
    const specials = fc.constantFrom(END_OF_TEXT, '<|pad|>');
    fc.assert(
      fc.property(fc.array(fc.tuple(anyText, specials), { maxLength: 5 }), anyText, (parts, tail) => {
        const text = parts.map(([t, s]) => t + s).join('') + tail;
        const expected = [...parts.flatMap(([t, s]) => [...tok.encode(t), tok.tokenToId(s)!]), ...tok.encode(tail)];
        // Pieces may themselves end/start so that a special token forms across a boundary;
        // only compare when the pieces hold no '<|' or '|>' of their own.
        fc.pre(!/<\||\|>/.test(parts.map(([t]) => t).join('') + tail));
        const ids = tok.encode(text, { allowedSpecial: 'all' });
        expect(ids).toEqual(expected);
        expect(tok.decode(ids)).toBe(wellFormed(text));
        // each piece is encoded on its own, so a lone surrogate at its end stays a U+FFFD even
        // when the next piece (once the special token is dropped) starts with its other half
        expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(parts.map(([t]) => wellFormed(t)).join('') + wellFormed(tail));
        expect(tok.encode(text).some((id) => tok.isSpecialId(id))).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('Hugging Face files', () => {
  it('tokenizer.json and vocab.json + merges.txt both give back the same encodings', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const ids = tok.encode(text, { allowedSpecial: 'all' });
        expect(fromTokenizerJson.encode(text, { allowedSpecial: 'all' })).toEqual(ids);
        expect(fromVocabAndMerges.encode(text, { allowedSpecial: 'all' })).toEqual(ids);
        expect(fromVocabAndMerges.decode(ids)).toBe(tok.decode(ids));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('batches', () => {
  const rowArb = fc.array(fc.integer({ min: 0, max: 1023 }), { maxLength: 12 });
  const options = fc.record(
    {
      padding: fc.constantFrom('longest' as const, 'max_length' as const),
      paddingSide: fc.constantFrom('left' as const, 'right' as const),
      maxLength: fc.integer({ min: 0, max: 16 }),
      truncationSide: fc.constantFrom('left' as const, 'right' as const),
    },
    { requiredKeys: ['padding', 'maxLength'] },
  );

  it('every row keeps its (truncated) ids at its mask; padding holds the pad id; masks are contiguous on the chosen side', () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 6 }), options, fc.boolean(), (rows, opts, useMaxLength) => {
        const o = useMaxLength || opts.padding === 'max_length' ? opts : { ...opts, maxLength: undefined };
        const padId = 1023;
        const batch = padBatch(rows, padId, o);
        const kept = rows.map((row) => (o.maxLength === undefined || row.length <= o.maxLength ? row : o.truncationSide === 'left' ? row.slice(row.length - o.maxLength) : row.slice(0, o.maxLength)));
        const T = o.padding === 'max_length' ? o.maxLength! : Math.max(0, ...kept.map((r) => r.length));
        expect([batch.batchSize, batch.seqLength]).toEqual([rows.length, T]);
        expect(batch.inputIds.length).toBe(rows.length * T);
        kept.forEach((row, b) => {
          const ids = Array.from(batch.inputIds.subarray(b * T, (b + 1) * T));
          const mask = Array.from(batch.attentionMask.subarray(b * T, (b + 1) * T));
          expect(batch.lengths[b]).toBe(row.length);
          expect(ids.filter((_, t) => mask[t] === 1)).toEqual(row);
          expect(ids.filter((_, t) => mask[t] === 0).every((id) => id === padId)).toBe(true);
          const firstReal = (o.paddingSide ?? 'right') === 'left' ? T - row.length : 0;
          expect(mask).toEqual(Array.from({ length: T }, (_, t) => (t >= firstReal && t < firstReal + row.length ? 1 : 0)));
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('encodeBatch then decodeBatch (skipping special tokens) gives the texts back', () => {
    fc.assert(
      fc.property(fc.array(anyText, { maxLength: 5 }), fc.constantFrom('left' as const, 'right' as const), (texts, paddingSide) => {
        const batch = tok.encodeBatch(texts, { paddingSide });
        expect(tok.decodeBatch(batch, { skipSpecialTokens: true })).toEqual(texts.map(wellFormed));
      }),
      { numRuns: RUNS },
    );
  });
});
