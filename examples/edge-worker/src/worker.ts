// NovaRL on the edge: a Cloudflare-Workers-style module worker (workerd, wrangler) that serves a
// policy and improves it online from user feedback with PPO and a KL penalty to a frozen
// reference (the algorithm is described in online_ppo.ts), and a tiny GPT that learns online
// from feedback on the text it generates (online_lm.ts).
//
//   GET  /                   the API, the prompts and the responses
//   POST /generate           {prompt, max_tokens?, temperature?, seed?}: a completion of the tiny GPT, with an id
//   POST /feedback           {id, reward}: one policy-gradient update of the GPT on that completion
//   GET  /state              the GPT's update count, baseline, state hash and recent completions
//   GET  /lm/checkpoint      the GPT's whole state as bytes (its weights, Adam, baseline, PRNG, completions)
//   PUT  /lm/checkpoint      replaces the GPT's state with such bytes
//   GET  /act?prompt=TEXT    samples a response: {prompt, action, response, probability, probabilities}
//   GET  /policy             every prompt's response probabilities and KL to the reference (no sampling)
//   POST /feedback           {prompt, action, reward}, or an array of up to 32 of them: one PPO update
//   GET  /checkpoint         the whole state as bytes (checkpoint_bytes.ts)
//   PUT  /checkpoint         replaces the state with such bytes
//
// Every request body is capped at MAX_BODY_BYTES. A bad request gets a 4xx and a JSON
// {error: {status, message}}, and leaves the state exactly as it was: bodies are validated in
// full before anything changes, and updates and checkpoint loads are all-or-nothing.
//
// State lives in this isolate's memory: it survives between requests but not a restart or an
// eviction, and each isolate (each Cloudflare location, say) learns on its own. Persist it with
// GET /checkpoint (or store those bytes in KV/R2/a Durable Object) and restore it with PUT.

import coreWasm from '../../../build/novarl.simd.wasm';
import tinyGpt from '../dist/tiny-gpt.bin'; // written by build.ts
import { NovaRLError, init } from '../../../sdk/index';
import { packCheckpoint, unpackCheckpoint } from './checkpoint_bytes';
import { HttpError, errorResponse, json, readBody, readJson } from './http';
import { MAX_ABS_REWARD, MAX_FEEDBACK_BATCH, OnlinePPO, PROMPTS, RESPONSES, type Feedback } from './online_ppo';
import { GENERATE_LIMITS, MAX_ABS_LM_REWARD, ONLINE_LM, OnlineLm, type GenerateRequest, type StoredCompletion } from './online_lm';
import { unpackModelFiles } from './model_files';

/** Largest request body accepted, in bytes (a checkpoint is about 8 KiB). Not exported: workerd
 * takes every named export of the main module for an entrypoint. */
const MAX_BODY_BYTES = 64 * 1024;
/** Largest PUT /lm/checkpoint body: the tiny GPT's weights and Adam's two moments are about 6.4 MB. */
const MAX_LM_CHECKPOINT_BYTES = 16 * 1024 * 1024;

// The core is instantiated on the first request: workerd allows no async work at startup.
let service: Promise<OnlinePPO> | undefined;
function getService(): Promise<OnlinePPO> {
  if (!service) {
    service = init({ source: coreWasm, simd: true }).then((core) => new OnlinePPO(core));
    service.catch(() => (service = undefined)); // a failed start is retried by the next request
  }
  return service;
}

// The GPT has a core of its own, so its sampling never moves the bandit's PRNG (and checkpoint).
let lmService: Promise<OnlineLm> | undefined;
function getLm(): Promise<OnlineLm> {
  if (!lmService) {
    lmService = init({ source: coreWasm, simd: true }).then((core) => new OnlineLm(unpackModelFiles(new Uint8Array(tinyGpt)), core));
    lmService.catch(() => (lmService = undefined));
  }
  return lmService;
}

function promptIndex(prompt: unknown, where: string): number {
  if (typeof prompt !== 'string') throw new HttpError(400, `${where}: prompt must be a string, got ${describe(prompt)}`);
  const index = PROMPTS.indexOf(prompt);
  if (index < 0) throw new HttpError(400, `${where}: unknown prompt ${JSON.stringify(prompt.slice(0, 200))}; known prompts: ${PROMPTS.map((p) => JSON.stringify(p)).join(', ')}`);
  return index;
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value)).slice(0, 100);
}

