// The OpenAI-compatible (vLLM) engine over real loopback HTTP against a test double upstream
// (tests/openai_upstream.ts: vLLM's response shape from a LocalCompletionEngine on its own core),
// the response checks field by field, the retry policy's arithmetic, and the weight syncs.
// Faults injected by a proxy are in tests/openai_engine_faults.test.ts; the engine against
// NovaRL's own server in tests/openai_engine_server.test.ts.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EngineRequestError,
  EngineResponseError,
  GPT,
  LocalCompletionEngine,
  Logger,
  NoWeightSync,
  NovaRLServerWeightSync,
  OpenAICompatibleEngine,
  Tokenizer,
  ValueError,
  VllmReloadWeightSync,
  WeightSyncError,
  backoffDelayMs,
  checkCompletionResponse,
  collectLmRollout,
  encodeHuggingFace,
  init,
  normal_,
  parseRetryAfterMs,
  resolveRetryOptions,
  seed,
  type ResponseExpectation,
} from '../sdk/index';
import { readBody, startUpstream, type Upstream } from './openai_upstream';

let tokenizer: Tokenizer;
let policy: GPT;
let upstream: Upstream;

function tinyPolicy(s: number): GPT {
  seed(s);
  const m = new GPT({ vocabSize: tokenizer.vocabSize, nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 48 });
  for (const [name, p] of m.namedParameters()) if (name.startsWith('transformer.wte')) normal_(p, 0, 0.5);
  return m;
}

beforeAll(async () => {
  await init();
  tokenizer = Tokenizer.train('the cat sat on the mat. the dog sat on the log. a bird sang. ', { vocabSize: 280 });
  policy = tinyPolicy(3);
  upstream = await startUpstream(policy, { tokenizer });
});

afterAll(async () => {
  await upstream.close();
  policy.free();
});

const engineFor = (url: string, extra: Partial<ConstructorParameters<typeof OpenAICompatibleEngine>[0]> = {}) =>
  new OpenAICompatibleEngine({ baseUrl: url, model: 'tiny', vocabSize: tokenizer.vocabSize, retries: { maxAttempts: 1 }, ...extra });

const prompts = () => ['the cat', 'the dog sat', 'a bird'].map((t) => tokenizer.encode(t));

