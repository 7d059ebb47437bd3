// Metrics logging: a Logger hands each update's metrics to its sinks.
//
//   const logger = new Logger([new ConsoleSink({ keys: ['charts/reward', 'losses/policy'] }),
//                              await JsonlSink.open('runs/ppo/metrics.jsonl')]);
//   logger.log(step, { 'charts/reward': 0.51, 'losses/policy': -0.012, ...timer.summary() });
//   await logger.close();
//
// Metric names may be grouped with slashes (`losses/policy`, `charts/SPS`), as CleanRL and TRL do.
//
// JSON Lines and non-finite numbers: JSON has no NaN or Infinity, and a NaN loss is exactly what a
// log must not lose. JsonlSink writes such a value as null and names it in a `nonfinite` object,
// key -> "NaN" | "Infinity" | "-Infinity":
//   {"step":7,"losses/policy":null,"charts/reward":0.5,"nonfinite":{"losses/policy":"NaN"}}
// `step` and `nonfinite` are therefore reserved: no metric may have either name.

import type { Metrics } from '../interfaces/trainer';
import { NovaRLError, ValueError } from '../core/errors';
import { nodeSyncFileSystem, type FsSync } from '../io/fs';

/** Where logged metrics go. */
export interface LogSink {
  /** Receives one update's metrics (already validated). */
  write(step: number, metrics: Readonly<Metrics>): void;
  /** Receives a warning (a config that is legal but probably not meant); console.warn when absent. */
  warn?(message: string): void;
  /** Pushes buffered output to its destination. */
  flush?(): void | Promise<void>;
  /** Flushes and releases the destination; no write may follow. */
  close?(): void | Promise<void>;
}

const RESERVED = new Set(['step', 'nonfinite']);

export class Logger {
  private closed = false;

  constructor(private readonly sinks: LogSink[]) {}

  /** Sends `metrics` for update `step` to every sink. */
  log(step: number, metrics: Metrics): void {
    if (this.closed) throw new ValueError('Logger.log after close()');
    if (!Number.isSafeInteger(step) || step < 0) throw new ValueError(`Logger.log: step must be a non-negative integer, got ${step}`);
    for (const [name, value] of Object.entries(metrics)) {
      if (RESERVED.has(name)) throw new ValueError(`Logger.log: '${name}' is a reserved key, rename the metric`);
      if (name === '') throw new ValueError('Logger.log: a metric has an empty name');
      if (typeof value !== 'number') throw new ValueError(`Logger.log: metric '${name}' is ${typeof value} ${JSON.stringify(value)}, not a number`);
    }
    for (const sink of this.sinks) sink.write(step, metrics);
  }

  /**
   * Sends a warning to every sink that takes warnings (`LogSink.warn`), or to console.warn when
   * none does, so a warning is never lost. PPOTrainer's `logger` option takes a Logger.
   */
  warn(message: string): void {
    let delivered = false;
    for (const sink of this.sinks) {
      if (sink.warn === undefined) continue;
      sink.warn(message);
      delivered = true;
    }
    if (!delivered) console.warn(message);
  }

  async flush(): Promise<void> {
    for (const sink of this.sinks) await sink.flush?.();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sink of this.sinks) await sink.close?.();
  }
}

// ---------------------------------------------------------------------------------------------
// Console

/**
 * Compact number formatting for logs: integers as they are (up to 1e6), 4 significant digits
 * between 1e-3 and 1e6, exponent notation outside; nan / inf / -inf for non-finite values.
 */
export function formatMetric(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const magnitude = Math.abs(x);
  if (Number.isInteger(x) && magnitude < 1e6) return String(x);
  if (magnitude >= 1e-3 && magnitude < 1e6) return String(Number(x.toPrecision(4)));
  return x.toExponential(2).replace('e+', 'e');
}

export interface ConsoleSinkOptions {
  /** Metrics to show, in this order (missing ones are skipped); all of them by default. */
  keys?: string[];
  /** Where each line goes; console.log by default. */
  print?: (line: string) => void;
}

/** One compact line per update: `step=120 charts/reward=0.513 losses/policy=-0.0123`. */
export class ConsoleSink implements LogSink {
  private readonly keys?: string[];
  private readonly print: (line: string) => void;

  constructor(options: ConsoleSinkOptions = {}) {
    this.keys = options.keys;
    this.print = options.print ?? ((line) => console.log(line));
  }

  write(step: number, metrics: Readonly<Metrics>): void {
    const keys = this.keys ?? Object.keys(metrics);
    const fields = keys.filter((key) => key in metrics).map((key) => `${key}=${formatMetric(metrics[key]!)}`);
    this.print([`step=${step}`, ...fields].join(' '));
  }

  warn(message: string): void {
    this.print(`warning: ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Callback

/** Hands each update to a function (a chart, a test, an experiment tracker). */
export class CallbackSink implements LogSink {
  constructor(private readonly fn: (step: number, metrics: Readonly<Metrics>) => void) {}

  write(step: number, metrics: Readonly<Metrics>): void {
    this.fn(step, metrics);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

/** One JSON object per update, as JsonlSink writes it (see this file's header for `nonfinite`). */
export function toJsonLine(step: number, metrics: Readonly<Metrics>): string {
  const record: Record<string, number | null | Record<string, string>> = { step };
  const nonfinite: Record<string, string> = {};
  for (const [name, value] of Object.entries(metrics)) {
    if (Number.isFinite(value)) {
      record[name] = value;
    } else {
      record[name] = null;
      nonfinite[name] = String(value); // "NaN", "Infinity" or "-Infinity"
    }
  }
  if (Object.keys(nonfinite).length > 0) record.nonfinite = nonfinite;
  return JSON.stringify(record);
}

/**
 * Appends one JSON object per update to a file (Node, Bun, Deno). Open it with
 * `await JsonlSink.open(path)`: node:fs is imported on demand, so this module still loads where
 * there is no file system (use a CallbackSink there). Each line is written when logged; flush()
 * also asks the OS to put it on disk.
 */
export class JsonlSink implements LogSink {
  private fd: number | undefined;

  private constructor(
    private readonly fs: FsSync,
    fd: number,
    readonly path: string,
  ) {
    this.fd = fd;
  }

  /** Opens `path` for appending (or truncates it with `{ append: false }`), creating its directory. */
  static async open(path: string, options: { append?: boolean } = {}): Promise<JsonlSink> {
    const { fs, path: paths } = await nodeSyncFileSystem(() => new NovaRLError(`JsonlSink needs a file system (node:fs) to write ${path}; use a CallbackSink here`));
    fs.mkdirSync(paths.dirname(path), { recursive: true });
    return new JsonlSink(fs, fs.openSync(path, options.append === false ? 'w' : 'a'), path);
  }

  write(step: number, metrics: Readonly<Metrics>): void {
    if (this.fd === undefined) throw new ValueError(`JsonlSink(${this.path}): write after close()`);
    this.fs.writeSync(this.fd, `${toJsonLine(step, metrics)}\n`);
  }

  flush(): void {
    if (this.fd !== undefined) this.fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    this.fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
