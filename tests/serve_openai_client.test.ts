// The official `openai` npm client (6.x) against NovaRL's server on 127.0.0.1: models, text and
// token-id completions with logprobs and vLLM's extra fields (passed through the body as the
// client allows), chat, and an error surfacing as the client's typed BadRequestError.

import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer, generate, init, loadHuggingFace, type GPT } from '../sdk/index';
import { loadServeApp, serveNode, type RunningServer, type ServeApp } from '../sdk/serve/index';
import { makeServeDir, type ServeFixture } from './serve_fixture';

let fixture: ServeFixture;
let app: ServeApp;
let server: RunningServer;
let client: OpenAI;
let reference: GPT;
let tokenizer: Tokenizer;

beforeAll(async () => {
  fixture = await makeServeDir();
  app = await loadServeApp(fixture.dir, { modelName: 'tiny-gpt' });
  server = await serveNode(app, { port: 0 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
  const loaded = await loadHuggingFace(fixture.dir, { core: await init({ setDefault: false }), valueHead: false });
  reference = loaded.model;
  tokenizer = Tokenizer.fromHuggingFaceFiles(loaded.tokenizerFiles!);
});

afterAll(async () => {
  await server?.close();
  app?.close({ freeModel: true });
  reference?.free();
  fixture?.cleanup();
});

describe('the openai client', () => {
  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny-gpt']);
  });

  it('completes token-id prompts with logprobs and token ids, as generate() at the same seed', async () => {
    const prompts = [tokenizer.encode('the cat'), tokenizer.encode('Emma')];
    // vLLM's own fields ride along in the body; the client's types do not know them
    const extra = { top_k: 40, return_token_ids: true } as Record<string, unknown>;
    const response = await client.completions.create({ model: 'tiny-gpt', prompt: prompts, n: 2, max_tokens: 9, temperature: 0.9, top_p: 0.95, seed: 4, logprobs: 0, ...extra });
    expect(response.object).toBe('text_completion');
    expect(response.choices).toHaveLength(4);
    const rows = prompts.flatMap((p) => [p, p]);
    const ref = generate(reference, rows, { maxNewTokens: 9, temperature: 0.9, topP: 0.95, topK: 40, seed: 4, stopTokenIds: [tokenizer.eosTokenId!] });
    response.choices.forEach((choice, row) => {
      const c = choice as typeof choice & { token_ids: number[]; prompt_token_ids: number[] };
      expect(c.index).toBe(row);
      expect(c.prompt_token_ids).toEqual(rows[row]);
      expect(c.token_ids).toEqual(ref.completions[row]);
      expect(c.logprobs!.token_logprobs).toEqual(ref.logProbs[row]);
      expect(c.finish_reason).toBe(ref.finishReasons[row]);
    });
    expect(response.usage!.completion_tokens).toBe(ref.completions.reduce((s, c) => s + c.length, 0));
  });

  it('completes a text prompt', async () => {
    const response = await client.completions.create({ model: 'tiny-gpt', prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
    const ref = generate(reference, [tokenizer.encode('Once upon a time')], { maxNewTokens: 5, temperature: 0, stopTokenIds: [tokenizer.eosTokenId!] });
    expect(response.choices[0]!.text).toBe(tokenizer.decode(ref.completions[0]!, { skipSpecialTokens: true }));
  });

  it('chats, with logprobs', async () => {
    const response = await client.chat.completions.create({ model: 'tiny-gpt', messages: [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Tell me about the cat.' }], max_tokens: 6, seed: 9, logprobs: true, top_logprobs: 2 });
    const prompt = tokenizer.encode('system: Be kind.\nuser: Tell me about the cat.\nassistant:');
    const ref = generate(reference, [prompt], { maxNewTokens: 6, seed: 9, stopTokenIds: [tokenizer.eosTokenId!] });
    const choice = response.choices[0]!;
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.content).toBe(tokenizer.decode(ref.completions[0]!, { skipSpecialTokens: true }));
    expect(choice.logprobs!.content!.map((t) => t.logprob)).toEqual(ref.logProbs[0]);
    expect(choice.logprobs!.content!.every((t) => t.top_logprobs.length === 2)).toBe(true);
  });

  it('surfaces a bad request as BadRequestError naming the field', async () => {
    const error = await client.completions.create({ model: 'tiny-gpt', prompt: [1, 2], max_tokens: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const e = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.status).toBe(400);
    expect(e.param).toBe('max_tokens');
    expect(e.message).toMatch(/max_tokens/);
    const missing = await client.completions.create({ model: 'gpt-4', prompt: 'x' }).catch((x: unknown) => x);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
