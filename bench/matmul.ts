// Matmul: the NovaRL core against @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD, one thread), in
// this process, on the same data. The NovaRL figure is what a user pays: Tensor.matmul through
// the SDK (shape checks, the call into the core, the scratch output) plus core.endStep() to
// release it; tfjs pays tf.matMul plus dispose(). `raw` notes the core's export called directly
// (no Tensor wrapper, no host-side checks).
//
// Sizes are M x K x N: op(A) is (M, K), op(B) is (K, N); GFLOP/s = 2 M K N / seconds.

import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { init, Tensor, type Core } from '../sdk/index';
import { gflops, medianSeconds, randomMatrix, round, timingFor, type BenchOptions, type BenchRow } from './util';

interface MatmulCase {
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
  /** Why this shape is here. */
  what: string;
}

const CASES: MatmulCase[] = [
  { m: 64, k: 64, n: 64, what: 'square' },
  { m: 128, k: 128, n: 128, what: 'square' },
  { m: 256, k: 256, n: 256, what: 'square' },
  { m: 512, k: 512, n: 512, what: 'square' },
  { m: 512, k: 64, n: 64, what: 'MLP hidden layer, minibatch 512' },
  { m: 128, k: 64, n: 64, what: 'MLP hidden layer, minibatch 128' },
  { m: 512, k: 8, n: 64, what: 'MLP input layer (8 observations)' },
  { m: 512, k: 64, n: 2, what: 'policy head (2 actions)' },
  { m: 64, k: 512, n: 64, transA: true, what: 'weight gradient X^T dY' },
  { m: 512, k: 64, n: 64, transB: true, what: 'input gradient dY W^T' },
];

function label(c: MatmulCase): string {
  return `${c.m}x${c.k}x${c.n}${c.transA ? ' tA' : ''}${c.transB ? ' tB' : ''}`;
}

/**
 * tfjs with its WebAssembly backend, one thread, the .wasm read from node_modules (offline).
 * Returns a one-line description of what was loaded.
 */
async function initTfjsWasm(): Promise<string> {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(dist + path.sep);
  setThreadsCount(1); // tfjs runs one thread in Node anyway; this makes it explicit
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return `tfjs-backend-wasm ${version_wasm} (XNNPACK, ${simd ? 'SIMD' : 'no SIMD'}, ${getThreadsCount()} thread)`;
}

export async function benchMatmul(options: BenchOptions): Promise<BenchRow[]> {
  const timing = timingFor(options);
  const core: Core = await init({ simd: true });
  const peerBuild = await initTfjsWasm();
  // context for the reader; stderr, so that --json output stays one object per line
  console.error(`matmul: NovaRL SIMD core vs ${peerBuild}; sizes M x K x N`);
  const rows: BenchRow[] = [];
  for (const c of CASES) {
    // stored shapes: A is (M, K) or, transposed, (K, M); B is (K, N) or (N, K)
    const shapeA = c.transA ? [c.k, c.m] : [c.m, c.k];
    const shapeB = c.transB ? [c.n, c.k] : [c.k, c.n];
    const dataA = randomMatrix(c.m * c.k, 1);
    const dataB = randomMatrix(c.k * c.n, 2);
    const flops = 2 * c.m * c.k * c.n;
    const matmulOptions = { transA: c.transA ?? false, transB: c.transB ?? false };

    const a = Tensor.from(dataA, shapeA, { persistent: true, core });
    const b = Tensor.from(dataB, shapeB, { persistent: true, core });
    const tA = tf.tensor2d(dataA, shapeA as [number, number]);
    const tB = tf.tensor2d(dataB, shapeB as [number, number]);
    const ta = c.transA ? 1 : 0, tb = c.transB ? 1 : 0;
    const seconds = medianSeconds({
      sdk: () => {
        a.matmul(b, matmulOptions);
        core.endStep();
      },
      raw: () => {
        core.exports.opMatmul(a.id, b.id, ta, tb);
        core.endStep();
      },
      peer: () => {
        tf.matMul(tA, tB, c.transA, c.transB).dispose();
      },
    }, timing);
    a.free();
    b.free();
    tA.dispose();
    tB.dispose();

    const novarl = gflops(flops, seconds.sdk);
    const peer = gflops(flops, seconds.peer);
    rows.push({
      bench: 'matmul',
      size: label(c),
      novarl_gflops: round(novarl),
      peer: 'tfjs-wasm',
      peer_gflops: round(peer),
      ratio: round(novarl / peer, 3),
      notes: { novarl_raw_gflops: round(gflops(flops, seconds.raw)) },
    });
  }
  return rows;
}
