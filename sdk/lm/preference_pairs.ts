// Preference pairs for reward-model training and DPO: TRL's preference format with an explicit
// prompt, {"prompt", "chosen", "rejected"}, where chosen and rejected are completions of the
// prompt (not prompt + completion). TRL's implicit-prompt form, {"chosen", "rejected"} holding
// whole texts, is taken too: the prompt is their longest common prefix, cut before the space
// where they part (as TRL's extract_prompt does), and chosen / rejected are the rest. Built in code, read from JSON / JSON Lines, or sampled from
// a model and labelled by a scorer (buildPreferencePairs). Validated where it enters, like
// PromptDataset: a DatasetError names the file, line, entry and field.
//
// Entry format:  {"prompt": "It was", "chosen": " a happy day", "rejected": " a dreadful day", ...}
//   Optional "prompt_ids", "chosen_ids", "rejected_ids" carry exact token ids (buildPreferencePairs
//   writes the ids it sampled, which re-tokenising the text need not reproduce); without them the
//   tokenizer makes the ids, and appends its end-of-text id to chosen and rejected (as TRL's
//   DPOTrainer does) unless `appendEos: false`. Other fields travel as `fields`.
//
//   const pairs = (await PreferencePairs.load('pairs.jsonl')).withTokenizer(tokenizer);
//   const batch = pairs.next(16); // PreferencePair[]

import { ValueError } from '../core/errors';
import { Prng } from '../core/prng';
import { DatasetError, describeValue, isPlainObject, locateEntry, parseJsonEntries, parseJsonlEntries, readEntriesFile, type DatasetLocation, type RawEntries } from '../envs/dataset_files';
import type { CompletionEngine, SamplingParams } from '../interfaces/completion_engine';
import type { NamedRewardFunction, PromptRow } from '../interfaces/reward_function';
import { scoreRewards } from '../rewards/reward_funcs';
import type { Tokenizer } from '../text/tokenizer';
import { EpochOrder, type DatasetPosition } from './dataset_source';

/** One entry of a preference file. */
export interface PreferencePairEntry {
  prompt: string;
  /** The preferred completion of the prompt. */
  chosen: string;
  /** The other completion; must differ from chosen. */
  rejected: string;
  prompt_ids?: readonly number[];
  chosen_ids?: readonly number[];
  rejected_ids?: readonly number[];
  [field: string]: unknown;
}

/** A checked pair as next() hands it out: texts, token ids and the entry's other fields. */
export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
  promptIds: readonly number[];
  chosenIds: readonly number[];
  rejectedIds: readonly number[];
  fields: Readonly<Record<string, unknown>>;
}

export interface PreferencePairsOptions {
  /** Makes the ids of entries that carry only texts; next() needs one unless every entry has all three ids. */
  tokenizer?: Tokenizer;
  /** Append the tokenizer's end-of-text id to chosen and rejected ids made from text. Default true. */
  appendEos?: boolean;
  /** Longest prompt allowed, in tokens. */
  maxPromptTokens?: number;
  /** Longest chosen / rejected completion allowed, in tokens. */
  maxCompletionTokens?: number;
  /** Seed of the per-epoch shuffle. Default 0. */
  seed?: number;
  /** Shuffle each epoch; false walks the entries in order. Default true. */
  shuffle?: boolean;
  /** Names the data in error messages. Default '<entries>'. */
  source?: string;
}

export type PreferencePairsState = DatasetPosition;

const TEXT_FIELDS = ['prompt', 'chosen', 'rejected'] as const;
const ID_FIELDS = { prompt: 'prompt_ids', chosen: 'chosen_ids', rejected: 'rejected_ids' } as const;

interface CheckedPair {
  texts: Record<(typeof TEXT_FIELDS)[number], string>;
  ids: Partial<Record<(typeof TEXT_FIELDS)[number], readonly number[]>>;
  fields: Readonly<Record<string, unknown>>;
}

export class PreferencePairs {
  readonly size: number;
  readonly source: string;
  readonly tokenizer?: Tokenizer;
  private readonly checked: readonly CheckedPair[];
  private readonly pairs: (PreferencePair | undefined)[];
  private readonly order: EpochOrder;
  private readonly options: PreferencePairsOptions;
  private readonly lines?: readonly number[];

