// Prompts with a preference reward for each possible response: the data behind
// SingleTurnPreferenceEnvironment. Built in code, or loaded from a JSON or JSONL file; a file
// is untrusted input, so every entry is checked where it enters and a bad one is refused with
// a DatasetError naming the file, the line (JSONL), the entry and the field.
//
// Entry format:  {"prompt": "Say hi", "rewards": [0.1, 0.9, -0.5], "features": [0.2, 1.0]}
//   prompt    a string
//   rewards   one finite number per action; every entry has the same number of actions
//   features  optional; if any entry has features, all must, with the same length. Without
//             features, an environment encodes prompt i as a one-hot vector of length
//             `size` (observationSize = number of prompts).
// Other fields are ignored, so files may carry metadata (ids, response texts...).
//
// Files:  .json   an array of entries, or {"prompts": [entries...]}
//         .jsonl  one entry per line (also .ndjson); blank lines are skipped

import { DatasetError, describeValue, isPlainObject, locateEntry, parseJsonEntries, parseJsonlEntries, readEntriesFile, type DatasetLocation, type RawEntries } from './dataset_files';

export { DatasetError, type DatasetLocation } from './dataset_files';

export interface PreferenceEntry {
  prompt: string;
  /** One reward per action. */
  rewards: number[];
  /** The prompt's observation; absent: one-hot of its index. */
  features?: number[];
}

export class PreferenceDataset {
  /** Number of prompts. */
  readonly size: number;
  /** Number of possible responses (the length of every entry's rewards). */
  readonly actionCount: number;
  /** Length of each entry's features, or null when prompts are encoded one-hot. */
  readonly featureSize: number | null;
  /** features.length if given, else size (one-hot). */
  readonly observationSize: number;
  readonly prompts: readonly string[];
  /** rewards: (size, actionCount) */
  readonly rewardTable: Float32Array;
  /** features: (size, featureSize), empty when one-hot */
  private readonly featureTable: Float32Array;

  /**
   * Checks and stores `entries`. `source` names them in error messages.
   * @example
   * const data = new PreferenceDataset([
   *   { prompt: 'greet', rewards: [1, 0] },
   *   { prompt: 'insult', rewards: [0, 1] },
   * ]);
   */
  constructor(
    entries: readonly PreferenceEntry[],
    source = '<entries>',
    /** The 1-based line of each entry in its file (JSONL), for error messages. */
    lines?: readonly number[],
  ) {
    const locate = (i: number): DatasetLocation => locateEntry(source, lines, i);
    if (!Array.isArray(entries)) throw new DatasetError({ source }, `expected an array of entries, got ${describeValue(entries)}`);
    if (entries.length === 0) throw new DatasetError({ source }, 'the dataset is empty: it needs at least one entry');
    const first = checkEntry(entries[0], locate(0));
    this.size = entries.length;
    this.actionCount = first.rewards.length;
    this.featureSize = first.features ? first.features.length : null;
    this.observationSize = this.featureSize ?? this.size;
    this.rewardTable = new Float32Array(this.size * this.actionCount);
    this.featureTable = new Float32Array(this.size * (this.featureSize ?? 0));
    const prompts: string[] = [];
    entries.forEach((raw, i) => {
      const location = locate(i);
      const e = i === 0 ? first : checkEntry(raw, location);
      if (e.rewards.length !== this.actionCount) {
        throw new DatasetError({ ...location, field: 'rewards' }, `has ${e.rewards.length} rewards, but entry 0 has ${this.actionCount}: every entry needs one reward per action`);
      }
      if (this.featureSize === null && e.features) {
        throw new DatasetError({ ...location, field: 'features' }, 'is given, but entry 0 has no features: either every entry has features or none does');
      }
      if (this.featureSize !== null) {
        if (!e.features) throw new DatasetError({ ...location, field: 'features' }, `is missing, but entry 0 has ${this.featureSize} features: either every entry has features or none does`);
        if (e.features.length !== this.featureSize) {
          throw new DatasetError({ ...location, field: 'features' }, `has length ${e.features.length}, but entry 0 has ${this.featureSize}`);
        }
        this.featureTable.set(e.features, i * this.featureSize);
      }
      this.rewardTable.set(e.rewards, i * this.actionCount);
      prompts.push(e.prompt);
    });
    this.prompts = prompts;
  }

