// Datasets read from JSON, JSON Lines or a file, for every dataset in the SDK (PreferenceDataset
// here, PromptDataset and PreferencePairs in sdk/lm/): the typed error that names where a bad
// entry is (file, line, entry, field), and the readers that keep each entry's line for it.
//
// Files:  .json           an array of entries, or {"<key>": [entries...]} (key "prompts" or "pairs")
//         .jsonl/.ndjson  one entry per line; blank lines are skipped

import { NovaRLError } from '../core/errors';

/** Where a bad entry was found, for DatasetError messages. */
export interface DatasetLocation {
  /** File path, or a label such as '<json>' for text not read from a file. */
  source: string;
  /** 1-based line number (JSONL only). */
  line?: number;
  /** 0-based entry index. */
  entry?: number;
  /** The offending field. */
  field?: string;
}

/** A dataset that cannot be read or does not follow the entry format. */
export class DatasetError extends NovaRLError {
  override name = 'DatasetError';
  readonly source: string;
  readonly line?: number;
  readonly entry?: number;
  readonly field?: string;

  constructor(location: DatasetLocation, detail: string) {
    const where = [
      location.source,
      location.line !== undefined ? `line ${location.line}` : undefined,
      location.entry !== undefined ? `entry ${location.entry}` : undefined,
      location.field !== undefined ? `field "${location.field}"` : undefined,
    ].filter((part) => part !== undefined);
    super(`${where.join(', ')}: ${detail}`);
    this.source = location.source;
    if (location.line !== undefined) this.line = location.line;
    if (location.entry !== undefined) this.entry = location.entry;
    if (location.field !== undefined) this.field = location.field;
  }
}

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
    throw new DatasetError({ source, ...jsonErrorLine(text, e as Error) }, `invalid JSON: ${(e as Error).message}`);
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

/** The line of a JSON.parse error, when the engine's message gives its position (V8 does). */
function jsonErrorLine(text: string, error: Error): { line?: number } {
  const match = /position (\d+)/.exec(error.message);
  if (!match) return {};
  const position = Math.min(Number(match[1]), text.length);
  return { line: text.slice(0, position).split('\n').length };
}
