// Elementwise transcendentals: exp, tanh and GELU (tanh form) on 1M f32 elements, NovaRL's core
// (the deterministic f32x4 functions of assembly/math/det.ts) against tfjs (wasm backend, this
// process, one thread) and PyTorch eager on one thread (a child process, bench/peers/elementwise.py).
//
// Every library computes out of place: NovaRL pays x.exp() through the SDK plus core.endStep()
// (which releases the scratch output), tfjs pays tf.exp(x) plus dispose(), PyTorch torch.exp(x)
// and its tensor's release. tfjs has no GELU op: its row is the formula composed from tfjs ops
// (what a tfjs user writes, several passes over memory). `raw` notes the core's export called
// directly.
//
// Figures: GB/s = (4 bytes read + 4 written) per element / seconds; ns per element; ratio =
// peer seconds / NovaRL seconds (above 1: NovaRL is faster), by the wall clock and by CPU time
// (cpu_ratio, steadier on a shared machine). The sums sum(x * y) of the outputs (x * y >= 0 for
// all three, so nothing cancels) are compared across the libraries as a check that they compute
// the same function.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { init, Tensor, type Core } from '../sdk/index';
import { round, timingFor, type BenchOptions, type BenchRow, type TimingOptions } from './util';
import { initTfjsWasm } from './tfjs_wasm';

const N = 1 << 20;
const BYTES_PER_ELEMENT = 8;
const FUNCTIONS = ['exp', 'tanh', 'gelu'] as const;
type Fn = (typeof FUNCTIONS)[number];

/** x[i] = -5 + 10 frac(i * golden ratio), in f64 then rounded to f32 (the Python peer builds the same). */
function inputs(): Float32Array {
  const x = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const t = i * 0.6180339887498949;
    x[i] = -5 + 10 * (t - Math.floor(t));
  }
  return x;
}

interface WallAndCpu {
  wall: number;
  cpu: number;
}

/** Median seconds per call by the wall clock and by process CPU time; lanes sampled in turn. */
function measure(fns: Record<string, () => void>, timing: Required<TimingOptions>): Record<string, WallAndCpu> {
  const names = Object.keys(fns);
  const calls: Record<string, number> = {};
  for (const name of names) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < timing.warmupMs || n < 3) {
      fns[name]!();
      n++;
    }
    calls[name] = Math.max(1, Math.ceil(timing.sampleMs / ((performance.now() - start) / n)));
  }
  const samples: Record<string, WallAndCpu[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let s = 0; s < timing.samples; s++) {
    for (const name of names) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < calls[name]!; i++) fns[name]!();
      const wall = (performance.now() - t0) / 1000 / calls[name]!;
      const c = process.cpuUsage(c0);
      samples[name]!.push({ wall, cpu: (c.user + c.system) / 1e6 / calls[name]! });
    }
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return Object.fromEntries(names.map((n) => [n, { wall: median(samples[n]!.map((s) => s.wall)), cpu: median(samples[n]!.map((s) => s.cpu)) }]));
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU (tanh form) composed from tfjs ops: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
function tfGelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(SQRT_2_OVER_PI, tf.add(x, tf.mul(0.044715, tf.mul(x, tf.mul(x, x)))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  });
}

const PYTHON = '/usr/bin/python3';
const PEER_SCRIPT = fileURLToPath(new URL('./peers/elementwise.py', import.meta.url));

type PeerResult = Record<Fn, { wall_s: number; cpu_s: number; sum: number }>;

