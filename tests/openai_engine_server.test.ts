// The OpenAI-compatible engine end to end against NovaRL's own server (sdk/serve, hono on
// @hono/node-server, 127.0.0.1): the tiny pretrained GPT served on its own core, the trainer's
// copy on the default core. Asserts the engine-trainer log-prob gap at equal weights and equal
// sampling settings (~0: only the cached versus full forward pass differ), that a NovaRL weight
// sync moves the server to the trained weights (the gap stays ~0 after it, and is large without
// it), and that seeded requests come back the same through the engine's request batching.
// The model is a test-sized pretrained tiny GPT (tests/fixtures/tiny_pretrain.ts), built in a
// temporary directory, so the test needs no checkpoints/ on a clean clone.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT, NoWeightSync, NovaRLServerWeightSync, OpenAICompatibleEngine, Tokenizer, collectLmRollout, init, loadHuggingFace, normal_, seed, type PromptRow } from '../sdk/index';
import { createServeApp, serveNode, type RunningServer, type ServeApp } from '../sdk/serve/index';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, parseArgs } from '../examples/grpo_openai_engine';
import { loadOrPretrainTinyGpt } from '../examples/data/tiny_gpt';
import { TEST_TINY_GPT } from './fixtures/tiny_pretrain';

const DIR = join(mkdtempSync(join(tmpdir(), 'novarl-engine-server-')), 'tiny-gpt');
let app: ServeApp;
let server: RunningServer;
let policy: GPT;
let tokenizer: Tokenizer;
let rows: PromptRow[];

beforeAll(async () => {
  await init();
  (await loadOrPretrainTinyGpt({ dir: DIR, config: TEST_TINY_GPT, verbose: false })).model.free();
  const loaded = await loadHuggingFace(DIR, { valueHead: false });
  policy = loaded.model;
  tokenizer = Tokenizer.fromHuggingFaceFiles(loaded.tokenizerFiles!);
  const serveCore = await init({ setDefault: false });
  const served = await loadHuggingFace(DIR, { core: serveCore, valueHead: false });
  app = createServeApp({ model: served.model, tokenizer, modelName: 'tiny-gpt', batchWindowMs: 5 });
  server = await serveNode(app, { port: 0 });
  rows = ['It is a truth', 'She was not', 'The evening passed', 'Mr. Darcy'].map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
}, 120_000); // the test-sized pretraining takes seconds

afterAll(async () => {
  await server?.close();
  app?.close({ freeModel: true });
  policy?.free();
  rmSync(join(DIR, '..'), { recursive: true, force: true });
});

const engine = (extra = {}) => new OpenAICompatibleEngine({ baseUrl: server.url, model: 'tiny-gpt', vocabSize: tokenizer.vocabSize, timeoutMs: 30_000, ...extra });
const sampling = () => ({ maxNewTokens: 16, temperature: 0.9, topP: 1, topK: 0, seed: 7, stopTokenIds: [tokenizer.eosTokenId!] });

describe('OpenAICompatibleEngine against novarl serve', () => {
  it('the log-prob gap at equal weights and sampling settings is below 1e-4 (collectLmRollout offPolicy)', async () => {
    const rollout = await collectLmRollout({ engine: engine({ maxPromptsPerRequest: 2, maxConcurrency: 2 }), policy, tokenizer, prompts: rows, n: 4, sampling: sampling() });
    expect(rollout.completions.logProbsUsable).toBe(true);
    expect(rollout.completions.completionIds).toHaveLength(16);
    expect(rollout.offPolicy!.deltaMax).toBeLessThan(1e-4);
    expect(rollout.offPolicy!.ratioMin).toBeGreaterThan(0.9999);
    expect(rollout.offPolicy!.ratioMax).toBeLessThan(1.0001);
    rollout.free();
  });

  it('seeded requests give the same completions again, batched or not', async () => {
    const request = { prompts: rows.map((r) => r.ids), n: 2, ...sampling() };
    const one = await engine({ maxPromptsPerRequest: 8 }).complete(request);
    const again = await engine({ maxPromptsPerRequest: 8 }).complete(request);
    expect(again).toEqual(one);
    expect(one.promptIds[7]).toEqual(rows[3]!.ids);
  });

  it('NovaRLServerWeightSync: after a sync the server samples from the trained weights; without one the gap shows', async () => {
    // stands in for the policy after an update: the same model with its embeddings perturbed
    const trained = new GPT(policy.config);
    const source = new Map(policy.namedParameters());
    for (const [name, p] of trained.namedParameters()) p.set(source.get(name)!.toArray());
    seed(3);
    const noise = new GPT(policy.config, { init: false });
    const wte = noise.namedParameters().find(([name]) => name === 'transformer.wte.weight')![1];
    normal_(wte, 0, 0.5);
    const trainedWte = trained.namedParameters().find(([name]) => name === 'transformer.wte.weight')![1];
    const a = trainedWte.toArray(), b = wte.toArray();
    trainedWte.set(a.map((x, i) => x + b[i]!));
    noise.free();
    try {
      const e = engine();
      const stale = await collectLmRollout({ engine: e, policy: trained, tokenizer, prompts: rows, n: 2, sampling: sampling() });
      expect(stale.offPolicy!.deltaMax).toBeGreaterThan(0.1);
      stale.free();
      const none = new NoWeightSync();
      await none.afterUpdate();
      expect(none.staleness).toBe(1);

      const sync = new NovaRLServerWeightSync(e);
      const version = app.weightsVersion;
      await sync.afterUpdate(trained, 1);
      expect(app.weightsVersion).toBe(version + 1);
      expect(sync.serverVersion).toBe(version + 1);
      const fresh = await collectLmRollout({ engine: e, policy: trained, tokenizer, prompts: rows, n: 2, sampling: sampling() });
      expect(fresh.offPolicy!.deltaMax).toBeLessThan(1e-4);
      fresh.free();
      await sync.afterUpdate(policy, 2); // back to the checkpoint's weights for the other tests
    } finally {
      trained.free();
    }
  }, 30_000);
});

describe('examples/grpo_openai_engine', () => {
  it('GRPO fed by NovaRL\'s server ends with the rewards and the parameters of the in-process run', async () => {
    const result = await main({ ...parseArgs([]), steps: 3, compareLocal: true, quiet: true, tinyGptDir: DIR, tinyGptConfig: TEST_TINY_GPT });
    expect(result.remote).toHaveLength(3);
    expect(result.local).toEqual(result.remote);
    expect(result.localHash).toBe(result.remoteHash);
  }, 60_000);
});
