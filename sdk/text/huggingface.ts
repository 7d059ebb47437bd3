// Hugging Face's tokenizer files, written and read as text.
//
//   tokenizer.json           the `tokenizers` library's file (what GPT2TokenizerFast and vLLM load):
//                            a BPE model with vocab and merges, GPT-2's ByteLevel pre-tokenizer,
//                            post-processor and decoder, and added_tokens for the special tokens.
//   vocab.json, merges.txt   the same vocabulary and merges in the older two-file form
//                            (merges.txt starts with `#version: 0.2`, then one "left right" a line).
//   tokenizer_config.json    tokenizer_class GPT2Tokenizer, model_max_length, bos/eos/unk/pad.
//   special_tokens_map.json  bos/eos/unk/pad.
//
// Merges in tokenizer.json are written as "left right" strings, the form every version of
// `tokenizers` reads (newer versions write [left, right] pairs; both are read here). A
// byte-level token never holds a real space (the space byte is 'Ġ'), so the string form is
// unambiguous.

import { TokenizerError } from '../core/errors';
import { BYTE_TO_CHAR } from './byte_level';
import type { TokenizerSpec } from './spec';

export const HF_FILE_NAMES = ['tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

const ROLES = [
  ['bosToken', 'bos_token'],
  ['eosToken', 'eos_token'],
  ['unkToken', 'unk_token'],
  ['padToken', 'pad_token'],
] as const;

/** Every Hugging Face file for `spec`, name -> text. */
export function toHuggingFaceFiles(spec: TokenizerSpec): Record<string, string> {
  const special = Object.entries(spec.specialTokens ?? {}).sort((a, b) => a[1] - b[1]);
  // vocab.json and the model's vocab hold every token, special ones included, as GPT-2's do.
  const everyToken = [...Object.entries(spec.vocab), ...special.filter(([token]) => !Object.hasOwn(spec.vocab, token))].sort((a, b) => a[1] - b[1]);
  const vocabJson = (indent: string): string => `{\n${everyToken.map(([token, id]) => `${indent}  ${JSON.stringify(token)}: ${id}`).join(',\n')}\n${indent}}`;
  const addedToken = (content: string): Record<string, unknown> => ({ content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean): Record<string, unknown> => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true });

  const head = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map(([content, id]) => ({ id, ...addedToken(content) })),
    normalizer: null,
    // As in GPT-2's tokenizer.json: only the pre-tokenizer's settings change the ids.
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
  };
  const model = { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false };
  const headText = JSON.stringify(head, null, 2).slice(0, -2); // without the closing "\n}"
  const modelText = JSON.stringify(model, null, 2).slice(0, -2).replace(/\n/g, '\n  ');
  const mergeLines = spec.merges.map(([a, b]) => `      ${JSON.stringify(`${a} ${b}`)}`).join(',\n');
  const tokenizerJson = `${headText},\n  "model": ${modelText},\n    "vocab": ${vocabJson('    ')},\n    "merges": [\n${mergeLines}\n    ]\n  }\n}\n`;

  const roles: Record<string, string | null> = {};
  for (const [key, hfKey] of ROLES) roles[hfKey] = spec[key] ?? null;
  const config = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(special.map(([content, id]) => [String(id), addedToken(content)])),
    bos_token: roles.bos_token,
    // false: transformers' clean-up ("a ." -> "a.") would break decode(encode(text)) === text.
    clean_up_tokenization_spaces: false,
    eos_token: roles.eos_token,
    errors: 'replace',
    model_max_length: spec.modelMaxLength ?? 1024,
    pad_token: roles.pad_token,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: roles.unk_token,
  };
  const specialTokensMap = Object.fromEntries(Object.entries(roles).filter(([, token]) => token !== null));
  return {
    'tokenizer.json': tokenizerJson,
    'vocab.json': `${vocabJson('')}\n`,
    'merges.txt': `#version: 0.2\n${spec.merges.map(([a, b]) => `${a} ${b}\n`).join('')}`,
    'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n`,
    'special_tokens_map.json': `${JSON.stringify(specialTokensMap, null, 2)}\n`,
  };
}