/** Checks one feedback object fully; HttpError 400 naming the field and the value otherwise. */
function parseFeedback(item: unknown, where: string): Feedback {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new HttpError(400, `${where}: expected an object {prompt, action, reward}, got ${describe(item)}`);
  const { prompt, action, reward } = item as Record<string, unknown>;
  const index = promptIndex(prompt, where);
  if (typeof action !== 'number' || !Number.isInteger(action) || action < 0 || action >= RESPONSES.length) {
    throw new HttpError(400, `${where}: action must be an integer in [0, ${RESPONSES.length - 1}] (${RESPONSES.join(', ')}), got ${describe(action)}`);
  }
  if (typeof reward !== 'number' || !Number.isFinite(reward) || Math.abs(reward) > MAX_ABS_REWARD) {
    throw new HttpError(400, `${where}: reward must be a finite number in [-${MAX_ABS_REWARD}, ${MAX_ABS_REWARD}], got ${describe(reward)}`);
  }
  return { prompt: index, action, reward };
}

/** The body's object, refusing other JSON and fields not in `fields` (a typo must not pass silently). */
function objectWith(body: unknown, where: string, fields: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `${where}: expected an object {${fields.join(', ')}}, got ${describe(body)}`);
  for (const key of Object.keys(body)) {
    if (!fields.includes(key)) throw new HttpError(400, `${where}: unknown field ${JSON.stringify(key.slice(0, 100))}; expected ${fields.join(', ')}`);
  }
  return body as Record<string, unknown>;
}

/** Checks POST /generate's body fully; HttpError 400 naming the field and the value otherwise. */
function parseGenerate(body: unknown): GenerateRequest {
  const { prompt, max_tokens, temperature, seed } = objectWith(body, 'generate', ['prompt', 'max_tokens', 'temperature', 'seed']);
  const L = GENERATE_LIMITS;
  if (typeof prompt !== 'string') throw new HttpError(400, `generate: prompt must be a string, got ${describe(prompt)}`);
  if (prompt.length > L.maxPromptChars) throw new HttpError(400, `generate: prompt must be at most ${L.maxPromptChars} characters, got ${prompt.length}`);
  if (max_tokens !== undefined && (typeof max_tokens !== 'number' || !Number.isInteger(max_tokens) || max_tokens < 1 || max_tokens > L.maxTokens)) {
    throw new HttpError(400, `generate: max_tokens must be an integer in [1, ${L.maxTokens}], got ${describe(max_tokens)}`);
  }
  if (temperature !== undefined && (typeof temperature !== 'number' || !(temperature > 0 && temperature <= L.maxTemperature))) {
    throw new HttpError(400, `generate: temperature must be a number in (0, ${L.maxTemperature}], got ${describe(temperature)}`);
  }
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) {
    throw new HttpError(400, `generate: seed must be an integer in [0, 4294967295], got ${describe(seed)}`);
  }
  return { prompt, maxTokens: (max_tokens as number | undefined) ?? L.defaultMaxTokens, temperature: (temperature as number | undefined) ?? L.defaultTemperature, seed: seed as number | undefined };
}

function completionJson(c: StoredCompletion) {
  return { id: c.id, prompt: c.prompt, completion: c.completion, tokens: c.completionIds, finish_reason: c.finishReason, temperature: c.temperature, reward: c.reward ?? null, advantage: c.advantage ?? null };
}

/** POST /feedback {id, reward}: one update of the GPT on a completion it generated, rated once. */
async function lmFeedback(body: unknown): Promise<Response> {
  const { id, reward } = objectWith(body, 'feedback', ['id', 'reward']);
  if (typeof id !== 'string') throw new HttpError(400, `feedback: id must be a string from POST /generate, got ${describe(id)}`);
  if (typeof reward !== 'number' || !Number.isFinite(reward) || Math.abs(reward) > MAX_ABS_LM_REWARD) {
    throw new HttpError(400, `feedback: reward must be a finite number in [-${MAX_ABS_LM_REWARD}, ${MAX_ABS_LM_REWARD}], got ${describe(reward)}`);
  }
  const lm = await getLm();
  const stored = lm.completion(id);
  if (!stored) throw new HttpError(404, `feedback: id ${JSON.stringify(id.slice(0, 100))} is unknown (never generated, or expired: the last ${GENERATE_LIMITS.maxPending} completions are kept)`);
  if (stored.reward !== undefined) throw new HttpError(409, `feedback: id ${JSON.stringify(id)} already has feedback (reward ${stored.reward}); each completion is learnt from once`);
  return json(lm.learn(id, reward));
}

async function feedback(request: Request, ppo: () => Promise<OnlinePPO>): Promise<Response> {
  const body = await readJson(request, MAX_BODY_BYTES);
  // {id, reward} rates a GPT completion; {prompt, action, reward} (or an array) the bandit policy
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'id' in body) return lmFeedback(body);
  return banditFeedback(body, await ppo());
}

