// The request side of vLLM's OpenAI-compatible API, checked field by field where a request
// enters: a bad field becomes a ServeRequestError (a 4xx with OpenAI's error body naming the
// field) before anything runs, so a bad request never changes the server's state.
//
// Field names are vLLM's, read in vllm-project/vllm (the main branch of late 2026):
// vllm/entrypoints/openai/completion/protocol.py at 002032ee2b18e1f7bd924ec47b62504ba3866063
// (CompletionRequest) and completion/serving.py at 030ea52effcb05071543c8c42b8f0145e94cee43
// (the response, prompt-major choices, _create_completion_logprobs):
//   prompt            a string, an array of strings, an array of token ids, or an array of arrays
//   n, max_tokens (default 16), temperature (1), top_p (1), top_k (-1 or 0: off), seed,
//   temperature below 1e-5 is greedy (vLLM's _SAMPLING_EPS), stop_token_ids, ignore_eos (false: the model's eos also stops, as vLLM), logprobs (integer,
//   0 = the sampled token's only), return_token_ids (adds token_ids and prompt_token_ids),
//   return_tokens_as_token_ids (logprobs' tokens as "token_id:<id>"), skip_special_tokens (true)
// seed: vLLM takes any int64; NovaRL's generator takes [0, 2^53).
// Fields NovaRL does not implement (stream, echo, stop strings, penalties, best_of, min_p,
// logit_bias, suffix, prompt_logprobs, beam search, allowed/bad words...) are refused when set to anything but their no-op value,
// so no request is silently answered differently from what it asked. Other fields are ignored.

import type { Tokenizer } from '../index';

/** OpenAI's error body, { error: { message, type, param, code } }, with its HTTP status. */
export class ServeRequestError extends Error {
  override name = 'ServeRequestError';
  constructor(
    readonly status: number,
    message: string,
    /** The request field at fault, or null. */
    readonly param: string | null,
    readonly type: string = status === 404 ? 'NotFoundError' : status === 413 ? 'RequestTooLarge' : status >= 500 ? 'InternalServerError' : 'BadRequestError',
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: number } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.status } };
  }
}

/** Limits on what one request may ask for (every one a 4xx when exceeded). */
export interface ServeLimits {
  /** Largest JSON request body, bytes. Default 1 MiB. */
  maxBodyBytes: number;
  /** Largest /novarl/update_weights body, bytes. Default: the model's safetensors size + 1 MiB. */
  maxWeightsBytes: number;
  /** Most completions per prompt (n). Default 16. */
  maxN: number;
  /** Most new tokens per completion (max_tokens). Default 256 (and always prompt + max_tokens <= nPositions). */
  maxTokens: number;
  /** Longest prompt, tokens. Default nPositions - 1. */
  maxPromptTokens: number;
  /** Most prompts in one request. Default 64. */
  maxPrompts: number;
  /** Most rows (prompts x n) in one request, and in one generation batch. Default 64. */
  maxBatchRows: number;
  /** Most alternatives per token (logprobs k). Default 5, as OpenAI's. */
  maxLogprobs: number;
}

/** What the model side of a check needs to know. */
export interface ModelFacts {
  modelName: string;
  vocabSize: number;
  nPositions: number;
  /** Ids that stop a row unless ignore_eos (the tokenizer's eos). */
  eosTokenIds: readonly number[];
  tokenizer: Tokenizer;
}

/** A checked completion request, ready for the batching queue. */
export interface CompletionParams {
  /** Token ids of each prompt. */
  prompts: number[][];
  n: number;
  maxTokens: number;
  temperature: number;
  topP: number;
  /** 0: off. */
  topK: number;
  seed?: number;
  /** stop_token_ids plus the eos unless ignore_eos. */
  stopTokenIds: number[];
  /** null: no logprobs object; k >= 0: the sampled token's and k alternatives. */
  logprobs: number | null;
  returnTokenIds: boolean;
  /** Tokens in logprobs as "token_id:<id>" instead of their text (no two tokens share a key). */
  tokensAsIds: boolean;
  /** Leave special tokens (eos) out of the text. Default true, as vLLM. */
  skipSpecialTokens: boolean;
}

type Body = Record<string, unknown>;

