// The request checks of NovaRL's server (sdk/serve/protocol.ts): every accepted field parsed to
// what generation needs, every bad one a ServeRequestError naming the field.

import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../sdk/index';
import { ServeRequestError, parseChatRequest, parseCompletionRequest, parseJsonBody, type ModelFacts, type ServeLimits } from '../sdk/serve/protocol';
import { renderChat } from '../sdk/serve/chat_template';

const tokenizer = Tokenizer.train('the cat sat on the mat. the dog sat on the log.', { vocabSize: 280, specialTokens: ['<|endoftext|>'] });
const eos = tokenizer.tokenToId('<|endoftext|>')!;
const facts: ModelFacts = { modelName: 'tiny', vocabSize: tokenizer.vocabSize, nPositions: 32, eosTokenIds: [eos], tokenizer };
const limits: ServeLimits = { maxBodyBytes: 1 << 20, maxWeightsBytes: 1 << 20, maxN: 4, maxTokens: 20, maxPromptTokens: 24, maxPrompts: 3, maxBatchRows: 8, maxLogprobs: 5 };

function rejects(body: Record<string, unknown>, param: string | null, status = 400, message?: RegExp): void {
  let error: unknown;
  try {
    parseCompletionRequest(body, facts, limits);
  } catch (e) {
    error = e;
  }
  expect(error, JSON.stringify(body)).toBeInstanceOf(ServeRequestError);
  const e = error as ServeRequestError;
  expect(e.status).toBe(status);
  expect(e.param).toBe(param);
  if (message) expect(e.message).toMatch(message);
  expect(e.body()).toEqual({ error: { message: e.message, type: e.type, param, code: status } });
}

