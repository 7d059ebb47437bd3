// A GPT-2-style byte-level BPE tokenizer: text -> UTF-8 bytes -> pre-token words -> BPE ids, and
// back. Special tokens (`<|endoftext|>`, a pad token...) are separate ids whose text is matched
// only when encode is asked to (`allowedSpecial`); otherwise "<|endoftext|>" in a text is just
// characters, so user text cannot smuggle in control tokens. (Hugging Face's tokenizers always
// match added tokens in text: pass `allowedSpecial: 'all'` to get its ids for such a text.)
//
//   const tok = Tokenizer.train(corpus, { vocabSize: 2048 });
//   tok.encode('Hello world')                          // [ids...]
//   tok.decode(tok.encode(s)) === s                    // for every well-formed string s
//   tok.withPadToken(tok.eosToken!).encodeBatch(texts, { paddingSide: 'left' })
//   files = tok.huggingFaceFiles()                     // tokenizer.json, vocab.json, merges.txt, ...

import { TokenizerError, ValueError } from '../core/errors';
import { padBatch, type BatchOptions, type EncodedBatch } from './batch';
import { BpeModel } from './bpe';
import { byteLevelToBytes, utf8Decode } from './byte_level';
import { saveTextFiles, loadTextFiles } from './files';
import { HF_FILE_NAMES, parseHuggingFaceFiles, toHuggingFaceFiles } from './huggingface';
import { preTokenize, splitOnSpecialTokens } from './pretokenize';
import type { TokenizerSpec } from './spec';

export type { TokenizerSpec } from './spec';
import { trainBpe } from './train';

/** GPT-2's end-of-text token, also its bos and unk. */
export const END_OF_TEXT = '<|endoftext|>';

export interface TrainTokenizerOptions {
  /** Total vocabulary: 256 byte tokens + merges + special tokens (e.g. 512-4096). */
  vocabSize: number;
  /** Special tokens, given the last ids in this order. Default ['<|endoftext|>']. */
  specialTokens?: readonly string[];
  /** Default '<|endoftext|>' when it is a special token. bos and unk default to the same, as in GPT-2. */
  eosToken?: string;
  bosToken?: string;
  unkToken?: string;
  /** Default none; pass eosToken to pad with end-of-text, or a special token of its own. */
  padToken?: string;
  /** A pair seen fewer times than this is never merged (so the vocabulary may come out smaller). Default 2. */
  minFrequency?: number;
  /** Default 1024, GPT-2's. */
  modelMaxLength?: number;
}

export interface EncodeOptions {
  /** Special tokens recognised in the text: 'all', or a list. Default none: their text is plain text. */
  allowedSpecial?: 'all' | readonly string[];
}

export interface DecodeOptions {
  /** Leave special tokens (eos, padding...) out of the text. Default false. */
  skipSpecialTokens?: boolean;
}

export type EncodeBatchOptions = EncodeOptions & BatchOptions;

export class Tokenizer {
  /** Number of ids (BPE tokens + special tokens): the model's vocabSize. */
  readonly vocabSize: number;
  readonly eosToken: string | undefined;
  readonly bosToken: string | undefined;
  readonly unkToken: string | undefined;
  readonly padToken: string | undefined;
  readonly modelMaxLength: number;
  private readonly bpe: BpeModel;
  /** id -> token string (byte-level for BPE tokens, plain text for special ones). */
  private readonly tokens: string[];
  /** id -> its bytes; null for special tokens. */
  private readonly tokenBytes: (Uint8Array | null)[];
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly special: ReadonlyMap<string, number>;
  private readonly specByValue: TokenizerSpec;

