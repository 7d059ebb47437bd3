// The GPU path for real: the SDK and kernels bundled into a page in headless Chromium, where
// gpu.js runs its kernels as WebGL2 shaders (on SwiftShader, a software GPU, on machines
// without one). Results are checked against float64 references with bounds derived from
// GLSL ES 3.00 highp precision (tests/gpu_reference.ts); auto must pick the core on SwiftShader.
//
// Without Chromium the tests are skipped with a hint; with CI=true they fail instead.

import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { findChromium, openGpuPage, type GpuPage } from './gpu_harness';
import { dotBound, expectWithin, matmulRef, softmaxRef, sumLastRef, unaryBound, type GpuUnaryName, type MatmulCase } from './gpu_reference';
import { randomData } from './util';

type Novarl = typeof import('../sdk/index') & typeof import('../kernels/index');
type PageWindow = { novarl: Novarl; gpu: import('../kernels/index').GpuDispatcher };

const chromium = findChromium();
const HINT = 'no Chromium found ($CHROMIUM_PATH, else /usr/bin/chromium): apt-get install chromium';

let gp: GpuPage | undefined;

beforeAll(async () => {
  if (!chromium) {
    if (process.env.CI !== 'true') console.warn(`tests/gpu_browser.test.ts skipped: ${HINT}`);
    return;
  }
  gp = await openGpuPage(chromium);
  // One dispatcher forced onto the GPU for the correctness checks.
  await gp.page.evaluate(async () => {
    const w = window as unknown as PageWindow;
    w.gpu = await w.novarl.GpuDispatcher.create({ device: 'gpu' });
  });
}, 120_000);

afterAll(async () => {
  await gp?.close();
});

/** The page, or a skip (a failure under CI=true) when there is no Chromium. */
function page(ctx: TestContext) {
  if (!gp) {
    if (process.env.CI === 'true') expect.fail(`CI=true: ${HINT}`);
    ctx.skip(HINT);
  }
  return gp!.page;
}

/** Runs a matmul on the page's GPU dispatcher; returns the result's data. */
async function gpuMatmul(ctx: TestContext, a: Float64Array, b: Float64Array, c: MatmulCase): Promise<number[]> {
  return page(ctx).evaluate(
    ({ a, b, c }) => {
      const { novarl, gpu } = window as unknown as PageWindow;
      const out = gpu.matmul(novarl.Tensor.from(a, c.shapeA), novarl.Tensor.from(b, c.shapeB), { transA: c.transA, transB: c.transB });
      const data: number[] = Array.from(out.toArray());
      novarl.defaultCore().endStep();
      return data;
    },
    { a: Array.from(a), b: Array.from(b), c },
  );
}

describe('gpu.js in headless Chromium', () => {
  it("is WebGL2 underneath, though gpu.js's mode says 'gpu'", async (ctx) => {
    const info = await page(ctx).evaluate(async () => {
      const { novarl, gpu } = window as unknown as PageWindow;
      const gpujs = (await novarl.loadGpuJs())!;
      return { backend: gpu.backend, mode: new gpujs.GPU().mode };
    });
    console.log(`gpu.js mode '${info.mode}', backend ${info.backend.name}, renderer: ${info.backend.renderer}, max texture ${info.backend.maxTextureSize}`);
    expect(info.mode).toBe('gpu');
    expect(info.backend).toMatchObject({ name: 'webgl2', gl: true });
    expect(info.backend.renderer).toMatch(/SwiftShader/);
    expect(info.backend.software).toBe(true);
  });
});

describe('GPU kernels in Chromium (WebGL2) against float64', () => {
  const cases: MatmulCase[] = [
    { shapeA: [5, 3], shapeB: [3, 7] },
    { shapeA: [64, 48], shapeB: [48, 80] },
    { shapeA: [33, 17], shapeB: [29, 17], transB: true },
    { shapeA: [17, 33], shapeB: [17, 29], transA: true },
    { shapeA: [17, 33], shapeB: [29, 17], transA: true, transB: true },
    { shapeA: [3, 17, 9], shapeB: [3, 9, 11] },
    { shapeA: [3, 17, 9], shapeB: [9, 11] },
    { shapeA: [512, 512], shapeB: [512, 512] },
  ];

  it('matmul: all four transpose cases, batched, shared, and 512^3, within the f32 dot-product bound', async (ctx) => {
    page(ctx);
    const report: string[] = [];
    for (const [i, c] of cases.entries()) {
      const a = randomData(c.shapeA.reduce((p, d) => p * d, 1), 100 + i);
      const b = randomData(c.shapeB.reduce((p, d) => p * d, 1), 200 + i);
      const ref = matmulRef(a, b, c);
      const out = await gpuMatmul(ctx, a, b, c);
      const label = `${c.shapeA.join('x')} @ ${c.shapeB.join('x')}${c.transA ? ' transA' : ''}${c.transB ? ' transB' : ''}`;
      // |error| <= gamma_K sum |a b| (tests/gpu_reference.ts dotBound).
      const used = expectWithin(out, ref.value, (j) => dotBound(ref.k, ref.magnitude[j]!), label);
      let maxAbs = 0;
      for (let j = 0; j < out.length; j++) maxAbs = Math.max(maxAbs, Math.abs(out[j]! - ref.value[j]!));
      report.push(`  matmul ${label.padEnd(28)} max |err| ${maxAbs.toExponential(2)}  (${(100 * used).toFixed(1)}% of bound)`);
    }
    console.log(`Chromium WebGL2 matmul vs float64:\n${report.join('\n')}`);
  }, 120_000);

  it('exp, tanh, sigmoid, gelu, sum and softmax over the last axis, within the GLSL ES 3.00 bounds', async (ctx) => {
    const rows = 37, cols = 129;
    const x = randomData(rows * cols, 300, -4, 4);
    const out = await page(ctx).evaluate(
      ({ x, shape }) => {
        const { novarl, gpu } = window as unknown as PageWindow;
        const t = novarl.Tensor.from(x, shape);
        const result: Record<string, number[]> = {};
        for (const op of novarl.UNARY_OPS) result[op] = Array.from(gpu.unary(t, op).toArray());
        result.sumLast = Array.from(gpu.sumLast(t).toArray());
        result.softmax = Array.from(gpu.softmax(t).toArray());
        novarl.defaultCore().endStep();
        return result;
      },
      { x: Array.from(x), shape: [rows, cols] },
    );
    const f64: Record<GpuUnaryName, (v: number) => number> = {
      exp: Math.exp,
      tanh: Math.tanh,
      sigmoid: (v) => 1 / (1 + Math.exp(-v)),
      gelu: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    };
    const report: string[] = [];
    for (const op of Object.keys(f64) as GpuUnaryName[]) {
      const ref = x.map(f64[op]);
      const used = expectWithin(out[op]!, ref, (i) => unaryBound(op, x[i]!, ref[i]!), op);
      report.push(`  ${op.padEnd(8)} ${(100 * used).toFixed(1)}% of bound`);
    }
    const sums = sumLastRef(x, cols);
    report.push(`  sumLast  ${(100 * expectWithin(out.sumLast!, sums.value, (r) => dotBound(cols, sums.magnitude[r]!), 'sumLast')).toFixed(1)}% of bound`);
    const soft = softmaxRef(x, cols);
    report.push(`  softmax  ${(100 * expectWithin(out.softmax!, soft.value, (i) => soft.relBound[i]! * soft.value[i]!, 'softmax')).toFixed(1)}% of bound`);
    console.log(`Chromium WebGL2 elementwise and reductions on (${rows}, ${cols}), x in [-4, 4]:\n${report.join('\n')}`);
  }, 60_000);
});

