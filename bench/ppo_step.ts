// One PPO update: NovaRL's PPOTrainer.learn() against the same update written with tfjs (wasm
// backend, this process, one thread) and with PyTorch eager on one thread (a child process,
// bench/peers/ppo_step.py). All three start from the same weights and train on the same
// rollout, collected once by NovaRL from a SyntheticPromptEnvironment (8 envs x 64 steps).
//
// The update, as learn() does it (CleanRL's ppo.py): separate actor and critic MLPs
// 16 -> 64 -> 64 (tanh) with heads to 4 logits and 1 value; 4 epochs, each a fresh random
// permutation of the 512 rows cut into 4 minibatches of 128; per minibatch: gather the rows,
// whiten the advantages (sample std, + 1e-8), clipped surrogate (0.2), clipped value loss
// (0.2), loss = pg - 0.01 entropy + 0.5 value, backward, global grad-norm clipping to 0.5,
// Adam (lr 2.5e-4, eps 1e-5), zero the gradients, and read the loss and statistics back.
//
// "GFLOP/s" = the update's Linear-layer FLOPs / median seconds per update, so the ratio is the
// speed ratio. FLOPs, for M = 128 rows per minibatch and a layer in -> out:
//   forward 2 M in out, weight gradient 2 M in out, input gradient 2 M in out (not needed,
//   and not counted, for the first layer of each trunk, whose input is the observations);
// summed over the 6 layers and over 4 x 4 = 16 minibatches:
//   16 * 2 M * (3 * sum(in * out) - sum over first layers(in * out))
//   = 16 * 256 * (3 * 10560 - 2048) = 121.4 MFLOP per update.
// Bias adds, activations and losses are not counted (they are a few percent of the FLOPs).
//
// Timing: each library is warmed up, then sampled in rounds (one sample of each per round, a
// sample lasting about sampleMs), so that all see the same load on a shared machine; the
// figures are medians over the rounds. ratio = peer seconds / NovaRL seconds (wall clock);
// notes give ms per update and the same by CPU time (cpu_ratio), steadier under load.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs'; // the union package: tfjs-core plus its gradients
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { ActorCritic, PPOTrainer, SyntheticPromptEnvironment, init, type Core, type StateDict } from '../sdk/index';
import { gflops, round, timingFor, type BenchOptions, type BenchRow, type TimingOptions } from './util';

const OBS = 16;
const ACTIONS = 4;
const HIDDEN = 64;
const NUM_ENVS = 8;
const STEPS = 64;
const ROWS = NUM_ENVS * STEPS; // 512
const EPOCHS = 4;
const MINIBATCHES = 4;
const MB = ROWS / MINIBATCHES; // 128
const CONFIG = {
  stepsPerUpdate: STEPS,
  epochs: EPOCHS,
  minibatches: MINIBATCHES,
  learningRate: 2.5e-4,
  adamEps: 1e-5,
  clipRange: 0.2,
  valueClip: 0.2,
  entropyCoef: 0.01,
  valueCoef: 0.5,
  maxGradNorm: 0.5,
  normalizeAdvantages: true,
  klCoef: 0, // no KL term: the update is plain PPO
  seed: 7,
};
const SIZE = 'mlp2x64-b512-4x4';

/** [in, out] of every Linear layer: actor trunk, critic trunk, policy head, value head. */
const LAYERS: [number, number][] = [
  [OBS, HIDDEN], [HIDDEN, HIDDEN], // actor trunk
  [OBS, HIDDEN], [HIDDEN, HIDDEN], // critic trunk
  [HIDDEN, ACTIONS], [HIDDEN, 1], // heads
];
const FIRST_LAYERS: [number, number][] = [[OBS, HIDDEN], [OBS, HIDDEN]];

/** Linear-layer FLOPs of one update (formula in the header comment). */
export function ppoUpdateFlops(): number {
  const inOut = (layers: [number, number][]) => layers.reduce((s, [i, o]) => s + i * o, 0);
  return EPOCHS * MINIBATCHES * 2 * MB * (3 * inOut(LAYERS) - inOut(FIRST_LAYERS));
}