  constructor(spec: TokenizerSpec, file?: string) {
    const vocab = new Map(Object.entries(spec.vocab));
    const special = new Map(Object.entries(spec.specialTokens ?? {}));
    const size = new Set([...vocab.values(), ...special.values()]).size;
    const tokens: string[] = new Array<string>(size);
    const place = (token: string, id: number, kind: string): void => {
      if (!Number.isInteger(id) || id < 0 || id >= size) {
        throw new TokenizerError(`${kind} '${token}' has id ${id}; ids must be the integers 0 .. ${size - 1} without gaps`, file);
      }
      if (tokens[id] !== undefined && tokens[id] !== token) throw new TokenizerError(`id ${id} is given to both '${tokens[id]}' and '${token}'`, file);
      tokens[id] = token;
    };
    for (const [token, id] of vocab) place(token, id, 'token');
    for (const [token, id] of special) {
      if (vocab.has(token) && vocab.get(token) !== id) throw new TokenizerError(`special token '${token}' has id ${id} but the vocabulary gives it ${vocab.get(token)}`, file);
      place(token, id, 'special token');
    }
    for (const role of ['eosToken', 'bosToken', 'unkToken', 'padToken'] as const) {
      const token = spec[role];
      if (token !== undefined && !special.has(token)) throw new TokenizerError(`${role} '${token}' is not one of the special tokens (${[...special.keys()].join(', ') || 'none'})`, file);
    }
    const modelMaxLength = spec.modelMaxLength ?? 1024;
    if (!Number.isInteger(modelMaxLength) || modelMaxLength < 1) throw new TokenizerError(`modelMaxLength must be a positive integer, got ${modelMaxLength}`, file);

    this.bpe = new BpeModel(tokens, spec.merges, file);
    this.tokens = tokens;
    this.tokenBytes = tokens.map((token, id) => (special.has(token) && special.get(token) === id ? null : byteLevelToBytes(token)));
    this.tokenBytes.forEach((bytes, id) => {
      if (bytes === null && !special.has(tokens[id]!)) throw new TokenizerError(`token ${id} '${tokens[id]}' is neither a byte-level string nor a special token`, file);
    });
    this.vocab = vocab;
    this.special = special;
    this.vocabSize = size;
    this.eosToken = spec.eosToken;
    this.bosToken = spec.bosToken;
    this.unkToken = spec.unkToken;
    this.padToken = spec.padToken;
    this.modelMaxLength = modelMaxLength;
    this.specByValue = {
      vocab: Object.fromEntries(vocab),
      merges: spec.merges.map(([a, b]) => [a, b] as const),
      specialTokens: Object.fromEntries(special),
      eosToken: spec.eosToken,
      bosToken: spec.bosToken,
      unkToken: spec.unkToken,
      padToken: spec.padToken,
      modelMaxLength,
    };
  }

  /** Learns merges from `corpus` (one text or many) and returns the tokenizer; deterministic. */
  static train(corpus: string | Iterable<string>, options: TrainTokenizerOptions): Tokenizer {
    const specialTokens = [...(options.specialTokens ?? [END_OF_TEXT])];
    if (new Set(specialTokens).size !== specialTokens.length) throw new ValueError(`Tokenizer.train: specialTokens has duplicates: ${specialTokens.join(', ')}`);
    for (const token of specialTokens) if (typeof token !== 'string' || token.length === 0) throw new ValueError('Tokenizer.train: special tokens must be non-empty strings');
    const { vocabSize } = options;
    if (!Number.isInteger(vocabSize) || vocabSize < 256 + specialTokens.length) {
      throw new ValueError(`Tokenizer.train: vocabSize must be an integer >= 256 + ${specialTokens.length} special tokens, got ${vocabSize}`);
    }
    const { tokens, merges } = trainBpe(corpus, { numMerges: vocabSize - 256 - specialTokens.length, minFrequency: options.minFrequency, specialTokens });
    const defaultRole = specialTokens.includes(END_OF_TEXT) ? END_OF_TEXT : undefined;
    return new Tokenizer({
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges,
      specialTokens: Object.fromEntries(specialTokens.map((token, i) => [token, tokens.length + i])),
      eosToken: options.eosToken ?? defaultRole,
      bosToken: options.bosToken ?? defaultRole,
      unkToken: options.unkToken ?? defaultRole,
      padToken: options.padToken,
      modelMaxLength: options.modelMaxLength,
    });
  }

