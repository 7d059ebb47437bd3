// GpuDispatcher in Node. Without headless-gl, gpu.js runs kernels in its WebAssembly mode, so
// here: auto must pick the WASM core (and never time anything), forcing 'gpu' must fail with a
// typed error, and the kernels themselves are checked by running them in gpu.js's webasm mode
// (allowFallbackBackend). The real GPU path (WebGL2) is tested in tests/gpu_browser.test.ts.

import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor, noGrad, NovaRLError, ShapeError, StaleTensorError, type Core } from '../sdk/index';
import {
  GpuDispatcher,
  GpuGradError,
  GpuUnavailableError,
  UNARY_OPS,
  fitTransfer,
  minGpuWork,
  loadGpuJs,
  predict,
  requiresGrad,
  type Calibration,
  type GpuJsModule,
} from '../kernels/index';
import { expectBitwiseEqual, loadCores, randomData } from './util';
import { dotBound, expectWithin, matmulRef, softmaxRef, sumLastRef, unaryBound, type MatmulCase } from './gpu_reference';

let core: Core;
let gpujs: GpuJsModule | null;

beforeAll(async () => {
  core = (await loadCores()).simd;
  gpujs = await loadGpuJs();
});

function tensor(shape: number[], seed: number, lo = -1, hi = 1, requiresGrad = false): { t: Tensor; data: Float64Array } {
  const data = randomData(shape.reduce((p, d) => p * d, 1), seed, lo, hi);
  return { t: Tensor.from(data, shape, { core, persistent: requiresGrad, requiresGrad }), data };
}

const MATMUL_CASES: MatmulCase[] = [
  { shapeA: [5, 3], shapeB: [3, 7] },
  { shapeA: [33, 17], shapeB: [17, 29] },
  { shapeA: [33, 17], shapeB: [29, 17], transB: true },
  { shapeA: [17, 33], shapeB: [17, 29], transA: true },
  { shapeA: [17, 33], shapeB: [29, 17], transA: true, transB: true },
  { shapeA: [3, 9, 6], shapeB: [3, 6, 11] },
  { shapeA: [3, 9, 6], shapeB: [6, 11] },
  { shapeA: [2, 6, 9], shapeB: [2, 11, 6], transA: true, transB: true },
];