  /** Same as the constructor. */
  static fromEntries(entries: readonly PreferenceEntry[], source = '<entries>'): PreferenceDataset {
    return new PreferenceDataset(entries, source);
  }

  /** Parses JSON text: an array of entries, or {"prompts": [entries...]}. */
  static fromJSON(text: string, source = '<json>'): PreferenceDataset {
    return PreferenceDataset.fromRaw(parseJsonEntries(text, source, 'prompts'), source);
  }

  /** Parses JSONL text: one entry per line; blank lines are skipped. */
  static fromJSONL(text: string, source = '<jsonl>'): PreferenceDataset {
    return PreferenceDataset.fromRaw(parseJsonlEntries(text, source), source);
  }

  /**
   * Reads a .json or .jsonl (.ndjson) file (Node, Bun and Deno: uses node:fs/promises).
   * @example
   * const data = await PreferenceDataset.load('data/prefs.jsonl');
   */
  static async load(path: string): Promise<PreferenceDataset> {
    return PreferenceDataset.fromRaw(await readEntriesFile(path, 'prompts'), path);
  }

  private static fromRaw({ entries, lines }: RawEntries, source: string): PreferenceDataset {
    return new PreferenceDataset(entries as PreferenceEntry[], source, lines);
  }

  /** The reward of response `action` to prompt `index`. */
  reward(index: number, action: number): number {
    return this.rewardTable[index * this.actionCount + action]!;
  }

  /**
   * Writes prompt `index`'s observation (observationSize floats) into `out` at `offset`: its
   * features, or a one-hot vector of its index when the dataset has no features.
   */
  encode(index: number, out: Float32Array, offset = 0): void {
    if (this.featureSize === null) {
      out.fill(0, offset, offset + this.size);
      out[offset + index] = 1;
    } else {
      out.set(this.featureTable.subarray(index * this.featureSize, (index + 1) * this.featureSize), offset);
    }
  }
}

/** Checks one entry's fields on their own (consistency across entries is checked by the caller). */
function checkEntry(raw: unknown, location: DatasetLocation): PreferenceEntry {
  if (!isPlainObject(raw) || Array.isArray(raw)) throw new DatasetError(location, `an entry must be an object {"prompt", "rewards", "features"?}, got ${describeValue(raw)}`);
  if (!('prompt' in raw) || raw.prompt === undefined) throw new DatasetError({ ...location, field: 'prompt' }, 'is missing');
  if (typeof raw.prompt !== 'string') throw new DatasetError({ ...location, field: 'prompt' }, `must be a string, got ${describeValue(raw.prompt)}`);
  if (!('rewards' in raw) || raw.rewards === undefined) throw new DatasetError({ ...location, field: 'rewards' }, 'is missing');
  const rewards = checkNumbers(raw.rewards, { ...location, field: 'rewards' });
  if (rewards.length === 0) throw new DatasetError({ ...location, field: 'rewards' }, 'is empty: it needs one reward per action');
  const entry: PreferenceEntry = { prompt: raw.prompt, rewards };
  if ('features' in raw && raw.features !== undefined) {
    const features = checkNumbers(raw.features, { ...location, field: 'features' });
    if (features.length === 0) throw new DatasetError({ ...location, field: 'features' }, 'is empty: omit it to encode prompts one-hot');
    entry.features = features;
  }
  return entry;
}

const FLOAT32_MAX = 3.4028234663852886e38;

function checkNumbers(value: unknown, location: DatasetLocation): number[] {
  if (!Array.isArray(value)) throw new DatasetError(location, `must be an array of finite numbers, got ${describeValue(value)}`);
  value.forEach((v, k) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new DatasetError(location, `must be an array of finite numbers, but element ${k} is ${describeValue(v)}`);
    // Stored as float32: a larger magnitude would become Infinity there.
    if (Math.abs(v) > FLOAT32_MAX) throw new DatasetError(location, `element ${k} is ${v}, beyond the float32 range (±${FLOAT32_MAX})`);
  });
  return value as number[];
}



