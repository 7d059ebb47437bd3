// Concurrent requests become one generation call. The rule:
//   - a request joins the queue; when the queue is idle, the next batch starts `windowMs` after
//     the first request in it arrived, and requests that arrive while a batch runs wait for the
//     next one;
//   - a batch starts with the oldest queued request and takes, in arrival order, every queued
//     request whose longest prompt has the same length L, while its rows (prompts x n) stay
//     within maxBatchRows; the others wait for a later batch (the oldest always goes next, so
//     none waits forever);
//   - any sampling settings batch together: each request is a group of generateGroups
//     (sdk/serve/batch_generate.ts) with its own temperature, top-k, top-p, stop ids and
//     max_tokens;
//   - `seed`: a seeded request draws from its own stream, seed(s) then its rows in order, so its
//     answer is the same whatever it is batched with, bit for bit, and equals
//     generate(model, its prompts each repeated n times, { seed }) (LocalCompletionEngine's
//     request at the same seed). Unseeded requests draw from the server's stream (seeded once
//     from `seed` at start), so they differ from run to run only by arrival order.
// Why equal L: rows are left-padded to the batch's L, and attention sums a row's keys in lanes
// by column, so a row shifted by a different amount of padding than it has alone can round its
// sums differently (measured: log-probs differing in the last bits, ~1e-6, when prompts of
// lengths 1, 2 and 3 were mixed). With equal L every row sits in the columns it has alone.
// A batch runs synchronously, so nothing else (a weight swap included) happens during one.

import type { GPT } from '../index';
import { generateGroups, seededState, type GenerationGroup, type GroupOutput, type RngState } from './batch_generate';

export interface BatchingQueueOptions {
  /** How long the first request of a batch waits for others, ms. Default 2. */
  windowMs: number;
  /** Most rows in one batch. */
  maxBatchRows: number;
  /** The server stream's seed (unseeded requests). Default 0. */
  seed: number;
}

interface Job {
  group: GenerationGroup;
  resolve(output: { output: GroupOutput; weightsVersion: number }): void;
  reject(error: unknown): void;
}

/** Counters for tests and the load test. */
export interface QueueStats {
  /** generateGroups calls so far. */
  batches: number;
  /** Requests served so far. */
  requests: number;
  /** The most requests one batch held. */
  largestBatch: number;
}

export class BatchingQueue {
  private readonly queue: Job[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private closed = false;
  private stream: RngState;
  readonly stats: QueueStats = { batches: 0, requests: 0, largestBatch: 0 };

  constructor(
    /** The model of the moment and its weights version (read at the start of each batch). */
    private readonly current: () => { model: GPT; weightsVersion: number },
    private readonly options: BatchingQueueOptions,
  ) {
    this.stream = seededState(current().model, options.seed);
  }

  /** Queues one request's group; resolves with its output once its batch has run. */
  submit(group: GenerationGroup): Promise<{ output: GroupOutput; weightsVersion: number }> {
    if (this.closed) return Promise.reject(new Error('the server is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ group, resolve, reject });
      this.schedule();
    });
  }

  /** Rejects queued requests and stops. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const job of this.queue.splice(0)) job.reject(new Error('the server closed before this request ran'));
  }

  private schedule(): void {
    if (this.timer || this.running || this.queue.length === 0 || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runBatch();
    }, this.options.windowMs);
  }

  private runBatch(): void {
    const { model, weightsVersion } = this.current();
    const first = this.queue[0]!.group;
    const L = longestPrompt(first);
    const batch: Job[] = [];
    let rows = 0;
    for (let i = 0; i < this.queue.length; ) {
      const g = this.queue[i]!.group;
      const fits = batch.length === 0 || (longestPrompt(g) === L && rows + g.rows.length <= this.options.maxBatchRows);
      if (!fits) {
        i++;
        continue;
      }
      batch.push(...this.queue.splice(i, 1));
      rows += g.rows.length;
    }
    this.running = true;
    try {
      const { outputs, stream } = generateGroups(model, batch.map((j) => j.group), this.stream);
      this.stream = stream;
      this.stats.batches++;
      this.stats.requests += batch.length;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
      batch.forEach((job, i) => job.resolve({ output: outputs[i]!, weightsVersion }));
    } catch (error) {
      for (const job of batch) job.reject(error);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}

function longestPrompt(group: GenerationGroup): number {
  return Math.max(...group.rows.map((r) => r.length));
}