describe('without gpu.js', () => {
  it("auto runs every op on the core and gives the core's exact bits", async () => {
    const d = await GpuDispatcher.create({ core, gpujs: null });
    expect(d.backend.name).toBe('none');
    expect(d.mayUseGpu).toBe(false);
    const a = tensor([16, 8], 1).t, b = tensor([8, 12], 2).t;
    expectBitwiseEqual(d.matmul(a, b).toArray(), a.matmul(b).toArray(), 'matmul');
    expect(d.lastChoice).toMatchObject({ op: 'matmul', device: 'wasm', reason: 'no-gpu' });
    for (const op of UNARY_OPS) expectBitwiseEqual(d.unary(a, op).toArray(), a[op]().toArray(), op);
    expectBitwiseEqual(d.sumLast(a).toArray(), a.sum(-1).toArray(), 'sumLast');
    expectBitwiseEqual(d.softmax(a).toArray(), a.softmax(-1).toArray(), 'softmax');
    expect(d.counts).toEqual({ wasm: 7, gpu: 0 });
    expect(d.calibration()).toBeNull(); // nothing was timed
    expect(d.matmulCrossover()).toBeNull();
  });

  it("device 'gpu' throws GpuUnavailableError", async () => {
    const error = await GpuDispatcher.create({ core, gpujs: null, device: 'gpu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuUnavailableError);
    expect(error).toBeInstanceOf(NovaRLError);
    expect((error as GpuUnavailableError).backend).toBe('none');
    expect((error as Error).message).toMatch(/gpu\.js is not installed/);
  });

  it("device 'wasm' never loads gpu.js, and a per-call 'gpu' on it throws", async () => {
    let loaded = false;
    const spy = new Proxy({} as GpuJsModule, { get: () => ((loaded = true), undefined) });
    const d = await GpuDispatcher.create({ core, gpujs: spy, device: 'wasm' });
    const a = tensor([4, 4], 3).t;
    expectBitwiseEqual(d.matmul(a, a).toArray(), a.matmul(a).toArray(), 'matmul');
    expect(loaded).toBe(false);
    expect(() => d.matmul(a, a, { device: 'gpu' })).toThrow(GpuUnavailableError);
  });
});

describe('with gpu.js in Node', () => {
  it('finds the real backend (webasm without headless-gl), and auto keeps to the core', async (ctx) => {
    if (!gpujs) return ctx.skip('gpu.js is not installed');
    const d = await GpuDispatcher.create({ core, gpujs });
    if (d.backend.gl) return ctx.skip(`headless-gl is present (${d.backend.name}): see scripts/gpu-node.sh`);
    // gpu.js says "gpu is supported" here, and its WebAssembly kernel is what would run.
    expect((gpujs as unknown as { GPU: { isGPUSupported: boolean } }).GPU.isGPUSupported).toBe(true);
    expect(['webasm', 'cpu']).toContain(d.backend.name);
    expect(d.mayUseGpu).toBe(false); // results stay bit-identical to the core's
    const a = tensor([256, 256], 4).t;
    expectBitwiseEqual(d.matmul(a, a).toArray(), a.matmul(a).toArray(), 'matmul');
    expect(d.lastChoice).toMatchObject({ device: 'wasm', reason: 'no-gpu' });
    expectBitwiseEqual(d.unary(a, 'gelu').toArray(), a.gelu().toArray(), 'gelu');
    expectBitwiseEqual(d.softmax(a).toArray(), a.softmax().toArray(), 'softmax');
    expect(d.counts.gpu).toBe(0);
    expect(d.calibration()).toBeNull(); // no calibration ran: no time was spent on gpu.js
    d.destroy();
  });

  it("device 'gpu' without headless-gl throws GpuUnavailableError naming the backend", async (ctx) => {
    if (!gpujs) return ctx.skip('gpu.js is not installed');
    const error = await GpuDispatcher.create({ core, gpujs, device: 'gpu' }).catch((e: unknown) => e);
    if (!(error instanceof Error)) return ctx.skip('headless-gl is present: forcing gpu works here');
    expect(error).toBeInstanceOf(GpuUnavailableError);
    expect((error as GpuUnavailableError).backend).toBe('webasm');
    expect(error.message).toMatch(/webasm mode, not on a GPU/);
    expect(error.message).toMatch(/docs\/gpu\.md/);
  });
});

describe("the kernels in Node: on headless-gl where it is built (scripts/gpu-node.sh), else in gpu.js's webasm mode", () => {
  let d: GpuDispatcher;
  let onGl = false;
  const warnings: string[] = [];
  beforeAll(async () => {
    if (!gpujs) return;
    const probe = await GpuDispatcher.create({ core, gpujs });
    onGl = probe.backend.gl;
    probe.destroy();
    // Without GL, allowFallbackBackend lets device 'gpu' run the same kernel sources in webasm mode.
    d = await GpuDispatcher.create({ core, gpujs, device: 'gpu', allowFallbackBackend: !onGl, warn: (m) => warnings.push(m) });
  });

  it.runIf(process.env.NOVARL_EXPECT_HEADLESS_GL === '1')('runs on headless-gl (NOVARL_EXPECT_HEADLESS_GL=1, set by scripts/gpu-node.sh)', () => {
    console.log(`Node GPU backend: ${d.backend.detail}`);
    expect(d.backend.name).toBe('headlessgl');
  });

  it('matmul, all four transpose cases, batched and shared, match float64', (ctx) => {
    if (!gpujs) return ctx.skip('gpu.js is not installed');
    MATMUL_CASES.forEach((c, i) => {
      const a = tensor(c.shapeA, 10 + i), b = tensor(c.shapeB, 20 + i);
      const out = d.matmul(a.t, b.t, { transA: c.transA, transB: c.transB });
      const ref = matmulRef(a.data, b.data, c);
      expect(out.shape).toEqual(ref.shape);
      const label = `matmul ${c.shapeA} x ${c.shapeB}${c.transA ? ' transA' : ''}${c.transB ? ' transB' : ''}`;
      expectWithin(out.toArray(), ref.value, (j) => dotBound(ref.k, ref.magnitude[j]!), label);
    });
    expect(d.lastChoice).toMatchObject({ device: 'gpu', reason: 'forced' });
    if (onGl) {
      expect(warnings).toEqual([]);
    } else {
      expect(warnings).toHaveLength(1); // warned once that this is no GPU
      expect(warnings[0]).toMatch(/webasm mode, which is no GPU/);
    }
  });

  it('exp, tanh, sigmoid, gelu, sum and softmax over the last axis match float64', (ctx) => {
    if (!gpujs) return ctx.skip('gpu.js is not installed');
    const { t, data } = tensor([37, 129], 30, -4, 4);
    for (const op of UNARY_OPS) {
      const ref = data.map((x) => ({ exp: Math.exp, tanh: Math.tanh, sigmoid: (v: number) => 1 / (1 + Math.exp(-v)), gelu: (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))) })[op](x));
      expectWithin(d.unary(t, op).toArray(), ref, (i) => unaryBound(op, data[i]!, ref[i]!), op);
    }
    const sums = sumLastRef(data, 129);
    expectWithin(d.sumLast(t).toArray(), sums.value, (r) => dotBound(129, sums.magnitude[r]!), 'sumLast');
    const soft = softmaxRef(data, 129);
    expectWithin(d.softmax(t).toArray(), soft.value, (i) => soft.relBound[i]! * soft.value[i]!, 'softmax');
    expect(d.sumLast(Tensor.from([1, 2, 3], [3], { core })).shape).toEqual([]);
  });

  it('refuses operands that record gradients (GPU results have no backward), unless under noGrad', (ctx) => {
    if (!gpujs) return ctx.skip('gpu.js is not installed');
    const w = tensor([8, 4], 40, -1, 1, true).t;
    const x = tensor([3, 8], 41).t;
    expect(() => d.matmul(x, w)).toThrow(GpuGradError);
    expect(() => d.matmul(x, w)).toThrow(/noGrad/);
    const out = noGrad(() => d.matmul(x, w), core);
    expect(requiresGrad(out)).toBe(false);
    w.free();
  });

  it("bad shapes and stale tensors give the core's typed errors", (ctx) => {
    if (!gpujs) return ctx.skip('gpu.js is not installed');
    const a = tensor([3, 4], 50).t;
    expect(() => d.matmul(a, a)).toThrow(ShapeError);
    expect(() => d.softmax(Tensor.scalar(1, { core }))).toThrow(ShapeError);
    core.endStep();
    expect(() => d.matmul(a, a, { transB: true })).toThrow(StaleTensorError);
  });
});

