// NovaRL's OpenAI-compatible server over real HTTP on Node (127.0.0.1, a port the OS picks):
// answers equal to generate() at the same seed, vLLM's response layout, the error body, bad
// requests that change nothing, batching, and weight updates.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT, Tokenizer, ValueError, encodeHuggingFace, generate, getRngState, init, loadHuggingFace, parseSafetensors, seed, serializeSafetensors, uniform_, Tensor, type Core } from '../sdk/index';
import { createServeApp, loadServeApp, serveNode, type RunningServer, type ServeApp } from '../sdk/serve/index';
import { makeServeDir, type ServeFixture } from './serve_fixture';

let fixture: ServeFixture;
let DIR = '';
let app: ServeApp;
let server: RunningServer;
let refCore: Core;
let reference: GPT; // the same weights on another core, for generate()
let tokenizer: Tokenizer;
let eos: number;
let ids: (text: string) => number[];

beforeAll(async () => {
  fixture = await makeServeDir();
  DIR = fixture.dir;
  app = await loadServeApp(DIR, { modelName: 'tiny-gpt', batchWindowMs: 20 });
  server = await serveNode(app, { port: 0 });
  refCore = await init({ setDefault: false });
  const loaded = await loadHuggingFace(DIR, { core: refCore, valueHead: false });
  reference = loaded.model;
  tokenizer = Tokenizer.fromHuggingFaceFiles(loaded.tokenizerFiles!);
  eos = tokenizer.eosTokenId!;
  ids = (text: string) => tokenizer.encode(text);
});

afterAll(async () => {
  await server?.close();
  app?.close({ freeModel: true });
  reference?.free();
  fixture?.cleanup();
});

async function post(path: string, body: unknown, target = server.url): Promise<{ status: number; json: any }> {
  const response = await fetch(target + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
  return { status: response.status, json: await response.json() };
}

async function postBytes(path: string, bytes: Uint8Array): Promise<{ status: number; json: any }> {
  const response = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(bytes), signal: AbortSignal.timeout(20_000) });
  return { status: response.status, json: await response.json() };
}

const health = async () => (await (await fetch(`${server.url}/health`)).json()) as { status: string; model: string; weights_version: number };

describe('init() gives independent cores', () => {
  it('seeding or drawing on one core leaves another core\'s generator untouched', () => {
    // the server's core (loadServeApp's own init()) and the reference's (another init())
    const a = app.model.core;
    const b = refCore;
    // (=== here: a failed toBe would deep-compare two whole cores)
    expect(a === b).toBe(false);
    expect(a.exports.memory === b.exports.memory).toBe(false);
    seed(1, a);
    const before = getRngState(a);
    const draw = () => uniform_(Tensor.zeros([4], { core: a })).toArray();
    const first = draw();
    seed(1, a);
    seed(99, b);
    uniform_(Tensor.zeros([16], { core: b }));
    expect(getRngState(a)).toEqual(before);
    expect(draw()).toEqual(first);
  });
});

