// Faults between the OpenAI-compatible engine and its server, injected by a proxy (node:http,
// loopback only) in front of NovaRL's own server (sdk/serve on @hono/node-server, its model on
// its own core). For each fault:
// the engine retries and then succeeds, or fails with the typed error the spec asks for; every
// test is bounded in time (timeouts of a few hundred ms, backoff waits injected).
// Last, the trainer level, as a minimal loop (collectLmRollout + saveCheckpoint) and with
// GRPOTrainer: a rollout that fails loses nothing already collected and changes no parameter, a
// failed weight sync blocks the engine, and the last checkpoint stays loadable.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parameterHash } from './fixtures/resume_checks';
import {
  EngineRequestError,
  EngineResponseError,
  GPT,
  GRPOTrainer,
  NovaRLServerWeightSync,
  OpenAICompatibleEngine,
  Tokenizer,
  WeightSyncError,
  collectLmRollout,
  init,
  loadCheckpoint,
  normal_,
  saveCheckpoint,
  seed,
  type LmRollout,
  type NamedRewardFunction,
  type OpenAICompatibleEngineOptions,
} from '../sdk/index';
import { createServeApp, serveNode, type RunningServer, type ServeApp } from '../sdk/serve/index';
import { readBody } from './openai_upstream';

/** What the proxy does to one request. */
type Fault =
  | { kind: 'pass' }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'slow'; ms: number } // forwards, but answers only after ms
  | { kind: 'malformed' } // 200 with JSON cut short (a complete HTTP body)
  | { kind: 'truncated' } // 200, Content-Length of the whole body, half of it sent, socket destroyed
  | { kind: 'reset' } // socket destroyed before any response
  | { kind: 'dropLogProb' }; // the upstream's answer with one log-prob removed from choice 0

let tokenizer: Tokenizer;
let policy: GPT;
let app: ServeApp;
let upstream: RunningServer;
let proxy: Server;
let proxyUrl: string;
let faults: Fault[] = [];
let proxied = 0;