async function banditFeedback(body: unknown, ppo: OnlinePPO): Promise<Response> {
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0 || items.length > MAX_FEEDBACK_BATCH) {
    throw new HttpError(400, `feedback: send one object or an array of 1 to ${MAX_FEEDBACK_BATCH}, got an array of ${items.length}`);
  }
  const batch = items.map((item, i) => parseFeedback(item, Array.isArray(body) ? `feedback[${i}]` : 'feedback'));
  const stats = ppo.learn(batch);
  return json({ ...stats, probabilities: ppo.policyTable().probabilities });
}

async function route(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const allow = (...methods: string[]) => {
    if (!methods.includes(request.method)) throw new HttpError(405, `${url.pathname} allows ${methods.join(', ')}, not ${request.method}`, { Allow: methods.join(', ') });
  };
  switch (url.pathname) {
    case '/':
      allow('GET');
      return json({
        name: 'NovaRL edge worker: online PPO from user feedback',
        endpoints: ['GET /act?prompt=TEXT', 'GET /policy', 'POST /feedback', 'GET /checkpoint', 'PUT /checkpoint', 'POST /generate', 'GET /state', 'GET /lm/checkpoint', 'PUT /lm/checkpoint'],
        prompts: PROMPTS,
        responses: RESPONSES,
        maxBodyBytes: MAX_BODY_BYTES,
      });
    case '/act': {
      allow('GET');
      const prompt = promptIndex(url.searchParams.get('prompt') ?? undefined, 'act');
      const ppo = await getService();
      const { action, probabilities } = ppo.act(prompt);
      return json({ prompt: PROMPTS[prompt], action, response: RESPONSES[action], probability: probabilities[action], probabilities });
    }
    case '/policy': {
      allow('GET');
      const table = (await getService()).policyTable();
      return json({ prompts: PROMPTS, responses: RESPONSES, ...table });
    }
    case '/feedback':
      allow('POST');
      return feedback(request, getService);
    case '/generate': {
      allow('POST');
      const body = parseGenerate(await readJson(request, MAX_BODY_BYTES));
      return json(completionJson((await getLm()).generate(body)));
    }
    case '/state': {
      allow('GET');
      const lm = await getLm();
      return json({
        model: { ...lm.policy.config },
        updates: lm.updates,
        baseline: lm.baseline,
        pending: lm.pending,
        stateHash: lm.stateHash(),
        config: ONLINE_LM,
        recent: lm.recent().map(completionJson),
      });
    }
    case '/checkpoint': {
      allow('GET', 'PUT');
      const ppo = await getService();
      const put = await checkpointExchange(request, ppo, 'novarl-edge.checkpoint', MAX_BODY_BYTES);
      return put instanceof Response ? put : json({ loaded: put, updates: ppo.updates, feedbackCount: ppo.feedbackCount });
    }
    case '/lm/checkpoint': {
      allow('GET', 'PUT');
      const lm = await getLm();
      const put = await checkpointExchange(request, lm, 'novarl-edge-lm.checkpoint', MAX_LM_CHECKPOINT_BYTES);
      return put instanceof Response ? put : json({ loaded: put, updates: lm.updates, stateHash: lm.stateHash() });
    }
    default:
      throw new HttpError(404, `no route ${url.pathname}; see GET /`);
  }
}

export default {
  async fetch(request: Request): Promise<Response> {
    try {
      return await route(request);
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error.status, error.message, error.headers);
      console.error(error); // ours, not the client's: a failed update has already been rolled back
      return errorResponse(500, 'internal error');
    }
  },
};

/**
 * GET: the trainer's checkpoint as one download named `filename`. PUT: loads the body (at most
 * `maxBytes`) as a checkpoint and returns its size; a refused one is a 400 and leaves the state as it was.
 */
async function checkpointExchange(
  request: Request,
  trainer: { checkpointFiles(): Map<string, Uint8Array>; loadCheckpointFiles(files: Map<string, Uint8Array>): void },
  filename: string,
  maxBytes: number,
): Promise<Response | number> {
  if (request.method === 'GET') {
    return new Response(packCheckpoint(trainer.checkpointFiles()), {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Disposition': `attachment; filename="${filename}"` },
    });
  }
  const bytes = await readBody(request, maxBytes);
  try {
    trainer.loadCheckpointFiles(unpackCheckpoint(bytes));
  } catch (error) {
    // NovaRL's typed errors say which check the bytes failed; the state was left as it was
    if (error instanceof NovaRLError) throw new HttpError(400, `checkpoint refused: ${error.name}: ${error.message}`);
    throw error;
  }
  return bytes.length;
}
