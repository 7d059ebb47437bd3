// NovaRL's OpenAI-compatible server as one hono app: a fetch(Request) -> Response that every
// runtime serves (Node through @hono/node-server, Bun.serve, Deno.serve, a workerd module's
// `export default { fetch }`). It imports nothing from node:.
//
//   GET  /v1/models               the one served model
//   POST /v1/completions          vLLM's completions (sdk/serve/protocol.ts), batched (batching_queue.ts)
//   POST /v1/chat/completions     the same with NovaRL's chat template (chat_template.ts)
//   GET  /health                  { status: "ok", model, weights_version }
//   POST /novarl/update_weights   body: model.safetensors bytes -> { weights_version }
//
// Responses follow vLLM's CompletionResponse: choices prompt-major (vLLM's
// request_output_to_completion_response appends prompt by prompt, then each of its n outputs,
// index = len(choices), so index = promptIndex * n + j); token_ids and prompt_token_ids with
// return_token_ids; logprobs { tokens, token_logprobs, top_logprobs, text_offset }, where
// token_logprobs are the processed log-probs (after temperature, top-k, top-p: vLLM's
// --logprobs-mode processed_logprobs, what TRL runs vLLM with, 0 for greedy) and top_logprobs[t]
// holds the sampled token (that same value) then the k most likely tokens of the raw
// distribution log_softmax(logits). Streaming is not implemented (stream: true is a 400).
// Every completion response carries x-novarl-weights-version: the weights that generated it.

import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { GPT, Tokenizer, ValueError } from '../index';
import { BatchingQueue, type QueueStats } from './batching_queue';
import type { GenerationGroup, GroupOutput } from './batch_generate';
import { renderChat } from './chat_template';
import { ServeRequestError, parseChatRequest, parseCompletionRequest, parseJsonBody, type CompletionParams, type ModelFacts, type ServeLimits } from './protocol';
import { modelFromWeights } from './weights';

export interface ServeAppOptions {
  /** The GPT to serve. Give it its own core (`await init({ setDefault: false })`) when a trainer runs in the same process. */
  model: GPT;
  tokenizer: Tokenizer;
  /** The name clients send as `model`. Default "novarl-gpt". */
  modelName?: string;
  /** Request limits (sdk/serve/protocol.ts); unset ones take their defaults. */
  limits?: Partial<ServeLimits>;
  /** How long the first request of a batch waits for others, ms. Default 2. */
  batchWindowMs?: number;
  /** Seed of the server's stream, which unseeded requests draw from. Default 0. */
  seed?: number;
}

export interface ServeApp {
  /** Answers one HTTP request (give it to any runtime's server). */
  fetch(request: Request): Promise<Response>;
  /** Rejects queued requests; frees the served model when `freeModel`. */
  close(options?: { freeModel?: boolean }): void;
  /** Batches run, requests served, the largest batch. */
  readonly stats: QueueStats;
  /** The weights version (0 at start, +1 per update). */
  readonly weightsVersion: number;
  /** The model being served now (replaced by each weight update). */
  readonly model: GPT;
  readonly limits: ServeLimits;
}

const MiB = 1 << 20;

/** Response header of every completion: the weights version that generated it. */
export const WEIGHTS_VERSION_HEADER = 'x-novarl-weights-version';

