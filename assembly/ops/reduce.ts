// Reductions: sum and mean over every element, sum / mean / max over the last axis.
// Every sum goes through sumCanonical (kernels.ts) so that the SIMD and scalar builds agree
// bit for bit. Last-axis ops see their input as rows: x is (rows, C), out is (rows).

import { dataOf, gradPtrOf, newScratch, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { scratchAlloc } from '../memory';
import { tracks, record, recOut, recA, recPtr, setRecPtr } from '../autodiff/tape';
import { sumCanonical, argmaxRow, lastDim, newScratchDropLast } from './kernels';

// out = sum(x) over every element: a rank-0 tensor
export function opSum(a: i32): i32 {
  const requires = tracks(a);
  const out = newScratch(0, 1, 1, 1, 1, requires);
  if (out < 0) return out;
  store<f32>(dataOf(out), sumCanonical(dataOf(a), sizeOf(a)));
  if (requires && record(sumBackward, out, a) == 0) return ERR_OUT_OF_MEMORY;
  return out;
}

// dx[i] += dout
function sumBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const d = load<f32>(gradPtrOf(recOut(r)));
  const n = sizeOf(a);
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(ga + o, load<f32>(ga + o) + d);
  }
}

// out = sum(x) / n over every element: a rank-0 tensor
export function opMean(a: i32): i32 {
  const requires = tracks(a);
  const out = newScratch(0, 1, 1, 1, 1, requires);
  if (out < 0) return out;
  const n = sizeOf(a);
  store<f32>(dataOf(out), sumCanonical(dataOf(a), n) / <f32>n);
  if (requires && record(meanBackward, out, a) == 0) return ERR_OUT_OF_MEMORY;
  return out;
}

// dx[i] += dout / n
function meanBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const n = sizeOf(a);
  const d = load<f32>(gradPtrOf(recOut(r))) / <f32>n;
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(ga + o, load<f32>(ga + o) + d);
  }
}

// out[r] = sum_j x[r, j], or that divided by C when `mean`
function sumLastForward(a: i32, mean: bool): i32 {
  const requires = tracks(a);
  const out = newScratchDropLast(a, requires);
  if (out < 0) return out;
  const c = lastDim(a), rows = sizeOf(out);
  const x = dataOf(a), y = dataOf(out);
  for (let row = 0; row < rows; row++) {
    const s = sumCanonical(x + (<usize>(row * c) << 2), c);
    store<f32>(y + (<usize>row << 2), mean ? s / <f32>c : s);
  }
  if (requires && record(mean ? meanLastBackward : sumLastBackward, out, a) == 0) return ERR_OUT_OF_MEMORY;
  return out;
}

/** dx[r, j] += dout[r] / divisor, for every row r and column j (divisor 1 is exact). */
function spreadRows(a: i32, out: i32, divisor: f32): void {
  const ga = gradFor(a);
  if (ga == 0) return;
  const c = lastDim(a), rows = sizeOf(out), g = gradPtrOf(out);
  for (let row = 0; row < rows; row++) {
    const d = load<f32>(g + (<usize>row << 2)) / divisor;
    const base = ga + (<usize>(row * c) << 2);
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(base + o, load<f32>(base + o) + d);
    }
  }
}

/** out[r] = sum_j x[r, j]: shape (..., C) -> (...) */
export function opSumLast(a: i32): i32 { return sumLastForward(a, false); }

// dx[r, j] += dout[r]
function sumLastBackward(r: usize): void {
  spreadRows(recA(r), recOut(r), 1);
}

/** out[r] = sum_j x[r, j] / C: shape (..., C) -> (...) */
export function opMeanLast(a: i32): i32 { return sumLastForward(a, true); }

// dx[r, j] += dout[r] / C
function meanLastBackward(r: usize): void {
  const a = recA(r);
  spreadRows(a, recOut(r), <f32>lastDim(a));
}

/** out[r] = max_j x[r, j]: shape (..., C) -> (...); the gradient goes to the first maximum. */
export function opMaxLast(a: i32): i32 {
  const requires = tracks(a);
  const out = newScratchDropLast(a, requires);
  if (out < 0) return out;
  const c = lastDim(a), rows = sizeOf(out);
  const x = dataOf(a), y = dataOf(out);
  // argmax: (rows) i32, saved for backward
  const argmax = requires ? scratchAlloc(<usize>rows << 2) : 0;
  if (requires && argmax == 0) return ERR_OUT_OF_MEMORY;
  for (let row = 0; row < rows; row++) {
    const xr = x + (<usize>(row * c) << 2);
    const at = argmaxRow(xr, c);
    store<f32>(y + (<usize>row << 2), load<f32>(xr + (<usize>at << 2)));
    if (requires) store<i32>(argmax + (<usize>row << 2), at);
  }
  if (requires) {
    const r = record(maxLastBackward, out, a);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecPtr(r, argmax);
  }
  return out;
}

// out[r] = x[r, argmax[r]]  =>  dx[r, argmax[r]] += dout[r]
function maxLastBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const out = recOut(r), c = lastDim(a), rows = sizeOf(out), g = gradPtrOf(out), argmax = recPtr(r);
  for (let row = 0; row < rows; row++) {
    const o = <usize>(row * c + load<i32>(argmax + (<usize>row << 2))) << 2;
    store<f32>(ga + o, load<f32>(ga + o) + load<f32>(g + (<usize>row << 2)));
  }
}
