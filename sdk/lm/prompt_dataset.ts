// The prompts a token-level trainer samples from (TRL's prompt-only dataset). Built in code or
// read from JSON / JSON Lines; a file is untrusted input, so every entry is checked where it
// enters and a bad one is refused with a DatasetError naming the file, line, entry and field.
//
// Entry format:  {"prompt": "It was a truth", "answer": "42", ...}   text, tokenised here
//                {"prompt_ids": [464, 318, 257]}                       pre-tokenised ids
//   Every other field (e.g. `answer` for a checker) travels with the prompt as PromptRow.fields,
//   which reward functions get as extra.fields. An entry with both uses both as given.
//
// Iteration: next(k) hands out k prompts, walking the entries in a fresh shuffled order each
// epoch (drawn from `seed` with sdk/core/prng.ts, the same on every runtime); state() and
// loadState() carry the position through a checkpoint.
//
//   const data = (await PromptDataset.load('prompts.jsonl')).withTokenizer(tokenizer);
//   const batch = data.next(8); // PromptRow[]

import { ValueError } from '../core/errors';
import { DatasetError, describeValue, isPlainObject, locateEntry, parseJsonEntries, parseJsonlEntries, readEntriesFile, type DatasetLocation, type RawEntries } from '../envs/dataset_files';
import type { PromptRow } from '../interfaces/reward_function';
import type { Tokenizer } from '../text/tokenizer';
import { EpochOrder, type DatasetPosition } from './dataset_source';

/** One dataset entry: a prompt text or its token ids, and any other fields. */
export interface PromptEntry {
  /** The prompt text (TRL's "prompt" column). */
  prompt?: string;
  /** The prompt's token ids, for pre-tokenised data. */
  prompt_ids?: readonly number[];
  [field: string]: unknown;
}

export interface PromptDatasetOptions {
  /** Turns prompt texts into ids (and prompt_ids into texts); next() needs one unless every entry has both. */
  tokenizer?: Tokenizer;
  /** Longest prompt allowed, in tokens (e.g. the model's context minus maxNewTokens); longer is a DatasetError. */
  maxPromptTokens?: number;
  /** Seed of the per-epoch shuffle. Default 0. */
  seed?: number;
  /** Shuffle each epoch; false walks the entries in order. Default true. */
  shuffle?: boolean;
  /** Names the data in error messages (a file path, '<json>'...). Default '<entries>'. */
  source?: string;
}

/** The position of a PromptDataset, as state() returns it. */
export type PromptDatasetState = DatasetPosition;

/** An entry after its own checks: text and/or ids, and the other fields. */
interface CheckedEntry {
  text?: string;
  ids?: readonly number[];
  fields: Readonly<Record<string, unknown>>;
}

export class PromptDataset {
  /** Number of entries. */
  readonly size: number;
  /** Names the data in error messages. */
  readonly source: string;
  readonly tokenizer?: Tokenizer;
  readonly maxPromptTokens?: number;
  private readonly rows: (PromptRow | undefined)[];
  private readonly checked: readonly CheckedEntry[];
  private readonly order: EpochOrder;
  private readonly options: PromptDatasetOptions;
  /** Each entry's line in its file (JSON Lines), kept so withTokenizer's errors still name it. */
  private readonly lines?: readonly number[];

  /**
   * Checks `entries` (and, with a tokenizer, tokenises them). `lines` gives each entry's
   * 1-based line in its file, for error messages.
   * @example
   * const data = new PromptDataset([{ prompt: 'What is 2+2?', answer: '4' }], { tokenizer });
   */
  constructor(entries: readonly PromptEntry[], options: PromptDatasetOptions = {}, lines?: readonly number[]) {
    const source = options.source ?? '<entries>';
    if (!Array.isArray(entries)) throw new DatasetError({ source }, `expected an array of entries, got ${describeValue(entries)}`);
    if (entries.length === 0) throw new DatasetError({ source }, 'the dataset is empty: it needs at least one prompt');
    const { tokenizer, maxPromptTokens } = options;
    if (maxPromptTokens !== undefined && (!Number.isSafeInteger(maxPromptTokens) || maxPromptTokens < 1)) {
      throw new ValueError(`PromptDataset: maxPromptTokens must be a positive integer, got ${describeValue(maxPromptTokens)}`);
    }
    this.source = source;
    this.size = entries.length;
    this.options = { ...options };
    if (lines !== undefined) this.lines = lines;
    if (tokenizer !== undefined) this.tokenizer = tokenizer;
    if (maxPromptTokens !== undefined) this.maxPromptTokens = maxPromptTokens;
    this.checked = entries.map((raw, i) => checkPromptEntry(raw, locateEntry(source, lines, i), tokenizer?.vocabSize));
    this.rows = this.checked.map((entry, i) => this.toRow(entry, locateEntry(source, lines, i)));
    this.order = new EpochOrder(this.size, options.seed ?? 0, options.shuffle ?? true);
  }

  /** Parses JSON text: an array of entries, or {"prompts": [entries...]}. */
  static fromJson(text: string, options: PromptDatasetOptions = {}): PromptDataset {
    return PromptDataset.fromRaw(parseJsonEntries(text, options.source ?? '<json>', 'prompts'), { source: '<json>', ...options });
  }

  /** Parses JSON Lines text: one entry per line; blank lines are skipped. */
  static fromJsonl(text: string, options: PromptDatasetOptions = {}): PromptDataset {
    return PromptDataset.fromRaw(parseJsonlEntries(text, options.source ?? '<jsonl>'), { source: '<jsonl>', ...options });
  }

