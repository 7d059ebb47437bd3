// The vLLM adapter: a CompletionEngine backed by any server that speaks vLLM's OpenAI-compatible
// `POST /v1/completions` (vLLM, SGLang, llama.cpp's server, NovaRL's own `novarl serve`).
//
//   complete({prompts, n, ...})
//     ── split into requests of at most maxPromptsPerRequest prompts (prompt: [[ids], [ids]])
//     ── at most maxConcurrency in flight, each with a timeout and retries (http_transport.ts)
//     ── each response checked where it enters (completion_response.ts)
//     ──▶ Completions, prompt-major: rows p*n .. p*n + n - 1 continue prompt p
//
// Every sampling setting is sent explicitly (top_k: -1 and top_p: 1 when off), never left to the
// server: a field the request omits takes the model's generation_config.json default in vLLM,
// and sampling under other settings than the trainer scores with is the ratio-near-2 mismatch
// TRL's users report. vLLM also ends a row at the model's EOS even when stop_token_ids omits it,
// so pass the EOS in stopTokenIds (the local engine only stops at stopTokenIds). Serve vLLM with
// `--logprobs-mode processed_logprobs`: its default reports log-probs before temperature.
//
// After a failed weight sync (weight_sync.ts) the engine refuses every request with the sync's
// WeightSyncError until a later sync succeeds: no rollout comes from unknown weights.

import { ValueError, type WeightSyncError } from '../core/errors';
import type { CompletionEngine, CompletionRequest, Completions } from '../interfaces/completion_engine';
import type { FinishReason } from '../nn/generate';
import type { Logger } from '../observability/logger';
import type { Tokenizer } from '../text/tokenizer';
import { checkCompletionResponse, type CheckedChoice } from './completion_response';
import { HttpTransport, realSleep, type RetryEvent, type Sleep } from './http_transport';
import { resolveRetryOptions, type RetryOptions } from './retry_policy';

export interface OpenAICompatibleEngineOptions {
  /** Server root, e.g. http://127.0.0.1:8000 (the engine appends /v1/completions). */
  baseUrl: string;
  /** The served model's name [model]. */
  model: string;
  /** Sent as a Bearer token when set. */
  apiKey?: string;
  /** The model's vocabulary size: every returned id must lie in [0, vocabSize). */
  vocabSize: number;
  /** Re-tokenises choices from servers that return no token ids (their log-probs are then unusable). */
  tokenizer?: Tokenizer;
  /** Requests in flight at once. Default 4. */
  maxConcurrency?: number;
  /** Prompts batched into one request's `prompt` array. Default 8. */
  maxPromptsPerRequest?: number;
  /** Limit on one attempt of one request, the body included. Default 60 000 ms. */
  timeoutMs?: number;
  retries?: RetryOptions;
  /** Injectable fetch (tests, proxies). Default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Injectable backoff wait (tests). */
  sleep?: Sleep;
  /** Injectable [0, 1) source for the jitter (tests). Default Math.random (only timing depends on it). */
  random?: () => number;
  /** Injectable clock, ms since the epoch, for Retry-After dates (tests). */
  now?: () => number;
  /** Receives the warnings (re-tokenised choices, retries). */
  logger?: Logger;
}

/** Completions from an OpenAI-compatible server. */
export class OpenAICompatibleEngine implements CompletionEngine {
  readonly transport: HttpTransport;
  readonly model: string;
  readonly vocabSize: number;
  readonly maxConcurrency: number;
  readonly maxPromptsPerRequest: number;
  /** Every retried attempt so far (the fault tests read it; also logged). */
  readonly retryLog: RetryEvent[] = [];
  private readonly tokenizer?: Tokenizer;
  private readonly logger?: Logger;
  private warnedReTokenised = false;
  private blockedBy?: WeightSyncError;