/** The rollout every library trains on, as flat arrays (row = t * numEnvs + env). */
export interface PpoBatch {
  obs: Float32Array; // (512, 16)
  actions: Float32Array; // (512)
  logProbs: Float32Array; // (512)
  advantages: Float32Array; // (512)
  returns: Float32Array; // (512)
  values: Float32Array; // (512)
}

export async function benchPpoStep(options: BenchOptions): Promise<BenchRow[]> {
  const timing = timingFor(options);
  const core: Core = await init({ simd: true });

  // NovaRL: one real rollout fills the buffer (update() = rollout + GAE + learn), then learn()
  // alone is timed on it, again and again (each call also copies the rollout into the core's
  // batch tensors, as every update does).
  const env = new SyntheticPromptEnvironment({ numEnvs: NUM_ENVS, observationSize: OBS, actionCount: ACTIONS, seed: 3 });
  const policy = new ActorCritic({ observationSize: OBS, actionCount: ACTIONS, hidden: [HIDDEN, HIDDEN] });
  const initialWeights = policy.stateDict();
  // 'tie': no frozen reference copy to keep; learn() does not touch the reference (klCoef 0)
  const trainer = new PPOTrainer({ env, policy, config: CONFIG, referenceModel: 'tie' });
  const novarlValueLoss = (await trainer.update()).value_loss; // learn() from the initial weights, fresh Adam
  const b = trainer.buffer;
  const batch: PpoBatch = {
    obs: b.observations.slice(),
    actions: Float32Array.from(b.actions),
    logProbs: b.logProbs.slice(),
    advantages: b.advantages.slice(),
    returns: b.returns.slice(),
    values: b.values.slice(),
  };
  // The peers start from the initial weights too; the first update's mean value loss of each
  // is compared with NovaRL's, as a check that they do the same work.
  await initTfjsWasm();
  const tfjsUpdate = tfjsPpoUpdate(initialWeights, batch);
  const tfjsValueLoss = tfjsUpdate();
  const torch = await PytorchPeer.start(initialWeights, batch, timing.warmupMs);

  // Warm each up, then take the samples in rounds, one sample of each library per round, so
  // that all of them see the same load when the machine is shared.
  const lanes: Lane[] = [
    syncLane('novarl', () => trainer.learn(), timing),
    syncLane('tfjs-wasm', tfjsUpdate, timing),
  ];
  if (torch) lanes.push({ name: 'pytorch-eager-1t', calls: callsFor(torch.secondsPerUpdate, timing), sample: (n) => torch.sample(n) });
  const samples = new Map<string, WallAndCpu[]>(lanes.map((l) => [l.name, []]));
  try {
    for (let round = 0; round < timing.samples; round++) {
      for (const lane of lanes) samples.get(lane.name)!.push(await lane.sample(lane.calls));
    }
  } finally {
    torch?.close();
  }
  core.endStep();
  const medians = new Map([...samples].map(([name, xs]) => [name, medianOf(xs)]));

  const flops = ppoUpdateFlops();
  const novarlTime = medians.get('novarl')!;
  const row = (peer: string, peerValueLoss: number): BenchRow => {
    checkSameWork(peer, novarlValueLoss, peerValueLoss);
    const peerTime = medians.get(peer)!;
    return {
      bench: 'ppo_step',
      size: SIZE,
      novarl_gflops: round(gflops(flops, novarlTime.wall)),
      peer,
      peer_gflops: round(gflops(flops, peerTime.wall)),
      ratio: round(peerTime.wall / novarlTime.wall, 3),
      notes: {
        novarl_ms: round(novarlTime.wall * 1000, 3),
        peer_ms: round(peerTime.wall * 1000, 3),
        novarl_cpu_ms: round(novarlTime.cpu * 1000, 3),
        peer_cpu_ms: round(peerTime.cpu * 1000, 3),
        cpu_ratio: round(peerTime.cpu / novarlTime.cpu, 3),
      },
    };
  };
  const rows = [row('tfjs-wasm', tfjsValueLoss)];
  if (torch) rows.push(row('pytorch-eager-1t', torch.firstValueLoss));
  return rows;
}

// ---- timing --------------------------------------------------------------------------------