const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  stream: (v) => v === false,
  echo: (v) => v === false,
  stop: (v) => (Array.isArray(v) && v.length === 0) || v === '',
  suffix: (v) => v === '',
  best_of: (v) => v === 1,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  repetition_penalty: (v) => v === 1,
  min_p: (v) => v === 0,
  logit_bias: (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0,
  prompt_logprobs: () => false,
  min_tokens: (v) => v === 0,
  use_beam_search: (v) => v === false,
  allowed_token_ids: () => false,
  bad_words: (v) => Array.isArray(v) && v.length === 0,
  logprob_token_ids: () => false,
  include_stop_str_in_output: (v) => v === false,
  truncate_prompt_tokens: () => false,
  response_format: () => false,
  structured_outputs: () => false,
  tools: (v) => Array.isArray(v) && v.length === 0,
};

export function bad(param: string | null, message: string): ServeRequestError {
  return new ServeRequestError(400, message, param);
}

/** The parsed JSON body of a request, or a 400 naming the problem. */
export function parseJsonBody(text: string): Body {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad(null, `the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(null, 'the request body must be a JSON object');
  return value as Body;
}

/** Checks a POST /v1/completions body. */
export function parseCompletionRequest(body: Body, facts: ModelFacts, limits: ServeLimits): CompletionParams {
  checkModel(body, facts);
  checkUnsupported(body);
  const prompts = parsePrompt(body['prompt'], facts, limits);
  return parseSampling(body, prompts, facts, limits, 'max_tokens', parseCompletionLogprobs(body, limits));
}

/** One chat message. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A checked chat request: the messages and the sampling of the completion that follows them. */
export interface ChatParams extends CompletionParams {
  messages: ChatMessage[];
}

/** Checks a POST /v1/chat/completions body; `render` is the chat template (sdk/serve/chat_template.ts). */
export function parseChatRequest(body: Body, facts: ModelFacts, limits: ServeLimits, render: (messages: ChatMessage[]) => string): ChatParams {
  checkModel(body, facts);
  checkUnsupported(body);
  const messages = parseMessages(body['messages']);
  const ids = facts.tokenizer.encode(render(messages));
  checkPromptIds(ids, 'messages', facts, limits);
  const maxField = body['max_completion_tokens'] !== undefined ? 'max_completion_tokens' : 'max_tokens';
  let logprobs: number | null = null;
  if (body['logprobs'] !== undefined && body['logprobs'] !== null && body['logprobs'] !== false) {
    if (body['logprobs'] !== true) throw bad('logprobs', `logprobs must be a boolean in a chat request, got ${JSON.stringify(body['logprobs'])}`);
    logprobs = optionalInteger(body, 'top_logprobs', 0, limits.maxLogprobs) ?? 0;
  } else if (body['top_logprobs'] !== undefined && body['top_logprobs'] !== null) {
    throw bad('top_logprobs', 'top_logprobs needs logprobs: true');
  }
  return { ...parseSampling(body, [ids], facts, limits, maxField, logprobs), messages };
}

function checkModel(body: Body, facts: ModelFacts): void {
  const model = body['model'];
  if (model === undefined || model === null) return; // vLLM serves its one model when none is named
  if (typeof model !== 'string') throw bad('model', 'model must be a string');
  if (model !== facts.modelName) throw new ServeRequestError(404, `The model \`${model}\` does not exist (this server serves \`${facts.modelName}\`).`, 'model');
}

function checkUnsupported(body: Body): void {
  for (const [field, isNoOp] of Object.entries(UNSUPPORTED)) {
    const value = body[field];
    if (value === undefined || value === null || isNoOp(value)) continue;
    throw bad(field, `${field} = ${JSON.stringify(value)} is not supported by NovaRL's server`);
  }
}

function parsePrompt(prompt: unknown, facts: ModelFacts, limits: ServeLimits): number[][] {
  const isIds = (v: unknown): v is unknown[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');
  let list: (string | unknown[])[];
  if (typeof prompt === 'string') list = [prompt];
  else if (isIds(prompt)) list = [prompt];
  else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string' || Array.isArray(p))) list = prompt as (string | unknown[])[];
  else throw bad('prompt', 'prompt must be a string, an array of strings, an array of token ids or an array of arrays of token ids (non-empty)');
  if (list.length > limits.maxPrompts) throw bad('prompt', `${list.length} prompts in one request; this server takes at most ${limits.maxPrompts}`);
  const single = typeof prompt === 'string' || isIds(prompt);
  return list.map((p, i) => {
    const where = single ? 'prompt' : `prompt[${i}]`;
    let ids: number[];
    if (typeof p === 'string') {
      ids = facts.tokenizer.encode(p);
    } else {
      p.forEach((id, t) => {
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= facts.vocabSize) {
          throw bad('prompt', `${where}: token ${t} is ${JSON.stringify(id)}, not a token id in [0, ${facts.vocabSize})`);
        }
      });
      ids = p as number[];
    }
    checkPromptIds(ids, where, facts, limits);
    return ids;
  });
}