/** The spec in Hugging Face files (tokenizer.json preferred, else vocab.json + merges.txt), and the file it came from. */
export function parseHuggingFaceFiles(files: Readonly<Record<string, string>>): { spec: TokenizerSpec; file: string } {
  if (typeof files !== 'object' || files === null) throw new TokenizerError('expected an object of file name -> text');
  const text = (name: string): string | undefined => {
    const value = Object.hasOwn(files, name) ? files[name] : undefined;
    if (value !== undefined && typeof value !== 'string') throw new TokenizerError(`expected text, got ${typeof value}`, name);
    return value;
  };
  const config = optionalJsonObject(text('tokenizer_config.json'), 'tokenizer_config.json');
  const specialMap = optionalJsonObject(text('special_tokens_map.json'), 'special_tokens_map.json');

  let vocab: Record<string, number>;
  let merges: [string, string][];
  const specialTokens: Record<string, number> = {};
  let file: string;
  const tokenizerJson = text('tokenizer.json');
  if (tokenizerJson !== undefined) {
    file = 'tokenizer.json';
    ({ vocab, merges } = readTokenizerJson(tokenizerJson, specialTokens));
  } else {
    const vocabText = text('vocab.json');
    const mergesText = text('merges.txt');
    if (vocabText === undefined || mergesText === undefined) throw new TokenizerError('need tokenizer.json, or vocab.json and merges.txt');
    file = 'vocab.json';
    vocab = readVocab(parseJson(vocabText, 'vocab.json'), 'vocab.json');
    merges = readMergesTxt(mergesText);
    // BPE only ever produces single bytes and the results of merges; any other token in
    // vocab.json is a special token (GPT-2's holds <|endoftext|> this way).
    const producible = new Set([...BYTE_TO_CHAR, ...merges.map(([a, b]) => a + b)]);
    for (const [token, id] of Object.entries(vocab)) {
      if (!producible.has(token)) {
        specialTokens[token] = id;
        delete vocab[token];
      }
    }
    const decoderEntries = config?.added_tokens_decoder;
    if (decoderEntries !== undefined) {
      if (!isObject(decoderEntries)) throw new TokenizerError('added_tokens_decoder must be an object', 'tokenizer_config.json');
      for (const [idText, entry] of Object.entries(decoderEntries)) {
        const content = isObject(entry) ? entry.content : undefined;
        if (typeof content !== 'string' || !/^\d+$/.test(idText)) throw new TokenizerError(`added_tokens_decoder entry ${idText} is malformed`, 'tokenizer_config.json');
        if (isObject(entry) && entry.special === true) specialTokens[content] = Number(idText);
      }
    }
  }

  const spec: TokenizerSpec = { vocab, merges, specialTokens };
  for (const [key, hfKey] of ROLES) {
    const fromConfig = roleToken(config?.[hfKey], hfKey, 'tokenizer_config.json');
    const fromMap = roleToken(specialMap?.[hfKey], hfKey, 'special_tokens_map.json');
    const token = fromConfig !== undefined ? fromConfig : fromMap;
    if (token === null) continue;
    if (token !== undefined) spec[key] = token;
    else if (key !== 'padToken' && Object.hasOwn(specialTokens, '<|endoftext|>') && config === undefined && specialMap === undefined) spec[key] = '<|endoftext|>'; // GPT-2's defaults
  }
  const maxLength = config?.model_max_length;
  // transformers writes 1e30 for "no limit"; keep only a usable integer.
  if (typeof maxLength === 'number' && Number.isSafeInteger(maxLength) && maxLength > 0) spec.modelMaxLength = maxLength;
  return { spec, file };
}