  constructor(entries: readonly PreferencePairEntry[], options: PreferencePairsOptions = {}, lines?: readonly number[]) {
    const source = options.source ?? '<entries>';
    if (!Array.isArray(entries)) throw new DatasetError({ source }, `expected an array of entries, got ${describeValue(entries)}`);
    if (entries.length === 0) throw new DatasetError({ source }, 'the dataset is empty: it needs at least one pair');
    for (const key of ['maxPromptTokens', 'maxCompletionTokens'] as const) {
      const v = options[key];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new ValueError(`PreferencePairs: ${key} must be a positive integer, got ${describeValue(v)}`);
    }
    this.source = source;
    this.size = entries.length;
    this.options = { ...options };
    if (options.tokenizer !== undefined) this.tokenizer = options.tokenizer;
    if (lines !== undefined) this.lines = lines;
    this.checked = entries.map((raw, i) => checkPairEntry(raw, locateEntry(source, lines, i), options.tokenizer?.vocabSize));
    this.pairs = this.checked.map((entry, i) => this.toPair(entry, locateEntry(source, lines, i)));
    this.order = new EpochOrder(this.size, options.seed ?? 0, options.shuffle ?? true);
  }

  /** Parses JSON text: an array of entries, or {"pairs": [entries...]}. */
  static fromJson(text: string, options: PreferencePairsOptions = {}): PreferencePairs {
    return PreferencePairs.fromRaw(parseJsonEntries(text, options.source ?? '<json>', 'pairs'), { source: '<json>', ...options });
  }

  /** Parses JSON Lines text: one entry per line; blank lines are skipped. */
  static fromJsonl(text: string, options: PreferencePairsOptions = {}): PreferencePairs {
    return PreferencePairs.fromRaw(parseJsonlEntries(text, options.source ?? '<jsonl>'), { source: '<jsonl>', ...options });
  }

  /** Reads a .json or .jsonl/.ndjson file (Node, Bun, Deno). */
  static async load(path: string, options: PreferencePairsOptions = {}): Promise<PreferencePairs> {
    return PreferencePairs.fromRaw(await readEntriesFile(path, 'pairs'), { ...options, source: path });
  }

  private static fromRaw(raw: RawEntries, options: PreferencePairsOptions): PreferencePairs {
    return new PreferencePairs(raw.entries as PreferencePairEntry[], options, raw.lines);
  }

  /** The same entries tokenised by `tokenizer` (checked again), at position 0. */
  withTokenizer(tokenizer: Tokenizer, options: Omit<PreferencePairsOptions, 'tokenizer' | 'source'> = {}): PreferencePairs {
    const entries = this.checked.map(entryOf);
    return new PreferencePairs(entries, { ...this.options, ...options, tokenizer }, this.lines);
  }

  /**
   * A held-out split: `validationFraction` of the entries (at least one, drawn with Prng(seed))
   * form `validation`, the rest `train`, each in file order, with this dataset's options.
   */
  split(validationFraction: number, seed = 0): { train: PreferencePairs; validation: PreferencePairs } {
    if (!(validationFraction > 0 && validationFraction < 1)) throw new ValueError(`PreferencePairs.split: validationFraction must be in (0, 1), got ${validationFraction}`);
    if (this.size < 2) throw new ValueError('PreferencePairs.split: a split needs at least 2 pairs');
    const held = Math.min(this.size - 1, Math.max(1, Math.round(this.size * validationFraction)));
    const inValidation = new Set(Array.from(new Prng(seed).permutation(this.size).subarray(0, held)));
    const entriesOf = (keep: (i: number) => boolean) => {
      const picked = this.checked.map((e, i) => [e, i] as const).filter(([, i]) => keep(i));
      return { entries: picked.map(([e]) => entryOf(e)), lines: this.lines && picked.map(([, i]) => this.lines![i]!) };
    };
    const make = (keep: (i: number) => boolean, label: string) => {
      const { entries, lines } = entriesOf(keep);
      return new PreferencePairs(entries, { ...this.options, source: `${this.source} (${label})` }, lines);
    };
    return { train: make((i) => !inValidation.has(i), 'train'), validation: make((i) => inValidation.has(i), 'validation') };
  }

