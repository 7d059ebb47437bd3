// One GPT training step at the pretraining-size config (vocab 2048, 4 layers, 4 heads, nEmbd 128,
// nPositions 128), batch 8 of 128 tokens: zero the gradients, mean cross-entropy (model.loss),
// backward, clip the global gradient norm to 1.0, AdamW (lr 3e-4, weight decay 0.01), read the
// loss on the host.
//   novarl            GPT (sdk/nn/gpt.ts), AdamW and clipGradNorm (sdk/core/optim.ts), then
//                     core.endStep()
//   pytorch-eager-1t  the same GPT-2 in PyTorch 1.13 eager on one thread, a child process
//                     (bench/peers/gpt_train.py), initialised from the model.safetensors NovaRL
//                     saves, on the same batch; skipped with a printed line without torch
// tfjs-wasm is not compared here (yet): a GPT-2 written in tfjs ops with tf.variableGrads is
// practical but was not written in the time this bench was built.
//
// The check that the work is the same: the first step's loss (from the same weights on the same
// batch) must agree with PyTorch's to 1e-4 relative.
// "GFLOP/s" counts the step's matmul flops: forward 2 flops per weight per token (the tied head
// included) plus the attention products Q K^T and P V as computed, over the full T x T; backward
// twice the forward. pct_ceiling: NovaRL's GFLOP/s against peakMulAdd (assembly/peak.ts, as
// bench/matmul.ts measures it), the most f32x4 multiplies and adds this core retires without FMA.
// bytes_per_param: the core's wasm memory (memoryBytes()) over the parameter count after the
// warm-up and after the timed steps (flat over many steps: tests/gpt_memory.test.ts).
// ratio = peer seconds / NovaRL seconds (above 1: NovaRL faster); notes give tokens/s and the
// CPU-time figures, steadier on a shared machine.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdamW, clipGradNorm, GPT, init, saveHuggingFace, seed } from '../sdk/index';
import { gflops, randomMatrix, round, type BenchOptions, type BenchRow } from './util';

const CONFIG = { vocabSize: 2048, nLayer: 4, nHead: 4, nEmbd: 128, nPositions: 128 };
const B = 8, T = 128;
const LR = 3e-4, WEIGHT_DECAY = 0.01, MAX_GRAD_NORM = 1.0;
const PYTHON = '/usr/bin/python3';
const PEER_SCRIPT = fileURLToPath(new URL('./peers/gpt_train.py', import.meta.url));
/** peakMulAdd steps per call and flops per step (as bench/matmul.ts). */
const PEAK_STEPS = 100_000, PEAK_FLOPS_PER_STEP = 80;

interface WallAndCpu {
  wall: number;
  cpu: number;
}

