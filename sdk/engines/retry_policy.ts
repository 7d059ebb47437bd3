// When and how long to wait before trying an HTTP request again: exponential backoff with full
// jitter (AWS Architecture Blog, "Exponential Backoff And Jitter": sleep = random(0, min(cap,
// base * 2^attempt))), and a 429's Retry-After (seconds or an HTTP date, RFC 9110 10.2.3) taking
// the place of the backoff, capped so a server cannot park the trainer for an hour.
//
// Retried: 429, 5xx, and transport failures (a reset connection, a timeout, a body cut off).
// Not retried: every other 4xx (the request itself is wrong; sending it again cannot help).

import { ValueError } from '../core/errors';

/** How a failed request is retried. */
export interface RetryOptions {
  /** Attempts in all, the first included (1: never retry). Default 4. */
  maxAttempts?: number;
  /** Backoff before the second attempt, doubled for each later one. Default 200 ms. */
  baseDelayMs?: number;
  /** Cap on any one wait, the Retry-After a server asks for included. Default 10 000 ms. */
  maxDelayMs?: number;
  /** 'full': wait a uniform random fraction of the backoff (spreads clients out); 'none': the backoff itself. Default 'full'. */
  jitter?: 'full' | 'none';
}

export type ResolvedRetryOptions = Required<RetryOptions>;

export function resolveRetryOptions(options: RetryOptions = {}, owner = 'retries'): ResolvedRetryOptions {
  const resolved: ResolvedRetryOptions = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 10_000, jitter: 'full', ...options };
  if (!Number.isSafeInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) throw new ValueError(`${owner}.maxAttempts must be an integer >= 1, got ${String(resolved.maxAttempts)}`);
  for (const field of ['baseDelayMs', 'maxDelayMs'] as const) {
    const v = resolved[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ValueError(`${owner}.${field} must be a finite number >= 0, got ${String(v)}`);
  }
  if (resolved.jitter !== 'full' && resolved.jitter !== 'none') throw new ValueError(`${owner}.jitter must be 'full' or 'none', got ${String(resolved.jitter)}`);
  return resolved;
}

/** Whether a response with this status is worth sending again. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1) after a failure.
 * `random` returns [0, 1); injected so tests are deterministic.
 */
export function backoffDelayMs(attempt: number, options: ResolvedRetryOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return options.jitter === 'full' ? random() * ceiling : ceiling;
}

/**
 * A Retry-After header in milliseconds from `nowMs`: delta-seconds ("120") or an HTTP date
 * ("Wed, 21 Oct 2026 07:28:00 GMT"); undefined when absent or unreadable. Never negative.
 */
export function parseRetryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