beforeAll(async () => {
  await init();
  tokenizer = Tokenizer.train('the cat sat on the mat. the dog sat on the log. a bird sang. ', { vocabSize: 280 });
  seed(4);
  policy = new GPT({ vocabSize: tokenizer.vocabSize, nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 48 });
  for (const [name, p] of policy.namedParameters()) if (name.startsWith('transformer.wte')) normal_(p, 0, 0.5);
  // the server's copy of the policy, on its own core
  const served = new GPT(policy.config, { init: false, core: await init({ setDefault: false }) });
  const source = new Map(policy.namedParameters());
  for (const [name, p] of served.namedParameters()) p.set(source.get(name)!.toArray());
  app = createServeApp({ model: served, tokenizer, modelName: 'tiny', batchWindowMs: 1 });
  upstream = await serveNode(app, { port: 0 });
  proxy = createServer((req, res) => {
    void (async () => {
      proxied++;
      const fault = faults.shift() ?? { kind: 'pass' };
      const body = await readBody(req);
      if (fault.kind === 'reset') return req.socket.destroy();
      if (fault.kind === 'status') {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
        res.writeHead(fault.status, headers).end(JSON.stringify({ error: { message: `injected ${fault.status}`, type: 'server_error', param: null, code: fault.status } }));
        return;
      }
      if (fault.kind === 'malformed') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "x", "choices": [{"index": 0, "text": "');
        return;
      }
      const upstreamResponse = await fetch(`${upstream.url}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, body: req.method === 'GET' ? undefined : (body as unknown as BodyInit) });
      let text = await upstreamResponse.text();
      if (fault.kind === 'slow') await new Promise((r) => setTimeout(r, fault.ms));
      if (res.destroyed || req.socket.destroyed) return;
      if (fault.kind === 'dropLogProb') {
        const json = JSON.parse(text);
        json.choices[0].logprobs.token_logprobs.pop();
        text = JSON.stringify(json);
      }
      if (fault.kind === 'truncated') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        setTimeout(() => req.socket.destroy(), 10);
        return;
      }
      res.writeHead(upstreamResponse.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    })();
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise<void>((r) => proxy.close(() => r()));
  await upstream.close();
  app.close({ freeModel: true });
  policy.free();
});

beforeEach(() => {
  faults = [];
  proxied = 0;
});

/** An engine through the proxy whose backoff waits are recorded, not slept. */
function engine(options: Partial<OpenAICompatibleEngineOptions> = {}) {
  const waits: number[] = [];
  const e = new OpenAICompatibleEngine({
    baseUrl: proxyUrl,
    model: 'tiny',
    vocabSize: tokenizer.vocabSize,
    timeoutMs: 400,
    retries: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5000 },
    random: () => 0.5,
    sleep: async (ms, signal) => {
      waits.push(ms);
      signal?.throwIfAborted();
    },
    ...options,
  });
  return { engine: e, waits };
}

const request = { prompts: [[5, 6, 7], [8, 9]], n: 2, maxNewTokens: 6, temperature: 0.9, seed: 3 };
let clean: Awaited<ReturnType<OpenAICompatibleEngine['complete']>>;

describe('faults the engine retries through', () => {
  beforeAll(async () => {
    clean = await engine().engine.complete(request);
  });

  it('5xx: retried with exponential backoff and full jitter, then succeeds', async () => {
    faults = [{ kind: 'status', status: 503 }, { kind: 'status', status: 500 }];
    const { engine: e, waits } = engine();
    expect(await e.complete(request)).toEqual(clean);
    expect(waits).toEqual([50, 100]); // random 0.5 x 100 * 2^(attempt-1)
    expect(e.retryLog.map((r) => [r.reason, r.status])).toEqual([['status', 503], ['status', 500]]);
    expect(proxied).toBe(3);
  });

  it('429 with Retry-After: waits what the server asks (seconds or an HTTP date), capped at maxDelayMs', async () => {
    const now = Date.parse('Tue, 01 Dec 2026 12:00:00 GMT');
    faults = [{ kind: 'status', status: 429, retryAfter: '2' }, { kind: 'status', status: 429, retryAfter: 'Tue, 01 Dec 2026 12:00:03 GMT' }];
    const { engine: e, waits } = engine({ now: () => now });
    expect(await e.complete(request)).toEqual(clean);
    expect(waits).toEqual([2000, 3000]);
    faults = [{ kind: 'status', status: 429, retryAfter: '3600' }];
    const capped = engine();
    await capped.engine.complete(request);
    expect(capped.waits).toEqual([5000]);
  });

  it('a response slower than the timeout: aborted after timeoutMs and retried', async () => {
    faults = [{ kind: 'slow', ms: 1500 }];
    const { engine: e } = engine();
    const started = performance.now();
    expect(await e.complete(request)).toEqual(clean);
    expect(performance.now() - started).toBeLessThan(1400);
    expect(e.retryLog.map((r) => r.reason)).toEqual(['timeout']);
  });

  it('a reset connection and a body cut off mid-way: retried as transport failures', async () => {
    faults = [{ kind: 'reset' }, { kind: 'truncated' }];
    const { engine: e } = engine();
    expect(await e.complete(request)).toEqual(clean);
    expect(e.retryLog.map((r) => r.reason)).toEqual(['transport', 'transport']);
  });
});

describe('faults the engine fails on, with a typed error', () => {
  it('5xx on every attempt: EngineRequestError with the status and the attempt count', async () => {
    faults = [503, 503, 503].map((status) => ({ kind: 'status', status }) as Fault);
    const error = await engine().engine.complete(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineRequestError);
    expect(error).toMatchObject({ status: 503, attempts: 3 });
    expect((error as Error).message).toMatch(/injected 503/);
  });

  it('another 4xx: not retried', async () => {
    faults = [{ kind: 'status', status: 400 }];
    const { engine: e, waits } = engine();
    await expect(e.complete(request)).rejects.toMatchObject({ name: 'EngineRequestError', status: 400, attempts: 1 });
    expect([proxied, waits.length]).toEqual([1, 0]);
  });

  it('timeouts and resets on every attempt: EngineRequestError without a status', async () => {
    faults = [{ kind: 'slow', ms: 1000 }, { kind: 'reset' }];
    await expect(engine({ retries: { maxAttempts: 2 } }).engine.complete(request)).rejects.toMatchObject({ name: 'EngineRequestError', status: undefined, attempts: 2 });
  });

  it('malformed JSON: EngineResponseError on "body", not retried', async () => {
    faults = [{ kind: 'malformed' }];
    await expect(engine().engine.complete(request)).rejects.toMatchObject({ name: 'EngineResponseError', field: 'body' });
    expect(proxied).toBe(1);
  });

  it('a wrong log-prob count: EngineResponseError naming the field', async () => {
    faults = [{ kind: 'dropLogProb' }];
    const error = await engine().engine.complete(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineResponseError);
    expect((error as EngineResponseError).field).toBe('choices[0].logprobs.token_logprobs');
  });

  it('the caller\'s AbortSignal rejects promptly, in flight or during a backoff wait, and stops retrying', async () => {
    faults = [{ kind: 'slow', ms: 3000 }];
    const inFlight = new AbortController();
    setTimeout(() => inFlight.abort(new Error('cancelled by the trainer')), 50);
    const started = performance.now();
    await expect(engine({ timeoutMs: 10_000 }).engine.complete({ ...request, signal: inFlight.signal })).rejects.toThrow('cancelled by the trainer');
    expect(performance.now() - started).toBeLessThan(1000);

    proxied = 0;
    faults = [{ kind: 'status', status: 503, retryAfter: '30' }];
    const waiting = new AbortController();
    const real = new OpenAICompatibleEngine({ baseUrl: proxyUrl, model: 'tiny', vocabSize: tokenizer.vocabSize, retries: { maxAttempts: 5, maxDelayMs: 30_000 } });
    setTimeout(() => waiting.abort(new Error('stop waiting')), 100);
    const t0 = performance.now();
    await expect(real.complete({ ...request, signal: waiting.signal })).rejects.toThrow('stop waiting');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(proxied).toBe(1);
  });
});

describe('a trainer loop over a faulty server', () => {
  it('a failed rollout loses nothing collected, a failed sync blocks the engine, the last checkpoint stays loadable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'novarl-faults-'));
    const { engine: e } = engine({ retries: { maxAttempts: 2, baseDelayMs: 1 } });
    const sync = new NovaRLServerWeightSync(e);
    const rows = ['the cat', 'a bird'].map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
    const sampling = { maxNewTokens: 6, temperature: 1, seed: 7, stopTokenIds: [tokenizer.eosTokenId!] };
    const collected: LmRollout[] = [];
    try {
      collected.push(await collectLmRollout({ engine: e, policy, tokenizer, prompts: rows, n: 2, sampling }));
      const snapshot = collected[0]!.oldLogProbs.toArray();
      const weights = policy.stateDict();
      await saveCheckpoint(dir, { model: weights, trainer: { updates: 1, rollouts: collected.length } });
      await sync.afterUpdate(policy, 1);

      // the next rollout meets resets on every attempt
      faults = [{ kind: 'reset' }, { kind: 'reset' }];
      await expect(collectLmRollout({ engine: e, policy, tokenizer, prompts: rows, n: 2, sampling })).rejects.toBeInstanceOf(EngineRequestError);
      expect(collected).toHaveLength(1);
      expect(collected[0]!.oldLogProbs.toArray()).toEqual(snapshot);

      // the next sync meets 500s on every attempt (the /health read before the push)
      faults = [{ kind: 'status', status: 500 }, { kind: 'status', status: 500 }];
      await expect(sync.afterUpdate(policy, 2)).rejects.toBeInstanceOf(WeightSyncError);
      await expect(collectLmRollout({ engine: e, policy, tokenizer, prompts: rows, n: 2, sampling })).rejects.toBeInstanceOf(WeightSyncError);

      const loaded = await loadCheckpoint(dir);
      expect(loaded.trainer).toEqual({ updates: 1, rollouts: 1 });
      for (const [name, p] of policy.namedParameters()) expect(Array.from(loaded.model[name]!)).toEqual(Array.from(p.toArray()));

      // the server comes back: the sync succeeds and rollouts flow again
      await sync.afterUpdate(policy, 2);
      collected.push(await collectLmRollout({ engine: e, policy, tokenizer, prompts: rows, n: 2, sampling }));
      expect(collected[1]!.offPolicy!.deltaMax).toBeLessThan(1e-5);
    } finally {
      for (const r of collected) r.free();
      await rm(dir, { recursive: true, force: true });
    }
  }, 20_000);
});

describe('GRPOTrainer over a faulty server', () => {
  it('a step whose rollout or sync fails changes nothing; the checkpoint loads and the run goes on bit for bit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'novarl-faults-grpo-'));
    const rows = ['the cat', 'a bird', 'the dog sat', 'on the'].map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
    const letters: NamedRewardFunction = { name: 'letters', fn: (_p, completions) => completions.map((c) => c.replace(/[^a-z]/g, '').length / 10) };
    const options = (p: GPT, e?: OpenAICompatibleEngine) => ({ policy: p, tokenizer, dataset: rows, rewardFuncs: [letters], engine: e, config: { promptsPerStep: 2, numGenerations: 2, maxNewTokens: 6, learningRate: 1e-2, seed: 1 } });
    const copy = () => {
      const m = new GPT(policy.config);
      const source = new Map(policy.namedParameters());
      for (const [name, p] of m.namedParameters()) p.set(source.get(name)!.toArray());
      return m;
    };
    const { engine: e } = engine({ retries: { maxAttempts: 2, baseDelayMs: 1 } });
    const sync = new NovaRLServerWeightSync(e);
    const trained = copy();
    const trainer = new GRPOTrainer(options(trained, e));
    const resumedPolicy = copy();
    let resumed: GRPOTrainer | undefined;
    try {
      await sync.afterUpdate(trained, 0);
      await trainer.step();
      await sync.afterUpdate(trained, trainer.updates);
      await trainer.save(dir);
      const afterOne = parameterHash(trained);

      faults = [{ kind: 'reset' }, { kind: 'reset' }];
      await expect(trainer.step()).rejects.toBeInstanceOf(EngineRequestError);
      expect([trainer.updates, parameterHash(trained)]).toEqual([1, afterOne]);

      const m2 = await trainer.step();
      faults = [{ kind: 'status', status: 503 }, { kind: 'status', status: 503 }];
      await expect(sync.afterUpdate(trained, trainer.updates)).rejects.toBeInstanceOf(WeightSyncError);
      const afterTwo = parameterHash(trained);
      await expect(trainer.step()).rejects.toBeInstanceOf(WeightSyncError);
      expect([trainer.updates, parameterHash(trained)]).toEqual([2, afterTwo]);

      // the checkpoint of update 1 loads into a new trainer (the in-process engine), whose update 2 is bit for bit
      // the one made with the server's rollouts: the server samples exactly what generate() samples
      resumed = await GRPOTrainer.load(dir, options(resumedPolicy));
      expect([resumed.updates, parameterHash(resumedPolicy)]).toEqual([1, afterOne]);
      const r2 = await resumed.step();
      expect(parameterHash(resumedPolicy)).toBe(afterTwo);
      expect(r2['reward']).toBe(m2['reward']);
      await sync.afterUpdate(trained, trainer.updates);
      await trainer.step();
      expect(trainer.updates).toBe(3);
    } finally {
      trainer.free();
      resumed?.free();
      trained.free();
      resumedPolicy.free();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