describe('routes', () => {
  it('GET /health and /v1/models', async () => {
    expect(await health()).toEqual({ status: 'ok', model: 'tiny-gpt', weights_version: 0 });
    const models = await (await fetch(`${server.url}/v1/models`)).json();
    expect(models.object).toBe('list');
    expect(models.data[0]).toMatchObject({ id: 'tiny-gpt', object: 'model', max_model_len: 64 });
  });

  it('a seeded token-id request returns what generate() returns at that seed, bit for bit, prompt-major', async () => {
    const prompts = [ids('the cat'), ids('Emma walked')];
    const body = { model: 'tiny-gpt', prompt: prompts, n: 2, max_tokens: 10, temperature: 0.9, top_p: 0.95, top_k: 50, seed: 7, logprobs: 0, return_token_ids: true };
    const { status, json } = await post('/v1/completions', body);
    expect(status).toBe(200);
    expect(json).toMatchObject({ object: 'text_completion', model: 'tiny-gpt' });
    const rows = prompts.flatMap((p) => [p, p]);
    const ref = generate(reference, rows, { maxNewTokens: 10, temperature: 0.9, topP: 0.95, topK: 50, seed: 7, stopTokenIds: [eos] });
    expect(json.choices.map((c: any) => c.index)).toEqual([0, 1, 2, 3]);
    json.choices.forEach((c: any, row: number) => {
      expect(c.prompt_token_ids).toEqual(rows[row]);
      expect(c.token_ids).toEqual(ref.completions[row]);
      expect(c.logprobs.token_logprobs).toEqual(ref.logProbs[row]); // JSON keeps f32 values exactly
      expect(c.finish_reason).toBe(ref.finishReasons[row]);
      expect(c.text).toBe(tokenizer.decode(ref.completions[row]!, { skipSpecialTokens: true }));
      expect(c.logprobs.tokens).toEqual(ref.completions[row]!.map((id) => tokenizer.decode([id])));
      expect(c.logprobs.top_logprobs.map((d: object) => Object.keys(d).length)).toEqual(ref.completions[row]!.map(() => 1));
      const lengths = c.logprobs.tokens.map((t: string) => t.length);
      expect(c.logprobs.text_offset).toEqual(lengths.map((_: number, i: number) => lengths.slice(0, i).reduce((a: number, b: number) => a + b, 0)));
    });
    const completionTokens = ref.completions.reduce((s, c) => s + c.length, 0);
    const promptTokens = prompts[0]!.length + prompts[1]!.length;
    expect(json.usage).toEqual({ prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens });
  });

  it('logprobs: k gives the sampled token then the k most likely raw alternatives', async () => {
    // tokens as "token_id:<id>": two byte tokens can decode to the same U+FFFD text, as in vLLM
    const { json } = await post('/v1/completions', { prompt: 'Once upon a time', max_tokens: 6, temperature: 0, logprobs: 3, return_token_ids: true, return_tokens_as_token_ids: true });
    const c = json.choices[0];
    const ref = generate(reference, [tokenizer.encode('Once upon a time')], { maxNewTokens: 6, temperature: 0, stopTokenIds: [eos] });
    expect(c.token_ids).toEqual(ref.completions[0]);
    c.logprobs.top_logprobs.forEach((entry: Record<string, number>, t: number) => {
      // first the sampled token with its token_logprob (0: greedy's processed distribution is
      // one-hot); then the 3 most likely raw tokens, of which greedy's own is the first, so it
      // is not repeated
      const keys = Object.keys(entry), values = Object.values(entry);
      expect(keys[0]).toBe(c.logprobs.tokens[t]);
      expect(keys[0]).toBe(`token_id:${c.token_ids[t]}`);
      expect(values[0]).toBe(c.logprobs.token_logprobs[t]);
      expect(values[0]).toBe(0);
      expect(keys.length).toBe(3);
      const alternatives = values.slice(1);
      expect(alternatives).toEqual([...alternatives].sort((x, y) => y - x));
      for (const lp of alternatives) expect(lp).toBeLessThanOrEqual(ref.rawLogProbs[0]![t]!);
    });
  });

  it('chat: the template, then the completion as the assistant message', async () => {
    const messages = [{ role: 'user', content: 'Tell me a story.' }];
    const { status, json } = await post('/v1/chat/completions', { model: 'tiny-gpt', messages, max_tokens: 8, seed: 3, return_token_ids: true });
    expect(status).toBe(200);
    const prompt = tokenizer.encode('user: Tell me a story.\nassistant:');
    const ref = generate(reference, [prompt], { maxNewTokens: 8, seed: 3, stopTokenIds: [eos] });
    expect(json.object).toBe('chat.completion');
    expect(json.choices[0].prompt_token_ids).toEqual(prompt);
    expect(json.choices[0].message).toEqual({ role: 'assistant', content: tokenizer.decode(ref.completions[0]!, { skipSpecialTokens: true }) });
  });
});