  /** Pair `index` (file order). */
  get(index: number): PreferencePair {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) throw new ValueError(`PreferencePairs.get: index must be an integer in [0, ${this.size}), got ${describeValue(index)}`);
    const pair = this.pairs[index];
    if (pair === undefined) throw new ValueError(`PreferencePairs (${this.source}): entry ${index} has texts without token ids; give the dataset a tokenizer (withTokenizer)`);
    return pair;
  }

  /** Every pair, in file order. */
  all(): PreferencePair[] {
    return Array.from({ length: this.size }, (_, i) => this.get(i));
  }

  /** The next k pairs of the shuffled walk (crossing into the next epoch when one ends). */
  next(k: number): PreferencePair[] {
    for (let i = 0; i < this.size; i++) if (this.pairs[i] === undefined) this.get(i);
    return this.order.take(k, 'PreferencePairs').map((i) => this.pairs[i]!);
  }

  get epoch(): number {
    return this.order.state().epoch;
  }

  state(): PreferencePairsState {
    return this.order.state();
  }

  loadState(state: PreferencePairsState): void {
    this.order.loadState(state, 'PreferencePairs');
  }

  private toPair(entry: CheckedPair, location: DatasetLocation): PreferencePair | undefined {
    const tokenizer = this.tokenizer;
    const eos = this.options.appendEos === false ? undefined : tokenizer?.eosTokenId;
    const idsOf = (f: (typeof TEXT_FIELDS)[number]) => {
      const given = entry.ids[f];
      if (given !== undefined) return given;
      if (tokenizer === undefined) return undefined;
      const ids = tokenizer.encode(entry.texts[f]);
      return f !== 'prompt' && eos !== undefined ? [...ids, eos] : ids;
    };
    const ids = { prompt: idsOf('prompt'), chosen: idsOf('chosen'), rejected: idsOf('rejected') };
    for (const f of TEXT_FIELDS) {
      const row = ids[f];
      if (row === undefined) continue;
      const field = entry.ids[f] !== undefined ? ID_FIELDS[f] : f;
      const limit = f === 'prompt' ? this.options.maxPromptTokens : this.options.maxCompletionTokens;
      const limitName = f === 'prompt' ? 'maxPromptTokens' : 'maxCompletionTokens';
      if (row.length === 0) throw new DatasetError({ ...location, field }, 'encodes to no tokens');
      if (limit !== undefined && row.length > limit) throw new DatasetError({ ...location, field }, `is ${row.length} tokens long, over ${limitName} = ${limit}`);
    }
    if (ids.chosen !== undefined && ids.rejected !== undefined && sameIds(ids.chosen, ids.rejected)) {
      throw new DatasetError({ ...location, field: entry.ids.rejected !== undefined ? 'rejected_ids' : 'rejected' }, 'has the same token ids as chosen: a pair must compare two different completions');
    }
    if (ids.prompt === undefined || ids.chosen === undefined || ids.rejected === undefined) return undefined;
    // Frozen: next() hands out the same pair objects every epoch.
    return Object.freeze({ ...entry.texts, promptIds: Object.freeze([...ids.prompt]), chosenIds: Object.freeze([...ids.chosen]), rejectedIds: Object.freeze([...ids.rejected]), fields: Object.freeze({ ...entry.fields }) });
  }
}

