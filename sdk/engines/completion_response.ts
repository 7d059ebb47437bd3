// Checks a `POST /v1/completions` response where it enters, as vLLM writes it
// (vllm/entrypoints/openai/completion/protocol.py, CompletionResponse / CompletionResponseChoice;
// see docs/architecture.md for the vLLM commit it was checked against):
//
//   { choices: [ { index, text, finish_reason: "stop" | "length",
//                  token_ids: [id...],                       // with return_token_ids: true
//                  prompt_token_ids: [id...],                // idem
//                  logprobs: { token_logprobs: [lp...], tokens, top_logprobs, text_offset } } ],
//     usage: {...} }
//
// vLLM numbers the choices prompt-major (serving.py, request_output_to_completion_response:
// index = len(choices) while it walks the prompts in order and each prompt's n outputs), so
// choice index p * n + j is prompt p's j-th completion. Every problem is an EngineResponseError
// naming the field; nothing is repaired silently.

import { EngineResponseError } from '../core/errors';
import type { FinishReason } from '../nn/generate';
import type { Tokenizer } from '../text/tokenizer';

/** What the response must match: the request that produced it. */
export interface ResponseExpectation {
  prompts: readonly (readonly number[])[];
  n: number;
  vocabSize: number;
  maxNewTokens: number;
  stopTokenIds: readonly number[];
  /** Re-tokenises choices that come without token_ids (a plain OpenAI server). */
  tokenizer?: Tokenizer;
}

/** One choice, checked. */
export interface CheckedChoice {
  ids: number[];
  /** One per id; zeros when re-tokenised (then unusable). */
  logProbs: number[];
  finishReason: FinishReason;
}

export interface CheckedResponse {
  /** prompts.length * n choices, prompt-major. */
  choices: CheckedChoice[];
  /** True when some choice had no token_ids and was re-tokenised from its text. */
  reTokenised: boolean;
}

/** Parses and checks the body of one completions response. */
export function checkCompletionResponse(text: string, expect: ResponseExpectation): CheckedResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new EngineResponseError(`not valid JSON (${(error as Error).message}); ${text.length} bytes, ending ${JSON.stringify(text.slice(-40))}`, 'body');
  }
  if (!isObject(body)) throw new EngineResponseError(`expected a JSON object, got ${kind(body)}`, 'body');
  const choices = body.choices;
  const count = expect.prompts.length * expect.n;
  if (!Array.isArray(choices)) throw new EngineResponseError(`expected an array, got ${kind(choices)}`, 'choices');
  if (choices.length !== count) throw new EngineResponseError(`expected ${count} choices (${expect.prompts.length} prompts x n = ${expect.n}), got ${choices.length}`, 'choices');

  const placed: (CheckedChoice | undefined)[] = Array(count);
  let reTokenised = false;
  choices.forEach((choice: unknown, at) => {
    const where = `choices[${at}]`;
    if (!isObject(choice)) throw new EngineResponseError(`expected an object, got ${kind(choice)}`, where);
    const index = choice.index;
    if (!Number.isSafeInteger(index) || (index as number) < 0 || (index as number) >= count) throw new EngineResponseError(`expected an integer in [0, ${count}), got ${JSON.stringify(index)}`, `${where}.index`);
    if (placed[index as number] !== undefined) throw new EngineResponseError(`index ${index as number} appears twice`, `${where}.index`);
    const prompt = expect.prompts[Math.floor((index as number) / expect.n)]!;
    const checked = checkChoice(choice, where, prompt, expect);
    reTokenised ||= checked.reTokenised;
    placed[index as number] = checked.choice;
  });
  return { choices: placed as CheckedChoice[], reTokenised };
}

function checkChoice(choice: Record<string, unknown>, where: string, prompt: readonly number[], expect: ResponseExpectation): { choice: CheckedChoice; reTokenised: boolean } {
  const finishReason = choice.finish_reason;
  if (finishReason !== 'stop' && finishReason !== 'length') throw new EngineResponseError(`expected "stop" or "length", got ${JSON.stringify(finishReason)}`, `${where}.finish_reason`);

  // vLLM echoes the prompt's ids with return_token_ids: a mismatch means rows in the wrong order
  // or a server that re-tokenised the prompt, and either would pair completions with the wrong prompt.
  if (choice.prompt_token_ids !== undefined && choice.prompt_token_ids !== null) {
    const echoed = choice.prompt_token_ids;
    if (!Array.isArray(echoed) || echoed.length !== prompt.length || echoed.some((id, i) => id !== prompt[i])) {
      throw new EngineResponseError(`the prompt's ids differ from the ones sent (${prompt.length} ids)`, `${where}.prompt_token_ids`);
    }
  }

  if (choice.token_ids === undefined || choice.token_ids === null) {
    if (!expect.tokenizer) throw new EngineResponseError('missing (the server did not return token ids; pass a tokenizer to re-tokenise the text)', `${where}.token_ids`);
    if (typeof choice.text !== 'string') throw new EngineResponseError(`expected a string, got ${kind(choice.text)}`, `${where}.text`);
    const ids = expect.tokenizer.encode(choice.text);
    // the text of a stopped row leaves out the stop token; the local engine keeps it, so put it back
    if (finishReason === 'stop' && expect.stopTokenIds.length > 0 && !expect.stopTokenIds.includes(ids[ids.length - 1]!)) ids.push(expect.stopTokenIds[0]!);
    return { choice: { ids, logProbs: ids.map(() => 0), finishReason }, reTokenised: true };
  }

  const ids = choice.token_ids;
  if (!Array.isArray(ids)) throw new EngineResponseError(`expected an array of ids, got ${kind(ids)}`, `${where}.token_ids`);
  ids.forEach((id: unknown, t) => {
    if (!Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= expect.vocabSize) throw new EngineResponseError(`expected an id in [0, ${expect.vocabSize}), got ${JSON.stringify(id)}`, `${where}.token_ids[${t}]`);
  });
  if (ids.length > expect.maxNewTokens) throw new EngineResponseError(`${ids.length} tokens, more than max_tokens = ${expect.maxNewTokens}`, `${where}.token_ids`);

  const logprobs = choice.logprobs;
  if (!isObject(logprobs)) throw new EngineResponseError(`expected an object (the request asked for logprobs: 0), got ${kind(logprobs)}`, `${where}.logprobs`);
  const lps = logprobs.token_logprobs;
  if (!Array.isArray(lps)) throw new EngineResponseError(`expected an array, got ${kind(lps)}`, `${where}.logprobs.token_logprobs`);
  if (lps.length !== ids.length) throw new EngineResponseError(`${lps.length} log-probs for ${ids.length} tokens`, `${where}.logprobs.token_logprobs`);
  lps.forEach((lp: unknown, t) => {
    // vLLM clamps -inf to -9999 before it writes JSON, so every usable log-prob is finite and <= 0
    if (typeof lp !== 'number' || !Number.isFinite(lp) || lp > 1e-4) throw new EngineResponseError(`expected a finite log-prob <= 0, got ${JSON.stringify(lp)}`, `${where}.logprobs.token_logprobs[${t}]`);
  });
  return { choice: { ids: ids as number[], logProbs: lps as number[], finishReason }, reTokenised: false };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 40))}` : typeof value;
}