describe('OpenAICompatibleEngine against the test double', () => {
  it('sends vLLM\'s fields and fills Completions prompt-major, equal to the local engine at the same seed', async () => {
    const eos = tokenizer.eosTokenId!;
    const request = { prompts: prompts(), n: 2, maxNewTokens: 8, temperature: 0.8, topP: 0.95, seed: 11, stopTokenIds: [eos] };
    const before = upstream.bodies.length;
    const remote = await engineFor(upstream.url, { maxPromptsPerRequest: 8 }).complete(request);
    const body = upstream.bodies[before]!;
    expect(body).toEqual({ model: 'tiny', prompt: request.prompts, n: 2, max_tokens: 8, temperature: 0.8, top_p: 0.95, top_k: -1, seed: 11, stop_token_ids: [eos], logprobs: 0, return_token_ids: true });
    const local = await new LocalCompletionEngine(policy).complete(request);
    expect(remote.promptIndex).toEqual([0, 0, 1, 1, 2, 2]);
    expect(remote.promptIds).toEqual(local.promptIds);
    expect(remote.completionIds).toEqual(local.completionIds);
    expect(remote.logProbs).toEqual(local.logProbs); // JSON round trip of float32 values as doubles: exact
    expect(remote.finishReasons).toEqual(local.finishReasons);
    expect(remote.logProbsUsable).toBe(true);
  });

  it('batches prompts per request and keeps at most maxConcurrency requests in flight', async () => {
    const slow = await startUpstream(policy, { delayMs: 60 });
    try {
      const many = Array.from({ length: 7 }, (_, i) => tokenizer.encode(['the cat', 'the dog', 'a bird sang'][i % 3]!));
      const out = await engineFor(slow.url, { maxPromptsPerRequest: 2, maxConcurrency: 2 }).complete({ prompts: many, n: 3, maxNewTokens: 4, seed: 1 });
      expect(slow.bodies.map((b) => (b.prompt as number[][]).length)).toEqual([2, 2, 2, 1]);
      expect(slow.maxInFlight).toBe(2);
      expect(out.completionIds).toHaveLength(21);
      expect(out.promptIndex).toEqual(many.flatMap((_, p) => [p, p, p]));
      expect(out.promptIds[20]).toEqual(many[6]);
    } finally {
      await slow.close();
    }
  });

  it('re-tokenises a server without token ids, marks its log-probs unusable and warns once', async () => {
    const plain = await startUpstream(policy, { omitTokenIds: true, tokenizer });
    const warnings: string[] = [];
    const logger = new Logger([{ write() {}, warn: (m) => warnings.push(m) }]);
    try {
      const engine = engineFor(plain.url, { tokenizer, logger });
      const eos = tokenizer.eosTokenId!;
      for (let i = 0; i < 2; i++) {
        const out = await engine.complete({ prompts: prompts(), n: 2, maxNewTokens: 8, seed: 4, stopTokenIds: [eos] });
        expect(out.logProbsUsable).toBe(false);
        out.completionIds.forEach((ids, b) => {
          expect(out.logProbs[b]).toHaveLength(ids.length);
          if (out.finishReasons[b] === 'stop') expect(ids[ids.length - 1]).toBe(eos);
        });
      }
      expect(warnings.filter((w) => /no token_ids/.test(w))).toHaveLength(1);
      // without a tokenizer it is an error naming the field
      await expect(engineFor(plain.url).complete({ prompts: prompts(), maxNewTokens: 4 })).rejects.toMatchObject({ name: 'EngineResponseError', field: 'choices[0].token_ids' });
    } finally {
      await plain.close();
    }
  });

  it('log-prob mismatch against the server at equal weights and sampling settings is ~0 (collectLmRollout)', async () => {
    const eos = tokenizer.eosTokenId!;
    const rows = ['the cat', 'the dog sat', 'a bird'].map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
    const rollout = await collectLmRollout({ engine: engineFor(upstream.url), policy, tokenizer, prompts: rows, n: 4, sampling: { maxNewTokens: 10, temperature: 0.7, topP: 1, seed: 5, stopTokenIds: [eos] } });
    expect(rollout.offPolicy!.deltaMax).toBeLessThan(1e-5);
    expect(rollout.offPolicy!.ratioMin).toBeGreaterThan(1 - 1e-5);
    expect(rollout.offPolicy!.ratioMax).toBeLessThan(1 + 1e-5);
    rollout.free();
  });

  it('validates its options and requests with ValueError', async () => {
    expect(() => engineFor('localhost:8000')).toThrow(ValueError);
    expect(() => engineFor(upstream.url, { maxConcurrency: 0 })).toThrow(/maxConcurrency/);
    expect(() => engineFor(upstream.url, { retries: { maxAttempts: 0 } })).toThrow(/maxAttempts/);
    await expect(engineFor(upstream.url).complete({ prompts: [[tokenizer.vocabSize]], maxNewTokens: 2 })).rejects.toThrow(ValueError);
    await expect(engineFor(upstream.url).complete({ prompts: [[1]], maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens/);
  });
});

describe('checkCompletionResponse', () => {
  const expectation: ResponseExpectation = { prompts: [[1, 2], [3]], n: 2, vocabSize: 10, maxNewTokens: 4, stopTokenIds: [0] };
  const good = () => ({
    choices: [0, 1, 2, 3].map((index) => ({ index, text: '', finish_reason: 'length', token_ids: [4, 5], prompt_token_ids: index < 2 ? [1, 2] : [3], logprobs: { token_logprobs: [-0.5, -1.25] } })),
  });
  const fails = (mutate: (r: ReturnType<typeof good>) => unknown, field: string) => {
    const r = good();
    const replaced = mutate(r);
    const text = typeof replaced === 'string' ? replaced : JSON.stringify(r);
    try {
      checkCompletionResponse(text, expectation);
    } catch (error) {
      expect(error).toBeInstanceOf(EngineResponseError);
      expect((error as EngineResponseError).field).toBe(field);
      return;
    }
    throw new Error(`no error for ${field}`);
  };

  it('accepts a good response and places choices by index', () => {
    const r = good();
    r.choices.reverse();
    r.choices[0]!.token_ids = [9];
    r.choices[0]!.logprobs.token_logprobs = [-2];
    const out = checkCompletionResponse(JSON.stringify(r), expectation);
    expect(out.choices[3]).toEqual({ ids: [9], logProbs: [-2], finishReason: 'length' });
    expect(out.reTokenised).toBe(false);
  });

  it('names the field of every problem', () => {
    fails(() => '{"choices": [', 'body');
    fails(() => '[1]', 'body');
    fails((r) => void (r.choices = r.choices.slice(1)), 'choices');
    fails((r) => void delete (r.choices[1] as Record<string, unknown>).token_ids, 'choices[1].token_ids');
    fails((r) => void (r.choices[2]!.token_ids = [4, 10]), 'choices[2].token_ids[1]');
    fails((r) => void (r.choices[2]!.token_ids = [4, -1]), 'choices[2].token_ids[1]');
    fails((r) => void (r.choices[2]!.token_ids = [4, 1.5]), 'choices[2].token_ids[1]');
    fails((r) => void (r.choices[2]!.token_ids = [1, 1, 1, 1, 1]), 'choices[2].token_ids');
    fails((r) => void (r.choices[0]!.logprobs.token_logprobs = [-1]), 'choices[0].logprobs.token_logprobs');
    fails((r) => void ((r.choices[0]!.logprobs.token_logprobs as unknown[]) = [-1, null]), 'choices[0].logprobs.token_logprobs[1]');
    fails((r) => void ((r.choices[0]!.logprobs.token_logprobs as unknown[]) = [-1, 'NaN']), 'choices[0].logprobs.token_logprobs[1]');
    fails((r) => JSON.stringify(r).replace('-1.25', 'NaN'), 'body'); // Python's json.dumps writes NaN, which is not JSON
    fails((r) => void ((r.choices[0] as Record<string, unknown>).logprobs = null), 'choices[0].logprobs');
    fails((r) => void (r.choices[3]!.finish_reason = 'abort'), 'choices[3].finish_reason');
    fails((r) => void (r.choices[3]!.index = 2), 'choices[3].index');
    fails((r) => void (r.choices[3]!.index = 4), 'choices[3].index');
    fails((r) => void (r.choices[3]!.prompt_token_ids = [1, 2]), 'choices[3].prompt_token_ids');
  });
});

describe('retry policy', () => {
  it('doubles the backoff up to the cap, with full jitter scaling it by the random draw', () => {
    const none = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 500, jitter: 'none' });
    expect([1, 2, 3, 4, 5].map((a) => backoffDelayMs(a, none, () => 0.5))).toEqual([100, 200, 400, 500, 500]);
    const full = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 500 });
    expect([1, 2, 3].map((a) => backoffDelayMs(a, full, () => 0.25))).toEqual([25, 50, 100]);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('Tue, 01 Dec 2026 12:00:00 GMT');
    expect(parseRetryAfterMs('3', now)).toBe(3000);
    expect(parseRetryAfterMs('Tue, 01 Dec 2026 12:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfterMs('Tue, 01 Dec 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs(null, now)).toBeUndefined();
  });
});

