// Load test of NovaRL's OpenAI-compatible server: M concurrent clients (1, 4, 16) against
// `novarl serve` on 127.0.0.1, the tiny GPT of checkpoints/tiny-gpt (`npm run pretrain` makes
// it). The server runs in a child process (sdk/serve/cli.ts through tsx), so the clients' own
// work does not share its thread. Each client sends its requests one after another (keep-alive
// fetch): POST /v1/completions with an 8-token token-id prompt, max_tokens 32, ignore_eos (every
// request generates exactly 32 tokens), temperature 1, its own seed, logprobs 0 and
// return_token_ids. Reported per M: requests/s and completion tokens/s over the whole run,
// p50 / p99 latency, and errors (non-200 answers, wrong token counts or failed fetches: must be
// 0, else it throws). ratio: requests/s at M over requests/s at M = 1, what batching buys.
//
//   npx tsx bench/serve_load.ts [--dir checkpoints/tiny-gpt] [--clients 1,4,16] [--quick]
//   npm run bench -- serve_load

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printTable, round, type BenchOptions, type BenchRow } from './util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PROMPT_TOKENS = 8, MAX_TOKENS = 32;

interface LoadResult {
  clients: number;
  requests: number;
  seconds: number;
  completionTokens: number;
  latenciesMs: number[];
  errors: number;
}

/** Starts `novarl serve dir --port 0` in a child process; resolves with its URL. */
function startServer(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sdk/serve/cli.ts', 'serve', dir, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start within 60 s:\n${output}`)), 60_000);
    child.stdout!.on('data', (d) => {
      output += d;
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url, child });
      }
    });
    child.stderr!.on('data', (d) => (output += d));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}):\n${output}`));
    });
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function runLoad(url: string, clients: number, perClient: number, vocabSize: number): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let errors = 0, completionTokens = 0;
  const client = async (c: number): Promise<void> => {
    for (let r = 0; r < perClient; r++) {
      const k = c * perClient + r;
      const prompt = Array.from({ length: PROMPT_TOKENS }, (_, t) => (k * 31 + t * 7) % (vocabSize - 1));
      const body = { model: 'tiny-gpt', prompt, max_tokens: MAX_TOKENS, temperature: 1, seed: k, logprobs: 0, return_token_ids: true, ignore_eos: true };
      const start = performance.now();
      try {
        const response = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
        const json = (await response.json()) as { choices?: { token_ids: number[] }[] };
        if (response.status !== 200 || json.choices?.[0]?.token_ids.length !== MAX_TOKENS) errors++;
        else completionTokens += json.choices[0]!.token_ids.length;
      } catch {
        errors++;
      }
      latenciesMs.push(performance.now() - start);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  const seconds = (performance.now() - start) / 1000;
  return { clients, requests: clients * perClient, seconds, completionTokens, latenciesMs: latenciesMs.sort((a, b) => a - b), errors };
}

export async function benchServeLoad(options: BenchOptions, dir = 'checkpoints/tiny-gpt', levels = [1, 4, 16]): Promise<BenchRow[]> {
  if (!existsSync(`${ROOT}${dir}/model.safetensors`) && !existsSync(`${dir}/model.safetensors`)) {
    console.warn(`serve_load skipped: ${dir} has no model.safetensors; make the tiny GPT with \`npm run pretrain\` first (or pass --dir)`);
    return [];
  }
  const { url, child } = await startServer(dir);
  try {
    const vocabSize = 1024; // token ids below this are valid for the tiny GPT (and any GPT-2 vocabulary)
    await runLoad(url, 2, 2, vocabSize); // warm-up: the JIT and the core's workspaces
    const results: LoadResult[] = [];
    for (const clients of levels) {
      const perClient = Math.max(options.quick ? 2 : 4, Math.ceil((options.quick ? 8 : 32) / clients));
      const result = await runLoad(url, clients, perClient, vocabSize);
      if (result.errors > 0) throw new Error(`${result.errors} of ${result.requests} requests failed at M = ${clients}`);
      results.push(result);
    }
    const base = results[0]!.requests / results[0]!.seconds;
    return results.map((r) => {
      const rps = r.requests / r.seconds;
      return {
        bench: 'serve_load',
        size: `M=${r.clients} x ${r.requests / r.clients} req`,
        unit: 'req/s',
        novarl_gflops: round(rps, 2),
        peer: `M=${levels[0]}`,
        peer_gflops: round(base, 2),
        ratio: round(rps / base, 2),
        notes: {
          tokens_per_s: round(r.completionTokens / r.seconds, 1),
          p50_ms: round(percentile(r.latenciesMs, 50), 1),
          p99_ms: round(percentile(r.latenciesMs, 99), 1),
          errors: r.errors,
          requests: r.requests,
        },
      };
    });
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const value = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const levels = (value('--clients') ?? '1,4,16').split(',').map(Number);
  const rows = await benchServeLoad({ quick: argv.includes('--quick') }, value('--dir') ?? 'checkpoints/tiny-gpt', levels);
  console.log(`node ${process.version}; server: novarl serve (batch window 2 ms) in a child process; prompts of ${PROMPT_TOKENS} tokens, ${MAX_TOKENS} new tokens each`);
  printTable(rows);
}