  constructor(options: OpenAICompatibleEngineOptions) {
    if (typeof options.baseUrl !== 'string' || !/^https?:\/\//.test(options.baseUrl)) throw new ValueError(`OpenAICompatibleEngine: baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`);
    if (typeof options.model !== 'string' || options.model === '') throw new ValueError('OpenAICompatibleEngine: model must be a non-empty string');
    positiveInteger(options.vocabSize, 'vocabSize');
    this.maxConcurrency = positiveInteger(options.maxConcurrency ?? 4, 'maxConcurrency');
    this.maxPromptsPerRequest = positiveInteger(options.maxPromptsPerRequest ?? 8, 'maxPromptsPerRequest');
    const timeoutMs = options.timeoutMs ?? 60_000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new ValueError(`OpenAICompatibleEngine: timeoutMs must be a finite number > 0, got ${String(timeoutMs)}`);
    this.model = options.model;
    this.vocabSize = options.vocabSize;
    this.tokenizer = options.tokenizer;
    this.logger = options.logger;
    this.transport = new HttpTransport({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      timeoutMs,
      retries: resolveRetryOptions(options.retries, 'OpenAICompatibleEngine: retries'),
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      sleep: options.sleep ?? realSleep,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
      onRetry: (event) => {
        this.retryLog.push(event);
        this.logger?.warn(`OpenAICompatibleEngine: ${event.path} attempt ${event.attempt} failed (${event.reason}${event.status === undefined ? '' : ` ${event.status}`}), retrying in ${Math.round(event.delayMs)} ms`);
      },
    });
  }

  async complete(request: CompletionRequest): Promise<Completions> {
    request.signal?.throwIfAborted();
    if (this.blockedBy) throw this.blockedBy;
    const n = request.n ?? 1;
    positiveInteger(n, 'n');
    positiveInteger(request.maxNewTokens, 'maxNewTokens');
    const prompts = request.prompts;
    if (!Array.isArray(prompts) || prompts.length === 0) throw new ValueError('OpenAICompatibleEngine: prompts must be a non-empty array of token-id arrays');
    prompts.forEach((p, i) => {
      if (!Array.isArray(p) || p.length === 0 || p.some((id) => !Number.isSafeInteger(id) || id < 0 || id >= this.vocabSize)) throw new ValueError(`OpenAICompatibleEngine: prompt ${i} must be a non-empty array of ids in [0, ${this.vocabSize})`);
    });

    // one internal signal, so the first failed request cancels its siblings
    const group = new AbortController();
    const signal = request.signal ? AbortSignal.any([request.signal, group.signal]) : group.signal;
    const chunks: number[] = [];
    for (let start = 0; start < prompts.length; start += this.maxPromptsPerRequest) chunks.push(start);
    const results: { choices: CheckedChoice[]; reTokenised: boolean }[] = Array(chunks.length);
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const c = next++;
        const start = chunks[c]!;
        results[c] = await this.completeChunk(prompts.slice(start, start + this.maxPromptsPerRequest), n, request, signal);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.maxConcurrency, chunks.length) }, () => worker().catch((error: unknown) => {
        group.abort(error);
        throw error;
      })));
    } catch (error) {
      // the caller's own abort reason, else the first failure (siblings fail with it as their reason)
      throw request.signal?.aborted ? request.signal.reason : group.signal.reason ?? error;
    }

    const choices = results.flatMap((r) => r.choices);
    const promptIndex = prompts.flatMap((_, p) => Array<number>(n).fill(p));
    return {
      promptIndex,
      promptIds: promptIndex.map((p) => [...prompts[p]!]),
      completionIds: choices.map((c) => c.ids),
      logProbs: choices.map((c) => c.logProbs),
      logProbsUsable: !results.some((r) => r.reTokenised),
      finishReasons: choices.map((c): FinishReason => c.finishReason),
    };
  }

  private async completeChunk(prompts: readonly (readonly number[])[], n: number, request: CompletionRequest, signal: AbortSignal): Promise<{ choices: CheckedChoice[]; reTokenised: boolean }> {
    const stopTokenIds = [...(request.stopTokenIds ?? [])];
    const body = {
      model: this.model,
      prompt: prompts,
      n,
      max_tokens: request.maxNewTokens,
      temperature: request.temperature ?? 1,
      top_p: request.topP ?? 1,
      top_k: request.topK && request.topK > 0 ? request.topK : -1,
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      stop_token_ids: stopTokenIds,
      logprobs: 0,
      return_token_ids: true,
    };
    const response = await this.transport.send('/v1/completions', { method: 'POST', body: JSON.stringify(body), contentType: 'application/json', signal });
    const checked = checkCompletionResponse(response.text, { prompts, n, vocabSize: this.vocabSize, maxNewTokens: request.maxNewTokens, stopTokenIds, tokenizer: this.tokenizer });
    if (checked.reTokenised) {
      if (!this.warnedReTokenised) {
        this.warnedReTokenised = true;
        const message = 'OpenAICompatibleEngine: the server returned no token_ids, so completions were re-tokenised from their text; the engine\'s log-probs are unusable (logProbsUsable: false), no off-policy stats or importance weights can be computed, and the ids may differ from the sampled ones. Serve with vLLM (return_token_ids) to avoid this.';
        if (this.logger) this.logger.warn(message);
        else console.warn(message);
      }
    }
    return checked;
  }

  /** Called by a weight sync that failed: every request is refused with `error` until unblock(). */
  blockUntilSynced(error: WeightSyncError): void {
    this.blockedBy = error;
  }

  /** Called by a weight sync that succeeded. */
  unblock(): void {
    this.blockedBy = undefined;
  }

  /** The failed sync's error while requests are refused, else undefined. */
  get blockedReason(): WeightSyncError | undefined {
    return this.blockedBy;
  }
}

function positiveInteger(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new ValueError(`OpenAICompatibleEngine: ${field} must be an integer >= 1, got ${String(value)}`);
  return value as number;
}
