// Hugging Face tokenizer files: what is written (the fields transformers and tokenizers read),
// what is read back (both merge forms, tokenizer.json or vocab.json + merges.txt), save/load on
// disk, and typed errors for malformed files.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenizerError } from '../sdk/core/errors';
import { END_OF_TEXT, Tokenizer } from '../sdk/text/index';
import { readGutenbergBook } from '../examples/data/gutenberg';

const corpus = await readGutenbergBook('carroll-alice');
const tok = Tokenizer.train(corpus, { vocabSize: 600, specialTokens: [END_OF_TEXT, '<|pad|>'], padToken: '<|pad|>', modelMaxLength: 256 });
const probes = [corpus.slice(1000, 3000), "Hello, world! It's 2024 — naïve café 東京 🎉\n\n  x", '<|endoftext|> as text', ''];
const files = tok.huggingFaceFiles();
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function sameEncodings(a: Tokenizer, b: Tokenizer): void {
  expect(b.vocabSize).toBe(a.vocabSize);
  for (const text of probes) {
    expect(b.encode(text)).toEqual(a.encode(text));
    expect(b.encode(text, { allowedSpecial: 'all' })).toEqual(a.encode(text, { allowedSpecial: 'all' }));
  }
  expect([b.eosTokenId, b.bosTokenId, b.padTokenId, b.unkToken, b.modelMaxLength]).toEqual([a.eosTokenId, a.bosTokenId, a.padTokenId, a.unkToken, a.modelMaxLength]);
}

