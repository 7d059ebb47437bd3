// WASM core against gpu.js matmul, square sizes 128..2048, in Node (gpu.js's backend there:
// headless-gl if built, else its webasm mode) and in headless Chromium (WebGL2; SwiftShader,
// a software GPU, on machines without one). The GPU figure is end to end: operands uploaded
// from wasm memory, the kernel, the result read back into a wasm tensor. `transfer ms` is that
// data movement alone (a kernel that touches each input once). `auto` is a calibrated
// GpuDispatcher with device 'auto', timed interleaved with the core.
//
//   npx tsx bench/gpu.ts                 table, Node and Chromium
//   npx tsx bench/gpu.ts --json          one JSON object per line
//   options: --quick (fewer samples), --node / --browser (only one), --sizes 128,256,
//            --budget-s 10 (skip a GPU size whose estimated time per call exceeds this)
//
// ratio = novarl_gflops / peer_gflops, as in the other benchmarks: above 1 the WASM core is
// faster. GPU offload gives up bit-identical results (docs/gpu.md).

import { pathToFileURL } from 'node:url';
import { init } from '../sdk/index';
import * as sdk from '../sdk/index';
import * as kernels from '../kernels/index';
import { findChromium, openGpuPage } from '../tests/gpu_harness';

export interface GpuBenchRow {
  bench: 'gpu-matmul';
  size: string;
  novarl_gflops: number;
  /** gpu.js-<backend>, e.g. gpu.js-webgl2. */
  peer: string;
  /** End to end, transfers included; null when the size was skipped as too slow. */
  peer_gflops: number | null;
  ratio: number | null;
  runtime: string;
  renderer?: string;
  wasm_ms: number;
  gpu_ms: number | null;
  transfer_ms: number | null;
  /** Why a size has no GPU figure (estimated time over the budget). */
  skipped?: string;
  auto_device: string;
  auto_gflops: number;
  /** auto's time over the core's, minus 1 (median of back-to-back sample pairs): 0.03 is 3% slower. */
  auto_overhead: number;
}

interface MeasureArgs {
  sizes: number[];
  budgetMs: number;
  quick: boolean;
}

interface Measured {
  size: number;
  wasmMs: number;
  autoMs: number;
  autoOverhead: number;
  autoDevice: string;
  gpuMs: number | null;
  transferMs: number | null;
  estimateMs: number | null;
}

/**
 * Runs in Node or in the page: it reads the SDK and kernels from `globalThis.novarl` and refers
 * to nothing else outside itself, because playwright sends its source text to the page.
 */
async function measure(args: MeasureArgs): Promise<{ backend: string; renderer?: string; rows: Measured[] }> {
  const n = (globalThis as unknown as { novarl: typeof sdk & typeof kernels }).novarl;
  const core = n.defaultCore();
  const gpu = await n.GpuDispatcher.create({ device: 'gpu', allowFallbackBackend: true, warn: () => {} });
  const auto = await n.GpuDispatcher.create({ device: 'auto' });
  auto.calibrate(['matmul']);
  const gpujs = (await n.loadGpuJs())!;
  const transferGpu = new gpujs.GPU({ mode: 'gpu' });
  // Touches each element of a and b once and writes an (N, N) result: the matmul's data movement.
  const TRANSFER = `function transfer(a, b) {
  return a[this.thread.y * this.constants.N + this.thread.x] + b[this.thread.x * this.constants.N + this.thread.y];
}`;
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 31 - 1;
  };
  // Ms per call of each function in each sample. Samples are taken in turn, in alternating
  // order (a b, b a, ...), so that load from other processes hits both alike; as many as fit
  // in `budgetMs` (at least one, at most 41), each at least 25 ms long.
  const interleaved = (fns: (() => void)[], budgetMs: number): number[][] => {
    const times: number[][] = fns.map(() => []);
    let slowest = 0;
    for (const fn of fns) {
      const start = performance.now();
      let calls = 0;
      do {
        fn();
        calls++;
      } while (performance.now() - start < 200); // warm-up: lets the engine tier the core up
      slowest = Math.max(slowest, (performance.now() - start) / calls);
    }
    const samples = Math.min(41, Math.max(1, Math.floor(budgetMs / (fns.length * Math.max(25, slowest)))));
    for (let s = 0; s < samples; s++) {
      const order = s % 2 === 0 ? fns.map((_, i) => i) : fns.map((_, i) => fns.length - 1 - i);
      for (const i of order) {
        const t0 = performance.now();
        let calls = 0;
        do {
          fns[i]!();
          calls++;
        } while (performance.now() - t0 < 25);
        times[i]!.push((performance.now() - t0) / calls);
      }
    }
    return times;
  };
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[values.length >> 1]!;
  const rows: Measured[] = [];
  let previous: { size: number; ms: number } | null = null;
  for (const size of args.sizes) {
    const a = n.Tensor.from(Array.from({ length: size * size }, random), [size, size], { persistent: true });
    const b = n.Tensor.from(Array.from({ length: size * size }, random), [size, size], { persistent: true });
    const [wasmTimes, autoTimes] = interleaved(
      [
        () => {
          a.matmul(b);
          core.endStep();
        },
        () => {
          auto.matmul(a, b);
          core.endStep();
        },
      ],
      args.quick ? 1500 : 4000,
    );
    const wasmMs = median(wasmTimes!);
    const autoMs = median(autoTimes!);
    // auto's overhead from paired samples (taken back to back), robust to load drifting.
    const autoOverhead = median(autoTimes!.map((t, i) => t / wasmTimes![i]!)) - 1;
    const autoDevice = auto.lastChoice!.device;
    const estimateMs = previous ? previous.ms * (size / previous.size) ** 3 : null;
    let gpuMs: number | null = null;
    let transferMs: number | null = null;
    if (estimateMs === null || estimateMs <= args.budgetMs) {
      const timing = { samples: args.quick ? 1 : 3, sampleMs: 0, budgetMs: args.budgetMs };
      gpuMs = n.msPerCall(() => {
        gpu.matmul(a, b);
        core.endStep();
      }, timing);
      const kernel = transferGpu.createKernel(TRANSFER, { output: [size, size], constants: { N: size }, precision: 'single', tactic: 'precision' });
      const dst = new Float32Array(size * size);
      transferMs = n.msPerCall(() => {
        const rowsOut = kernel(a.view(), b.view()) as Float32Array[];
        for (let r = 0; r < size; r++) dst.set(rowsOut[r]!, r * size);
      }, timing);
      kernel.destroy?.();
      previous = { size, ms: gpuMs };
    }
    rows.push({ size, wasmMs, autoMs, autoOverhead, autoDevice, gpuMs, transferMs, estimateMs });
    a.free();
    b.free();
  }
  gpu.destroy();
  auto.destroy();
  transferGpu.destroy();
  return { backend: gpu.backend.name, renderer: gpu.backend.renderer, rows };
}