describe('device auto in Chromium on SwiftShader', () => {
  it('calibrates, finds the software GPU far slower, and keeps every call on the core', async (ctx) => {
    const result = await page(ctx).evaluate(async () => {
      const { novarl } = window as unknown as PageWindow;
      const d = await novarl.GpuDispatcher.create({ device: 'auto' });
      const a = novarl.Tensor.from(Array.from({ length: 256 * 256 }, (_, i) => ((i * 37) % 101) / 50 - 1), [256, 256]);
      const t0 = performance.now();
      const auto = d.matmul(a, a);
      const firstCallMs = performance.now() - t0;
      const choice = d.lastChoice;
      const core = a.matmul(a).toArray();
      const same = auto.toArray().every((v, i) => Object.is(v, core[i]));
      d.softmax(a);
      const softmaxChoice = d.lastChoice;
      const crossover = d.matmulCrossover();
      const calibration = d.calibration();
      novarl.defaultCore().endStep();
      d.destroy();
      return { choice, softmaxChoice, same, firstCallMs, crossover, calibration, counts: d.counts };
    });
    console.log(
      `auto on SwiftShader: first matmul 256^3 took ${result.firstCallMs.toFixed(0)} ms (calibration included); chose ${result.choice!.device} (${result.choice!.reason}), ` +
        `predicted WASM ${result.choice!.predictedWasmMs!.toFixed(2)} ms vs GPU ${result.choice!.predictedGpuMs!.toFixed(1)} ms; crossover: ${result.crossover ?? 'none'}\n` +
        `calibration: ${JSON.stringify(result.calibration)}`,
    );
    expect(result.choice).toMatchObject({ device: 'wasm', reason: 'cost' });
    expect(result.choice!.predictedGpuMs).toBeGreaterThan(result.choice!.predictedWasmMs!);
    expect(result.softmaxChoice).toMatchObject({ device: 'wasm', reason: 'cost' });
    expect(result.same).toBe(true); // the core ran it: bit for bit the core's result
    expect(result.crossover).toBeNull();
    expect(result.counts).toEqual({ wasm: 2, gpu: 0 });
    expect(result.calibration!.backend).toBe('webgl2');
  }, 60_000);

  it("leaves calls that record gradients to the core; device 'gpu' refuses them with GpuGradError", async (ctx) => {
    const result = await page(ctx).evaluate(async () => {
      const { novarl, gpu } = window as unknown as PageWindow;
      const d = await novarl.GpuDispatcher.create({ device: 'auto' });
      const w = novarl.Tensor.from([1, 2, 3, 4], [2, 2], { persistent: true, requiresGrad: true });
      const x = novarl.Tensor.from([1, 0, 0, 1], [2, 2]);
      const y = d.matmul(x, w);
      const choice = d.lastChoice;
      y.sum().backward();
      const grad = Array.from(w.grad()!);
      let forced = '';
      try {
        gpu.matmul(x, w);
      } catch (error) {
        forced = (error as Error).name;
      }
      const underNoGrad = Array.from(novarl.noGrad(() => gpu.matmul(x, w)).toArray());
      w.free();
      novarl.defaultCore().endStep();
      d.destroy();
      return { choice, grad, forced, underNoGrad, calibrated: d.calibration() !== null };
    });
    expect(result.choice).toMatchObject({ device: 'wasm', reason: 'grad' });
    expect(result.calibrated).toBe(false); // decided before any timing
    expect(result.grad).toEqual([1, 1, 1, 1]); // d(sum(x w))/dw = x^T 1 = ones for x = I
    expect(result.forced).toBe('GpuGradError');
    expect(result.underNoGrad).toEqual([1, 2, 3, 4]);
  });
});
