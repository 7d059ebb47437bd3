// Generation with the KV cache at the pretraining-size config (vocab 2048, 4 layers, 4 heads,
// nEmbd 128, nPositions 128), batch 1 and batch 16, prompts of 16 tokens, 64 new tokens each,
// temperature 1:
//   novarl            generate() (sdk/nn/generate.ts): prefill, then one cached step per token
//   pytorch-eager-1t  the same model read from the model.safetensors NovaRL saves, generating
//                     with its own preallocated KV cache in PyTorch 1.13 eager on one thread, a
//                     child process (bench/peers/generate.py; skipped with a printed line
//                     without torch)
// One timed call is one whole generate() (prefill included); tokens/s = B * 64 / seconds. The
// greedy completion of the first prompt is compared with PyTorch's as a check that the work is
// the same model. "GFLOP/s" counts 2 flops per weight per token (every matmul, the tied head
// included; attention over the cache and the prefill left out). ratio = peer seconds / NovaRL
// seconds; notes give tokens/s and CPU-time figures, steadier on a shared machine.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GPT, generate, init, normal_, saveHuggingFace, seed } from '../sdk/index';
import { gflops, round, type BenchOptions, type BenchRow } from './util';

const CONFIG = { vocabSize: 2048, nLayer: 4, nHead: 4, nEmbd: 128, nPositions: 128 };
const PROMPT = 16, NEW_TOKENS = 64, TEMPERATURE = 1;
const BATCHES = [1, 16];
const PYTHON = '/usr/bin/python3';
const PEER_SCRIPT = fileURLToPath(new URL('./peers/generate.py', import.meta.url));

interface WallAndCpu {
  wall: number;
  cpu: number;
}

export async function benchGenerate(options: BenchOptions): Promise<BenchRow[]> {
  const samples = options.quick ? 3 : 5;
  const warmupMs = options.quick ? 200 : 1000;
  await init({ simd: true });
  seed(1);
  const model = new GPT(CONFIG);
  // Wider weights than GPT-2's init: peaked distributions, so the greedy check has no near-ties
  for (const [name, p] of model.namedParameters()) if (name.endsWith('.weight') && !name.includes('ln_')) normal_(p, 0, 0.1);
  const { nLayer, nEmbd, vocabSize } = CONFIG;
  const flopsPerToken = 2 * (nLayer * 12 * nEmbd * nEmbd + vocabSize * nEmbd);
  const prompts = BATCHES.map((b) => Array.from({ length: b }, (_, r) => Array.from({ length: PROMPT }, (_, t) => (r * 97 + t * 31 + 5) % vocabSize)));

  const ours = prompts.map((rows) => {
    const call = () => generate(model, rows, { maxNewTokens: NEW_TOKENS, temperature: TEMPERATURE, seed: 2 });
    const start = performance.now();
    while (performance.now() - start < warmupMs) call();
    const times: WallAndCpu[] = [];
    for (let s = 0; s < samples; s++) times.push(timed(call));
    return medianOf(times);
  });
  const greedy = generate(model, prompts[0]!.slice(0, 1), { maxNewTokens: NEW_TOKENS, temperature: 0 }).completions[0]!;

  const dir = mkdtempSync(join(tmpdir(), 'novarl-bench-generate-'));
  let peer: WallAndCpu[] | null;
  try {
    await saveHuggingFace(dir, model);
    peer = runPytorch(dir, prompts, greedy, warmupMs, samples);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.free();
  }
  if (!peer) return [];
  return BATCHES.map((b, i) => {
    const [n, p] = [ours[i]!, peer![i]!];
    const tokens = b * NEW_TOKENS;
    return {
      bench: 'generate',
      size: `B${b}-P${PROMPT}+${NEW_TOKENS}-L${nLayer}-C${nEmbd}-V${vocabSize}`,
      novarl_gflops: round(gflops(flopsPerToken * tokens, n.wall)),
      peer: 'pytorch-eager-1t',
      peer_gflops: round(gflops(flopsPerToken * tokens, p.wall)),
      ratio: round(p.wall / n.wall, 3),
      notes: {
        novarl_tok_s: round(tokens / n.wall, 1),
        peer_tok_s: round(tokens / p.wall, 1),
        novarl_cpu_ms: round(n.cpu * 1000, 3),
        peer_cpu_ms: round(p.cpu * 1000, 3),
        cpu_ratio: round(p.cpu / n.cpu, 3),
      },
    };
  });
}

function timed(fn: () => void): WallAndCpu {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

function medianOf(samples: WallAndCpu[]): WallAndCpu {
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

/** Runs bench/peers/generate.py on the saved model; null (with a printed line) without torch. */
function runPytorch(dir: string, prompts: number[][][], greedy: number[], warmupMs: number, samples: number): WallAndCpu[] | null {
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { env, encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split('\n').pop();
    console.error(`generate: skipping the PyTorch peer: \`${PYTHON} -c 'import torch, numpy'\` failed (${why})`);
    return null;
  }
  const spec = { model_dir: dir, prompts, new_tokens: NEW_TOKENS, temperature: TEMPERATURE, warmup_ms: warmupMs, samples };
  const run = spawnSync(PYTHON, [PEER_SCRIPT], { env, input: JSON.stringify(spec) + '\n', encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.error || run.status !== 0) throw new Error(`generate: ${PEER_SCRIPT} failed (status ${run.status}): ${run.error?.message ?? run.stderr}`);
  const reply = JSON.parse(run.stdout.trim().split('\n').pop()!) as { cases: { wall_s: number; cpu_s: number; greedy: number[] }[] };
  const theirs = reply.cases[0]!.greedy;
  if (theirs.length !== greedy.length || theirs.some((id, i) => id !== greedy[i])) {
    throw new Error(`generate: PyTorch's greedy completion differs from NovaRL's, so the work is not the same:\n  novarl  ${greedy}\n  pytorch ${theirs}`);
  }
  return reply.cases.map((c) => ({ wall: c.wall_s, cpu: c.cpu_s }));
}
