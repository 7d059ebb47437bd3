// One GPT training step at the pretraining-size config (vocab 2048, 4 layers, 4 heads, nEmbd 128,
// nPositions 128), batch 8 of 128 tokens: zero the gradients, mean cross-entropy (model.loss),
// backward, clip the global gradient norm to 1.0, AdamW (lr 3e-4, weight decay 0.01), read the
// loss on the host.
//   novarl            GPT (sdk/nn/gpt.ts), AdamW and clipGradNorm (sdk/core/optim.ts), then
//                     core.endStep()
//   pytorch-eager-1t  the same GPT-2 in PyTorch 1.13 eager on one thread, a child process
//                     (bench/peers/gpt_train.py), initialised from the model.safetensors NovaRL
//                     saves, on the same batch; skipped with a printed line without torch
//   tfjs-wasm         the same GPT-2 in tfjs ops on its WebAssembly backend (XNNPACK, SIMD, one
//                     thread), tf.variableGrads and tf.train.adam with decoupled decay, in this
//                     process, from the same initial weights (tfjsGptStep below)
//
// The check that the work is the same: the losses of the first two steps (from the same weights
// on the same batch; the second follows one clipped AdamW update) agree with each peer's to 1e-4
// relative.
// "GFLOP/s" counts the step's matmul flops: forward 2 flops per weight per token (the tied head
// included) plus the attention products Q K^T and P V as computed, over the full T x T; backward
// twice the forward. pct_ceiling: NovaRL's GFLOP/s against peakMulAdd (assembly/peak.ts, as
// bench/matmul.ts measures it), the most f32x4 multiplies and adds this core retires without FMA.
// bytes_per_param: the core's wasm memory (memoryBytes()) over the parameter count after the
// warm-up and after the timed steps (flat over many steps: tests/gpt_memory.test.ts).
// ratio = peer seconds / NovaRL seconds (above 1: NovaRL faster), medians of the samples; notes
// give tokens/s and the CPU-time figures (cpu_ratio of the medians, best_cpu_ratio of the fastest
// samples), steadier on a shared machine. The libraries are timed one after the other (NovaRL,
// tfjs, then PyTorch in a child process), not in interleaved rounds, so a change of load during
// the run shifts the wall-clock ratios; the CPU-time ones move less.
// Of the wasm memory, the parameters with their gradients and AdamW's two moments take 16 bytes
// per parameter; the rest is the step's scratch (activations kept for backward and their
// gradients: the (B, T, V) logits alone are 8 MB) and the heap's high-water mark.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs'; // the union package: tfjs-core plus its gradients
import { AdamW, clipGradNorm, GPT, init, saveHuggingFace, seed } from '../sdk/index';
import { gflops, randomMatrix, round, type BenchOptions, type BenchRow } from './util';
import { initTfjsWasm } from './tfjs_wasm';

const CONFIG = { vocabSize: 2048, nLayer: 4, nHead: 4, nEmbd: 128, nPositions: 128 };
const B = 8, T = 128;
const LR = 3e-4, WEIGHT_DECAY = 0.01, MAX_GRAD_NORM = 1.0;
const PYTHON = '/usr/bin/python3';
const PEER_SCRIPT = fileURLToPath(new URL('./peers/gpt_train.py', import.meta.url));
/** peakMulAdd steps per call and flops per step (as bench/matmul.ts). */
const PEAK_STEPS = 100_000, PEAK_FLOPS_PER_STEP = 80;

/** Seconds of one step: the medians of the samples, and the fastest sample of each clock. */
interface WallAndCpu {
  wall: number;
  cpu: number;
  bestWall: number;
  bestCpu: number;
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
  const initialWeights = new Map(model.namedParameters().map(([name, p]) => [name, { data: Float32Array.from(p.toArray()), shape: [...p.shape] }]));
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
    const firstLosses = [step(), step()];
    const start = performance.now();
    let steps = 2;
    while (performance.now() - start < warmupMs || steps < 3) (step(), steps++);
    const bytesAfterWarmup = core.exports.memoryBytes();
    const times: { wall: number; cpu: number }[] = [];
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

    console.error(`gpt_train: ${parameterCount} parameters; wasm memory ${bytesAfterWarmup} bytes after the warm-up, ${bytesAfterTimed} after ${steps} steps`);

