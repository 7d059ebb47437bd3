// Shared benchmark helpers: a median-of-samples timer, the row type every bench returns, and
// table / JSON-line printing. Benchmarks run in one process, one thread, peers side by side.

/** One measured case: NovaRL against a peer library on the same work. */
export interface BenchRow {
  /** Which benchmark (file) produced the row, e.g. 'matmul'. */
  bench: string;
  /** The case, e.g. '256x256x256' (M x K x N for matmul). */
  size: string;
  novarl_gflops: number;
  /** The unit of novarl_gflops and peer_gflops when it is not GFLOP/s (e.g. 'GB/s' for elementwise). */
  unit?: string;
  /** The library compared against, e.g. 'tfjs-wasm'. */
  peer: string;
  peer_gflops: number;
  /** novarl_gflops / peer_gflops: above 1 means NovaRL is faster. */
  ratio: number;
  /** Optional extra figures (e.g. the raw kernel without the SDK), printed as notes. */
  notes?: Record<string, number>;
}

export interface BenchOptions {
  /** Fewer and shorter samples (for a quick look; noisier). */
  quick: boolean;
}

/** A benchmark module's entry point. */
export type BenchFn = (options: BenchOptions) => Promise<BenchRow[]>;

export interface TimingOptions {
  /** Untimed running before sampling, in ms (lets the engine tier up the hot code). */
  warmupMs?: number;
  /** Each sample runs the function enough times to last about this long, in ms. */
  sampleMs?: number;
  /** Number of timed samples; the median is reported. */
  samples?: number;
}

export function timingFor(options: BenchOptions): Required<TimingOptions> {
  return options.quick ? { warmupMs: 100, sampleMs: 10, samples: 5 } : { warmupMs: 300, sampleMs: 25, samples: 11 };
}

/**
 * Median seconds per call of each function. Each is warmed up, then calls are grouped so one
 * timed sample lasts about `sampleMs` (timer resolution and call overhead stay small next to
 * it). Samples of the functions are taken in turn (a, b, c, a, b, c, ...) so that a burst of
 * load from other processes on a shared machine hits them alike, and the median of each
 * function's samples resists such bursts.
 */
export function medianSeconds<K extends string>(fns: Record<K, () => void>, options: TimingOptions = {}): Record<K, number> {
  const { wall } = interleavedSamples(fns, options);
  const medians = {} as Record<K, number>;
  for (const name of Object.keys(fns) as K[]) {
    const sorted = wall[name].sort((a, b) => a - b);
    medians[name] = sorted[Math.floor(sorted.length / 2)]! / 1000;
  }
  return medians;
}

/**
 * Best (smallest) seconds per call of each function over interleaved samples taken as
 * medianSeconds takes them, by the wall clock and by this process's CPU time. Load from other
 * processes only ever slows a sample down, so on a busy machine the fastest sample is the
 * closest to the code's own speed; CPU time also leaves out the time the process was not
 * running at all (it counts every thread of the process, so it suits single-threaded work).
 */
export function bestSeconds<K extends string>(fns: Record<K, () => void>, options: TimingOptions = {}): { wall: Record<K, number>; cpu: Record<K, number> } {
  const samples = interleavedSamples(fns, options);
  const wall = {} as Record<K, number>, cpu = {} as Record<K, number>;
  for (const name of Object.keys(fns) as K[]) {
    wall[name] = Math.min(...samples.wall[name]) / 1000;
    cpu[name] = Math.min(...samples.cpu[name]) / 1000;
  }
  return { wall, cpu };
}

/** Milliseconds per call of each function (wall clock and CPU time), one entry per sample. */
function interleavedSamples<K extends string>(fns: Record<K, () => void>, options: TimingOptions): { wall: Record<K, number[]>; cpu: Record<K, number[]> } {
  const { warmupMs = 300, sampleMs = 25, samples = 11 } = options;
  const names = Object.keys(fns) as K[];
  const perSample = {} as Record<K, number>;
  for (const name of names) {
    const fn = fns[name];
    let calls = 0;
    const warmStart = performance.now();
    while (performance.now() - warmStart < warmupMs || calls < 3) {
      fn();
      calls++;
    }
    const msPerCall = (performance.now() - warmStart) / calls;
    perSample[name] = Math.max(1, Math.ceil(sampleMs / msPerCall));
  }
  const wall = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  const cpu = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  for (let s = 0; s < samples; s++) {
    for (const name of names) {
      const fn = fns[name];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < perSample[name]; i++) fn();
      wall[name].push((performance.now() - t0) / perSample[name]);
      const used = process.cpuUsage(cpu0);
      cpu[name].push((used.user + used.system) / 1000 / perSample[name]);
    }
  }
  return { wall, cpu };
}

/** GFLOP/s of `flops` floating-point operations done in `seconds`. */
export function gflops(flops: number, seconds: number): number {
  return flops / seconds / 1e9;
}

/** Rounds for display and JSON (figures are noisy past 2-3 significant digits). */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** One JSON object per line, notes flattened in. */
export function printJsonLines(rows: readonly BenchRow[]): void {
  for (const { notes, ...row } of rows) {
    console.log(JSON.stringify({ ...row, ...(notes ?? {}) }));
  }
}

/** A plain text table, one line per row, columns padded. */
export function printTable(rows: readonly BenchRow[]): void {
  const noteKeys = [...new Set(rows.flatMap((r) => Object.keys(r.notes ?? {})))];
  const header = ['bench', 'size', 'unit', 'novarl', 'peer', 'peer figure', 'ratio', ...noteKeys];
  const lines = rows.map((r) => [
    r.bench,
    r.size,
    r.unit ?? 'GFLOP/s',
    r.novarl_gflops.toFixed(1),
    r.peer,
    r.peer_gflops.toFixed(1),
    r.ratio.toFixed(2),
    ...noteKeys.map((k) => (r.notes?.[k] === undefined ? '' : r.notes[k]!.toFixed(1))),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const format = (cells: string[]) => cells.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(format(l));
}

/** n values uniform in [-1, 1) from a seeded generator (mulberry32), the same on every run. */
export function randomMatrix(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
