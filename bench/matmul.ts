// Matmul: the NovaRL core against @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD, one thread), in
// this process, on the same data. The NovaRL figure is what a user pays: Tensor.matmul through
// the SDK (shape checks, the call into the core, the scratch output) plus core.endStep() to
// release it; tfjs pays tf.matMul plus dispose(). `raw` notes the core's export called directly
// (no Tensor wrapper, no host-side checks).
//
// Sizes are M x K x N: op(A) is (M, K), op(B) is (K, N), with any batch dims in front of both
// ("8x4 batch" is (8, 4, ...) x (8, 4, ...)); GFLOP/s = 2 batch M K N / seconds.
//
// The ceiling: the same run measures peakMulAdd (assembly/peak.ts), the gemm microkernel's
// f32x4 multiplies and adds on operands that stay in L1, with no packing or stores: the most
// this core retires without fused multiply-add. Its samples are taken in the same rounds as
// the matmuls', and the best over all rounds is the ceiling; pct_ceiling = GFLOP/s / ceiling.
//
// Timing: every function is sampled in interleaved rounds and the fastest sample counts
// (bench/util.ts bestSeconds): on a shared machine, load from others only slows samples down.
// The main figures are wall clock; the cpu_ notes are the same by this process's CPU time
// (everything here runs on one thread), which stays steadier when the machine is busy.

import * as tf from '@tensorflow/tfjs-core';
import { init, Tensor, type Core } from '../sdk/index';
import { bestSeconds, gflops, randomMatrix, round, timingFor, type BenchOptions, type BenchRow } from './util';
import { initTfjsWasm } from './tfjs_wasm';

interface MatmulCase {
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
  /** Leading batch dims of both operands, e.g. [8, 4] for (B, H, ...); none when absent. */
  batch?: number[];
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
  // the transposed variants at the square sizes of the plain ones
  { m: 256, k: 256, n: 256, transA: true, what: 'square, A transposed' },
  { m: 256, k: 256, n: 256, transB: true, what: 'square, B transposed' },
  { m: 256, k: 256, n: 256, transA: true, transB: true, what: 'square, both transposed' },
  { m: 512, k: 512, n: 512, transA: true, what: 'square, A transposed' },
  { m: 512, k: 512, n: 512, transB: true, what: 'square, B transposed' },
  { m: 512, k: 512, n: 512, transA: true, transB: true, what: 'square, both transposed' },
  // attention at (B 8, H 4, T 128, D 32): every product of its forward and backward
  { m: 128, k: 32, n: 128, transB: true, batch: [8, 4], what: 'attention scores Q K^T; backward dP = dO V^T' },
  { m: 128, k: 128, n: 32, batch: [8, 4], what: 'attention output P V; backward dQ = dS K' },
  { m: 128, k: 128, n: 32, transA: true, batch: [8, 4], what: 'attention backward dV = P^T dO, dK = dS^T Q' },
];

function label(c: MatmulCase): string {
  const batch = c.batch === undefined ? '' : `${c.batch.join('x')} batch `;
  return `${batch}${c.m}x${c.k}x${c.n}${c.transA ? ' tA' : ''}${c.transB ? ' tB' : ''}`;
}

/** Steps of peakMulAdd per call: 8 MFLOP, a fraction of a millisecond. */
const PEAK_STEPS = 100_000;
const PEAK_FLOPS_PER_STEP = 80;

export async function benchMatmul(options: BenchOptions): Promise<BenchRow[]> {
  // many short samples: the best of them is what counts (see Timing above)
  const timing = options.quick ? timingFor(options) : { ...timingFor(options), sampleMs: 8, samples: 25 };
  const core: Core = await init({ simd: true });
  const peerBuild = await initTfjsWasm();
  // context for the reader; stderr, so that --json output stays one object per line
  console.error(`matmul: NovaRL SIMD core vs ${peerBuild}; sizes M x K x N`);
  type Seconds = Record<'sdk' | 'raw' | 'peer' | 'ceiling', number>;
  const measured: { c: MatmulCase; flops: number; wall: Seconds; cpu: Seconds }[] = [];
  let ceilingWall = Infinity, ceilingCpu = Infinity;
  for (const c of CASES) {
    // stored shapes: A is (..., M, K) or, transposed, (..., K, M); B is (..., K, N) or (..., N, K)
    const batch = c.batch ?? [];
    const count = batch.reduce((x, y) => x * y, 1);
    const shapeA = [...batch, ...(c.transA ? [c.k, c.m] : [c.m, c.k])];
    const shapeB = [...batch, ...(c.transB ? [c.n, c.k] : [c.k, c.n])];
    const dataA = randomMatrix(count * c.m * c.k, 1);
    const dataB = randomMatrix(count * c.k * c.n, 2);
    const flops = 2 * count * c.m * c.k * c.n;
    const matmulOptions = { transA: c.transA ?? false, transB: c.transB ?? false };

    const a = Tensor.from(dataA, shapeA, { persistent: true, core });
    const b = Tensor.from(dataB, shapeB, { persistent: true, core });
    const tA = tf.tensor(dataA, shapeA);
    const tB = tf.tensor(dataB, shapeB);
    const ta = c.transA ? 1 : 0, tb = c.transB ? 1 : 0;
    const { wall, cpu } = bestSeconds({
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
      ceiling: () => {
        core.exports.peakMulAdd(PEAK_STEPS);
      },
    }, timing);
    a.free();
    b.free();
    tA.dispose();
    tB.dispose();
    ceilingWall = Math.min(ceilingWall, wall.ceiling);
    ceilingCpu = Math.min(ceilingCpu, cpu.ceiling);
    measured.push({ c, flops, wall, cpu });
  }

  const ceiling = gflops(PEAK_STEPS * PEAK_FLOPS_PER_STEP, ceilingWall);
  const cpuCeiling = gflops(PEAK_STEPS * PEAK_FLOPS_PER_STEP, ceilingCpu);
  console.error(`matmul: no-FMA ceiling (f32x4 mul + add on L1-resident operands, best round) ${round(ceiling, 1)} GFLOP/s wall, ${round(cpuCeiling, 1)} by CPU time`);
  return measured.map(({ c, flops, wall, cpu }) => {
    const novarl = gflops(flops, wall.sdk);
    const raw = gflops(flops, wall.raw);
    const peer = gflops(flops, wall.peer);
    const cpuNovarl = gflops(flops, cpu.sdk);
    const cpuPeer = gflops(flops, cpu.peer);
    return {
      bench: 'matmul',
      size: label(c),
      novarl_gflops: round(novarl),
      peer: 'tfjs-wasm',
      peer_gflops: round(peer),
      ratio: round(novarl / peer, 3),
      notes: {
        novarl_raw_gflops: round(raw),
        ceiling_gflops: round(ceiling),
        pct_ceiling: round((100 * novarl) / ceiling, 1),
        cpu_gflops: round(cpuNovarl),
        cpu_peer_gflops: round(cpuPeer),
        cpu_ratio: round(cpuNovarl / cpuPeer, 3),
        cpu_ceiling_gflops: round(cpuCeiling),
        cpu_pct_ceiling: round((100 * cpuNovarl) / cpuCeiling, 1),
      },
    };
  });
}