    const flops = stepFlops();
    const tokens = B * T;
    const ceilingCpuGflops = gflops(PEAK_STEPS * PEAK_FLOPS_PER_STEP, ceiling.cpu);
    const row = (peer: string, theirs: WallAndCpu): BenchRow => ({
      bench: 'gpt_train',
      size: `B${B}-T${T}-L${CONFIG.nLayer}-C${CONFIG.nEmbd}-V${CONFIG.vocabSize}`,
      novarl_gflops: round(gflops(flops, ours.wall)),
      peer,
      peer_gflops: round(gflops(flops, theirs.wall)),
      ratio: round(theirs.wall / ours.wall, 3),
      notes: {
        novarl_tok_s: round(tokens / ours.wall, 1),
        peer_tok_s: round(tokens / theirs.wall, 1),
        novarl_cpu_ms: round(ours.cpu * 1000, 3),
        peer_cpu_ms: round(theirs.cpu * 1000, 3),
        cpu_ratio: round(theirs.cpu / ours.cpu, 3),
        best_cpu_ratio: round(theirs.bestCpu / ours.bestCpu, 3),
        ceiling_gflops: round(ceilingGflops),
        pct_ceiling: round((100 * gflops(flops, ours.wall)) / ceilingGflops, 1),
        pct_ceiling_cpu: round((100 * gflops(flops, ours.cpu)) / ceilingCpuGflops, 1),
        bytes_per_param: round(bytesAfterTimed / parameterCount, 2),
      },
    });

    // tfjs-wasm in this process, timed after NovaRL (its steps take seconds: fewer samples)
    await initTfjsWasm();
    const tfjsStep = tfjsGptStep(initialWeights, ids, targets);
    const tfjsLosses = [tfjsStep(), tfjsStep()];
    checkSameWork('tfjs-wasm', firstLosses, tfjsLosses);
    tfjsStep(); // warm-up
    const tfjsTimes: { wall: number; cpu: number }[] = [];
    for (let s = 0; s < (options.quick ? 2 : 5); s++) tfjsTimes.push(timed(tfjsStep));
    tf.disposeVariables(); // the tfjs model's weights and Adam state (no other bench holds variables now)
    const rows = [row('tfjs-wasm', medianOf(tfjsTimes))];

    const torch = runPytorch(dir, ids, targets, warmupMs, samples);
    if (torch) {
      checkSameWork('pytorch', firstLosses, torch.firstLosses);
      rows.push(row('pytorch-eager-1t', torch));
    }
    return rows;
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

/**
 * The first two steps from the same weights on the same batch give the same losses to 1e-4
 * relative: the first checks the forward pass, the second (after one clipped AdamW step) the
 * gradients and the update too.
 */
function checkSameWork(peer: string, novarlLosses: number[], peerLosses: number[]): void {
  const show = (xs: number[]) => xs.map((x) => x.toFixed(6)).join(', ');
  console.error(`gpt_train: losses of the first two steps: novarl ${show(novarlLosses)}; ${peer} ${show(peerLosses)}`);
  novarlLosses.forEach((ours, i) => {
    const theirs = peerLosses[i]!;
    if (!(Math.abs(theirs - ours) <= 1e-4 * Math.abs(ours))) {
      throw new Error(`gpt_train: ${peer} does not do the same step: loss of step ${i + 1} ${theirs} vs NovaRL ${ours}`);
    }
  });
}

function timed(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6 };
}

/**
 * Medians of the wall and the CPU figures, each taken separately, and the fastest of each: on a
 * shared machine load from others only slows a sample down, and the peers are timed one after
 * the other, not in interleaved rounds, so the best samples are the fairer comparison when the
 * load changes during the run.
 */
function medianOf(samples: { wall: number; cpu: number }[]): WallAndCpu {
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const walls = samples.map((s) => s.wall), cpus = samples.map((s) => s.cpu);
  return { wall: median(walls), cpu: median(cpus), bestWall: Math.min(...walls), bestCpu: Math.min(...cpus) };
}

/** Runs bench/peers/gpt_train.py on the saved model; null (with a printed line) without torch. */
function runPytorch(dir: string, ids: number[][], targets: number[][], warmupMs: number, samples: number): (WallAndCpu & { firstLosses: number[] }) | null {
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
  const reply = JSON.parse(run.stdout.trim().split('\n').pop()!) as { first_losses: number[]; wall_s: number; cpu_s: number; best_wall_s: number; best_cpu_s: number };
  return { firstLosses: reply.first_losses, wall: reply.wall_s, cpu: reply.cpu_s, bestWall: reply.best_wall_s, bestCpu: reply.best_cpu_s };
}

