// NovaRL on the edge: a Cloudflare-Workers-style module worker (workerd, wrangler) that serves a
// policy and improves it online from user feedback with PPO and a KL penalty to a frozen
// reference (the algorithm is described in online_ppo.ts).
//
//   GET  /                   the API, the prompts and the responses
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
import { NovaRLError, init } from '../../../sdk/index';
import { packCheckpoint, unpackCheckpoint } from './checkpoint_bytes';
import { HttpError, errorResponse, json, readBody, readJson } from './http';
import { MAX_ABS_REWARD, MAX_FEEDBACK_BATCH, OnlinePPO, PROMPTS, RESPONSES, type Feedback } from './online_ppo';

/** Largest request body accepted, in bytes (a checkpoint is about 8 KiB). Not exported: workerd
 * takes every named export of the main module for an entrypoint. */
const MAX_BODY_BYTES = 64 * 1024;

// The core is instantiated on the first request: workerd allows no async work at startup.
let service: Promise<OnlinePPO> | undefined;
function getService(): Promise<OnlinePPO> {
  if (!service) {
    service = init({ source: coreWasm, simd: true }).then((core) => new OnlinePPO(core));
    service.catch(() => (service = undefined)); // a failed start is retried by the next request
  }
  return service;
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

async function feedback(request: Request, ppo: OnlinePPO): Promise<Response> {
  const body = await readJson(request, MAX_BODY_BYTES);
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
        endpoints: ['GET /act?prompt=TEXT', 'GET /policy', 'POST /feedback', 'GET /checkpoint', 'PUT /checkpoint'],
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
      return feedback(request, await getService());
    case '/checkpoint': {
      allow('GET', 'PUT');
      const ppo = await getService();
      if (request.method === 'GET') {
        return new Response(packCheckpoint(ppo.checkpointFiles()), {
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Disposition': 'attachment; filename="novarl-edge.checkpoint"' },
        });
      }
      const bytes = await readBody(request, MAX_BODY_BYTES);
      try {
        ppo.loadCheckpointFiles(unpackCheckpoint(bytes));
      } catch (error) {
        // NovaRL's typed errors say which check the bytes failed; the state was left as it was
        if (error instanceof NovaRLError) throw new HttpError(400, `checkpoint refused: ${error.name}: ${error.message}`);
        throw error;
      }
      return json({ loaded: bytes.length, updates: ppo.updates, feedbackCount: ppo.feedbackCount });
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
