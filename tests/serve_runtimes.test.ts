// The same server on every runtime (one hono app): the built novarl/serve under Bun (Bun.serve)
// and Deno (Deno.serve), and the serving worker (examples/serve-worker) under workerd, each on
// 127.0.0.1 and a port the OS picks, answer a seeded request exactly as the app does in this
// Node process, and refuse a bad one with the same error body. Runtimes are devDependencies;
// one that does not run here is skipped with an install hint, and under CI=true it fails.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVE_WORKER_DIR, buildServeWorker } from '../examples/serve-worker/build';
import { loadServeApp, type ServeApp } from '../sdk/serve/index';
import { makeServeDir, type ServeFixture } from './serve_fixture';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'node_modules/.bin');
const CI = process.env['CI'] === 'true' || process.env['CI'] === '1';
const START_TIMEOUT_MS = 30_000;

let fixture: ServeFixture;
let app: ServeApp;
const children: ChildProcess[] = [];

const REQUEST = { model: 'tiny-gpt', prompt: [[5, 6, 7], [8, 9, 10]], n: 2, max_tokens: 12, temperature: 0.8, top_p: 0.9, seed: 17, logprobs: 2, return_token_ids: true };
const BAD = { model: 'tiny-gpt', prompt: [5], top_p: 3 };
let expected: { choices: unknown; usage: unknown };
let expectedError: unknown;

async function ask(base: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
  return { status: r.status, json: await r.json() };
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/serve.js'))) throw new Error('dist/serve.js is missing: run `npm run build` (npm test does it in pretest)');
  fixture = await makeServeDir();
  app = await loadServeApp(fixture.dir, { modelName: 'tiny-gpt' });
  const ok = await app.fetch(new Request('http://local/v1/completions', { method: 'POST', body: JSON.stringify(REQUEST) }));
  const okJson = (await ok.json()) as { choices: unknown; usage: unknown };
  expected = { choices: okJson.choices, usage: okJson.usage };
  expectedError = await (await app.fetch(new Request('http://local/v1/completions', { method: 'POST', body: JSON.stringify(BAD) }))).json();
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  app?.close({ freeModel: true });
  fixture?.cleanup();
});

/** Skips (locally) or fails (under CI) when a runtime is missing. */
function missing(label: string, hint: string, skip: (note?: string) => void): void {
  const message = `${label} does not run here; install it with: ${hint}`;
  if (CI) expect.fail(`CI=true and ${message}`);
  console.warn(`skipped: ${message}`);
  skip(message);
}

/** Starts a child and resolves with what `find` extracts from its output (a URL). */
function start(command: string, args: string[], find: (output: string, control: string) => string | undefined, extraFd = false): Promise<string> {
  const child = spawn(command, args, { cwd: ROOT, stdio: extraFd ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '', control = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start listening within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    const check = () => {
      const url = find(output, control);
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    };
    child.stdout!.on('data', (d) => ((output += d), check()));
    child.stderr!.on('data', (d) => (output += d));
    if (extraFd) (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => ((control += d), check()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before listening:\n${output}`));
    });
  });
}

const listening = (output: string) => /novarl-serve-listening (\S+)/.exec(output)?.[1];

async function runs(binary: string): Promise<boolean> {
  if (!existsSync(binary)) return false;
  return new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { stdio: 'ignore' });
    const timer = setTimeout(() => (child.kill('SIGKILL'), resolve(false)), 20_000);
    child.once('exit', (code) => (clearTimeout(timer), resolve(code === 0)));
    child.once('error', () => (clearTimeout(timer), resolve(false)));
  });
}

async function checkServer(base: string): Promise<void> {
  const health = await (await fetch(`${base}/health`, { signal: AbortSignal.timeout(20_000) })).json();
  expect(health).toEqual({ status: 'ok', model: 'tiny-gpt', weights_version: 0 });
  const ok = await ask(base, REQUEST);
  expect(ok.status).toBe(200);
  expect({ choices: ok.json.choices, usage: ok.json.usage }).toEqual(expected); // bit for bit: same core, same seed
  const bad = await ask(base, BAD);
  expect(bad.status).toBe(400);
  expect(bad.json).toEqual(expectedError);
}

describe('novarl/serve on every runtime', () => {
  it('Bun (Bun.serve)', async ({ skip }) => {
    const bun = join(BIN, 'bun');
    if (!(await runs(bun))) return missing('bun', 'npm install --save-dev bun', skip);
    await checkServer(await start(bun, ['tests/fixtures/serve_launch.mjs', fixture.dir], listening));
  });

  it('Deno (Deno.serve)', async ({ skip }) => {
    const deno = join(BIN, 'deno');
    if (!(await runs(deno))) return missing('deno', 'npm install --save-dev deno', skip);
    await checkServer(await start(deno, ['run', '--allow-read', '--allow-net', '--allow-env', 'tests/fixtures/serve_launch.mjs', fixture.dir], listening));
  });

  it('workerd (examples/serve-worker, the model embedded in the worker)', async ({ skip }) => {
    const workerd = join(BIN, 'workerd');
    if (!(await runs(workerd))) return missing('workerd', 'npm install --save-dev workerd', skip);
    await buildServeWorker(fixture.dir);
    const port = (control: string) => {
      for (const line of control.split('\n')) {
        const event = line.trim() ? (JSON.parse(line) as { event?: string; socket?: string; port?: number }) : undefined;
        if (event?.event === 'listen' && event.socket === 'http') return `http://127.0.0.1:${event.port}`;
      }
      return undefined;
    };
    const base = await start(workerd, ['serve', `${SERVE_WORKER_DIR}config.capnp`, '--socket-addr', 'http=127.0.0.1:0', '--control-fd', '3'], (_, control) => port(control), true);
    await checkServer(base);
  });
});
