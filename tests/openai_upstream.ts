// TEST DOUBLE, not NovaRL's server: a small node:http upstream that answers vLLM's
// `POST /v1/completions` shape from a LocalCompletionEngine, plus NovaRL's `GET /health` and
// `POST /novarl/update_weights` (model.safetensors bytes in the body). It does what NovaRL's
// server (sdk/serve, used by tests/openai_engine_server.test.ts and the fault tests) is not meant
// to: answer like a plain OpenAI server without token ids, hold every answer back a while, count
// the requests in flight, and record each request body. Its model lives on its own core
// (init({ setDefault: false })), as the real server's does.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GPT, LocalCompletionEngine, init, parseSafetensors, type Core, type Tokenizer } from '../sdk/index';

export interface UpstreamOptions {
  /** Served model name. */
  name?: string;
  /** Leave token_ids and prompt_token_ids out of the choices (a plain OpenAI server). */
  omitTokenIds?: boolean;
  /** Decodes choice texts (and is needed for omitTokenIds). */
  tokenizer?: Tokenizer;
  /** Wait this long before answering a completions request (overlapping requests). */
  delayMs?: number;
}

export interface Upstream {
  url: string;
  /** The served copy of the model (on its own core). */
  model: GPT;
  version: number;
  /** Completions requests received, and their parsed bodies. */
  bodies: Record<string, unknown>[];
  /** Most completions requests in flight at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

let serveCore: Core | undefined;

/** Serves a copy of `policy`'s weights on 127.0.0.1 (a free port). */
export async function startUpstream(policy: GPT, options: UpstreamOptions = {}): Promise<Upstream> {
  serveCore ??= await init({ setDefault: false });
  const model = new GPT(policy.config, { init: false, core: serveCore });
  const source = new Map(policy.namedParameters());
  for (const [name, p] of model.namedParameters()) p.set(source.get(name)!.toArray());
  const engine = new LocalCompletionEngine(model);
  let inFlight = 0;
  const state: Upstream = { url: '', model, version: 0, bodies: [], maxInFlight: 0, close: async () => {} };

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => send(res, 500, { error: { message: String(error), type: 'internal_error', param: null, code: 500 } }));
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (req.method === 'GET' && req.url === '/health') return send(res, 200, { status: 'ok', model: options.name ?? 'tiny', weights_version: state.version });
    if (req.method === 'POST' && req.url === '/novarl/update_weights') return updateWeights(body, res);
    if (req.method !== 'POST' || req.url !== '/v1/completions') return send(res, 404, { error: { message: `no route ${req.method} ${req.url}`, type: 'not_found', param: null, code: 404 } });
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    try {
      const request = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      state.bodies.push(request);
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const prompt = request.prompt as number[] | number[][];
      const prompts = typeof prompt[0] === 'number' ? [prompt as number[]] : (prompt as number[][]);
      const n = (request.n as number) ?? 1;
      const topK = request.top_k as number;
      const out = await engine.complete({ prompts, n, maxNewTokens: request.max_tokens as number, temperature: request.temperature as number, topP: request.top_p as number, topK: topK > 0 ? topK : 0, seed: request.seed as number | undefined, stopTokenIds: request.stop_token_ids as number[] });
      const choices = out.completionIds.map((ids, index) => ({
        index,
        text: options.tokenizer ? options.tokenizer.decode(ids, { skipSpecialTokens: true }) : '',
        logprobs: { tokens: ids.map(String), token_logprobs: out.logProbs[index], top_logprobs: [], text_offset: [] },
        finish_reason: out.finishReasons[index],
        ...(options.omitTokenIds ? {} : { token_ids: ids, prompt_token_ids: out.promptIds[index] }),
      }));
      const completionTokens = out.completionIds.reduce((s, c) => s + c.length, 0);
      const promptTokens = prompts.reduce((s, p) => s + p.length, 0);
      send(res, 200, { id: `cmpl-${state.bodies.length}`, object: 'text_completion', created: 0, model: options.name ?? 'tiny', choices, usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens } });
    } finally {
      inFlight--;
    }
  }
  function updateWeights(body: Buffer, res: ServerResponse): void {
    let tensors;
    try {
      tensors = parseSafetensors(new Uint8Array(body.buffer, body.byteOffset, body.byteLength)).tensors;
      for (const [name, p] of model.namedParameters()) {
        const t = tensors[name];
        if (!t || t.dtype !== 'F32' || t.shape.join() !== p.shape.join()) throw new Error(`tensor ${name} missing or misshapen`);
      }
    } catch (error) {
      return send(res, 400, { error: { message: String(error), type: 'invalid_request_error', param: 'body', code: 400 } });
    }
    for (const [name, p] of model.namedParameters()) p.set(tensors[name]!.data);
    state.version++;
    send(res, 200, { weights_version: state.version });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
      model.free();
    });
  return state;
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
