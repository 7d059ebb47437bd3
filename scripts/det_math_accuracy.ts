// The accuracy of the core's deterministic transcendentals (assembly/math/det.ts) over the
// WHOLE f32 range: all 2^32 bit patterns of each of exp, log, tanh, sigmoid, gelu and expm1,
// against float64. The loop runs in WebAssembly (scripts/det_math_scan/scan.ts, compiled here
// with asc into a temporary folder) on the scalar functions, which the SIMD ops and the host
// mirror match bit for bit (tests/det_math.test.ts). Prints a Markdown table: the max ULP error
// and where, the share of correctly rounded results, and whether every NaN input gave NaN.
// The bit patterns are split over worker threads (one per CPU); on a quiet 2-core machine this
// takes about a minute per function.
//   npx tsx scripts/det_math_accuracy.ts [exp log tanh sigmoid gelu expm1] [--stride N] [--workers N]
// --stride N checks every Nth pattern only (a quicker look; the table says so).

import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FUNCTIONS = ['exp', 'log', 'tanh', 'sigmoid', 'gelu', 'expm1'] as const;
/** Bit patterns per task handed to a worker (progress is printed per task). */
const BLOCK = 2 ** 26;


function compileScan(): Uint8Array {
  const require = createRequire(import.meta.url);
  const asc = require.resolve('assemblyscript/bin/asc.js');
  const source = fileURLToPath(new URL('./det_math_scan/scan.ts', import.meta.url));
  const dir = mkdtempSync(path.join(tmpdir(), 'det-math-scan-'));
  try {
    const outFile = path.join(dir, 'scan.wasm');
    const result = spawnSync(process.execPath, [asc, source, '--outFile', outFile, '-O3', '--runtime', 'stub', '--use', 'abort=', '--enable', 'simd'], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`asc failed:\n${result.stderr}`);
    return readFileSync(outFile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function f32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}

interface Task {
  fn: number;
  start: number;
  stride: number;
}
interface TaskResult {
  maxUlp: number;
  worstBits: number;
  rounded: number;
  checked: number;
  nanToNan: boolean;
}

/**
 * A worker's code (plain JavaScript, so it needs no TypeScript loader): instantiates the scan
 * and answers tasks, one block of patterns each, with a TaskResult.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const scan = new WebAssembly.Instance(new WebAssembly.Module(workerData.wasm), {}).exports;
parentPort.on('message', (task) => {
  if (task === null) return parentPort.close();
  scan.reset();
  scan.scan(task.fn, task.start, ${BLOCK} / task.stride, task.stride);
  parentPort.postMessage({
    maxUlp: scan.resultMaxUlp(),
    worstBits: scan.resultWorstBits() >>> 0,
    rounded: scan.resultRounded(),
    checked: scan.resultChecked(),
    nanToNan: scan.resultNanToNan() !== 0,
  });
});
`;

/** Runs every block of one function on the workers; merges their results. */
async function scanFunction(workers: Worker[], fn: number, stride: number): Promise<TaskResult> {
  const total: TaskResult = { maxUlp: 0, worstBits: 0, rounded: 0, checked: 0, nanToNan: true };
  let next = 0;
  const blocks = 2 ** 32 / BLOCK;
  await Promise.all(workers.map(async (worker) => {
    while (next < blocks) {
      const task: Task = { fn, start: next++ * BLOCK, stride };
      const r = await new Promise<TaskResult>((resolve) => {
        worker.once('message', resolve);
        worker.postMessage(task);
      });
      if (r.maxUlp > total.maxUlp) {
        total.maxUlp = r.maxUlp;
        total.worstBits = r.worstBits;
      }
      total.rounded += r.rounded;
      total.checked += r.checked;
      total.nanToNan &&= r.nanToNan;
      process.stderr.write('.');
    }
  }));
  return total;
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} wants a positive integer, got ${args[i + 1]}`);
  return v;
}

async function main(args: string[]): Promise<void> {
  const stride = option(args, '--stride', 1);
  const workerCount = option(args, '--workers', availableParallelism());
  if (BLOCK % stride !== 0 || (stride & (stride - 1)) !== 0) throw new Error('--stride must be a power of 2 up to 2^26');
  const names = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  const selected = names.length > 0 ? names : [...FUNCTIONS];
  for (const n of selected) if (!FUNCTIONS.includes(n as never)) throw new Error(`unknown function ${n}; known: ${FUNCTIONS.join(', ')}`);
  const wasm = compileScan();
  const workers = Array.from({ length: workerCount }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { wasm } }));
  const rows: string[] = [];
  try {
    for (const name of selected) {
      const started = performance.now();
      const r = await scanFunction(workers, FUNCTIONS.indexOf(name as (typeof FUNCTIONS)[number]), stride);
      const seconds = (performance.now() - started) / 1000;
      const inputs = stride === 1 ? 'all 2^32' : `every ${stride}th of 2^32`;
      rows.push(`| ${name} | ${r.maxUlp.toFixed(3)} | ${f32FromBits(r.worstBits)} | ${((100 * r.rounded) / r.checked).toFixed(2)}% | ${r.nanToNan ? 'yes' : 'NO'} | ${inputs} |`);
      process.stderr.write(` ${name}: ${seconds.toFixed(1)} s\n`);
    }
  } finally {
    for (const w of workers) w.postMessage(null);
  }
  console.log('| function | max ULP error | at x | correctly rounded | NaN -> NaN | inputs |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