export async function benchGptTrain(options: BenchOptions): Promise<BenchRow[]> {
  const samples = options.quick ? 5 : 15;
  const warmupMs = options.quick ? 500 : 2000;
  const core = await init({ simd: true });
  seed(1);
  const model = new GPT(CONFIG);
  const params = model.parameters();
  const parameterCount = params.reduce((n, p) => n + p.size, 0);
  const { ids, targets } = batchOf();
  const dir = mkdtempSync(join(tmpdir(), 'novarl-bench-gpt-train-'));
  try {
    await saveHuggingFace(dir, model); // the initial weights, for the peer
    const optimizer = new AdamW(params, { lr: LR, weightDecay: WEIGHT_DECAY });
    const step = (): number => {
      optimizer.zeroGrad();
      const loss = model.loss(ids, targets);
      loss.backward();
      clipGradNorm(params, MAX_GRAD_NORM);
      optimizer.step();
      const value = loss.item();
      core.endStep();
      return value;
    };
    const firstLoss = step();
    const start = performance.now();
    let steps = 1;
    while (performance.now() - start < warmupMs || steps < 3) (step(), steps++);
    const bytesAfterWarmup = core.exports.memoryBytes();
    const times: WallAndCpu[] = [];
    for (let s = 0; s < samples; s++) times.push(timed(step));
    steps += samples;
    const bytesAfterTimed = core.exports.memoryBytes();
    const ours = medianOf(times);
    // the ceiling: the fastest of many short peakMulAdd calls, by wall clock and by CPU time
    const ceiling = { wall: Infinity, cpu: Infinity };
    for (let s = 0; s < 20 * samples; s++) {
      const t = timed(() => core.exports.peakMulAdd(PEAK_STEPS));
      ceiling.wall = Math.min(ceiling.wall, t.wall);
      ceiling.cpu = Math.min(ceiling.cpu, t.cpu);
    }
    const ceilingGflops = gflops(PEAK_STEPS * PEAK_FLOPS_PER_STEP, ceiling.wall);

    const peer = runPytorch(dir, ids, targets, warmupMs, samples);
    if (!peer) return [];
    checkSameWork(firstLoss, peer.firstLoss);
    const flops = stepFlops();
    const tokens = B * T;
    console.error(`gpt_train: ${parameterCount} parameters; wasm memory ${bytesAfterWarmup} bytes after the warm-up, ${bytesAfterTimed} after ${steps} steps`);
    return [{
      bench: 'gpt_train',
      size: `B${B}-T${T}-L${CONFIG.nLayer}-C${CONFIG.nEmbd}-V${CONFIG.vocabSize}`,
      novarl_gflops: round(gflops(flops, ours.wall)),
      peer: 'pytorch-eager-1t',
      peer_gflops: round(gflops(flops, peer.wall)),
      ratio: round(peer.wall / ours.wall, 3),
      notes: {
        novarl_tok_s: round(tokens / ours.wall, 1),
        peer_tok_s: round(tokens / peer.wall, 1),
        novarl_cpu_ms: round(ours.cpu * 1000, 3),
        peer_cpu_ms: round(peer.cpu * 1000, 3),
        cpu_ratio: round(peer.cpu / ours.cpu, 3),
        ceiling_gflops: round(ceilingGflops),
        pct_ceiling: round((100 * gflops(flops, ours.wall)) / ceilingGflops, 1),
        pct_ceiling_cpu: round((100 * gflops(flops, ours.cpu)) / gflops(PEAK_STEPS * PEAK_FLOPS_PER_STEP, ceiling.cpu), 1),
        bytes_per_param: round(bytesAfterTimed / parameterCount, 2),
      },
    }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.free();
  }
}

/** A fixed batch: ids (B, T) from a seeded generator, targets the ids shifted by one. */
function batchOf(): { ids: number[][]; targets: number[][] } {
  const stream = Array.from(randomMatrix(B * (T + 1), 7), (u) => Math.floor(((u + 1) / 2) * CONFIG.vocabSize) % CONFIG.vocabSize);
  const ids: number[][] = [], targets: number[][] = [];
  for (let b = 0; b < B; b++) {
    const row = stream.slice(b * (T + 1), (b + 1) * (T + 1));
    ids.push(row.slice(0, T));
    targets.push(row.slice(1));
  }
  return { ids, targets };
}

/** Matmul flops of one step: forward (weights, tied head, attention products), backward twice that. */
function stepFlops(): number {
  const { nLayer, nEmbd: C, vocabSize: V } = CONFIG;
  const tokens = B * T;
  const weights = tokens * 2 * (nLayer * 12 * C * C + V * C);
  const attention = nLayer * 2 * (2 * B * T * T * C); // Q K^T and P V over all heads, full T x T
  return 3 * (weights + attention);
}

/** The first step from the same weights on the same batch: the same loss to 1e-4 relative. */
function checkSameWork(novarlLoss: number, peerLoss: number): void {
  console.error(`gpt_train: first-step loss: novarl ${novarlLoss.toFixed(6)}, pytorch ${peerLoss.toFixed(6)}`);
  if (!(Math.abs(peerLoss - novarlLoss) <= 1e-4 * Math.abs(novarlLoss))) {
    throw new Error(`gpt_train: PyTorch does not do the same step: first-step loss ${peerLoss} vs NovaRL ${novarlLoss}`);
  }
}

function timed(fn: () => void): WallAndCpu {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

/** Medians of the wall and the CPU figures, each taken separately. */
function medianOf(samples: WallAndCpu[]): WallAndCpu {
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

/** Runs bench/peers/gpt_train.py on the saved model; null (with a printed line) without torch. */
function runPytorch(dir: string, ids: number[][], targets: number[][], warmupMs: number, samples: number): (WallAndCpu & { firstLoss: number }) | null {
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { env, encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split('\n').pop();
    console.error(`gpt_train: skipping the PyTorch peer: \`${PYTHON} -c 'import torch, numpy'\` failed (${why})`);
    return null;
  }
  const spec = { model_dir: dir, ids, targets, lr: LR, weight_decay: WEIGHT_DECAY, max_grad_norm: MAX_GRAD_NORM, warmup_ms: warmupMs, samples };
  const run = spawnSync(PYTHON, [PEER_SCRIPT], { env, input: JSON.stringify(spec) + '\n', encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.error || run.status !== 0) throw new Error(`gpt_train: ${PEER_SCRIPT} failed (status ${run.status}): ${run.error?.message ?? run.stderr}`);
  const reply = JSON.parse(run.stdout.trim().split('\n').pop()!) as { first_loss: number; wall_s: number; cpu_s: number };
  return { firstLoss: reply.first_loss, wall: reply.wall_s, cpu: reply.cpu_s };
}
