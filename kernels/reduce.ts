// Reductions over the last axis on gpu.js, for x viewed as (R, C): sum and softmax.
// One shader thread per row walks its C values in order (not the core's canonical four-way
// sum, so results agree to a tolerance, not bit for bit).
//
// Softmax is three passes; the first two keep their (R) results on the GPU as textures
// (pipeline mode), so only x goes up and only the (R, C) probabilities come back:
//   rowMax[r] = max_c x[r, c]
//   rowSum[r] = sum_c exp(x[r, c] - rowMax[r])
//   y[r, c]   = exp(x[r, c] - rowMax[r]) / rowSum[r]

import { copyResult, type KernelCache } from './kernel_cache';

// x is (R, C); this.thread.x is the row.
const SUM_LAST = `function sumLast(x) {
  let sum = 0;
  for (let c = 0; c < this.constants.C; c++) {
    sum += x[this.thread.x * this.constants.C + c];
  }
  return sum;
}`;

const ROW_MAX = `function rowMax(x) {
  let best = x[this.thread.x * this.constants.C];
  for (let c = 1; c < this.constants.C; c++) {
    best = Math.max(best, x[this.thread.x * this.constants.C + c]);
  }
  return best;
}`;

const ROW_SUM_EXP = `function rowSumExp(x, rowMax) {
  const m = rowMax[this.thread.x];
  let sum = 0;
  for (let c = 0; c < this.constants.C; c++) {
    sum += Math.exp(x[this.thread.x * this.constants.C + c] - m);
  }
  return sum;
}`;

// this.thread.y is the row, this.thread.x the column.
const SOFTMAX_NORMALIZE = `function softmaxNormalize(x, rowMax, rowSum) {
  const r = this.thread.y;
  return Math.exp(x[r * this.constants.C + this.thread.x] - rowMax[r]) / rowSum[r];
}`;

/** out[r] = sum_c x[r, c], x (rows, cols). */
export function gpuSumLast(cache: KernelCache, x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const kernel = cache.get(SUM_LAST, { output: [rows], constants: { C: cols } });
  copyResult(kernel(x), out, 0, rows);
}

/** out (rows, cols) = softmax of x over its last axis. */
export function gpuSoftmax(cache: KernelCache, x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const constants = { C: cols };
  const rowMax = cache.get(ROW_MAX, { output: [rows], constants, pipeline: true })(x);
  const rowSum = cache.get(ROW_SUM_EXP, { output: [rows], constants, pipeline: true })(x, rowMax);
  const normalize = cache.get(SOFTMAX_NORMALIZE, { output: [cols, rows], constants });
  copyResult(normalize(x, rowMax, rowSum), out, 0, rows * cols);
}