export function createServeApp(options: ServeAppOptions): ServeApp {
  const { tokenizer } = options;
  if (!(options.model instanceof GPT)) throw new ValueError('createServeApp: model must be a GPT (from the same novarl package as this server)');
  if (!(tokenizer instanceof Tokenizer)) throw new ValueError('createServeApp: tokenizer must be a Tokenizer');
  let model = options.model;
  let weightsVersion = 0;
  const modelName = options.modelName ?? 'novarl-gpt';
  const { vocabSize, nPositions } = model.config;
  const weightBytes = model.namedParameters().reduce((sum, [, p]) => sum + 4 * p.size, 0);
  const limits: ServeLimits = {
    maxBodyBytes: MiB,
    maxWeightsBytes: weightBytes + MiB,
    maxN: 16,
    maxTokens: 256,
    maxPromptTokens: nPositions - 1,
    maxPrompts: 64,
    maxBatchRows: 64,
    maxLogprobs: 5,
    ...options.limits,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < (name === 'maxLogprobs' ? 0 : 1)) throw new ValueError(`createServeApp: limits.${name} must be a positive integer, got ${String(value)}`);
  }
  if (tokenizer.vocabSize > vocabSize) throw new ValueError(`createServeApp: the tokenizer has ${tokenizer.vocabSize} tokens, more than the model's vocabSize ${vocabSize}`);
  const eos = tokenizer.eosTokenId;
  const facts: ModelFacts = { modelName, vocabSize, nPositions, eosTokenIds: eos === undefined ? [] : [eos], tokenizer };
  const queue = new BatchingQueue(() => ({ model, weightsVersion }), { windowMs: options.batchWindowMs ?? 2, maxBatchRows: limits.maxBatchRows, seed: options.seed ?? 0 });
  const created = Math.floor(Date.now() / 1000);
  let requestCount = 0;

  const app = new Hono();
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      // the rest of the body is not read, so the connection cannot carry another request
      onError: (c) => c.json(new ServeRequestError(413, `the request body is larger than this route's limit of ${maxSize} bytes`, null).body(), 413, { connection: 'close' }),
    });
  const jsonBody = async (c: Context) => parseJsonBody(await c.req.text());

  app.onError((error, c) => {
    if (error instanceof ServeRequestError) return c.json(error.body(), error.status as 400);
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return c.json(new ServeRequestError(500, message, null).body(), 500);
  });
  app.notFound((c) => c.json(new ServeRequestError(404, `no route ${c.req.method} ${c.req.path}`, null).body(), 404));

  app.get('/health', (c) => c.json({ status: 'ok', model: modelName, weights_version: weightsVersion }));

  app.get('/v1/models', (c) =>
    c.json({ object: 'list', data: [{ id: modelName, object: 'model', created, owned_by: 'novarl', root: modelName, parent: null, max_model_len: nPositions }] }),
  );

  app.post('/v1/completions', limit(limits.maxBodyBytes), async (c) => {
    const params = parseCompletionRequest(await jsonBody(c), facts, limits);
    const { output, weightsVersion: servedBy } = await run(params);
    c.header(WEIGHTS_VERSION_HEADER, String(servedBy));
    const choices = params.prompts.flatMap((prompt, p) =>
      Array.from({ length: params.n }, (_, j) => {
        const row = p * params.n + j;
        const ids = output.completions[row]!;
        const choice: Record<string, unknown> = {
          index: row,
          text: tokenizer.decode(ids, { skipSpecialTokens: params.skipSpecialTokens }),
          logprobs: params.logprobs === null ? null : completionLogprobs(output, row, params.tokensAsIds),
          finish_reason: output.finishReasons[row],
          stop_reason: null,
        };
        if (params.returnTokenIds) {
          choice['token_ids'] = ids;
          choice['prompt_token_ids'] = prompt;
        }
        return choice;
      }),
    );
    return c.json({ id: `cmpl-${++requestCount}`, object: 'text_completion', created: now(), model: modelName, choices, usage: usage(params, output) });
  });

  app.post('/v1/chat/completions', limit(limits.maxBodyBytes), async (c) => {
    const params = parseChatRequest(await jsonBody(c), facts, limits, renderChat);
    const { output, weightsVersion: servedBy } = await run(params);
    c.header(WEIGHTS_VERSION_HEADER, String(servedBy));
    const choices = output.completions.map((ids, row) => {
      const choice: Record<string, unknown> = {
        index: row,
        message: { role: 'assistant', content: tokenizer.decode(ids, { skipSpecialTokens: params.skipSpecialTokens }) },
        logprobs: params.logprobs === null ? null : chatLogprobs(output, row, params.tokensAsIds),
        finish_reason: output.finishReasons[row],
      };
      if (params.returnTokenIds) {
        choice['token_ids'] = ids;
        choice['prompt_token_ids'] = params.prompts[0];
      }
      return choice;
    });
    return c.json({ id: `chatcmpl-${++requestCount}`, object: 'chat.completion', created: now(), model: modelName, choices, usage: usage(params, output) });
  });

  app.post('/novarl/update_weights', limit(limits.maxWeightsBytes), async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const fresh = modelFromWeights(model, bytes);
    // Between batches by construction: a batch runs synchronously, and this swap too
    const old = model;
    model = fresh;
    weightsVersion++;
    old.free();
    return c.json({ weights_version: weightsVersion });
  });

  async function run(params: CompletionParams): Promise<{ output: GroupOutput; weightsVersion: number }> {
    const group: GenerationGroup = {
      rows: params.prompts.flatMap((p) => Array.from({ length: params.n }, () => p)),
      maxNewTokens: params.maxTokens,
      temperature: params.temperature,
      topK: params.topK,
      topP: params.topP,
      stopTokenIds: params.stopTokenIds,
      topLogprobs: params.logprobs ?? 0,
    };
    if (params.seed !== undefined) group.seed = params.seed;
    return queue.submit(group);
  }

  // vLLM's format_token_id_placeholder for return_tokens_as_token_ids
  const tokenText = (id: number, asIds: boolean) => (asIds ? `token_id:${id}` : tokenizer.decode([id]));

  // vLLM's _create_completion_logprobs: text_offset is the running length of the token strings
  function completionLogprobs(output: GroupOutput, row: number, asIds: boolean) {
    const ids = output.completions[row]!;
    const tokens = ids.map((id) => tokenText(id, asIds));
    const token_logprobs = output.logProbs[row]!.map(clampLogprob);
    const top_logprobs = ids.map((id, t) => {
      const entry: Record<string, number> = { [tokens[t]!]: token_logprobs[t]! };
      for (const [alt, lp] of output.topLogProbs[row]?.[t] ?? []) {
        const key = tokenText(alt, asIds);
        if (!(key in entry)) entry[key] = clampLogprob(lp);
      }
      return entry;
    });
    const text_offset: number[] = [];
    tokens.reduce((offset, token) => (text_offset.push(offset), offset + token.length), 0);
    return { tokens, token_logprobs, top_logprobs, text_offset };
  }

  function chatLogprobs(output: GroupOutput, row: number, asIds: boolean) {
    const bytesOf = (s: string) => [...new TextEncoder().encode(s)];
    return {
      content: output.completions[row]!.map((id, t) => {
        const token = tokenText(id, asIds);
        const top = (output.topLogProbs[row]?.[t] ?? []).map(([alt, lp]) => ({ token: tokenText(alt, asIds), logprob: clampLogprob(lp), bytes: bytesOf(tokenizer.decode([alt])) }));
        return { token, logprob: clampLogprob(output.logProbs[row]![t]!), bytes: bytesOf(tokenizer.decode([id])), top_logprobs: top };
      }),
    };
  }

  return {
    fetch: (request: Request) => Promise.resolve(app.fetch(request)),
    close(closeOptions = {}) {
      queue.close();
      if (closeOptions.freeModel) model.free();
    },
    get stats() {
      return queue.stats;
    },
    get weightsVersion() {
      return weightsVersion;
    },
    get model() {
      return model;
    },
    limits,
  };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

// vLLM clamps -inf to -9999.0, "the JSON-serializable float that OpenAI uses"
function clampLogprob(lp: number): number {
  return Math.max(lp, -9999);
}

function usage(params: CompletionParams, output: GroupOutput) {
  const prompt_tokens = params.prompts.reduce((sum, p) => sum + p.length, 0);
  const completion_tokens = output.completions.reduce((sum, c) => sum + c.length, 0);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}