describe('requiresGrad', () => {
  it("reads the core's flags: leaves, results of tracked ops, and noGrad", () => {
    const w = tensor([2, 2], 60, -1, 1, true).t;
    const x = tensor([2, 2], 61).t;
    expect(requiresGrad(w)).toBe(true);
    expect(requiresGrad(x)).toBe(false);
    expect(requiresGrad(x.matmul(w))).toBe(true);
    expect(requiresGrad(noGrad(() => x.matmul(w), core))).toBe(false);
    w.free();
  });
});

describe('auto on a GL backend (gpu.js webasm kernels classed as WebGL2 to reach the cost model)', () => {
  // A stand-in: the same gpu.js, with its WebAssembly kernel class listed as WebGL2Kernel, so
  // the dispatcher believes it has a GL backend. The kernels really run (in webasm mode) and
  // the calibration really times them against the core.
  const asGl = (): GpuJsModule => ({ ...gpujs!, WebGL2Kernel: gpujs!.WebAssemblyKernel, WebAssemblyKernel: undefined });
  // Under scripts/gpu-node.sh gpu.js has a real GL backend (headless-gl), which the stand-in
  // cannot hide; the real backend is tested there instead.
  const REAL_GL = process.env['NOVARL_EXPECT_HEADLESS_GL'] === '1';

  it('calibrates on first use, and picks the core when the "GPU" is slower', async (ctx) => {
    if (!gpujs) return ctx.skip('gpu.js is not installed');
    if (REAL_GL) return ctx.skip('headless-gl is present: the stand-in GL backend is not needed');
    const d = await GpuDispatcher.create({ core, gpujs: asGl() });
    expect(d.backend).toMatchObject({ name: 'webgl2', gl: true });
    expect(d.mayUseGpu).toBe(true);
    const a = tensor([64, 64], 70).t;
    expectBitwiseEqual(d.matmul(a, a).toArray(), a.matmul(a).toArray(), 'matmul');
    const choice = d.lastChoice!;
    expect(choice).toMatchObject({ device: 'wasm', reason: 'cost' });
    expect(choice.predictedGpuMs).toBeGreaterThan(choice.predictedWasmMs!);
    const calibration = d.calibration()!;
    expect(calibration.backend).toBe('webgl2');
    expect(calibration.ops.matmul!.length).toBeGreaterThanOrEqual(1);
    expect(calibration.ops.matmul![0]!.label).toBe('128x128');
    d.destroy();
  });

  it('follows a saved calibration: big products to the GPU, small ones and gradients to the core', async (ctx) => {
    if (!gpujs) return ctx.skip('gpu.js is not installed');
    if (REAL_GL) return ctx.skip('headless-gl is present: the stand-in GL backend is not needed');
    // A made-up GPU 100x faster than the core on compute, with 1 ms per call and 1 ns per float.
    const point = (n: number) => ({ label: `${n}x${n}`, work: 2 * n ** 3, floats: 3 * n * n, calls: 1, wasmMs: (2 * n ** 3) / 1e7, gpuMs: 1 + 3e-6 * n * n + (2 * n ** 3) / 1e9 });
    const calibration: Calibration = { backend: 'webgl2', transfer: { callMs: 1, msPerFloat: 1e-6 }, ops: { matmul: [point(128), point(256), point(512)] } };
    const d = await GpuDispatcher.create({ core, gpujs: asGl(), calibration });
    const small = tensor([16, 16], 80);
    d.matmul(small.t, small.t);
    expect(d.lastChoice).toMatchObject({ device: 'wasm', reason: 'cost' });
    const big = tensor([320, 320], 81);
    const out = d.matmul(big.t, big.t);
    expect(d.lastChoice).toMatchObject({ device: 'gpu', reason: 'cost' });
    const ref = matmulRef(big.data, big.data, { shapeA: [320, 320], shapeB: [320, 320] });
    expectWithin(out.toArray(), ref.value, (i) => dotBound(320, ref.magnitude[i]!), 'auto matmul on the "GPU"');
    const w = tensor([320, 320], 82, -1, 1, true).t;
    d.matmul(big.t, w);
    expect(d.lastChoice).toMatchObject({ device: 'wasm', reason: 'grad' });
    // At 128 one call's 1 ms exceeds WASM's 0.42 ms; at 256 the GPU's 1.32 ms beats WASM's 3.4 ms by more than 1.25x.
    expect(d.matmulCrossover()).toBe(256);
    w.free();
    d.destroy();
  });
});