function readTokenizerJson(textValue: string, specialTokens: Record<string, number>): { vocab: Record<string, number>; merges: [string, string][] } {
  const file = 'tokenizer.json';
  const root = parseJson(textValue, file);
  if (!isObject(root)) throw new TokenizerError('expected a JSON object', file);
  const model = root.model;
  if (!isObject(model)) throw new TokenizerError('"model" must be an object', file);
  if (model.type !== undefined && model.type !== 'BPE') throw new TokenizerError(`model type ${JSON.stringify(model.type)} is not supported; only BPE`, file);
  for (const [field, allowed] of [
    ['dropout', [null, undefined, 0]],
    ['continuing_subword_prefix', [null, undefined, '']],
    ['end_of_word_suffix', [null, undefined, '']],
    ['byte_fallback', [null, undefined, false]],
  ] as const) {
    if (!(allowed as readonly unknown[]).includes(model[field])) throw new TokenizerError(`model.${field} = ${JSON.stringify(model[field])} is not supported (byte-level BPE needs ${JSON.stringify(allowed[2])})`, file);
  }
  if (root.normalizer !== null && root.normalizer !== undefined) throw new TokenizerError('a normalizer is not supported (GPT-2 has none)', file);
  const pre = root.pre_tokenizer;
  if (!isObject(pre) || pre.type !== 'ByteLevel') throw new TokenizerError(`pre_tokenizer must be ByteLevel (GPT-2's), got ${JSON.stringify(isObject(pre) ? pre.type : pre)}`, file);
  if (pre.add_prefix_space === true) throw new TokenizerError('pre_tokenizer.add_prefix_space = true is not supported', file);
  if (pre.use_regex === false) throw new TokenizerError('pre_tokenizer.use_regex = false is not supported', file);
  const decoder = root.decoder;
  if (decoder !== null && decoder !== undefined && (!isObject(decoder) || decoder.type !== 'ByteLevel')) throw new TokenizerError('decoder must be ByteLevel', file);

  const vocab = readVocab(model.vocab, file, 'model.vocab');
  const rawMerges = model.merges;
  if (!Array.isArray(rawMerges)) throw new TokenizerError('model.merges must be a list', file);
  const merges = rawMerges.map((merge, rank): [string, string] => {
    if (typeof merge === 'string') return splitMerge(merge, rank, file);
    if (Array.isArray(merge) && merge.length === 2 && typeof merge[0] === 'string' && typeof merge[1] === 'string') return [merge[0], merge[1]];
    throw new TokenizerError(`merge ${rank} must be "left right" or [left, right], got ${JSON.stringify(merge)}`, file);
  });

  const added = root.added_tokens ?? [];
  if (!Array.isArray(added)) throw new TokenizerError('added_tokens must be a list', file);
  added.forEach((entry, i) => {
    if (!isObject(entry) || typeof entry.content !== 'string' || !Number.isInteger(entry.id)) throw new TokenizerError(`added_tokens[${i}] needs a string content and an integer id`, file);
    const { content, id } = entry as { content: string; id: number };
    if (entry.special === true) specialTokens[content] = id;
    else if (vocab[content] !== id) throw new TokenizerError(`added_tokens[${i}] '${content}' is not special and not in the vocabulary; only special added tokens are supported`, file);
  });
  // model.vocab may also list the special tokens (GPT-2's does); they are not BPE tokens.
  for (const token of Object.keys(specialTokens)) if (Object.hasOwn(vocab, token)) delete vocab[token];
  return { vocab, merges };
}

function readMergesTxt(textValue: string): [string, string][] {
  const lines = textValue.split(/\r?\n/);
  if (lines[0]?.startsWith('#version')) lines.shift();
  return lines.filter((line) => line.length > 0).map((line, rank) => splitMerge(line, rank, 'merges.txt'));
}

function splitMerge(merge: string, rank: number, file: string): [string, string] {
  const parts = merge.split(' ');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw new TokenizerError(`merge ${rank} must be two tokens separated by one space, got ${JSON.stringify(merge)}`, file);
  return [parts[0]!, parts[1]!];
}

function readVocab(value: unknown, file: string, field = 'the vocabulary'): Record<string, number> {
  if (!isObject(value)) throw new TokenizerError(`${field} must be an object of token -> id`, file);
  const vocab: Record<string, number> = {};
  for (const [token, id] of Object.entries(value)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new TokenizerError(`${field}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not a non-negative integer`, file);
    vocab[token] = id as number;
  }
  return vocab;
}

/** A role's token in a config file: a string, an AddedToken object {content}, null, or absent. */
function roleToken(value: unknown, key: string, file: string): string | null | undefined {
  if (value === undefined || value === null || typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  throw new TokenizerError(`${key} must be a string, {"content": ...} or null, got ${JSON.stringify(value)}`, file);
}

function optionalJsonObject(textValue: string | undefined, file: string): Record<string, unknown> | undefined {
  if (textValue === undefined) return undefined;
  const value = parseJson(textValue, file);
  if (!isObject(value)) throw new TokenizerError('expected a JSON object', file);
  return value;
}

function parseJson(textValue: string, file: string): unknown {
  try {
    return JSON.parse(textValue);
  } catch (error) {
    throw new TokenizerError(`not valid JSON: ${(error as Error).message}`, file);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