  /**
   * Reads a .json or .jsonl/.ndjson file (Node, Bun, Deno).
   * @example
   * const data = await PromptDataset.load('data/prompts.jsonl', { tokenizer, maxPromptTokens: 32 });
   */
  static async load(path: string, options: PromptDatasetOptions = {}): Promise<PromptDataset> {
    return PromptDataset.fromRaw(await readEntriesFile(path, 'prompts'), { ...options, source: path });
  }

  private static fromRaw(raw: RawEntries, options: PromptDatasetOptions): PromptDataset {
    return new PromptDataset(raw.entries as PromptEntry[], options, raw.lines);
  }

  /** The same entries tokenised by `tokenizer` (checked again against maxPromptTokens and its vocabulary), at position 0. */
  withTokenizer(tokenizer: Tokenizer, options: Omit<PromptDatasetOptions, 'tokenizer' | 'source'> = {}): PromptDataset {
    const entries = this.checked.map((e) => ({ ...e.fields, ...(e.text !== undefined ? { prompt: e.text } : {}), ...(e.ids !== undefined ? { prompt_ids: e.ids } : {}) }));
    return new PromptDataset(entries, { ...this.options, ...options, tokenizer }, this.lines);
  }

  /** Entry `index` as a PromptRow (file order). */
  get(index: number): PromptRow {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) throw new ValueError(`PromptDataset.get: index must be an integer in [0, ${this.size}), got ${describeValue(index)}`);
    const row = this.rows[index];
    if (row === undefined) {
      throw new ValueError(`PromptDataset (${this.source}): entry ${index} has ${this.checked[index]!.text === undefined ? 'only prompt_ids' : 'only a prompt text'}; give the dataset a tokenizer (withTokenizer) to make its ${this.checked[index]!.text === undefined ? 'text' : 'ids'}`);
    }
    return row;
  }

  /** Every entry as a PromptRow, in file order. */
  all(): PromptRow[] {
    return Array.from({ length: this.size }, (_, i) => this.get(i));
  }

  /** The next k prompts of the shuffled walk (crossing into the next epoch when one ends). */
  next(k: number): PromptRow[] {
    // Check every row first, so a missing tokenizer does not move the position.
    for (let i = 0; i < this.size; i++) if (this.rows[i] === undefined) this.get(i);
    return this.order.take(k, 'PromptDataset').map((i) => this.rows[i]!);
  }

  /** Completed passes over the data. */
  get epoch(): number {
    return this.order.state().epoch;
  }

  /** The position (epoch, index, seed, size), for a checkpoint's trainer JSON. */
  state(): PromptDatasetState {
    return this.order.state();
  }

  /** Restores a state() (validated: a ValueError names the bad field). */
  loadState(state: PromptDatasetState): void {
    this.order.loadState(state, 'PromptDataset');
  }

  /** Text and ids of one entry, from the entry and the tokenizer; undefined when one is missing and there is no tokenizer. */
  private toRow(entry: CheckedEntry, location: DatasetLocation): PromptRow | undefined {
    const tokenizer = this.tokenizer;
    const ids = entry.ids ?? (tokenizer !== undefined && entry.text !== undefined ? tokenizer.encode(entry.text) : undefined);
    const text = entry.text ?? (tokenizer !== undefined && entry.ids !== undefined ? tokenizer.decode(entry.ids) : undefined);
    if (ids !== undefined) {
      const field = entry.ids !== undefined ? 'prompt_ids' : 'prompt';
      if (ids.length === 0) throw new DatasetError({ ...location, field }, 'encodes to no tokens');
      if (this.maxPromptTokens !== undefined && ids.length > this.maxPromptTokens) {
        throw new DatasetError({ ...location, field }, `is ${ids.length} tokens long, over maxPromptTokens = ${this.maxPromptTokens}`);
      }
    }
    if (ids === undefined || text === undefined) return undefined;
    // Frozen: next() hands out the same row objects every epoch, so a reward function must not edit them.
    return Object.freeze({ text, ids: Object.freeze([...ids]), fields: Object.freeze({ ...entry.fields }) });
  }
}

/** Checks one entry on its own; returns its text, ids and other fields. */
function checkPromptEntry(raw: unknown, location: DatasetLocation, vocabSize: number | undefined): CheckedEntry {
  if (!isPlainObject(raw)) throw new DatasetError(location, `an entry must be an object {"prompt": "..."} or {"prompt_ids": [...]}, got ${describeValue(raw)}`);
  const { prompt, prompt_ids: promptIds, ...fields } = raw;
  if (prompt === undefined && promptIds === undefined) throw new DatasetError({ ...location, field: 'prompt' }, 'is missing (give "prompt" text or "prompt_ids")');
  const entry: CheckedEntry = { fields };
  if (prompt !== undefined) {
    if (typeof prompt !== 'string') throw new DatasetError({ ...location, field: 'prompt' }, `must be a string, got ${describeValue(prompt)}`);
    if (prompt.trim() === '') throw new DatasetError({ ...location, field: 'prompt' }, 'is empty');
    entry.text = prompt;
  }
  if (promptIds !== undefined) {
    const at = { ...location, field: 'prompt_ids' };
    if (!Array.isArray(promptIds)) throw new DatasetError(at, `must be an array of token ids, got ${describeValue(promptIds)}`);
    if (promptIds.length === 0) throw new DatasetError(at, 'is empty');
    promptIds.forEach((id: unknown, k) => {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new DatasetError(at, `must hold non-negative integers, but element ${k} is ${describeValue(id)}`);
      if (vocabSize !== undefined && id >= vocabSize) throw new DatasetError(at, `element ${k} is ${id}, outside the tokenizer's vocabulary of ${vocabSize} ids`);
    });
    entry.ids = [...(promptIds as number[])];
  }
  return entry;
}