  /** The ids of `text`. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new ValueError(`Tokenizer.encode: text must be a string, got ${typeof text}`);
    const ids: number[] = [];
    for (const piece of splitOnSpecialTokens(text, this.allowedSpecial(options.allowedSpecial))) {
      if (piece.special) {
        ids.push(this.special.get(piece.text)!);
        continue;
      }
      for (const word of preTokenize(piece.text)) for (const id of this.bpe.encodeWord(word)) ids.push(id);
    }
    return ids;
  }

  /** The text of `ids`; a run of ids that cuts a character in half decodes to U+FFFD there. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    let text = '';
    let bytes = new Uint8Array(64);
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new ValueError(`Tokenizer.decode: id ${id} at position ${i} is outside the vocabulary (0 .. ${this.vocabSize - 1})`);
      const tokenBytes = this.tokenBytes[id];
      if (tokenBytes === null || tokenBytes === undefined) {
        if (options.skipSpecialTokens) continue;
        text += utf8Decode(bytes.subarray(0, n)) + this.tokens[id]!;
        n = 0;
        continue;
      }
      if (n + tokenBytes.length > bytes.length) {
        const grown = new Uint8Array(Math.max(2 * bytes.length, n + tokenBytes.length));
        grown.set(bytes.subarray(0, n));
        bytes = grown;
      }
      bytes.set(tokenBytes, n);
      n += tokenBytes.length;
    }
    return text + utf8Decode(bytes.subarray(0, n));
  }

  /** Encodes each text and pads the rows into one (B, T) batch with an attention mask. */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): EncodedBatch {
    if (!Array.isArray(texts)) throw new ValueError('Tokenizer.encodeBatch: texts must be an array of strings');
    return padBatch(
      texts.map((text) => this.encode(text, options)),
      this.padTokenId,
      options,
    );
  }

  /** Decodes each row: of an EncodedBatch only the positions its attention mask marks real (so no padding), or of plain id rows. */
  decodeBatch(batch: EncodedBatch | readonly ArrayLike<number>[], options: DecodeOptions = {}): string[] {
    if (Array.isArray(batch)) return batch.map((row) => this.decode(row, options));
    const { inputIds, attentionMask, batchSize, seqLength } = batch as EncodedBatch;
    const rows: string[] = [];
    for (let b = 0; b < batchSize; b++) {
      const row: number[] = [];
      for (let t = b * seqLength; t < (b + 1) * seqLength; t++) if (attentionMask[t] === 1) row.push(inputIds[t]!);
      rows.push(this.decode(row, options));
    }
    return rows;
  }

  /** The id of a token (byte-level string or special token text), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.special.get(token) ?? this.vocab.get(token);
  }

  /** The string of an id (byte-level for BPE tokens), or undefined. */
  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  isSpecialId(id: number): boolean {
    return this.tokenBytes[id] === null;
  }

  /** Special token text -> id. */
  get specialTokens(): ReadonlyMap<string, number> {
    return this.special;
  }

  get eosTokenId(): number | undefined {
    return this.eosToken === undefined ? undefined : this.special.get(this.eosToken);
  }

  get bosTokenId(): number | undefined {
    return this.bosToken === undefined ? undefined : this.special.get(this.bosToken);
  }

  get padTokenId(): number | undefined {
    return this.padToken === undefined ? undefined : this.special.get(this.padToken);
  }

  /**
   * The same tokenizer with `token` as its pad token. An existing special token (the eos, as
   * Hugging Face users do with GPT-2) keeps its id; a new one is added with the next id, which
   * grows vocabSize by one.
   */
  withPadToken(token: string): Tokenizer {
    if (typeof token !== 'string' || token.length === 0) throw new ValueError('Tokenizer.withPadToken: token must be a non-empty string');
    const spec = this.toSpec();
    if (!this.special.has(token)) {
      if (this.vocab.has(token)) throw new ValueError(`Tokenizer.withPadToken: '${token}' is an ordinary BPE token; a pad token must be special`);
      spec.specialTokens = { ...spec.specialTokens, [token]: this.vocabSize };
    }
    return new Tokenizer({ ...spec, padToken: token });
  }

  /** A copy of everything that defines this tokenizer. */
  toSpec(): TokenizerSpec {
    const s = this.specByValue;
    return { ...s, vocab: { ...s.vocab }, merges: s.merges.map(([a, b]) => [a, b] as const), specialTokens: { ...s.specialTokens } };
  }

  /**
   * The Hugging Face files, name -> text: tokenizer.json, vocab.json, merges.txt,
   * tokenizer_config.json, special_tokens_map.json (what GPT2TokenizerFast.from_pretrained reads).
   */
  huggingFaceFiles(): Record<string, string> {
    return toHuggingFaceFiles(this.specByValue);
  }

  /** Reads Hugging Face files: tokenizer.json, or vocab.json + merges.txt (plus the optional configs). */
  static fromHuggingFaceFiles(files: Readonly<Record<string, string>>): Tokenizer {
    const { spec, file } = parseHuggingFaceFiles(files);
    return new Tokenizer(spec, file);
  }

  /** Writes the Hugging Face files into `dir` (created if missing), each atomically. Node, Bun, Deno. */
  async save(dir: string): Promise<void> {
    await saveTextFiles(dir, this.huggingFaceFiles());
  }

  /** Reads a tokenizer from the Hugging Face files in `dir`. Node, Bun, Deno. */
  static async load(dir: string): Promise<Tokenizer> {
    return Tokenizer.fromHuggingFaceFiles(await loadTextFiles(dir, HF_FILE_NAMES));
  }

  private allowedSpecial(allowed: EncodeOptions['allowedSpecial']): string[] {
    if (allowed === undefined) return [];
    if (allowed === 'all') return [...this.special.keys()];
    if (!Array.isArray(allowed)) throw new ValueError(`Tokenizer.encode: allowedSpecial must be 'all' or a list of special tokens, got ${String(allowed)}`);
    for (const token of allowed) {
      if (!this.special.has(token)) throw new ValueError(`Tokenizer.encode: allowedSpecial names '${token}', which is not a special token (${[...this.special.keys()].join(', ') || 'none'})`);
    }
    return [...allowed];
  }
}