/** The PyTorch peer's medians, or null (with a printed reason) when torch is not importable. */
function runPytorch(timing: Required<TimingOptions>): PeerResult | null {
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { env, encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split('\n').pop();
    console.error(`elementwise: skipping the PyTorch peer: \`${PYTHON} -c 'import torch'\` failed (${why})`);
    return null;
  }
  const run = spawnSync(PYTHON, [PEER_SCRIPT, String(timing.sampleMs), String(timing.samples), String(timing.warmupMs)], { env, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`elementwise: ${PEER_SCRIPT} failed (status ${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as PeerResult;
}

/** The peers must compute the same function: sum(x * y) over 1M outputs agrees to 1e-5 relative. */
function checkSameWork(fn: Fn, peer: string, novarlSum: number, peerSum: number): void {
  if (!(Math.abs(peerSum - novarlSum) <= 1e-5 * Math.max(1, Math.abs(novarlSum)))) {
    throw new Error(`elementwise: ${peer} ${fn} does not compute the same values: sum ${peerSum} vs NovaRL ${novarlSum}`);
  }
}

/** sum(x * y) in f64. */
function weightedSum(x: Float32Array, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

export async function benchElementwise(options: BenchOptions): Promise<BenchRow[]> {
  const timing = timingFor(options);
  const core: Core = await init({ simd: true });
  await initTfjsWasm();
  console.error(`elementwise: NovaRL SIMD core vs tfjs-backend-wasm ${version_wasm} (1 thread) and PyTorch eager (1 thread), ${N} f32 elements`);
  const data = inputs();
  const x = Tensor.from(data, [N], { persistent: true, core });
  const tx = tf.tensor1d(data);
  const apply: Record<Fn, (t: Tensor) => Tensor> = { exp: (t) => t.exp(), tanh: (t) => t.tanh(), gelu: (t) => t.gelu() };
  const raw: Record<Fn, (id: number) => number> = { exp: core.exports.opExp, tanh: core.exports.opTanh, gelu: core.exports.opGelu };
  const tfApply: Record<Fn, (t: tf.Tensor) => tf.Tensor> = { exp: (t) => tf.exp(t), tanh: (t) => tf.tanh(t), gelu: tfGelu };

  const lanes: Record<string, () => void> = {};
  const sums: Record<string, number> = {};
  for (const fn of FUNCTIONS) {
    lanes[`novarl ${fn}`] = () => {
      apply[fn](x);
      core.endStep();
    };
    lanes[`raw ${fn}`] = () => {
      raw[fn](x.id);
      core.endStep();
    };
    lanes[`tfjs ${fn}`] = () => tfApply[fn](tx).dispose();
    sums[`novarl ${fn}`] = weightedSum(data, apply[fn](x).toArray());
    core.endStep();
    const out = tfApply[fn](tx);
    sums[`tfjs ${fn}`] = weightedSum(data, out.dataSync());
    out.dispose();
    checkSameWork(fn, 'tfjs-wasm', sums[`novarl ${fn}`]!, sums[`tfjs ${fn}`]!);
  }
  const times = measure(lanes, timing);
  const torch = runPytorch(timing);
  x.free();
  tx.dispose();

  const rows: BenchRow[] = [];
  const gbps = (seconds: number) => (N * BYTES_PER_ELEMENT) / seconds / 1e9;
  const nsPerElement = (seconds: number) => (seconds / N) * 1e9;
  for (const fn of FUNCTIONS) {
    const novarl = times[`novarl ${fn}`]!;
    const peers: [string, WallAndCpu][] = [['tfjs-wasm', times[`tfjs ${fn}`]!]];
    if (torch) {
      checkSameWork(fn, 'pytorch', sums[`novarl ${fn}`]!, torch[fn].sum);
      peers.push(['pytorch-eager-1t', { wall: torch[fn].wall_s, cpu: torch[fn].cpu_s }]);
    }
    for (const [peer, t] of peers) {
      rows.push({
        bench: 'elementwise',
        size: `${fn} 1M${fn === 'gelu' && peer === 'tfjs-wasm' ? ' (tfjs composed)' : ''}`,
        unit: 'GB/s',
        novarl_gflops: round(gbps(novarl.wall)),
        peer,
        peer_gflops: round(gbps(t.wall)),
        ratio: round(t.wall / novarl.wall, 3),
        notes: {
          novarl_ns_per_elem: round(nsPerElement(novarl.wall), 3),
          peer_ns_per_elem: round(nsPerElement(t.wall), 3),
          novarl_raw_ns_per_elem: round(nsPerElement(times[`raw ${fn}`]!.wall), 3),
          cpu_ratio: round(t.cpu / novarl.cpu, 3),
        },
      });
    }
  }
  return rows;
}