describe('written files', () => {
  it('are the five files GPT2TokenizerFast reads', () => {
    expect(Object.keys(files).sort()).toEqual(['merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
  });

  it("tokenizer.json has GPT-2's layout: BPE model, ByteLevel pre-tokenizer/post-processor/decoder, special added tokens", () => {
    const json = JSON.parse(files['tokenizer.json']!);
    expect(json.version).toBe('1.0');
    expect(json.normalizer).toBeNull();
    expect(json.pre_tokenizer).toEqual({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
    expect(json.post_processor).toEqual({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true });
    expect(json.decoder).toEqual({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true });
    expect(json.model).toMatchObject({ type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false });
    expect(Object.keys(json.model.vocab)).toHaveLength(600); // special tokens included, as in GPT-2's
    expect(json.model.vocab[END_OF_TEXT]).toBe(598);
    expect(json.model.vocab['Ġ']).toBe(220);
    expect(json.model.merges).toHaveLength(600 - 256 - 2);
    for (const merge of json.model.merges) expect(merge).toMatch(/^[^ ]+ [^ ]+$/); // "left right" strings
    expect(json.added_tokens).toEqual([
      { id: 598, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 599, content: '<|pad|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ]);
    // The vocabulary is written one token a line in id order (JSON.parse would put "0".."9" first).
    const vocabText = files['tokenizer.json']!.split('"vocab": {\n')[1]!.split('\n    }')[0]!;
    const ids = vocabText.split('\n').map((line) => Number(/: (\d+),?$/.exec(line)![1]));
    expect(ids).toEqual(Array.from({ length: 600 }, (_, i) => i));
  });

  it('vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json', () => {
    const vocab = JSON.parse(files['vocab.json']!);
    expect(vocab).toEqual(JSON.parse(files['tokenizer.json']!).model.vocab);
    const lines = files['merges.txt']!.split('\n');
    expect(lines[0]).toBe('#version: 0.2');
    expect(lines.slice(1, -1)).toEqual(JSON.parse(files['tokenizer.json']!).model.merges);
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(files['tokenizer_config.json']!)).toMatchObject({
      tokenizer_class: 'GPT2Tokenizer',
      model_max_length: 256,
      bos_token: END_OF_TEXT,
      eos_token: END_OF_TEXT,
      unk_token: END_OF_TEXT,
      pad_token: '<|pad|>',
      add_prefix_space: false,
      add_bos_token: false,
      clean_up_tokenization_spaces: false,
      errors: 'replace',
      added_tokens_decoder: { '598': { content: END_OF_TEXT, special: true }, '599': { content: '<|pad|>', special: true } },
    });
    expect(JSON.parse(files['special_tokens_map.json']!)).toEqual({ bos_token: END_OF_TEXT, eos_token: END_OF_TEXT, unk_token: END_OF_TEXT, pad_token: '<|pad|>' });
    // Without a pad token, tokenizer_config.json says pad_token null and the map leaves it out.
    const noPad = Tokenizer.train(corpus.slice(0, 5000), { vocabSize: 300 }).huggingFaceFiles();
    expect(JSON.parse(noPad['tokenizer_config.json']!).pad_token).toBeNull();
    expect(JSON.parse(noPad['special_tokens_map.json']!)).not.toHaveProperty('pad_token');
  });
});

describe('reading', () => {
  it('tokenizer.json (with the configs) gives back the same tokenizer', () => {
    sameEncodings(tok, Tokenizer.fromHuggingFaceFiles(files));
    expect(Tokenizer.fromHuggingFaceFiles(files).huggingFaceFiles()).toEqual(files);
  });

  it('reads merges written as [left, right] pairs (newer tokenizers versions)', () => {
    const json = JSON.parse(files['tokenizer.json']!);
    json.model.merges = json.model.merges.map((merge: string) => merge.split(' '));
    sameEncodings(tok, Tokenizer.fromHuggingFaceFiles({ ...files, 'tokenizer.json': JSON.stringify(json) }));
  });

  it('vocab.json + merges.txt (no tokenizer.json)', () => {
    const { 'tokenizer.json': _, ...rest } = files;
    sameEncodings(tok, Tokenizer.fromHuggingFaceFiles(rest));
  });

  it("with no config files, GPT-2's defaults: <|endoftext|> is bos, eos and unk", () => {
    const plain = Tokenizer.train(corpus.slice(0, 20_000), { vocabSize: 400 });
    const all = plain.huggingFaceFiles();
    const subsets: Record<string, string>[] = [{ 'tokenizer.json': all['tokenizer.json']! }, { 'vocab.json': all['vocab.json']!, 'merges.txt': all['merges.txt']! }];
    for (const subset of subsets) {
      const read = Tokenizer.fromHuggingFaceFiles(subset);
      expect([read.eosToken, read.bosToken, read.unkToken, read.padToken]).toEqual([END_OF_TEXT, END_OF_TEXT, END_OF_TEXT, undefined]);
      expect(read.modelMaxLength).toBe(1024);
      expect(read.encode(probes[1]!)).toEqual(plain.encode(probes[1]!));
    }
  });

  it('reads role tokens given as AddedToken objects, and ignores transformers\' "no limit" length', () => {
    const config = JSON.parse(files['tokenizer_config.json']!);
    config.eos_token = { __type: 'AddedToken', content: END_OF_TEXT, lstrip: false, rstrip: false, normalized: true, single_word: false };
    config.model_max_length = 1e30;
    const read = Tokenizer.fromHuggingFaceFiles({ ...files, 'tokenizer_config.json': JSON.stringify(config) });
    expect(read.eosTokenId).toBe(598);
    expect(read.modelMaxLength).toBe(1024);
  });

  it('refuses malformed or unsupported files with a TokenizerError naming the file', () => {
    const json = JSON.parse(files['tokenizer.json']!);
    const variant = (edit: (j: typeof json) => void): Record<string, string> => {
      const copy = structuredClone(json);
      edit(copy);
      return { 'tokenizer.json': JSON.stringify(copy) };
    };
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'tokenizer.json': '{"model": ' }, /tokenizer\.json: not valid JSON/],
      [{}, /need tokenizer\.json, or vocab\.json and merges\.txt/],
      [{ 'vocab.json': files['vocab.json']! }, /need tokenizer\.json/],
      [variant((j) => (j.model.type = 'WordPiece')), /model type "WordPiece" is not supported/],
      [variant((j) => (j.pre_tokenizer = { type: 'Metaspace' })), /pre_tokenizer must be ByteLevel/],
      [variant((j) => (j.pre_tokenizer.add_prefix_space = true)), /add_prefix_space = true is not supported/],
      [variant((j) => (j.normalizer = { type: 'NFC' })), /normalizer is not supported/],
      [variant((j) => (j.model.merges[3] = 'Ġ nosuchtoken')), /merge 3 .* 'nosuchtoken', which is not in the vocabulary/],
      [variant((j) => (j.model.merges[3] = 'three parts here')), /merge 3 must be two tokens/],
      [variant((j) => ((j.model.vocab['\u2603'] = j.model.vocab['A']), delete j.model.vocab['A'])), /lacks the token for byte 65/],
      [variant((j) => (j.model.vocab['A'] = 5)), /id 5 is given to both/],
      [variant((j) => (j.model.vocab['A'] = 10_000)), /ids must be the integers 0 \.\. /],
      [variant((j) => (j.model.vocab['A'] = 'x')), /not a non-negative integer/],
      [variant((j) => j.added_tokens.push({ id: 600, content: '<x>', special: false })), /only special added tokens are supported/],
      [{ ...files, 'tokenizer_config.json': '[1]' }, /tokenizer_config\.json: expected a JSON object/],
      [{ ...files, 'tokenizer_config.json': JSON.stringify({ eos_token: '<|nope|>' }) }, /eosToken '<\|nope\|>' is not one of the special tokens/],
      [{ 'vocab.json': files['vocab.json']!, 'merges.txt': '#version: 0.2\nĠ\n' }, /merges\.txt: merge 0 must be two tokens/],
    ];
    for (const [input, message] of cases) {
      expect(() => Tokenizer.fromHuggingFaceFiles(input)).toThrow(TokenizerError);
      expect(() => Tokenizer.fromHuggingFaceFiles(input)).toThrow(message);
    }
  });
});

describe('save and load', () => {
  it('writes the files into a directory atomically and reads them back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'novarl-tokenizer-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'tokenizer.json'), 'stale content from an older save');
    await tok.save(join(dir, 'nested'));
    await tok.save(dir); // replaces the stale file
    expect(readdirSync(dir).sort()).toEqual(['merges.txt', 'nested', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
    expect(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).toBe(files['tokenizer.json']);
    sameEncodings(tok, await Tokenizer.load(dir));
    sameEncodings(tok, await Tokenizer.load(join(dir, 'nested')));
  });

  it('refuses a directory without tokenizer files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'novarl-tokenizer-'));
    dirs.push(dir);
    await expect(Tokenizer.load(dir)).rejects.toThrow(TokenizerError);
    await expect(Tokenizer.load(join(dir, 'missing'))).rejects.toThrow(/no tokenizer files/);
  });
});
