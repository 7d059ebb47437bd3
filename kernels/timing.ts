// Wall-clock timing for calibration and benchmarks. A browser's performance.now() may be coarse
// (100 us without cross-origin isolation), so quick calls are grouped until a sample lasts
// `sampleMs`; slow calls (a software GPU) stop early once `budgetMs` is spent.

export interface TimingOptions {
  /** Timed samples; the median is returned. */
  samples?: number;
  /** Each sample repeats the call until it lasts about this long, in ms. */
  sampleMs?: number;
  /** Stop taking samples once this much time has passed (at least one is always taken), in ms. */
  budgetMs?: number;
  /**
   * Untimed calls first, for at least this long (at least one call: it compiles shaders). JS
   * engines start WebAssembly in a baseline compiler and tier hot code up later, so timing the
   * core's first calls would understate it.
   */
  warmupMs?: number;
}

/** Median milliseconds per call of fn, after untimed warm-up calls. */
export function msPerCall(fn: () => void, options: TimingOptions = {}): number {
  const { samples = 3, sampleMs = 4, budgetMs = 250, warmupMs = 0 } = options;
  const warmStart = performance.now();
  do fn();
  while (performance.now() - warmStart < warmupMs);
  const perCall: number[] = [];
  const start = performance.now();
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    let calls = 0;
    let t = t0;
    do {
      fn();
      calls++;
      t = performance.now();
    } while (t - t0 < sampleMs);
    perCall.push((t - t0) / calls);
    if (t - start > budgetMs) break;
  }
  return median(perCall);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
