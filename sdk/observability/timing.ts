// Wall-clock time per named section of a training update ("rollout", "forward", "optimizer"),
// accumulated across calls and reported as metrics (`time/rollout`, in seconds).
//
//   const timer = new Timer();
//   const batch = timer.time('rollout', () => engine.collect());
//   timer.start('update'); ...; timer.stop('update');
//   logger.log(step, { ...metrics, ...timer.summary() });
//   timer.reset();
//
// Timing only observes training; it never feeds it, so clock differences between runtimes do not
// touch determinism.

import { ValueError } from '../core/errors';

/** Milliseconds from some fixed origin (performance.now's contract). */
export type Clock = () => number;

export class Timer {
  /** Seconds accumulated per section since the last reset, in the order sections first stopped. */
  private readonly totals = new Map<string, number>();
  /** Start time (ms) of each running section. */
  private readonly running = new Map<string, number>();

  /** `clock` returns milliseconds; performance.now by default (every runtime has it). */
  constructor(private readonly clock: Clock = () => performance.now()) {}

  /** Runs `fn` inside section `name` and returns its result; the time counts even if it throws. */
  time<T>(name: string, fn: () => T): T {
    this.start(name);
    try {
      return fn();
    } finally {
      this.stop(name);
    }
  }

  /** time() for async work: the section runs until the promise settles. */
  async timeAsync<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.start(name);
    try {
      return await fn();
    } finally {
      this.stop(name);
    }
  }

  /** Starts section `name`; different sections may run at once (nested or overlapping). */
  start(name: string): void {
    if (this.running.has(name)) throw new ValueError(`Timer: section '${name}' is already running`);
    this.running.set(name, this.clock());
  }

  /** Stops section `name`, adds the interval to its total and returns the interval in seconds. */
  stop(name: string): number {
    const startedAt = this.running.get(name);
    if (startedAt === undefined) throw new ValueError(`Timer: section '${name}' is not running`);
    this.running.delete(name);
    const seconds = (this.clock() - startedAt) / 1000;
    this.totals.set(name, (this.totals.get(name) ?? 0) + seconds);
    return seconds;
  }

  /** Seconds accumulated by section `name` since the last reset (0 if it has not run). */
  seconds(name: string): number {
    return this.totals.get(name) ?? 0;
  }

  /**
   * Accumulated seconds per section as metrics: `{'time/rollout': 1.25, ...}`. Only finished
   * intervals count; a section still running adds its time when it stops.
   */
  summary(prefix = 'time/'): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, seconds] of this.totals) out[prefix + name] = seconds;
    return out;
  }

  /** Clears the totals, typically once per update after logging summary(). Running sections keep running. */
  reset(): void {
    this.totals.clear();
  }
}