function checkPromptIds(ids: number[], where: string, facts: ModelFacts, limits: ServeLimits): void {
  const param = where.startsWith('messages') ? 'messages' : 'prompt';
  if (ids.length === 0) throw bad(param, `${where} is empty (as tokens): the model needs at least one token to condition on`);
  const most = Math.min(limits.maxPromptTokens, facts.nPositions - 1);
  if (ids.length > most) throw bad(param, `${where} has ${ids.length} tokens; this server takes at most ${most}`);
}

function parseCompletionLogprobs(body: Body, limits: ServeLimits): number | null {
  return optionalInteger(body, 'logprobs', 0, limits.maxLogprobs) ?? null;
}

function parseSampling(body: Body, prompts: number[][], facts: ModelFacts, limits: ServeLimits, maxField: string, logprobs: number | null): CompletionParams {
  const n = optionalInteger(body, 'n', 1, limits.maxN) ?? 1;
  if (prompts.length * n > limits.maxBatchRows) throw bad('n', `${prompts.length} prompts x n = ${n} is ${prompts.length * n} completions; this server takes at most ${limits.maxBatchRows} per request`);
  const maxTokens = optionalInteger(body, maxField, 1, limits.maxTokens) ?? Math.min(16, limits.maxTokens);
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest + maxTokens > facts.nPositions) {
    throw bad(maxField, `the prompt (${longest} tokens) + ${maxField} (${maxTokens}) exceeds the model's context of ${facts.nPositions} tokens`);
  }
  // below 1e-5 is greedy, as vLLM's _SAMPLING_EPS (and keeps logits / temperature finite)
  const requested = optionalNumber(body, 'temperature', 0, 100) ?? 1;
  const temperature = requested < 1e-5 ? 0 : requested;
  const topP = optionalNumber(body, 'top_p', 0, 1) ?? 1;
  if (!(topP > 0)) throw bad('top_p', 'top_p must be in (0, 1]');
  const rawTopK = optionalInteger(body, 'top_k', -1, facts.vocabSize) ?? 0;
  const seed = optionalInteger(body, 'seed', 0, Number.MAX_SAFE_INTEGER);
  const stopIds = body['stop_token_ids'] ?? [];
  if (!Array.isArray(stopIds)) throw bad('stop_token_ids', 'stop_token_ids must be an array of token ids');
  stopIds.forEach((id, i) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= facts.vocabSize) {
      throw bad('stop_token_ids', `stop_token_ids[${i}] is ${JSON.stringify(id)}, not a token id in [0, ${facts.vocabSize})`);
    }
  });
  const ignoreEos = optionalBoolean(body, 'ignore_eos') ?? false;
  const stopTokenIds = [...new Set([...(stopIds as number[]), ...(ignoreEos ? [] : facts.eosTokenIds)])];
  const returnTokenIds = optionalBoolean(body, 'return_token_ids') ?? false;
  const tokensAsIds = optionalBoolean(body, 'return_tokens_as_token_ids') ?? false;
  const skipSpecialTokens = optionalBoolean(body, 'skip_special_tokens') ?? true;
  const params: CompletionParams = { prompts, n, maxTokens, temperature, topP, topK: rawTopK === -1 ? 0 : rawTopK, stopTokenIds, logprobs, returnTokenIds, tokensAsIds, skipSpecialTokens };
  if (seed !== undefined) params.seed = seed;
  return params;
}

function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw bad('messages', 'messages must be a non-empty array of { role, content }');
  return value.map((m, i) => {
    if (typeof m !== 'object' || m === null) throw bad('messages', `messages[${i}] is not an object`);
    const { role, content } = m as Record<string, unknown>;
    if (role !== 'system' && role !== 'user' && role !== 'assistant') throw bad('messages', `messages[${i}].role must be "system", "user" or "assistant", got ${JSON.stringify(role)}`);
    if (typeof content !== 'string') throw bad('messages', `messages[${i}].content must be a string (NovaRL's server takes text only)`);
    return { role, content };
  });
}

function optionalInteger(body: Body, field: string, min: number, max: number): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(field, `${field} must be an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw bad(field, `${field} must be in [${min}, ${max}] on this server, got ${v}`);
  return v;
}

function optionalNumber(body: Body, field: string, min: number, max: number): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(field, `${field} must be a finite number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw bad(field, `${field} must be in [${min}, ${max}], got ${v}`);
  return v;
}

function optionalBoolean(body: Body, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw bad(field, `${field} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}