/**
 * Seconds per update by the wall clock and by CPU time (user + system of the whole process).
 * On a machine shared with other processes the wall clock also counts the time spent waiting
 * for a core, CPU time does not, so cpu_ratio is the steadier comparison when it is loaded.
 * CPU time counts every thread of the process, so V8's background compilation and GC helper
 * threads count against the library measured.
 */
interface WallAndCpu {
  wall: number;
  cpu: number;
}

/** A library being timed: `calls` updates per sample. */
interface Lane {
  name: string;
  calls: number;
  sample: (calls: number) => Promise<WallAndCpu>;
}

/** Updates per sample so that a sample lasts about sampleMs (as bench/util.ts medianSeconds). */
function callsFor(secondsPerCall: number, timing: Required<TimingOptions>): number {
  return Math.max(1, Math.ceil(timing.sampleMs / 1000 / secondsPerCall));
}

/** A lane for an update run in this process, warmed up here for timing.warmupMs. */
function syncLane(name: string, update: () => void, timing: Required<TimingOptions>): Lane {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < timing.warmupMs || calls < 3) {
    update();
    calls++;
  }
  const secondsPerCall = (performance.now() - start) / 1000 / calls;
  return {
    name,
    calls: callsFor(secondsPerCall, timing),
    sample: async (n) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) update();
      const wall = (performance.now() - t0) / 1000 / n;
      const c = process.cpuUsage(c0);
      return { wall, cpu: (c.user + c.system) / 1e6 / n };
    },
  };
}

