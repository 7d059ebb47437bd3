// Concurrent requests become one generation call. The rule:
//   - a request joins the queue; when the queue is idle, the next batch starts `windowMs` after
//     the first request in it arrived, and requests that arrive while a batch runs wait for the
//     next one;
//   - a batch takes queued requests in arrival order while its rows (prompts x n) stay within
//     maxBatchRows and its longest prompt + most max_tokens stay within nPositions; the first
//     request that does not fit starts the next batch (no request is overtaken);
//   - any sampling settings batch together: each request is a group of generateGroups
//     (sdk/serve/batch_generate.ts) with its own temperature, top-k, top-p, stop ids and
//     max_tokens;
//   - `seed`: a seeded request draws from its own stream, seed(s) then its rows in order, so its
//     answer is the same whatever it is batched with, and equals
//     generate(model, its prompts each repeated n times, { seed }) (LocalCompletionEngine's
//     request at the same seed). Unseeded requests draw from the server's stream (seeded once
//     from `seed` at start), so they differ from run to run only by arrival order.
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
    const nPositions = model.config.nPositions;
    const batch: Job[] = [];
    let rows = 0, longest = 0, steps = 0;
    while (this.queue.length > 0) {
      const g = this.queue[0]!.group;
      const r = rows + g.rows.length;
      const l = Math.max(longest, ...g.rows.map((p) => p.length));
      const s = Math.max(steps, g.maxNewTokens);
      if (batch.length > 0 && (r > this.options.maxBatchRows || l + s > nPositions)) break;
      batch.push(this.queue.shift()!);
      [rows, longest, steps] = [r, l, s];
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