describe('bad requests', () => {
  it('get a 4xx with the OpenAI error body naming the field', async () => {
    const cases: [unknown, number, string | null][] = [
      [{ prompt: [1], max_tokens: 0 }, 400, 'max_tokens'],
      [{ prompt: [1], n: 1000 }, 400, 'n'],
      [{ prompt: [[1], [tokenizer.vocabSize]] }, 400, 'prompt'],
      [{ prompt: [1], model: 'other' }, 404, 'model'],
      [{ prompt: [1], stream: true }, 400, 'stream'],
      ['{"prompt": [1', 400, null],
      [{ prompt: 'x'.repeat(2 << 20) }, 413, null],
    ];
    for (const [body, status, param] of cases) {
      const r = await post('/v1/completions', body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(status);
      expect(r.json.error).toMatchObject({ param, code: status });
      expect(typeof r.json.error.message).toBe('string');
      expect(typeof r.json.error.type).toBe('string');
    }
    const missing = await fetch(`${server.url}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe(404);
  });

  it('leave the state unchanged: a bad request between two identical requests changes nothing', async () => {
    const model = app.model;
    // Two apps on the same weights and server seed: one sees a bad request in between, one does not
    const quiet = createServeApp({ model: reference, tokenizer, modelName: 'tiny-gpt', seed: 5 });
    const noisy = createServeApp({ model: reference, tokenizer, modelName: 'tiny-gpt', seed: 5 });
    const ask = async (target: ServeApp, body: unknown) => {
      const r = await target.fetch(new Request('http://local/v1/completions', { method: 'POST', body: JSON.stringify(body) }));
      return { status: r.status, json: (await r.json()) as any };
    };
    const unseeded = { prompt: ids('the dog'), max_tokens: 8, return_token_ids: true, logprobs: 0 };
    const seeded = { ...unseeded, seed: 11 };
    for (const body of [unseeded, seeded]) {
      const q1 = await ask(quiet, body), n1 = await ask(noisy, body);
      expect(n1.json.choices).toEqual(q1.json.choices);
      for (const bad of [{ ...body, top_p: 2 }, { ...body, prompt: [99999] }, { ...body, max_tokens: 64 }]) expect((await ask(noisy, bad)).status).toBe(400);
      const q2 = await ask(quiet, body), n2 = await ask(noisy, body);
      expect(n2.json.choices).toEqual(q2.json.choices);
    }
    quiet.close();
    noisy.close();
    expect(app.model).toBe(model);
  });
});

describe('batching', () => {
  it('concurrent requests become fewer generation calls; each seeded answer equals the request served alone', async () => {
    const bodies = Array.from({ length: 6 }, (_, i) => ({
      prompt: [[46 + i, 77, 120].slice(0, 1 + (i % 3))],
      n: 1 + (i % 2),
      max_tokens: 4 + i,
      temperature: [1, 0.7, 0][i % 3],
      top_p: [1, 0.9][i % 2],
      top_k: [0, 20, -1][i % 3],
      seed: 100 + i,
      logprobs: 0,
      return_token_ids: true,
    }));
    const before = app.stats.batches;
    const together = await Promise.all(bodies.map((b) => post('/v1/completions', b)));
    const batches = app.stats.batches - before;
    expect(batches).toBeLessThan(bodies.length);
    expect(batches).toBeGreaterThanOrEqual(1);
    for (const [i, body] of bodies.entries()) {
      const alone = await post('/v1/completions', body);
      expect(together[i]!.status).toBe(200);
      expect(together[i]!.json.choices).toEqual(alone.json.choices);
    }
  });
});

describe('POST /novarl/update_weights', () => {
  it('validates everything, refuses bad bodies with the weights and version unchanged, and swaps good ones in', async () => {
    const body = { prompt: ids('Once upon'), max_tokens: 8, seed: 21, logprobs: 0, return_token_ids: true };
    const original = (await post('/v1/completions', body)).json.choices;
    const good = encodeHuggingFace(reference)['model.safetensors']!;
    const { tensors } = parseSafetensors(good);
    const headerEnd = 8 + Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));
    const withNaN = good.slice();
    new DataView(withNaN.buffer).setFloat32(headerEnd + 4, NaN, true);
    const renamed = { ...tensors, 'transformer.h.0.attn.c_oops.weight': tensors['transformer.h.0.attn.c_attn.weight']! };
    delete (renamed as Record<string, unknown>)['transformer.h.0.attn.c_attn.weight'];
    const wpe = tensors['transformer.wpe.weight']!;
    const reshaped = { ...tensors, 'transformer.wpe.weight': { ...wpe, shape: [wpe.shape[0]! / 2, wpe.shape[1]! * 2] } };
    const bad: [string, Uint8Array][] = [
      ['truncated', good.subarray(0, good.length - 100)],
      ['empty', new Uint8Array(0)],
      ['wrong names', serializeSafetensors(renamed)],
      ['wrong shape', serializeSafetensors(reshaped)],
      ['NaN', withNaN],
      ['too large', new Uint8Array(app.limits.maxWeightsBytes + 1)],
    ];
    for (const [what, bytes] of bad) {
      const r = await postBytes('/novarl/update_weights', bytes);
      expect([400, 413], what).toContain(r.status);
      expect(r.json.error.message.length, what).toBeGreaterThan(0);
      expect((await health()).weights_version, what).toBe(0);
    }
    const unchanged = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify(body) });
    expect(unchanged.headers.get('x-novarl-weights-version')).toBe('0');
    expect(((await unchanged.json()) as any).choices).toEqual(original);

    // A real update: the reference model's weights, perturbed
    const updated = loadHuggingFace(DIR, { core: refCore, valueHead: false });
    const next = (await updated).model;
    const wte = next.transformer.wte.weight;
    wte.set(wte.toArray().map((v, i) => v + 0.05 * Math.sin(i)));
    const r = await postBytes('/novarl/update_weights', encodeHuggingFace(next)['model.safetensors']!);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ weights_version: 1 });
    expect((await health()).weights_version).toBe(1);
    const served = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify(body) });
    expect(served.headers.get('x-novarl-weights-version')).toBe('1');
    const after = ((await served.json()) as any).choices;
    const ref = generate(next, [body.prompt], { maxNewTokens: 8, seed: 21, stopTokenIds: [eos] });
    expect(after[0].token_ids).toEqual(ref.completions[0]);
    expect(after[0].logprobs.token_logprobs).toEqual(ref.logProbs[0]);
    expect(after).not.toEqual(original);
    next.free();
  });
});

describe('a weight update among requests in flight', () => {
  it('lands between batches: each answer is wholly from the weights its header names', async () => {
    const before = (await health()).weights_version;
    const loaded = (await loadHuggingFace(DIR, { core: refCore, valueHead: false })).model;
    const wpe = loaded.transformer.wpe.weight;
    wpe.set(wpe.toArray().map((v, i) => v - 0.1 * Math.cos(i)));
    const bodies = Array.from({ length: 6 }, (_, i) => ({ prompt: [5 + i, 6, 7], max_tokens: 10, seed: 300 + i, logprobs: 0, return_token_ids: true }));
    const expect1 = (model: GPT) => bodies.map((b) => generate(model, [b.prompt], { maxNewTokens: 10, seed: b.seed, stopTokenIds: [eos] }));
    const old = expect1(app.model), fresh = expect1(loaded);
    const requests = bodies.map((b) => fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify(b) }));
    const update = postBytes('/novarl/update_weights', encodeHuggingFace(loaded)['model.safetensors']!);
    const more = bodies.map((b) => fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify(b) }));
    expect((await update).json).toEqual({ weights_version: before + 1 });
    const versions = new Set<number>();
    for (const [k, response] of (await Promise.all([...requests, ...more])).entries()) {
      const version = Number(response.headers.get('x-novarl-weights-version'));
      versions.add(version);
      const choice = ((await response.json()) as any).choices[0];
      const ref = (version === before ? old : fresh)[k % bodies.length]!;
      expect([before, before + 1]).toContain(version);
      expect(choice.token_ids).toEqual(ref.completions[0]);
      expect(choice.logprobs.token_logprobs).toEqual(ref.logProbs[0]);
    }
    expect(versions.has(before + 1)).toBe(true);
    loaded.free();
  });
});

describe('the core build', () => {
  it('the scalar build serves the same bits as the SIMD one', async () => {
    const body = { prompt: [[5, 6, 7], [9, 10, 11]], n: 2, max_tokens: 12, temperature: 0.8, top_k: 30, seed: 77, logprobs: 2, return_token_ids: true };
    const answers = [];
    for (const simd of [true, false]) {
      const served = await loadServeApp(DIR, { modelName: 'tiny-gpt', simd });
      expect(served.model.core.simd).toBe(simd);
      const r = await served.fetch(new Request('http://local/v1/completions', { method: 'POST', body: JSON.stringify(body) }));
      answers.push(((await r.json()) as any).choices);
      served.close({ freeModel: true });
    }
    expect(answers[1]).toEqual(answers[0]);
  });
});

describe('createServeApp', () => {
  it('refuses a bad model, tokenizer or limits with a ValueError', () => {
    expect(() => createServeApp({ model: {} as GPT, tokenizer })).toThrow(ValueError);
    expect(() => createServeApp({ model: reference, tokenizer: {} as Tokenizer })).toThrow(ValueError);
    expect(() => createServeApp({ model: reference, tokenizer, limits: { maxN: 0 } })).toThrow(/limits.maxN/);
    expect(() => createServeApp({ model: reference, tokenizer, limits: { maxTokens: 1.5 } })).toThrow(/limits.maxTokens/);
  });
});