/** Medians of the wall and the CPU figures, each taken separately. */
function medianOf(samples: WallAndCpu[]): WallAndCpu {
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

/**
 * The first update from the same weights on the same rollout gives nearly the same mean value
 * loss in every library. Not exactly: each shuffles with its own generator, so the 16 minibatch
 * losses are taken at slightly different points of the descent (they agree within about 0.1%).
 * 2% tolerates that; a peer that computes something else is further off (tried: a transposed
 * hidden weight, 9%; the value loss without clipping, 7%).
 */
function checkSameWork(peer: string, novarlValueLoss: number, peerValueLoss: number): void {
  console.error(`ppo_step: first-update mean value loss: novarl ${novarlValueLoss.toFixed(5)}, ${peer} ${peerValueLoss.toFixed(5)}`);
  if (!(Math.abs(peerValueLoss - novarlValueLoss) <= 0.02 * Math.abs(novarlValueLoss))) {
    throw new Error(`ppo_step: ${peer} does not do the same update: first-update mean value loss ${peerValueLoss} vs NovaRL ${novarlValueLoss}`);
  }
}

// ---- tfjs ----------------------------------------------------------------------------------

/**
 * The update written with tfjs: variables in NovaRL's layout (weight (out, in), y = x W^T + b),
 * tf.variableGrads for the gradients, the global norm clipped by hand (as
 * torch.nn.utils.clip_grad_norm_), tf.train.adam. Returns one update as a function.
 */
function tfjsPpoUpdate(weights: StateDict, batch: PpoBatch): () => number {
  const variables: Record<string, tf.Variable> = {};
  for (const [name, data] of Object.entries(weights)) {
    const [o, i] = name.endsWith('.weight') ? shapeOf(name) : [shapeOf(name)[0], 0];
    variables[name] = tf.variable(i ? tf.tensor2d(data, [o, i]) : tf.tensor1d(data), true, name);
  }
  const v = (name: string) => variables[name]!;
  const linear = (x: tf.Tensor2D, prefix: string) =>
    tf.add(tf.matMul(x, v(`${prefix}.weight`) as tf.Tensor2D, false, true), v(`${prefix}.bias`)) as tf.Tensor2D;
  const trunk = (x: tf.Tensor2D, prefix: string) => tf.tanh(linear(tf.tanh(linear(x, `${prefix}.layers.0`)), `${prefix}.layers.1`)) as tf.Tensor2D;

  const obs = tf.tensor2d(batch.obs, [ROWS, OBS]);
  const actions = tf.tensor1d(Int32Array.from(batch.actions), 'int32');
  const oldLogProbs = tf.tensor1d(batch.logProbs);
  const advantages = tf.tensor1d(batch.advantages);
  const returns = tf.tensor1d(batch.returns);
  const oldValues = tf.tensor1d(batch.values);
  const optimizer = tf.train.adam(CONFIG.learningRate, 0.9, 0.999, CONFIG.adamEps);
  const varList = Object.values(variables);
  const permutation = new Int32Array(ROWS);
  let rng = 12345;

  return () => {
    let valueLossSum = 0;
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      shuffle(permutation, () => (rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 4294967296);
      for (let start = 0; start < ROWS; start += MB) {
        tf.tidy(() => {
          const index = tf.tensor1d(permutation.subarray(start, start + MB), 'int32');
          const mbObs = tf.gather(obs, index) as tf.Tensor2D;
          const mbActions = tf.gather(actions, index);
          const mbOldLogp = tf.gather(oldLogProbs, index);
          const mbReturns = tf.gather(returns, index);
          const mbOldValues = tf.gather(oldValues, index);
          const rawAdv = tf.gather(advantages, index);
          const { mean, variance } = tf.moments(rawAdv);
          const std = tf.sqrt(tf.mul(variance, MB / (MB - 1))); // sample std, as torch .std()
          const mbAdv = tf.div(tf.sub(rawAdv, mean), tf.add(std, 1e-8));
          const oneHot = tf.oneHot(mbActions, ACTIONS);

          let stats: tf.Tensor[] = [];
          const { value, grads } = tf.variableGrads(() => {
            const logits = linear(trunk(mbObs, 'actorTrunk'), 'policyHead.linear');
            const values = tf.reshape(linear(trunk(mbObs, 'criticTrunk'), 'valueHead.linear'), [MB]);
            const logpAll = tf.logSoftmax(logits);
            const logp = tf.sum(tf.mul(logpAll, oneHot), -1);
            const entropy = tf.mean(tf.neg(tf.sum(tf.mul(tf.exp(logpAll), logpAll), -1)));
            const logratio = tf.sub(logp, mbOldLogp);
            const ratio = tf.exp(logratio);
            const pgLoss = tf.mean(tf.maximum(tf.mul(tf.neg(mbAdv), ratio), tf.mul(tf.neg(mbAdv), tf.clipByValue(ratio, 1 - CONFIG.clipRange, 1 + CONFIG.clipRange))));
            const vClipped = tf.add(mbOldValues, tf.clipByValue(tf.sub(values, mbOldValues), -CONFIG.valueClip, CONFIG.valueClip));
            const vLoss = tf.mul(0.5, tf.mean(tf.maximum(tf.square(tf.sub(values, mbReturns)), tf.square(tf.sub(vClipped, mbReturns)))));
            // CleanRL's statistics, from the same forward pass (kept: variableGrads disposes
            // everything else made in here)
            stats = [
              pgLoss,
              vLoss,
              tf.mean(tf.mul(mbAdv, ratio)),
              tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), CONFIG.clipRange), 'float32')),
              tf.mean(tf.sub(tf.sub(ratio, 1), logratio)),
              tf.mean(tf.neg(logratio)),
            ].map((t) => tf.keep(t));
            return tf.add(tf.sub(pgLoss, tf.mul(entropy, CONFIG.entropyCoef)), tf.mul(vLoss, CONFIG.valueCoef)) as tf.Scalar;
          }, varList);
          // global gradient norm, clipped as torch.nn.utils.clip_grad_norm_
          const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
          const scale = tf.minimum(1, tf.div(CONFIG.maxGradNorm, tf.add(norm, 1e-6)));
          optimizer.applyGradients(Object.entries(grads).map(([name, g]) => ({ name, tensor: tf.mul(g, scale) })));
          // the host reads the loss, the norm and the statistics once per minibatch, as learn() does
          const read = tf.stack([value, norm, ...stats]).dataSync();
          tf.dispose(stats);
          valueLossSum += read[3]!;
          if (!Number.isFinite(read[0]!)) throw new Error(`tfjs PPO loss is ${read[0]}`);
        });
      }
    }
    return valueLossSum / (EPOCHS * MINIBATCHES);
  };
}

/** tfjs with its WebAssembly backend, one thread, the .wasm read from node_modules (offline). */
async function initTfjsWasm(): Promise<void> {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(dist + path.sep);
  setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
  await tf.ready();
  if (tf.getBackend() !== 'wasm') throw new Error(`tfjs: backend is ${tf.getBackend()}, expected wasm`);
}