function toRows(runtime: string, result: Awaited<ReturnType<typeof measure>>): GpuBenchRow[] {
  const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
  return result.rows.map((r) => {
    const flops = 2 * r.size ** 3;
    const gflops = (ms: number) => flops / ms / 1e6;
    const peer = r.gpuMs === null ? null : gflops(r.gpuMs);
    return {
      bench: 'gpu-matmul',
      size: `${r.size}x${r.size}x${r.size}`,
      novarl_gflops: round(gflops(r.wasmMs)),
      peer: `gpu.js-${result.backend}`,
      peer_gflops: peer === null ? null : round(peer, 4),
      ratio: peer === null ? null : round(gflops(r.wasmMs) / peer, 1),
      runtime,
      ...(result.renderer ? { renderer: result.renderer } : {}),
      wasm_ms: round(r.wasmMs),
      gpu_ms: r.gpuMs === null ? null : round(r.gpuMs, 1),
      transfer_ms: r.transferMs === null ? null : round(r.transferMs, 2),
      ...(r.gpuMs === null ? { skipped: `estimated ${(r.estimateMs! / 1000).toFixed(0)} s per call` } : {}),
      auto_device: r.autoDevice,
      auto_gflops: round(gflops(r.autoMs)),
      auto_overhead: round(r.autoOverhead),
    };
  });
}

export interface GpuBenchOptions {
  quick?: boolean;
  node?: boolean;
  browser?: boolean;
  sizes?: number[];
  budgetS?: number;
}

/** Both runtimes' rows (the Chromium part is left out, with a note, where there is none). */
export async function benchGpu(options: GpuBenchOptions = {}): Promise<GpuBenchRow[]> {
  const args: MeasureArgs = { sizes: options.sizes ?? [128, 256, 512, 1024, 2048], budgetMs: (options.budgetS ?? 10) * 1000, quick: options.quick ?? false };
  const rows: GpuBenchRow[] = [];
  if (options.node ?? true) {
    await init();
    (globalThis as unknown as { novarl: unknown }).novarl = { ...sdk, ...kernels };
    rows.push(...toRows(`node ${process.version}`, await measure(args)));
  }
  if (options.browser ?? true) {
    const chromium = findChromium();
    if (!chromium) {
      console.error('bench/gpu: no Chromium (apt-get install chromium): browser rows left out');
    } else {
      const gp = await openGpuPage(chromium);
      try {
        rows.push(...toRows(`chromium ${gp.browserVersion}`, await gp.page.evaluate(measure, args)));
      } finally {
        await gp.close();
      }
    }
  }
  return rows;
}

function printTable(rows: readonly GpuBenchRow[]): void {
  const header = ['runtime', 'size', 'WASM GFLOP/s', 'peer', 'GPU GFLOP/s', 'GPU ms', 'transfer ms', 'ratio', 'auto chose', 'auto vs WASM'];
  const fmt = (x: number | null, d: number) => (x === null ? '-' : x.toFixed(d));
  const lines = rows.map((r) => [
    r.runtime.split(' ')[0]!,
    r.size,
    fmt(r.novarl_gflops, 2),
    r.peer,
    r.peer_gflops === null ? `(skipped: ${r.skipped})` : fmt(r.peer_gflops, 3),
    fmt(r.gpu_ms, 1),
    fmt(r.transfer_ms, 2),
    fmt(r.ratio, 1),
    r.auto_device,
    `${r.auto_overhead >= 0 ? '+' : ''}${(100 * r.auto_overhead).toFixed(1)}%`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const format = (cells: string[]) => cells.map((cell, c) => (c < 2 || c === 3 || c === 8 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(format(l));
}

async function main(argv: string[]): Promise<void> {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = argv.includes('--node') ? 'node' : argv.includes('--browser') ? 'browser' : null;
  const rows = await benchGpu({
    quick: argv.includes('--quick'),
    node: only !== 'browser',
    browser: only !== 'node',
    sizes: value('--sizes')?.split(',').map(Number),
    budgetS: value('--budget-s') === undefined ? undefined : Number(value('--budget-s')),
  });
  if (argv.includes('--json')) {
    for (const row of rows) console.log(JSON.stringify(row));
    return;
  }
  const renderers = [...new Set(rows.map((r) => r.renderer).filter(Boolean))];
  console.log('GPU matmul: WASM core vs gpu.js, end to end (upload, kernel, readback into wasm memory); ratio = WASM / GPU');
  if (renderers.length) console.log(`GL renderer: ${renderers.join('; ')}`);
  printTable(rows);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