describe('parseCompletionRequest', () => {
  it('takes every prompt form vLLM takes', () => {
    const text = parseCompletionRequest({ model: 'tiny', prompt: 'the cat' }, facts, limits);
    expect(text.prompts).toEqual([tokenizer.encode('the cat')]);
    expect(parseCompletionRequest({ prompt: ['the cat', 'the dog'] }, facts, limits).prompts).toEqual([tokenizer.encode('the cat'), tokenizer.encode('the dog')]);
    expect(parseCompletionRequest({ prompt: [5, 6, 7] }, facts, limits).prompts).toEqual([[5, 6, 7]]);
    expect(parseCompletionRequest({ prompt: [[5], [6, 7]] }, facts, limits).prompts).toEqual([[5], [6, 7]]);
  });

  it('gives vLLM defaults and maps its fields', () => {
    const d = parseCompletionRequest({ prompt: [1] }, facts, limits);
    expect(d).toEqual({ prompts: [[1]], n: 1, maxTokens: 16, temperature: 1, topP: 1, topK: 0, stopTokenIds: [eos], logprobs: null, returnTokenIds: false, tokensAsIds: false, skipSpecialTokens: true });
    const p = parseCompletionRequest(
      { prompt: [1], n: 3, max_tokens: 5, temperature: 0.7, top_p: 0.9, top_k: -1, seed: 12, stop_token_ids: [3, 4], logprobs: 0, return_token_ids: true, ignore_eos: true, stream: false, echo: false },
      facts,
      limits,
    );
    expect(p).toEqual({ prompts: [[1]], n: 3, maxTokens: 5, temperature: 0.7, topP: 0.9, topK: 0, seed: 12, stopTokenIds: [3, 4], logprobs: 0, returnTokenIds: true, tokensAsIds: false, skipSpecialTokens: true });
    expect(parseCompletionRequest({ prompt: [1], top_k: 7, temperature: 1e-6 }, facts, limits)).toMatchObject({ topK: 7, temperature: 0 });
  });

  it('refuses every bad field with a 400 naming it', () => {
    rejects({ prompt: [] }, 'prompt');
    rejects({ prompt: 5 }, 'prompt');
    rejects({ prompt: '' }, 'prompt', 400, /empty/);
    rejects({ prompt: [1, 2.5] }, 'prompt', 400, /token 1 is 2.5/);
    rejects({ prompt: [[1], [facts.vocabSize]] }, 'prompt', 400, /prompt\[1\]/);
    rejects({ prompt: [[1], [1], [1], [1]] }, 'prompt', 400, /at most 3/);
    rejects({ prompt: Array(25).fill(1) }, 'prompt', 400, /at most 24/);
    rejects({ prompt: [1], n: 0 }, 'n');
    rejects({ prompt: [1], n: 5 }, 'n');
    rejects({ prompt: [[1], [2], [3]], n: 3 }, 'n', 400, /at most 8/);
    rejects({ prompt: [1], max_tokens: 0 }, 'max_tokens');
    rejects({ prompt: [1], max_tokens: 21 }, 'max_tokens');
    rejects({ prompt: Array(20).fill(1), max_tokens: 13 }, 'max_tokens', 400, /context of 32/);
    rejects({ prompt: [1], temperature: -1 }, 'temperature');
    rejects({ prompt: [1], temperature: 'hot' }, 'temperature');
    rejects({ prompt: [1], top_p: 0 }, 'top_p');
    rejects({ prompt: [1], top_p: 1.5 }, 'top_p');
    rejects({ prompt: [1], top_k: -2 }, 'top_k');
    rejects({ prompt: [1], seed: -1 }, 'seed');
    rejects({ prompt: [1], seed: 1.5 }, 'seed');
    rejects({ prompt: [1], stop_token_ids: 3 }, 'stop_token_ids');
    rejects({ prompt: [1], stop_token_ids: [-1] }, 'stop_token_ids');
    rejects({ prompt: [1], logprobs: 6 }, 'logprobs');
    rejects({ prompt: [1], logprobs: true }, 'logprobs');
    rejects({ prompt: [1], return_token_ids: 'yes' }, 'return_token_ids');
    rejects({ prompt: [1], model: 'gpt-4' }, 'model', 404);
    rejects({ prompt: [1], model: 3 }, 'model');
    for (const [field, value] of [['stream', true], ['echo', true], ['stop', ['.']], ['best_of', 2], ['presence_penalty', 0.5], ['logit_bias', { 1: 2 }], ['prompt_logprobs', 1], ['use_beam_search', true], ['allowed_token_ids', [1]], ['include_stop_str_in_output', true]] as const) {
      rejects({ prompt: [1], [field]: value }, field, 400, /not supported/);
    }
  });

  it('parses JSON bodies or names the problem', () => {
    expect(parseJsonBody('{"prompt": [1]}')).toEqual({ prompt: [1] });
    for (const text of ['{', '[1]', '"x"', 'null']) expect(() => parseJsonBody(text)).toThrow(ServeRequestError);
  });
});

describe('chat', () => {
  it('renders "<role>: content\\n" turns ending with "assistant:"', () => {
    expect(renderChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }])).toBe('system: Be brief.\nuser: Hi\nassistant:');
  });

  it('parses a chat request into the rendered prompt', () => {
    const messages = [{ role: 'user' as const, content: 'the cat' }];
    const p = parseChatRequest({ messages, max_completion_tokens: 4, logprobs: true, top_logprobs: 2, seed: 3 }, facts, limits, renderChat);
    expect(p.prompts).toEqual([tokenizer.encode('user: the cat\nassistant:')]);
    expect(p).toMatchObject({ maxTokens: 4, logprobs: 2, seed: 3, messages });
    const fails = (body: Record<string, unknown>, param: string) => {
      expect(() => parseChatRequest(body, facts, limits, renderChat)).toThrow(ServeRequestError);
      try {
        parseChatRequest(body, facts, limits, renderChat);
      } catch (e) {
        expect((e as ServeRequestError).param).toBe(param);
      }
    };
    fails({ messages: [] }, 'messages');
    fails({ messages: [{ role: 'robot', content: 'x' }] }, 'messages');
    fails({ messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages');
    fails({ messages, logprobs: 2 }, 'logprobs');
    fails({ messages, top_logprobs: 2 }, 'top_logprobs');
  });
});