/** Fisher-Yates with the given uniform [0, 1) source. */
function shuffle(out: Int32Array, uniform: () => number): void {
  for (let i = 0; i < out.length; i++) out[i] = i;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
}

/** [out, in] of a Linear weight, or [out] of its bias, from the parameter name. */
function shapeOf(name: string): [number, number] {
  const table: Record<string, [number, number]> = {
    'actorTrunk.layers.0': [HIDDEN, OBS],
    'actorTrunk.layers.1': [HIDDEN, HIDDEN],
    'criticTrunk.layers.0': [HIDDEN, OBS],
    'criticTrunk.layers.1': [HIDDEN, HIDDEN],
    'policyHead.linear': [ACTIONS, HIDDEN],
    'valueHead.linear': [1, HIDDEN],
  };
  const shape = table[name.replace(/\.(weight|bias)$/, '')];
  if (!shape) throw new Error(`ppo_step: unexpected parameter ${name}`);
  return shape;
}

// ---- PyTorch -------------------------------------------------------------------------------

const PYTHON = '/usr/bin/python3';
const PEER_SCRIPT = fileURLToPath(new URL('./peers/ppo_step.py', import.meta.url));

/**
 * bench/peers/ppo_step.py --serve as a child process: it receives the weights and the rollout,
 * runs one update (its value loss is the check), warms up, then times samples on request
 * (protocol in the script). start() gives null, with a printed reason, when PyTorch is not
 * importable by /usr/bin/python3.
 */
class PytorchPeer {
  /** The mean value loss of the child's first update (from the initial weights). */
  firstValueLoss = NaN;
  /** Seconds per update during the warmup. */
  secondsPerUpdate = NaN;
  private buffered = '';
  private pending?: { resolve: (line: string) => void; reject: (error: Error) => void };
  private stderr = '';
  private exited = false;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.buffered += chunk;
      const newline = this.buffered.indexOf('\n');
      if (newline < 0) return;
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(line);
    });
    child.stderr.on('data', (chunk: string) => (this.stderr += chunk));
    child.on('close', () => {
      this.exited = true;
      this.pending?.reject(this.failure());
    });
  }

  static async start(weights: StateDict, batch: PpoBatch, warmupMs: number): Promise<PytorchPeer | null> {
    const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    const probe = spawnSync(PYTHON, ['-c', 'import torch'], { env, encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      const why = probe.error?.message ?? probe.stderr.trim().split('\n').pop();
      console.error(`ppo_step: skipping the PyTorch peer: \`${PYTHON} -c 'import torch'\` failed (${why})`);
      return null;
    }
    const peer = new PytorchPeer(spawn(PYTHON, [PEER_SCRIPT, '--serve'], { env }));
    const spec = {
      config: { ...CONFIG, rows: ROWS, minibatchSize: MB, observationSize: OBS, actionCount: ACTIONS, hidden: HIDDEN },
      weights: Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, Array.from(w)])),
      batch: Object.fromEntries(Object.entries(batch).map(([k, a]) => [k, Array.from(a as Float32Array)])),
      warmupMs,
    };
    const ready = JSON.parse(await peer.request(JSON.stringify(spec))) as { first_update_value_loss: number; warmup_s_per_update: number };
    peer.firstValueLoss = ready.first_update_value_loss;
    peer.secondsPerUpdate = ready.warmup_s_per_update;
    return peer;
  }

  /** Seconds per update over `updates` updates, timed inside the child. */
  async sample(updates: number): Promise<WallAndCpu> {
    const reply = JSON.parse(await this.request(String(updates))) as { wall_s: number; cpu_s: number };
    return { wall: reply.wall_s, cpu: reply.cpu_s };
  }

  /** Asks the child to exit. */
  close(): void {
    if (!this.exited) this.child.stdin.end('0\n');
  }

  /** Sends one line; resolves with the next line the child prints (one request at a time). */
  private request(line: string): Promise<string> {
    if (this.exited) return Promise.reject(this.failure());
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.stdin.write(line + '\n');
    });
  }

  private failure(): Error {
    return new Error(`ppo_step: ${PEER_SCRIPT} exited (status ${this.child.exitCode}):\n${this.stderr}`);
  }
}
