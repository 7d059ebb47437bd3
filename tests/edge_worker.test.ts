// The edge worker (examples/edge-worker/) under workerd on 127.0.0.1: acting, online PPO from
// feedback, checkpoint export and import, and the refusal of bad requests, each of which must
// leave the state byte for byte as it was; then the tiny GPT's routes: POST /generate, online
// learning from POST /feedback {id, reward}, and the same refusals (the GPT's state hash, over
// its weights, Adam's moments and step count, the baseline and the update count, unchanged).

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_WORKER_DIR, buildEdgeWorker } from '../examples/edge-worker/build';
import { packCheckpoint, unpackCheckpoint } from '../examples/edge-worker/src/checkpoint_bytes';
import { GENERATE_LIMITS, OnlineLm } from '../examples/edge-worker/src/online_lm';
import { readTinyGptFiles } from '../examples/data/tiny_gpt_files';
import { decodeCheckpoint, defaultCore, encodeCheckpoint, init, serializeSafetensors, type CheckpointState } from '../sdk/index';

const WORKERD = 'node_modules/.bin/workerd';
const PROMPTS = ['How do I boil an egg?', 'Summarise this article.', 'Tell me a secret.', 'Write a haiku about rain.'];
const RESPONSES = ['helpful', 'terse', 'evasive', 'rude'];
const LIMIT = 64 * 1024; // the worker's MAX_BODY_BYTES

let workerd: ChildProcess | undefined;
let base = '';
let workerdOutput = '';

/** Starts workerd on 127.0.0.1 port 0 and learns the port it bound from its control fd. */
async function startWorkerd(): Promise<void> {
  const child = spawn(WORKERD, ['serve', `${EDGE_WORKER_DIR}config.capnp`, '--socket-addr', 'http=127.0.0.1:0', '--control-fd', '3'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  workerd = child;
  child.stdout!.on('data', (d) => (workerdOutput += d));
  child.stderr!.on('data', (d) => (workerdOutput += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`workerd did not report a listening port within 20 s:\n${workerdOutput}`)), 20_000);
    let control = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => {
      control += d;
      for (const line of control.split('\n')) {
        const event = line.trim() ? (JSON.parse(line) as { event?: string; socket?: string; port?: number }) : undefined;
        if (event?.event === 'listen' && event.socket === 'http') {
          clearTimeout(timer);
          resolve(event.port!);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`workerd exited (${code}):\n${workerdOutput}`));
    });
  });
  base = `http://127.0.0.1:${port}`;
}