// ---- tfjs ----------------------------------------------------------------------------------

/**
 * The step written with tfjs ops: the same GPT-2 (Conv1D weights (in, out), pre-layer-norm
 * blocks, GELU tanh, tied head), tf.variableGrads for the gradients, the global norm clipped by
 * hand (as torch.nn.utils.clip_grad_norm_), AdamW as decoupled decay p *= 1 - lr wd followed by
 * tf.train.adam (tfjs has no AdamW). The embedding lookup is tf.gather with its gradient given
 * by tf.customGrad as a tf.scatterND of the rows' gradients (which sums repeated ids): gather's
 * own gradient needs UnsortedSegmentSum, which the wasm backend lacks. Returns one step as a
 * function giving the loss.
 */
function tfjsGptStep(weights: Map<string, { data: Float32Array; shape: number[] }>, ids: number[][], targets: number[][]): () => number {
  const { nLayer, nHead: H, nEmbd: C, vocabSize: V } = CONFIG;
  const D = C / H, eps = 1e-5;
  const variables = new Map<string, tf.Variable>();
  for (const [name, { data, shape }] of weights) variables.set(name, tf.variable(tf.tensor(data, shape), true, name));
  const v = (name: string) => variables.get(name)!;
  const flatIds = tf.tensor1d(ids.flat(), 'int32');
  const idRows = tf.reshape(flatIds, [B * T, 1]);
  const labels = tf.oneHot(tf.tensor1d(targets.flat(), 'int32'), V);
  // additive causal mask (T, T): 0 on and below the diagonal, -1e9 above (exp gives exactly 0)
  const causal = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9);
  const embed = tf.customGrad(((table: tf.Tensor) => ({
    value: tf.gather(table, flatIds), // (B*T, C)
    gradFunc: (dy: tf.Tensor) => tf.scatterND(idRows, dy, [V, C]),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  const layerNorm = (x: tf.Tensor, prefix: string) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), v(`${prefix}.weight`)), v(`${prefix}.bias`));
  };
  const conv1d = (x: tf.Tensor, prefix: string) => tf.add(tf.matMul(x as tf.Tensor2D, v(`${prefix}.weight`) as tf.Tensor2D), v(`${prefix}.bias`));
  const gelu = (x: tf.Tensor) => tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x))))))));
  const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, H, D]), [0, 2, 1, 3]); // (B*T, C) -> (B, H, T, D)
  const lossOf = (): tf.Scalar => {
    let x = tf.add(embed(v('transformer.wte.weight')), tf.tile(v('transformer.wpe.weight').slice([0, 0], [T, C]), [B, 1])); // (B*T, C)
    for (let i = 0; i < nLayer; i++) {
      const pre = `transformer.h.${i}`;
      const [q, k, val] = tf.split(conv1d(layerNorm(x, `${pre}.ln_1`), `${pre}.attn.c_attn`), 3, 1).map(heads);
      const scores = tf.add(tf.mul(tf.matMul(q!, k!, false, true), 1 / Math.sqrt(D)), causal); // (B, H, T, T)
      const attn = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), val!), [0, 2, 1, 3]), [B * T, C]);
      x = tf.add(x, conv1d(attn, `${pre}.attn.c_proj`));
      x = tf.add(x, conv1d(gelu(conv1d(layerNorm(x, `${pre}.ln_2`), `${pre}.mlp.c_fc`)), `${pre}.mlp.c_proj`));
    }
    const logits = tf.matMul(layerNorm(x, 'transformer.ln_f') as tf.Tensor2D, v('transformer.wte.weight') as tf.Tensor2D, false, true); // (B*T, V)
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  };
  const optimizer = tf.train.adam(LR, 0.9, 0.999, 1e-8);
  const varList = [...variables.values()];
  return () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(lossOf, varList);
      const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
      const scale = tf.minimum(1, tf.div(MAX_GRAD_NORM, tf.add(norm, 1e-6)));
      for (const p of varList) p.assign(tf.mul(p, 1 - LR * WEIGHT_DECAY));
      optimizer.applyGradients(Object.entries(grads).map(([name, g]) => ({ name, tensor: tf.mul(g, scale) })));
      return value.dataSync()[0]!;
    });
}