describe('weight sync', () => {
  it('NovaRLServerWeightSync pushes the safetensors bytes; the server then samples from the new weights', async () => {
    const served = await startUpstream(policy);
    const trained = tinyPolicy(9); // stands in for the policy after an update
    try {
      const engine = engineFor(served.url);
      const sync = new NovaRLServerWeightSync(engine);
      const request = { prompts: prompts(), n: 2, maxNewTokens: 6, seed: 2 };
      const beforeSync = await engine.complete(request);
      await sync.afterUpdate(trained, 1);
      expect([sync.serverVersion, sync.staleness, sync.lastSyncedUpdate, served.version]).toEqual([1, 0, 1, 1]);
      const afterSync = await engine.complete(request);
      const local = await new LocalCompletionEngine(trained).complete(request);
      expect(afterSync.completionIds).toEqual(local.completionIds);
      expect(afterSync.logProbs).toEqual(local.logProbs);
      expect(afterSync.logProbs).not.toEqual(beforeSync.logProbs);
    } finally {
      trained.free();
      await served.close();
    }
  });

  it('a failed sync throws WeightSyncError and blocks the engine until a sync succeeds', async () => {
    const served = await startUpstream(policy);
    // a server that takes no update: 400 on the route (a body it refuses), /health fine
    const wrong = new GPT({ vocabSize: tokenizer.vocabSize, nLayer: 1, nHead: 2, nEmbd: 32, nPositions: 48 });
    try {
      const engine = engineFor(served.url);
      const sync = new NovaRLServerWeightSync(engine);
      const failure = await sync.afterUpdate(wrong, 1).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(WeightSyncError);
      expect((failure as WeightSyncError).updateIndex).toBe(1);
      expect((failure as WeightSyncError).cause).toBeInstanceOf(EngineRequestError);
      expect(((failure as WeightSyncError).cause as EngineRequestError).status).toBe(400);
      expect(served.version).toBe(0);
      expect(sync.staleness).toBe(1);
      await expect(engine.complete({ prompts: prompts(), maxNewTokens: 2 })).rejects.toBe(failure);
      await sync.afterUpdate(policy, 2);
      expect([sync.staleness, served.version]).toEqual([0, 1]);
      expect((await engine.complete({ prompts: prompts(), maxNewTokens: 2 })).completionIds).toHaveLength(3);
    } finally {
      wrong.free();
      await served.close();
    }
  });

  it('VllmReloadWeightSync writes the HF directory, then calls collective_rpc reload_weights and reset_prefix_cache (recording stub)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'novarl-vllm-'));
    const seen: { method: string; url: string; contentType?: string; body: string; weights?: Buffer }[] = [];
    let failRpc = 0;
    const stub = createServer((req, res) => {
      void readBody(req).then(async (body) => {
        const entry = { method: req.method!, url: req.url!, contentType: req.headers['content-type'], body: body.toString('utf8') } as (typeof seen)[number];
        // the weights must already be on disk when vLLM is asked to reload them
        if (req.url === '/collective_rpc') entry.weights = await readFile(join(dir, 'model.safetensors'));
        seen.push(entry);
        if (req.url === '/collective_rpc' && failRpc-- > 0) {
          res.writeHead(500).end('{"error": "boom"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(req.url === '/collective_rpc' ? '{"results": [null]}' : '');
      });
    });
    await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
    try {
      const engine = engineFor(url, { retries: { maxAttempts: 2, baseDelayMs: 1 } });
      const sync = new VllmReloadWeightSync(engine, { directory: dir, tokenizer });
      await sync.afterUpdate(policy, 1);
      expect(seen.map((s) => [s.method, s.url])).toEqual([['POST', '/collective_rpc'], ['POST', '/reset_prefix_cache']]);
      expect(JSON.parse(seen[0]!.body)).toEqual({ method: 'reload_weights' });
      expect(seen[0]!.contentType).toBe('application/json');
      expect(Buffer.compare(seen[0]!.weights!, Buffer.from(encodeHuggingFace(policy)['model.safetensors']!))).toBe(0);
      expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')).model_type).toBe('gpt2');
      await readFile(join(dir, 'tokenizer.json'));
      // one 500 is retried; two (maxAttempts 2) fail the sync
      failRpc = 1;
      await sync.afterUpdate(policy, 2);
      failRpc = 2;
      await expect(sync.afterUpdate(policy, 3)).rejects.toBeInstanceOf(WeightSyncError);
      expect(engine.blockedReason?.updateIndex).toBe(3);
    } finally {
      await new Promise<void>((r) => stub.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('NoWeightSync counts staleness', async () => {
    const sync = new NoWeightSync();
    await sync.afterUpdate();
    await sync.afterUpdate();
    expect(sync.staleness).toBe(2);
  });
});