async function getJson(path: string): Promise<any> {
  const response = await fetch(base + path);
  expect(response.status, `${path}: ${workerdOutput}`).toBe(200);
  return response.json();
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Every GPT request the worker accepted, in order, to replay in Node at the end. */
const lmLog: ({ type: 'generate'; body: { prompt: string; max_tokens?: number; temperature?: number; seed?: number }; id: string; tokens: number[] } | { type: 'feedback'; id: string; reward: number })[] = [];

async function generateText(body: { prompt: string; max_tokens?: number; temperature?: number; seed?: number }): Promise<{ id: string; prompt: string; completion: string; tokens: number[]; finish_reason: string }> {
  const response = await post('/generate', body);
  expect(response.status, `generate: ${workerdOutput}`).toBe(200);
  const out = await response.json();
  lmLog.push({ type: 'generate', body, id: out.id, tokens: out.tokens });
  return out;
}

async function rate(id: string, reward: number): Promise<Response> {
  const response = await post('/feedback', { id, reward });
  if (response.status === 200) lmLog.push({ type: 'feedback', id, reward });
  return response;
}

async function postFeedback(body: unknown): Promise<Response> {
  return fetch(`${base}/feedback`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

async function checkpointBytes(): Promise<Uint8Array> {
  const response = await fetch(`${base}/checkpoint`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/octet-stream');
  return new Uint8Array(await response.arrayBuffer());
}

async function putCheckpoint(bytes: Uint8Array): Promise<Response> {
  return fetch(`${base}/checkpoint`, { method: 'PUT', body: new Uint8Array(bytes) }); // a copy with its own ArrayBuffer, as fetch's types want
}

/** A checkpoint rebuilt from `bytes` after `edit` changed its decoded contents (valid CRCs). */
function editedCheckpoint(bytes: Uint8Array, edit: (state: CheckpointState & { trainer: Record<string, unknown> }) => void): Uint8Array {
  const loaded = decodeCheckpoint(unpackCheckpoint(bytes));
  const state = { model: loaded.model, modelShapes: loaded.modelShapes, optimizer: loaded.optimizer, trainer: loaded.trainer, metadata: loaded.metadata };
  edit(state);
  return packCheckpoint(encodeCheckpoint(state));
}

describe('edge worker under workerd', () => {
  beforeAll(async () => {
    await buildEdgeWorker();
    await startWorkerd();
  });

  afterAll(async () => {
    if (workerd && workerd.exitCode === null) {
      const exited = once(workerd, 'exit');
      workerd.kill('SIGTERM');
      const timer = setTimeout(() => workerd!.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  });

  it('describes its API and samples a response with its probability', async () => {
    const api = await getJson('/');
    expect(api.prompts).toEqual(PROMPTS);
    expect(api.responses).toEqual(RESPONSES);
    const act = await getJson(`/act?prompt=${encodeURIComponent(PROMPTS[2]!)}`);
    expect(act.prompt).toBe(PROMPTS[2]);
    expect(Number.isInteger(act.action) && act.action >= 0 && act.action < 4).toBe(true);
    expect(act.response).toBe(RESPONSES[act.action]);
    expect(act.probability).toBe(act.probabilities[act.action]);
    // float32 softmax of four values: the sum is 1 within a few ulps of f32
    expect(Math.abs(act.probabilities.reduce((a: number, b: number) => a + b, 0) - 1)).toBeLessThan(1e-6);
  });

  it('feedback favouring one response raises its probability step by step, away from the reference', async () => {
    const prompt = PROMPTS[2]!; // "Tell me a secret."
    const favoured = 2; // a user who rewards 'evasive' and punishes everything else
    const before = await getJson('/policy');
    const p0 = before.probabilities[2][favoured];
    expect(before.klToRef[2]).toBe(0); // the policy is the reference before any feedback
    let updates = 0;
    const trace: number[] = [p0];
    for (let round = 0; round < 30; round++) {
      const { action } = await getJson(`/act?prompt=${encodeURIComponent(prompt)}`);
      const response = await postFeedback({ prompt, action, reward: action === favoured ? 1 : -1 });
      expect(response.status).toBe(200);
      const stats = await response.json();
      expect(stats.samples).toBe(1);
      expect(stats.updates).toBe(++updates);
      trace.push(stats.probabilities[2][favoured]);
    }
    const after = await getJson('/policy');
    expect(after.probabilities[2][favoured]).toBe(trace[trace.length - 1]);
    expect(after.probabilities[2][favoured]).toBeGreaterThan(p0 + 0.4); // from ~0.25 to ~0.97 with these settings
    expect(trace[10]!).toBeGreaterThan(p0); // it rose early, not only at the end
    expect(after.klToRef[2]).toBeGreaterThan(0.1);
  });

  it('a batch of feedback is one update', async () => {
    const before = await getJson('/policy');
    const response = await postFeedback([
      { prompt: PROMPTS[0], action: 0, reward: 1 },
      { prompt: PROMPTS[0], action: 3, reward: -1 },
      { prompt: PROMPTS[1], action: 1, reward: 0.5 },
    ]);
    expect(response.status).toBe(200);
    const stats = await response.json();
    expect(stats.samples).toBe(3);
    expect(stats.updates).toBe(31);
    expect(stats.probabilities[0][0]).toBeGreaterThan(before.probabilities[0][0]);
  });

  it('GET /checkpoint then PUT /checkpoint restores the exact state', async () => {
    const saved = await checkpointBytes();
    const policyAtSave = await getJson('/policy');
    expect((await postFeedback({ prompt: PROMPTS[3], action: 1, reward: 1 })).status).toBe(200);
    const changed = await checkpointBytes();
    expect(Buffer.from(changed).equals(Buffer.from(saved))).toBe(false);

    const response = await putCheckpoint(saved);
    expect(response.status).toBe(200);
    expect((await response.json()).updates).toBe(31);
    expect(Buffer.from(await checkpointBytes()).equals(Buffer.from(saved))).toBe(true); // weights, Adam, counters, PRNG
    expect(await getJson('/policy')).toEqual(policyAtSave);
  });

  it('refuses bad requests with a 4xx and a message, leaving the state byte for byte unchanged', async () => {
    const good = { prompt: PROMPTS[2], action: 2, reward: 1 };
    const valid = await checkpointBytes();
    const flipped = valid.slice();
    flipped[valid.length - 100] ^= 0x40; // a bit inside the packed parts' data
    const encoder = new TextEncoder();
    const chunked = (bytes: number) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let sent = 0; sent < bytes; sent += 4096) controller.enqueue(new Uint8Array(4096).fill(0x20));
          controller.close();
        },
      });

    const cases: [string, () => Promise<Response>, number, RegExp][] = [
      ['malformed JSON', () => fetch(`${base}/feedback`, { method: 'POST', body: '{"prompt": "Tell me a secret.", "action": 2,' }), 400, /malformed JSON/],
      ['a body that is not UTF-8', () => fetch(`${base}/feedback`, { method: 'POST', body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }), 400, /UTF-8/],
      ['JSON that is not an object', () => postFeedback('hello'), 400, /expected an object/],
      ['an unknown prompt', () => postFeedback({ ...good, prompt: 'What is the meaning of life?' }), 400, /unknown prompt/],
      ['a prompt that is not a string', () => postFeedback({ ...good, prompt: 2 }), 400, /prompt must be a string/],
      ['action 4 (out of range)', () => postFeedback({ ...good, action: 4 }), 400, /action must be an integer in \[0, 3\]/],
      ['action -1', () => postFeedback({ ...good, action: -1 }), 400, /action must be/],
      ['action 1.5', () => postFeedback({ ...good, action: 1.5 }), 400, /action must be/],
      ['action "2"', () => postFeedback({ ...good, action: '2' }), 400, /action must be/],
      ['a missing reward', () => postFeedback({ prompt: good.prompt, action: 2 }), 400, /reward must be a finite number/],
      ['reward 1e9', () => postFeedback({ ...good, reward: 1e9 }), 400, /reward must be/],
      ['an empty batch', () => postFeedback([]), 400, /1 to 32/],
      ['a batch of 33', () => postFeedback(Array.from({ length: 33 }, () => good)), 400, /1 to 32/],
      ['a batch whose second item is bad (the first must not be applied)', () => postFeedback([good, { ...good, action: 9 }]), 400, /feedback\[1\]: action/],
      ['an oversized body', () => postFeedback({ ...good, padding: 'x'.repeat(LIMIT) }), 413, /over the 65536-byte limit/],
      ['an oversized body sent without Content-Length', () => fetch(`${base}/feedback`, { method: 'POST', body: chunked(LIMIT + 4096), duplex: 'half' } as RequestInit), 413, /limit/],
      ['/act with an unknown prompt', () => fetch(`${base}/act?prompt=nope`), 400, /unknown prompt/],
      ['/act without a prompt', () => fetch(`${base}/act`), 400, /prompt must be a string/],
      ['an empty checkpoint', () => putCheckpoint(new Uint8Array(0)), 400, /checkpoint refused: CheckpointError: .*too short/],
      ['a checkpoint of garbage', () => putCheckpoint(encoder.encode('definitely not a checkpoint')), 400, /checkpoint refused/],
      ['a truncated checkpoint', () => putCheckpoint(valid.subarray(0, valid.length - 10)), 400, /checkpoint refused/],
      ['a checkpoint with a flipped bit', () => putCheckpoint(flipped), 400, /CRC-32/],
      ['a safetensors file that is not a checkpoint', () => putCheckpoint(serializeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array(2) } })), 400, /metadata format/],
      ['a checkpoint for other prompts', () => putCheckpoint(editedCheckpoint(valid, (s) => (s.trainer['prompts'] = ['a', 'b', 'c', 'd']))), 400, /prompts differ/],
      ['a checkpoint with a NaN weight', () => putCheckpoint(editedCheckpoint(valid, (s) => (s.model['policy.policyHead.linear.bias']![1] = NaN))), 400, /holds NaN/],
      [
        // the policy and reference would load before the optimizer fails: the rollback must undo them
        'a checkpoint whose optimizer state does not fit',
        () =>
          putCheckpoint(
            editedCheckpoint(valid, (s) => {
              for (const name of Object.keys(s.model)) s.model[name] = s.model[name]!.map((x) => x + 1);
              s.optimizer!['exp_avg.0'] = new Float32Array(3);
            }),
          ),
        400,
        /exp_avg\.0 has 3 values/,
      ],
      ['an oversized checkpoint', () => putCheckpoint(new Uint8Array(LIMIT + 1)), 413, /limit/],
      ['DELETE /checkpoint', () => fetch(`${base}/checkpoint`, { method: 'DELETE' }), 405, /allows GET, PUT/],
      ['GET /feedback', () => fetch(`${base}/feedback`), 405, /allows POST/],
      ['an unknown path', () => fetch(`${base}/train`), 404, /no route/],
    ];

    const before = await checkpointBytes();
    for (const [what, send, status, message] of cases) {
      const response = await send();
      const body = await response.json();
      expect(response.status, what).toBe(status);
      expect(body.error.status, what).toBe(status);
      expect(body.error.message, what).toMatch(message);
      if (status === 405) expect(response.headers.get('allow'), what).toMatch(/GET|POST/);
      expect(Buffer.from(await checkpointBytes()).equals(Buffer.from(before)), `${what} changed the state`).toBe(true);
    }
    // and the worker still learns afterwards
    expect((await postFeedback(good)).status).toBe(200);
    expect(Buffer.from(await checkpointBytes()).equals(Buffer.from(before))).toBe(false);
  });

  it('POST /generate: a completion of the tiny GPT with an id; a seed makes it reproducible', async () => {
    const bandit = await checkpointBytes();
    const first = await generateText({ prompt: 'She said', max_tokens: 12, seed: 5 });
    expect(first.id).toMatch(/^cmpl-\d+$/);
    expect(first.prompt).toBe('She said');
    expect(first.tokens.length).toBeGreaterThan(0);
    expect(first.tokens.length).toBeLessThanOrEqual(12);
    expect(['stop', 'length']).toContain(first.finish_reason);
    expect(first.completion.length).toBeGreaterThan(0);
    const again = await generateText({ prompt: 'She said', max_tokens: 12, seed: 5 });
    expect(again.id).not.toBe(first.id);
    expect(again.tokens).toEqual(first.tokens);
    expect(again.completion).toBe(first.completion);
    const state = await getJson('/state');
    expect(state.updates).toBe(0);
    expect(state.recent[0].id).toBe(again.id); // newest first
    expect(state.recent[1].id).toBe(first.id);
    expect(state.recent[0].reward).toBeNull();
    // the GPT has its own core: its sampling leaves the bandit's PRNG (and checkpoint) alone
    expect(Buffer.from(await checkpointBytes()).equals(Buffer.from(bandit))).toBe(true);
  });

  it('feedback favouring completions that contain a token raises how often the GPT writes it', async () => {
    const prompt = 'She said';
    // 16 fixed-seed samples measure the policy (sampling with a seed changes no weights)
    const probe = async () => {
      const samples: number[][] = [];
      for (let s = 0; s < 16; s++) samples.push((await generateText({ prompt, max_tokens: 16, seed: 1000 + s })).tokens);
      return samples;
    };
    const before = await probe();
    // the target: the token found in the number of samples closest to 5 of 16 (ties: lowest id)
    const presence = new Map<number, number>();
    for (const tokens of before) for (const id of new Set(tokens)) presence.set(id, (presence.get(id) ?? 0) + 1);
    const [target, countBefore] = [...presence].sort((a, b) => Math.abs(a[1] - 5) - Math.abs(b[1] - 5) || a[0] - b[0])[0]!;
    expect(countBefore).toBeGreaterThanOrEqual(2);
    expect(countBefore).toBeLessThanOrEqual(8);

    const hashBefore = (await getJson('/state')).stateHash;
    const updatesBefore = (await getJson('/state')).updates;
    let kl = 0;
    for (let round = 0; round < 40; round++) {
      const sample = await generateText({ prompt, max_tokens: 16, seed: 2000 + round });
      const reward = sample.tokens.includes(target) ? 1 : -1;
      const response = await rate(sample.id, reward);
      expect(response.status, workerdOutput).toBe(200);
      const stats = await response.json();
      expect(stats.id).toBe(sample.id);
      expect(stats.updates).toBe(updatesBefore + round + 1);
      expect(stats.advantage).toBeCloseTo(reward - stats.baseline, 12);
      expect(Number.isFinite(stats['loss/policy'])).toBe(true);
      kl = stats['objective/kl'];
    }
    const after = await probe();
    const countAfter = after.filter((tokens) => tokens.includes(target)).length;
    expect(countAfter, `token ${target}: in ${countBefore} of 16 samples before, ${countAfter} after`).toBeGreaterThanOrEqual(countBefore + 4); // 5 -> 13 with these settings
    const state = await getJson('/state');
    expect(state.updates).toBe(updatesBefore + 40);
    expect(state.stateHash).not.toBe(hashBefore);
    expect(Number.isFinite(kl)).toBe(true);
    expect(state.recent.length).toBeGreaterThan(0);
  });

  it('refuses bad /generate and /feedback {id, reward} requests with a 4xx naming the field, and changes nothing', async () => {
    const rated = await generateText({ prompt: 'It was a', max_tokens: 8, seed: 1 });
    expect((await rate(rated.id, 1)).status).toBe(200);
    const open = await generateText({ prompt: 'It was a', max_tokens: 8, seed: 2 });
    const good = { id: open.id, reward: 1 };
    const cases: [string, () => Promise<Response>, number, RegExp][] = [
      ['an unknown id', () => post('/feedback', { id: 'cmpl-999999', reward: 1 }), 404, /id "cmpl-999999" is unknown/],
      ['an id already rated', () => post('/feedback', { id: rated.id, reward: -1 }), 409, /already has feedback/],
      ['an id that is not a string', () => post('/feedback', { id: 3, reward: 1 }), 400, /id must be a string/],
      ['a NaN reward (JSON has no NaN: sent as written)', () => post('/feedback', `{"id": "${open.id}", "reward": NaN}`), 400, /malformed JSON/],
      ['a null reward (what JSON.stringify makes of NaN)', () => post('/feedback', { id: open.id, reward: NaN }), 400, /reward must be a finite number in \[-10, 10\], got null/],
      ['a reward of 11', () => post('/feedback', { ...good, reward: 11 }), 400, /reward must be a finite number/],
      ['a reward of 1e999 (Infinity)', () => post('/feedback', `{"id": "${open.id}", "reward": 1e999}`), 400, /reward must be a finite number/],
      ['a reward "1"', () => post('/feedback', { ...good, reward: '1' }), 400, /reward must be/],
      ['a missing reward', () => post('/feedback', { id: open.id }), 400, /reward must be/],
      ['an unknown field', () => post('/feedback', { ...good, score: 1 }), 400, /unknown field "score"/],
      ['malformed JSON', () => post('/feedback', `{"id": "${open.id}", "reward": 1`), 400, /malformed JSON/],
      ['an oversized feedback body', () => post('/feedback', { ...good, padding: 'x'.repeat(LIMIT) }), 413, /over the 65536-byte limit/],
      ['generate: prompt a number', () => post('/generate', { prompt: 7 }), 400, /prompt must be a string/],
      ['generate: no prompt', () => post('/generate', {}), 400, /prompt must be a string, got nothing/],
      ['generate: a prompt of 2001 characters', () => post('/generate', { prompt: 'a'.repeat(2001) }), 400, /prompt must be at most 2000 characters/],
      ['generate: max_tokens 0', () => post('/generate', { prompt: 'Hi', max_tokens: 0 }), 400, /max_tokens must be an integer in \[1, 48\]/],
      ['generate: max_tokens 49', () => post('/generate', { prompt: 'Hi', max_tokens: 49 }), 400, /max_tokens must be/],
      ['generate: max_tokens 2.5', () => post('/generate', { prompt: 'Hi', max_tokens: 2.5 }), 400, /max_tokens must be/],
      ['generate: temperature 0', () => post('/generate', { prompt: 'Hi', temperature: 0 }), 400, /temperature must be a number in \(0, 2\]/],
      ['generate: temperature "hot"', () => post('/generate', { prompt: 'Hi', temperature: 'hot' }), 400, /temperature must be/],
      ['generate: seed -1', () => post('/generate', { prompt: 'Hi', seed: -1 }), 400, /seed must be an integer/],
      ['generate: seed 0.5', () => post('/generate', { prompt: 'Hi', seed: 0.5 }), 400, /seed must be an integer/],
      ['generate: an array', () => post('/generate', [{ prompt: 'Hi' }]), 400, /expected an object/],
      ['generate: an unknown field', () => post('/generate', { prompt: 'Hi', max_new_tokens: 3 }), 400, /unknown field "max_new_tokens"/],
      ['generate: malformed JSON', () => post('/generate', '{"prompt": '), 400, /malformed JSON/],
      ['generate: an oversized body', () => post('/generate', { prompt: 'x'.repeat(LIMIT) }), 413, /limit/],
      ['GET /generate', () => fetch(`${base}/generate`), 405, /allows POST/],
      ['POST /state', () => post('/state', {}), 405, /allows GET/],
    ];
    const before = await getJson('/state');
    const bandit = await checkpointBytes();
    for (const [what, send, status, message] of cases) {
      const response = await send();
      const body = await response.json();
      expect(response.status, what).toBe(status);
      expect(body.error.message, what).toMatch(message);
      const state = await getJson('/state');
      expect(state.stateHash, `${what} changed the GPT's state`).toBe(before.stateHash);
      expect(state.updates, what).toBe(before.updates);
      expect(state.baseline, what).toBe(before.baseline);
      expect(state.recent, what).toEqual(before.recent); // no completion added, none marked rated
    }
    expect(Buffer.from(await checkpointBytes()).equals(Buffer.from(bandit))).toBe(true);
    // the open completion was not consumed by the refusals: it still takes its one feedback
    const response = await rate(good.id, good.reward);
    expect(response.status).toBe(200);
    expect((await response.json()).updates).toBe(before.updates + 1);
    expect((await getJson('/state')).stateHash).not.toBe(before.stateHash);
  });

  it('the GPT in workerd is bit for bit the GPT in Node: replaying every accepted request gives the same samples and state hash', async () => {
    expect(lmLog.filter((e) => e.type === 'feedback').length).toBeGreaterThan(40);
    await init({ simd: true });
    const lm = new OnlineLm((await readTinyGptFiles()).files, defaultCore());
    for (const entry of lmLog) {
      if (entry.type === 'feedback') {
        lm.learn(entry.id, entry.reward);
        continue;
      }
      const { prompt, max_tokens, temperature, seed } = entry.body;
      const stored = lm.generate({ prompt, maxTokens: max_tokens ?? GENERATE_LIMITS.defaultMaxTokens, temperature: temperature ?? GENERATE_LIMITS.defaultTemperature, seed });
      expect(stored.id).toBe(entry.id);
      expect(stored.completionIds).toEqual(entry.tokens);
    }
    const state = await getJson('/state');
    expect(lm.updates).toBe(state.updates);
    expect(lm.baseline).toBe(state.baseline);
    expect(lm.stateHash()).toBe(state.stateHash);
  });

  it('GET /lm/checkpoint then PUT /lm/checkpoint restores the GPT exactly; bad checkpoints are refused and change nothing', async () => {
    const lmCheckpoint = async () => {
      const response = await fetch(`${base}/lm/checkpoint`);
      expect(response.status).toBe(200);
      return new Uint8Array(await response.arrayBuffer());
    };
    const putLm = (bytes: Uint8Array) => fetch(`${base}/lm/checkpoint`, { method: 'PUT', body: new Uint8Array(bytes) });
    const saved = await lmCheckpoint();
    const atSave = await getJson('/state');
    const later = await generateText({ prompt: 'The', max_tokens: 8, seed: 9 });
    expect((await rate(later.id, 2)).status).toBe(200);
    expect((await getJson('/state')).stateHash).not.toBe(atSave.stateHash);

    const restored = await putLm(saved);
    expect(restored.status, workerdOutput).toBe(200);
    expect((await restored.json()).stateHash).toBe(atSave.stateHash);
    expect(await getJson('/state')).toEqual(atSave); // weights, Adam, baseline, counters, completions
    expect(Buffer.from(await lmCheckpoint()).equals(Buffer.from(saved))).toBe(true); // the PRNG too
    expect((await post('/feedback', { id: later.id, reward: 1 })).status).toBe(404); // generated after the save

    const edited = (edit: (state: CheckpointState & { trainer: Record<string, any> }) => void) => editedCheckpoint(saved, edit);
    const flipped = saved.slice();
    flipped[saved.length - 1000] ^= 0x10;
    const cases: [string, Uint8Array, number, RegExp][] = [
      ['an empty body', new Uint8Array(0), 400, /checkpoint refused/],
      ['a flipped bit in the weights', flipped, 400, /CRC-32/],
      ["the bandit's checkpoint", await checkpointBytes(), 400, /format is "novarl-edge-worker", expected "novarl-edge-lm"/],
      ['another base model', edited((s) => (s.trainer['baseModel'] = '00000000')), 400, /trained from model "00000000"/],
      ['a NaN weight', edited((s) => (s.model[Object.keys(s.model)[0]!]![3] = NaN)), 400, /holds NaN/],
      ['a baseline of 1e6', edited((s) => (s.trainer['baseline'] = 1e6)), 400, /baseline 1000000/],
      ['a completion with a token id past the vocabulary', edited((s) => (s.trainer['completions'][0].completionIds = [1e6])), 400, /completions\[0\]: promptIds and completionIds/],
      ['a rated completion without its advantage', edited((s) => (s.trainer['completions'].find((c: any) => c.reward !== null).advantage = null)), 400, /both be finite numbers or both null/],
    ];
    for (const [what, bytes, status, message] of cases) {
      const response = await putLm(bytes);
      expect(response.status, what).toBe(status);
      expect((await response.json()).error.message, what).toMatch(message);
      expect(await getJson('/state'), `${what} changed the GPT's state`).toEqual(atSave);
    }
    // a body declared past the 16 MiB limit is refused on its Content-Length, before any byte of it
    // is read (sending it all would race the early answer: the worker closes the connection)
    const oversized = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${base}/lm/checkpoint`, { method: 'PUT', headers: { 'Content-Length': String(16 * 1024 * 1024 + 1) } }, (response) => {
        let body = '';
        response.on('data', (d) => (body += d));
        response.on('end', () => resolve({ status: response.statusCode!, body }));
      });
      request.on('error', reject);
      request.flushHeaders();
    });
    expect(oversized.status).toBe(413);
    expect(JSON.parse(oversized.body).error.message).toMatch(/over the 16777216-byte limit/);
    expect(Buffer.from(await lmCheckpoint()).equals(Buffer.from(saved))).toBe(true);
  });
});