/** A checked pair as an entry again (explicit prompt, ids where they were given). */
function entryOf(e: CheckedPair): PreferencePairEntry {
  return { ...e.fields, ...e.texts, ...Object.fromEntries(TEXT_FIELDS.filter((f) => e.ids[f] !== undefined).map((f) => [ID_FIELDS[f], e.ids[f]])) } as PreferencePairEntry;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Checks one entry on its own. */
function checkPairEntry(raw: unknown, location: DatasetLocation, vocabSize: number | undefined): CheckedPair {
  if (!isPlainObject(raw)) throw new DatasetError(location, `an entry must be an object {"prompt", "chosen", "rejected"}, got ${describeValue(raw)}`);
  const { prompt_ids: promptIds, chosen_ids: chosenIds, rejected_ids: rejectedIds, ...rest } = raw;
  const { prompt, chosen, rejected, ...fields } = rest.prompt === undefined && promptIds === undefined ? splitImplicitPrompt(rest, location) : rest;
  const texts = { prompt, chosen, rejected };
  const given = { prompt: promptIds, chosen: chosenIds, rejected: rejectedIds };
  for (const f of TEXT_FIELDS) {
    const v = texts[f];
    if (v === undefined) throw new DatasetError({ ...location, field: f }, 'is missing');
    if (typeof v !== 'string') throw new DatasetError({ ...location, field: f }, `must be a string, got ${describeValue(v)}`);
    // A sampled completion may be only a stop token (text ''); its ids then say what it is.
    if (v.trim() === '' && (f === 'prompt' || given[f] === undefined)) throw new DatasetError({ ...location, field: f }, 'is empty');
  }
  if (chosen === rejected) throw new DatasetError({ ...location, field: 'rejected' }, 'is the same text as chosen: a pair must compare two different completions');
  const ids: CheckedPair['ids'] = {};
  for (const f of TEXT_FIELDS) {
    const v = given[f];
    if (v === undefined) continue;
    const at = { ...location, field: ID_FIELDS[f] };
    if (!Array.isArray(v)) throw new DatasetError(at, `must be an array of token ids, got ${describeValue(v)}`);
    v.forEach((id: unknown, k) => {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new DatasetError(at, `must hold non-negative integers, but element ${k} is ${describeValue(id)}`);
      if (vocabSize !== undefined && id >= vocabSize) throw new DatasetError(at, `element ${k} is ${id}, outside the tokenizer's vocabulary of ${vocabSize} ids`);
    });
    ids[f] = [...(v as number[])];
  }
  return { texts: texts as CheckedPair['texts'], ids, fields };
}

/**
 * TRL's implicit prompt: chosen and rejected are whole texts; the prompt is their common prefix,
 * ending before the space where they part, so the completions keep their leading space.
 */
function splitImplicitPrompt(entry: Record<string, unknown>, location: DatasetLocation): Record<string, unknown> {
  const { chosen, rejected } = entry;
  if (typeof chosen !== 'string' || typeof rejected !== 'string') return entry; // the field checks name the problem
  let at = 0;
  while (at < chosen.length && at < rejected.length && chosen[at] === rejected[at]) at += 1;
  if (at > 0 && at < Math.max(chosen.length, rejected.length) && chosen[at - 1] === ' ') at -= 1;
  if (at === 0) throw new DatasetError({ ...location, field: 'prompt' }, 'is missing, and chosen and rejected share no prefix to take as the prompt (TRL\'s implicit-prompt format)');
  return { ...entry, prompt: chosen.slice(0, at), chosen: chosen.slice(at), rejected: rejected.slice(at) };
}

// ---------------------------------------------------------------------------------------------
// Sampling pairs from a model

export interface BuildPreferencePairsOptions {
  /** Where the two completions per prompt come from. */
  engine: CompletionEngine;
  /** Decodes the completions (special tokens dropped) for the scorer and the pair texts. */
  tokenizer: Tokenizer;
  prompts: readonly PromptRow[];
  /** Scores each completion; the higher (weighted) score is chosen. */
  scorer: NamedRewardFunction;
  /** How to sample (n is always 2). */
  sampling: SamplingParams;
  /** Pairs whose scores differ by less are dropped. Ties (and identical completions) are always dropped. Default 0. */
  minMargin?: number;
}

export interface BuiltPreferencePairs {
  /** The kept pairs, as entries (with the sampled ids), ready for new PreferencePairs(pairs) or a JSONL file. */
  pairs: (PreferencePairEntry & { prompt_ids: number[]; chosen_ids: number[]; rejected_ids: number[]; chosen_score: number; rejected_score: number })[];
  stats: {
    kept: number;
    /** Pairs dropped: a tie, identical completions, or a margin below minMargin. */
    dropped: number;
    /** Mean chosen_score - rejected_score over the kept pairs (0 when none is kept). */
    meanMargin: number;
  };
}

/**
 * Samples 2 completions per prompt, scores both with `scorer`, and labels the higher one chosen.
 * Pairs come out in prompt order; each carries its prompt's fields.
 */
export async function buildPreferencePairs(options: BuildPreferencePairsOptions): Promise<BuiltPreferencePairs> {
  const { engine, tokenizer, prompts, scorer, sampling, minMargin = 0 } = options;
  if (!Array.isArray(prompts) || prompts.length === 0) throw new ValueError('buildPreferencePairs: prompts must be a non-empty array of PromptRow');
  if (!Number.isFinite(minMargin) || minMargin < 0) throw new ValueError(`buildPreferencePairs: minMargin must be a non-negative number, got ${minMargin}`);
  if (typeof engine?.complete !== 'function') throw new ValueError('buildPreferencePairs: engine must be a CompletionEngine');
  const out = await engine.complete({ ...sampling, prompts: prompts.map((p) => p.ids), n: 2 });
  const texts = out.completionIds.map((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }));
  const rowPrompt = out.promptIndex.map((p) => prompts[p]!);
  const { total } = await scoreRewards([scorer], rowPrompt.map((p) => p.text), texts, {
    fields: rowPrompt.map((p) => p.fields),
    promptIndex: out.promptIndex,
    completionIds: out.completionIds,
    finishReasons: out.finishReasons,
  });
  const pairs: BuiltPreferencePairs['pairs'] = [];
  let marginSum = 0;
  for (let p = 0; p < prompts.length; p++) {
    const [a, b] = [2 * p, 2 * p + 1];
    const margin = Math.abs(total[a]! - total[b]!);
    if (margin === 0 || margin < minMargin || texts[a] === texts[b] || sameIds(out.completionIds[a]!, out.completionIds[b]!)) continue;
    const [win, lose] = total[a]! > total[b]! ? [a, b] : [b, a];
    const prompt = prompts[p]!;
    pairs.push({
      ...prompt.fields,
      prompt: prompt.text,
      chosen: texts[win]!,
      rejected: texts[lose]!,
      prompt_ids: [...prompt.ids],
      chosen_ids: [...out.completionIds[win]!],
      rejected_ids: [...out.completionIds[lose]!],
      chosen_score: total[win]!,
      rejected_score: total[lose]!,
    });
    marginSum += margin;
  }
  return { pairs, stats: { kept: pairs.length, dropped: prompts.length - pairs.length, meanMargin: pairs.length > 0 ? marginSum / pairs.length : 0 } };
}
