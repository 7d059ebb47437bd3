// A progress display for long runs.
//
// On an interactive terminal it is one line redrawn in place with a carriage return:
//   [#########...........]  45/100  12.3 it/s  ETA 0:04  reward=0.51 kl=0.0031
// Elsewhere (output piped to a file, CI, NO_COLOR set, or no Node `process` at all, as in browsers
// and workers) it prints a plain line every `every` steps and at the last one, so logs stay readable:
//   45/100 12.3 it/s ETA 0:04 reward=0.51 kl=0.0031

import { ValueError } from '../core/errors';
import { formatMetric } from './logger';
import type { Clock } from './timing';

export interface ProgressOptions {
  /** Number of steps in the run. */
  total: number;
  /** Metrics to show after the counters, in this order (missing ones are skipped). */
  keys?: string[];
  /** Plain mode: print every this many steps (default: about 20 lines per run). */
  every?: number;
  /** Characters in the bar (default 20). */
  width?: number;
  /** 'auto' (default) picks 'tty' when stdout is a terminal and neither CI nor NO_COLOR is set. */
  mode?: 'auto' | 'tty' | 'plain';
  /** TTY mode: writes text as it is (default process.stdout.write). */
  write?: (text: string) => void;
  /** Plain mode: prints one line (default console.log). */
  print?: (line: string) => void;
  /** Milliseconds; performance.now by default. */
  clock?: Clock;
}

interface NodeLikeProcess {
  env?: Record<string, string | undefined>;
  stdout?: { isTTY?: boolean; write?: (text: string) => unknown };
}

function nodeProcess(): NodeLikeProcess | undefined {
  return (globalThis as { process?: NodeLikeProcess }).process;
}

/** Whether a redrawn progress bar suits this environment (a terminal, not CI, colour allowed). */
export function interactiveTerminal(): boolean {
  const proc = nodeProcess();
  if (proc?.stdout?.isTTY !== true || typeof proc.stdout.write !== 'function') return false;
  const env = proc.env ?? {};
  // NO_COLOR (no-color.org) counts when set to anything non-empty; CI when set and not "false".
  if (env.NO_COLOR) return false;
  if (env.CI && env.CI !== 'false' && env.CI !== '0') return false;
  return true;
}

/** h:mm:ss, or m:ss under an hour. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export class ProgressBar {
  readonly mode: 'tty' | 'plain';
  private readonly total: number;
  private readonly keys: string[];
  private readonly every: number;
  private readonly width: number;
  private readonly write: (text: string) => void;
  private readonly print: (line: string) => void;
  private readonly clock: Clock;
  private readonly startedAt: number;
  private lastDrawAt = -Infinity;
  private lastLength = 0;
  private finished = false;

  constructor(options: ProgressOptions) {
    if (!Number.isSafeInteger(options.total) || options.total <= 0) throw new ValueError(`ProgressBar: total must be a positive integer, got ${options.total}`);
    this.total = options.total;
    this.keys = options.keys ?? [];
    this.every = options.every ?? Math.max(1, Math.round(options.total / 20));
    if (!Number.isSafeInteger(this.every) || this.every <= 0) throw new ValueError(`ProgressBar: every must be a positive integer, got ${options.every}`);
    this.width = options.width ?? 20;
    const mode = options.mode ?? 'auto';
    this.mode = mode === 'auto' ? (interactiveTerminal() ? 'tty' : 'plain') : mode;
    const stdout = nodeProcess()?.stdout;
    this.write = options.write ?? ((text) => (stdout?.write ? stdout.write(text) : console.log(text)));
    this.print = options.print ?? ((line) => console.log(line));
    this.clock = options.clock ?? (() => performance.now());
    this.startedAt = this.clock();
  }

  /** Reports that `step` of `total` steps are done, with this step's metrics. */
  update(step: number, metrics: Record<string, number> = {}): void {
    if (this.finished) return;
    const now = this.clock();
    const last = step >= this.total;
    if (this.mode === 'tty') {
      // Redraw at most 10 times a second: a terminal is slower than a tight training loop.
      if (!last && now - this.lastDrawAt < 100) return;
      this.lastDrawAt = now;
      const line = this.render(step, metrics, now, true);
      this.write(`\r${line}${' '.repeat(Math.max(0, this.lastLength - line.length))}`);
      this.lastLength = line.length;
      if (last) this.finish();
    } else {
      if (step % this.every === 0 || last) {
        this.print(this.render(step, metrics, now, false));
      }
      if (last) this.finished = true;
    }
  }

  /** Ends the display (a final newline on a terminal); later updates are ignored. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mode === 'tty' && this.lastLength > 0) this.write('\n');
  }

  private render(step: number, metrics: Record<string, number>, now: number, withBar: boolean): string {
    const elapsed = (now - this.startedAt) / 1000;
    const rate = elapsed > 0 ? step / elapsed : NaN;
    const eta = rate > 0 ? (this.total - step) / rate : NaN;
    const fields = [
      `${step}/${this.total}`,
      `${Number.isFinite(rate) ? formatMetric(rate) : '?'} it/s`,
      `ETA ${formatDuration(eta)}`,
      ...this.keys.filter((key) => key in metrics).map((key) => `${key}=${formatMetric(metrics[key]!)}`),
    ];
    if (!withBar) return fields.join(' ');
    const filled = Math.min(this.width, Math.floor((step / this.total) * this.width));
    return `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}]  ${fields.join('  ')}`;
  }
}