describe('cost model', () => {
  it('fitTransfer recovers a call cost and a per-float cost', () => {
    const t = fitTransfer({ floats: 1000, ms: 0.5 + 1000 * 2e-6 }, { floats: 100000, ms: 0.5 + 100000 * 2e-6 });
    expect(t.callMs).toBeCloseTo(0.5, 12); // exact arithmetic up to float64 rounding
    expect(t.msPerFloat).toBeCloseTo(2e-6, 15);
  });

  it('counts transfers: as many flops in a thin product, which moves far more data, stays on WASM', () => {
    // 512^3: WASM 20 ms; GPU 4 ms, of which 0.2 + 786432 * 4e-6 = 3.35 ms are transfers.
    const point = { label: '512', work: 2 * 512 ** 3, floats: 3 * 512 * 512, calls: 1, wasmMs: 20, gpuMs: 4 };
    const calibration: Calibration = { backend: 'webgl2', transfer: { callMs: 0.2, msPerFloat: 4e-6 }, ops: { matmul: [point] } };
    const square = predict(calibration, [point], { work: point.work, floats: point.floats, calls: 1 });
    expect(square.gpu).toBe(true);
    // (32768 x 64) x (64 x 64): the same 2^28 flops, but ~4.2M floats to move: 16.8 ms of transfers.
    const thin = predict(calibration, [point], { work: 2 * 32768 * 64 * 64, floats: 32768 * 64 * 2 + 64 * 64, calls: 1 });
    expect(thin.gpuMs).toBeGreaterThan(square.gpuMs + 3);
    expect(thin.gpu).toBe(false);
  });

  it('between calibration points it takes the faster WASM rate and the slower GPU rate', () => {
    const transfer = { callMs: 0, msPerFloat: 0 };
    const p1 = { label: 'a', work: 1e6, floats: 0, calls: 1, wasmMs: 1, gpuMs: 2 }; // wasm 1e6/ms, gpu 5e5/ms
    const p2 = { label: 'b', work: 1e8, floats: 0, calls: 1, wasmMs: 200, gpuMs: 10 }; // wasm 5e5/ms, gpu 1e7/ms
    const p = predict({ backend: 'webgl2', transfer, ops: {} }, [p1, p2], { work: 1e7, floats: 0, calls: 1 });
    expect(p.wasmMs).toBeCloseTo(10, 9); // 1e7 / 1e6
    expect(p.gpuMs).toBeCloseTo(20, 9); // 1e7 / 5e5
    expect(p.gpu).toBe(false);
  });

  it("minGpuWork's quick reject never contradicts predict", () => {
    const transfer = { callMs: 0.5, msPerFloat: 1e-6 };
    const points = [
      { label: 'a', work: 4e6, floats: 5e4, calls: 1, wasmMs: 0.4, gpuMs: 0.9 },
      { label: 'b', work: 3.2e7, floats: 2e5, calls: 1, wasmMs: 4, gpuMs: 1.2 },
    ];
    const calibration: Calibration = { backend: 'webgl2', transfer, ops: {} };
    const threshold = minGpuWork(calibration, points);
    expect(threshold).toBeGreaterThan(0);
    for (let work = threshold / 64; work < threshold; work *= 1.1) {
      // the fewest floats (the GPU's best case) at this work
      expect(predict(calibration, points, { work, floats: 0, calls: 1 }).gpu, `work ${work}`).toBe(false);
    }
    expect(predict(calibration, points, { work: 3.2e7, floats: 2e5, calls: 1 }).gpu).toBe(true);
  });
});
