// The completions table: what the policy wrote at every step, with its rewards, kept for every
// step (TRL's log_completions shows only the latest: huggingface/trl#2948). Each row of each
// step is appended to a JSON Lines file, one object per row, and the first few rows of a step
// are printed as a compact table.
//
//   const table = await CompletionsTable.open('runs/grpo/completions.jsonl');
//   table.log(step, completionRows({ prompts: rollout.promptTexts, completions: rollout.completionTexts, perFunction, advantages }));
//   await table.close();
//
// File format, one line per row:
//   {"step":3,"prompt":"It was","completion":" a fine day","rewards":{"sentiment":0.5},"advantage":0.7}
// Numbers that JSON cannot hold (NaN, ±Infinity) are written as null and named in `nonfinite`
// ({"advantage": "NaN"}), as JsonlSink does for metrics. A step's rows go out in one write and
// the file is synced, so a crash loses at most the step being written: readCompletionsTable()
// skips a torn last line, and open() cuts it off before appending (a resumed run continues the
// file). Without a file system (browsers), `new CompletionsTable({ onRows })`
// hands the same records to a callback.

import { NovaRLError, ValueError } from '../core/errors';
import { nodeSyncFileSystem, type FsSync } from '../io/fs';

/** One completion of a step. */
export interface CompletionRow {
  prompt: string;
  completion: string;
  /** Per reward function, this completion's reward. */
  rewards: Readonly<Record<string, number>>;
  /** The completion's advantage, when the algorithm has one per sequence. */
  advantage?: number;
  /** Any other per-row numbers (e.g. kl, length). */
  [extra: string]: unknown;
}

/** A row as written to the file (and given to onRows): the row and its step. */
export interface CompletionRecord extends CompletionRow {
  step: number;
}

export interface CompletionsTableOptions {
  /** Rows of each step printed to the console; 0 prints nothing. Default 3. */
  consoleRows?: number;
  /** Longest prompt / completion text shown in the console table, in characters. Default 40. */
  maxChars?: number;
  /** Where printed lines go. Default console.log. */
  print?: (line: string) => void;
  /** Receives every step's records (browsers, tests, trackers), besides or instead of a file. */
  onRows?: (step: number, records: readonly CompletionRecord[]) => void;
}


export class CompletionsTable {
  private fd: number | undefined;
  private fs: FsSync | undefined;
  private readonly consoleRows: number;
  private readonly maxChars: number;
  private readonly print: (line: string) => void;
  private readonly onRows?: CompletionsTableOptions['onRows'];
  private closed = false;
  /** The JSON Lines file, when the table writes one. */
  readonly path?: string;

  /** A table without a file: records go to `onRows` and the console only. */
  constructor(options: CompletionsTableOptions = {}) {
    const { consoleRows = 3, maxChars = 40 } = options;
    if (!Number.isSafeInteger(consoleRows) || consoleRows < 0) throw new ValueError(`CompletionsTable: consoleRows must be a non-negative integer, got ${consoleRows}`);
    if (!Number.isSafeInteger(maxChars) || maxChars < 4) throw new ValueError(`CompletionsTable: maxChars must be an integer >= 4, got ${maxChars}`);
    this.consoleRows = consoleRows;
    this.maxChars = maxChars;
    this.print = options.print ?? ((line) => console.log(line));
    if (options.onRows !== undefined) this.onRows = options.onRows;
  }

  /**
   * A table appending to `path` (Node, Bun, Deno), creating its directory; an existing file is
   * kept and appended to, so a resumed run continues its table.
   */
  static async open(path: string, options: CompletionsTableOptions = {}): Promise<CompletionsTable> {
    const table = new CompletionsTable(options);
    const { fs, path: paths } = await nodeSyncFileSystem(() => new NovaRLError(`CompletionsTable needs a file system (node:fs) to write ${path}; use new CompletionsTable({ onRows }) here`));
    fs.mkdirSync(paths.dirname(path), { recursive: true });
    table.fs = fs;
    table.fd = fs.openSync(path, 'a+');
    dropTornTail(fs, table.fd);
    (table as { path?: string }).path = path;
    return table;
  }

