// The one place NovaRL talks HTTP to a completion server: a request with a per-attempt timeout
// (AbortSignal.timeout composed with the caller's signal), retried per retry_policy.ts, its whole
// body read inside the same timeout. The OpenAI-compatible engine and the weight syncs share it.
//
// A caller's abort wins over everything: it rejects at once with the signal's reason, also in
// the middle of a backoff wait, and nothing is retried after it.

import { EngineRequestError } from '../core/errors';
import { backoffDelayMs, isRetryableStatus, parseRetryAfterMs, type ResolvedRetryOptions } from './retry_policy';

/** Waits `ms`, rejecting with the signal's reason if it aborts first. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** What one failed attempt looked like, for logs and tests. */
export interface RetryEvent {
  path: string;
  /** The attempt that failed (from 1). */
  attempt: number;
  /** Its HTTP status, or undefined for a transport failure. */
  status: number | undefined;
  /** Why: 'status', 'timeout' or 'transport'. */
  reason: 'status' | 'timeout' | 'transport';
  /** The wait before the next attempt. */
  delayMs: number;
}

export interface HttpTransportOptions {
  /** Server root, e.g. http://127.0.0.1:8000 (no trailing /v1). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /** Limit on one attempt, the body read included. */
  timeoutMs: number;
  retries: ResolvedRetryOptions;
  fetch: typeof fetch;
  sleep: Sleep;
  /** [0, 1), for the jitter. */
  random: () => number;
  /** Milliseconds since the epoch, for Retry-After dates. */
  now: () => number;
  onRetry?: (event: RetryEvent) => void;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Request body: JSON text or raw bytes. */
  body?: string | Uint8Array;
  contentType?: string;
  signal?: AbortSignal;
}

/** A 2xx response, its body read in full. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Attempts it took (1 = no retry). */
  attempts: number;
}

export class HttpTransport {
  constructor(readonly options: HttpTransportOptions) {}

  /** Sends `request` to `path` until it gets a 2xx, a non-retryable status, or runs out of attempts. */
  async send(path: string, request: HttpRequest): Promise<HttpResponse> {
    const { retries, timeoutMs } = this.options;
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}${path}`;
    const headers: Record<string, string> = {};
    if (request.contentType) headers['content-type'] = request.contentType;
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const caller = request.signal;
    let lastStatus: number | undefined;
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      caller?.throwIfAborted();
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = caller ? AbortSignal.any([caller, timeout]) : timeout;
      let status: number | undefined;
      let reason: RetryEvent['reason'];
      let retryAfterMs: number | undefined;
      try {
        const response = await this.options.fetch(url, { method: request.method, headers, body: request.body as BodyInit | undefined, signal });
        const text = await response.text();
        if (response.ok) return { status: response.status, headers: response.headers, text, attempts: attempt };
        status = response.status;
        reason = 'status';
        lastError = serverMessage(text);
        if (!isRetryableStatus(status)) {
          throw new EngineRequestError(`${request.method} ${path}: HTTP ${status}: ${lastError}`, status, attempt);
        }
        retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), this.options.now());
      } catch (error) {
        if (error instanceof EngineRequestError) throw error;
        if (caller?.aborted) throw caller.reason;
        status = undefined;
        reason = timeout.aborted ? 'timeout' : 'transport';
        lastError = error;
      }
      lastStatus = status;
      if (attempt >= retries.maxAttempts) {
        const what = reason === 'status' ? `HTTP ${status}: ${String(lastError)}` : reason === 'timeout' ? `no complete response within ${timeoutMs} ms` : `connection failed (${describe(lastError)})`;
        throw new EngineRequestError(`${request.method} ${path}: ${what}, after ${attempt} attempt(s)`, lastStatus, attempt, { cause: lastError });
      }
      const delayMs = retryAfterMs !== undefined ? Math.min(retryAfterMs, retries.maxDelayMs) : backoffDelayMs(attempt, retries, this.options.random);
      this.options.onRetry?.({ path, attempt, status, reason, delayMs });
      await this.options.sleep(delayMs, caller);
    }
  }
}

/** The message of an OpenAI-style error body `{"error": {"message"}}`, else the text's start. */
function serverMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    const message = (body as { error?: { message?: unknown } })?.error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: fall through
  }
  return text.slice(0, 200);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
