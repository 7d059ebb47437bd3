// What PromptDataset and PreferencePairs share: reading entries from JSON, JSON Lines or a file
// (with the line of each entry, for error messages), and the per-epoch shuffled order that
// next(k) walks, with its checkpointable state.
//
// Files:  .json           an array of entries, or {"<key>": [entries...]} (key "prompts" or "pairs")
//         .jsonl/.ndjson  one entry per line; blank lines are skipped

import { ValueError } from '../core/errors';
import { Prng } from '../core/prng';
import { DatasetError } from '../envs/preference_dataset';

/** Raw entries and, for JSON Lines, the 1-based line each came from. */
export interface RawEntries {
  entries: unknown[];
  lines?: number[];
}

/** Parses JSON text: an array of entries, or an object whose `key` holds the array. */
export function parseJsonEntries(text: string, source: string, key: string): RawEntries {
  if (typeof text !== 'string') throw new DatasetError({ source }, `expected JSON text, got ${describeValue(text)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DatasetError({ source }, `invalid JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(parsed)) return { entries: parsed };
  if (isPlainObject(parsed) && key in parsed) {
    const inner = parsed[key];
    if (!Array.isArray(inner)) throw new DatasetError({ source, field: key }, `must be an array of entries, got ${describeValue(inner)}`);
    return { entries: inner };
  }
  throw new DatasetError({ source }, `expected an array of entries or an object {"${key}": [...]}, got ${describeValue(parsed)}`);
}

/** Parses JSON Lines text: one entry per line, blank lines skipped. */
export function parseJsonlEntries(text: string, source: string): RawEntries {
  if (typeof text !== 'string') throw new DatasetError({ source }, `expected JSON Lines text, got ${describeValue(text)}`);
  const entries: unknown[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      entries.push(JSON.parse(line));
    } catch (e) {
      throw new DatasetError({ source, line: i + 1, entry: entries.length }, `invalid JSON: ${(e as Error).message}`);
    }
    lines.push(i + 1);
  });
  return { entries, lines };
}

/** Reads a .json or .jsonl/.ndjson file (Node, Bun, Deno: node:fs/promises on first use). */
export async function readEntriesFile(path: string, key: string): Promise<RawEntries> {
  const lower = path.toLowerCase();
  const format = lower.endsWith('.jsonl') || lower.endsWith('.ndjson') ? 'jsonl' : lower.endsWith('.json') ? 'json' : undefined;
  if (!format) throw new DatasetError({ source: path }, 'unknown file type: use a .json, .jsonl or .ndjson file');
  let text: string;
  try {
    const fs = await import('node:fs/promises');
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new DatasetError({ source: path }, `cannot read the file: ${(e as Error).message}`);
  }
  return format === 'jsonl' ? parseJsonlEntries(text, path) : parseJsonEntries(text, path, key);
}

/** Where entry i came from, for DatasetError. */
export function locateEntry(source: string, lines: readonly number[] | undefined, i: number): { source: string; line?: number; entry: number } {
  const line = lines?.[i];
  return line !== undefined ? { source, line, entry: i } : { source, entry: i };
}

/** Where an iteration stands: epoch e visits the entries in the order permutation(seed, e). */
export interface DatasetPosition {
  /** Completed passes over the data. */
  epoch: number;
  /** Entries of the current epoch already handed out. */
  index: number;
  /** The shuffle's seed. */
  seed: number;
  /** Number of entries, checked on load so a state is not restored into another dataset. */
  size: number;
}

/**
 * The order next(k) walks: epoch e is a Fisher-Yates permutation drawn from Prng(seed, stream e)
 * (identity when shuffle is off), so a position is just (epoch, index, seed) and every runtime
 * produces the same order.
 */
export class EpochOrder {
  private epoch = 0;
  private index = 0;
  private order: Int32Array;

  constructor(
    readonly size: number,
    private seed: number,
    private readonly shuffle: boolean,
  ) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ValueError(`seed must be a non-negative safe integer, got ${describeValue(seed)}`);
    this.order = this.orderOf(0);
  }

  /** The next k entry indices, crossing into new epochs as needed. */
  take(k: number, what: string): number[] {
    if (!Number.isSafeInteger(k) || k < 1) throw new ValueError(`${what}.next: k must be a positive integer, got ${describeValue(k)}`);
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      if (this.index === this.size) {
        this.epoch += 1;
        this.index = 0;
        this.order = this.orderOf(this.epoch);
      }
      out.push(this.order[this.index]!);
      this.index += 1;
    }
    return out;
  }

  state(): DatasetPosition {
    return { epoch: this.epoch, index: this.index, seed: this.seed, size: this.size };
  }

  /** Restores a state(); a malformed one or one from a dataset of another size is a ValueError. */
  loadState(state: unknown, what: string): void {
    if (!isPlainObject(state)) throw new ValueError(`${what}.loadState: expected an object {epoch, index, seed, size}, got ${describeValue(state)}`);
    for (const field of ['epoch', 'index', 'seed', 'size'] as const) {
      const v = state[field];
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw new ValueError(`${what}.loadState: field "${field}" must be a non-negative integer, got ${describeValue(v)}`);
    }
    const { epoch, index, seed, size } = state as unknown as DatasetPosition;
    if (size !== this.size) throw new ValueError(`${what}.loadState: the state is for a dataset of ${size} entries, this one has ${this.size}`);
    if (index > size) throw new ValueError(`${what}.loadState: field "index" is ${index}, past the ${size} entries of an epoch`);
    this.epoch = epoch;
    this.index = index;
    this.seed = seed;
    this.order = this.orderOf(epoch);
  }

  private orderOf(epoch: number): Int32Array {
    if (!this.shuffle) return Int32Array.from({ length: this.size }, (_, i) => i);
    return new Prng(this.seed, epoch).permutation(this.size);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short description of a bad value for error messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'function') return 'a function';
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