  /** Records one step's rows: appends them to the file, hands them to onRows, prints the first consoleRows. */
  log(step: number, rows: readonly CompletionRow[]): void {
    if (this.closed) throw new ValueError('CompletionsTable.log after close()');
    if (!Number.isSafeInteger(step) || step < 0) throw new ValueError(`CompletionsTable.log: step must be a non-negative integer, got ${step}`);
    if (!Array.isArray(rows)) throw new ValueError('CompletionsTable.log: rows must be an array');
    const records = rows.map((row, i) => checkRow(step, row, i));
    if (this.fd !== undefined && records.length > 0) {
      this.fs!.writeSync(this.fd, records.map((r) => `${toRecordLine(r)}\n`).join(''));
      this.fs!.fsyncSync(this.fd);
    }
    this.onRows?.(step, records);
    if (this.consoleRows > 0 && records.length > 0) for (const line of formatCompletionsTable(records.slice(0, this.consoleRows), this.maxChars)) this.print(line);
  }

  /** Closes the file; no log may follow. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== undefined) {
      this.fs!.fsyncSync(this.fd);
      this.fs!.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/**
 * A file whose last line lacks its newline was cut by a crash mid-write: cut it back to its last
 * complete line, so the rows appended next do not join the torn one.
 */
function dropTornTail(fs: FsSync, fd: number): void {
  const size = fs.fstatSync(fd).size;
  const chunk = new Uint8Array(65536);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const read = fs.readSync(fd, chunk, 0, end - start, start);
    const newline = chunk.subarray(0, read).lastIndexOf(10);
    if (newline !== -1) {
      const keep = start + newline + 1;
      if (keep < size) fs.ftruncateSync(fd, keep);
      return;
    }
    end = start;
  }
  if (size > 0) fs.ftruncateSync(fd, 0); // one torn line and nothing before it
}

/**
 * Rows for log() from one generation batch: per completion its prompt, text, each reward
 * function's reward (scoreRewards' perFunction) and, when given, its advantage and other
 * per-row numbers (e.g. { kl: [...] }).
 */
export function completionRows(batch: {
  prompts: readonly string[];
  completions: readonly string[];
  perFunction: Readonly<Record<string, readonly number[]>>;
  advantages?: ArrayLike<number>;
  extra?: Readonly<Record<string, ArrayLike<number>>>;
}): CompletionRow[] {
  const rows = batch.completions.length;
  const columns: [string, ArrayLike<number>][] = [...Object.entries(batch.perFunction), ...(batch.advantages ? [['advantage', batch.advantages] as [string, ArrayLike<number>]] : []), ...Object.entries(batch.extra ?? {})];
  if (batch.prompts.length !== rows) throw new ValueError(`completionRows: ${batch.prompts.length} prompts for ${rows} completions`);
  for (const [name, values] of columns) if (values.length !== rows) throw new ValueError(`completionRows: '${name}' has ${values.length} values for ${rows} completions`);
  return batch.completions.map((completion, i) => {
    const row: CompletionRow = { prompt: batch.prompts[i]!, completion, rewards: Object.fromEntries(Object.entries(batch.perFunction).map(([name, values]) => [name, values[i]!])) };
    if (batch.advantages) row.advantage = batch.advantages[i]!;
    for (const [name, values] of Object.entries(batch.extra ?? {})) row[name] = values[i]!;
    return row;
  });
}

const RESERVED = new Set(['step', 'nonfinite']);

/** Checks one row and adds its step. */
function checkRow(step: number, row: CompletionRow, i: number): CompletionRecord {
  const where = `CompletionsTable.log: rows[${i}]`;
  if (typeof row !== 'object' || row === null) throw new ValueError(`${where} must be an object {prompt, completion, rewards}`);
  if (typeof row.prompt !== 'string') throw new ValueError(`${where}.prompt must be a string`);
  if (typeof row.completion !== 'string') throw new ValueError(`${where}.completion must be a string`);
  if (typeof row.rewards !== 'object' || row.rewards === null || Array.isArray(row.rewards)) throw new ValueError(`${where}.rewards must be an object {name: reward}`);
  for (const [name, value] of Object.entries(row.rewards)) if (typeof value !== 'number') throw new ValueError(`${where}.rewards.${name} must be a number, got ${typeof value}`);
  for (const [key, value] of Object.entries(row)) {
    if (RESERVED.has(key)) throw new ValueError(`${where}: '${key}' is a reserved key`);
    if (key === 'prompt' || key === 'completion' || key === 'rewards') continue;
    if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean') throw new ValueError(`${where}.${key} must be a number, string or boolean, got ${typeof value}`);
  }
  return { step, ...row, rewards: { ...row.rewards } };
}

/** One record as a JSON line; non-finite numbers become null, named in `nonfinite`. */
export function toRecordLine(record: CompletionRecord): string {
  const nonfinite: Record<string, string> = {};
  const finite = (key: string, v: unknown) => {
    if (typeof v !== 'number' || Number.isFinite(v)) return v;
    nonfinite[key] = String(v);
    return null;
  };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    out[key] = key === 'rewards' ? Object.fromEntries(Object.entries(value as Record<string, number>).map(([name, r]) => [name, finite(`rewards.${name}`, r)])) : finite(key, value);
  }
  if (Object.keys(nonfinite).length > 0) out.nonfinite = nonfinite;
  return JSON.stringify(out);
}

/**
 * Parses a completions file's text back into records (non-finite numbers restored). A last line
 * without its newline is a write torn by a crash and is skipped; any other bad line is an error.
 */
export function readCompletionsTable(text: string): CompletionRecord[] {
  const lines = text.split('\n');
  const complete = lines.slice(0, -1); // the part after the last "\n" is empty or torn
  return complete.filter((line) => line.trim() !== '').map((line, i) => {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new ValueError(`readCompletionsTable: line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
    const nonfinite = record.nonfinite as Record<string, string> | undefined;
    delete record.nonfinite;
    for (const [key, value] of Object.entries(nonfinite ?? {})) {
      const number = Number(value); // "NaN", "Infinity", "-Infinity"
      if (key.startsWith('rewards.')) (record.rewards as Record<string, number>)[key.slice('rewards.'.length)] = number;
      else record[key] = number;
    }
    return record as unknown as CompletionRecord;
  });
}

/** Compact number formatting for the table. */
function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
}

/** `text` on one line (newlines as ⏎, tabs as spaces), cut to `max` characters with an ellipsis. */
export function shortText(text: string, max: number): string {
  const flat = text.replace(/\r?\n/g, '⏎').replace(/\t/g, ' ');
  const chars = [...flat];
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join('')}…`;
}

/** The console table for some records: a header and one line per record, columns aligned. */
export function formatCompletionsTable(records: readonly CompletionRecord[], maxChars = 40): string[] {
  const rewardNames = [...new Set(records.flatMap((r) => Object.keys(r.rewards)))];
  const extraKeys = [...new Set(records.flatMap((r) => Object.keys(r).filter((k) => !['step', 'prompt', 'completion', 'rewards'].includes(k))))];
  const header = ['step', 'prompt', 'completion', ...rewardNames, ...extraKeys];
  const cells = records.map((r) => [
    String(r.step),
    shortText(r.prompt, maxChars),
    shortText(r.completion, maxChars),
    ...rewardNames.map((n) => (n in r.rewards ? formatNumber(r.rewards[n]!) : '')),
    ...extraKeys.map((k) => {
      const v = r[k];
      return typeof v === 'number' ? formatNumber(v) : v === undefined ? '' : shortText(String(v), maxChars);
    }),
  ]);
  const widths = header.map((h, c) => Math.max([...h].length, ...cells.map((row) => [...row[c]!].length)));
  const line = (row: string[]) => row.map((cell, c) => cell + ' '.repeat(widths[c]! - [...cell].length)).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line)];
}
