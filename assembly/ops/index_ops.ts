// Indexing: gather (one element per row of the last axis) and embedding (rows of a table).
// Indices arrive as f32 integers that the host has checked are in range and below 2^24 (f32
// holds no larger integer exactly: 2^24 + 1 would arrive as 2^24).
// Each forward converts them once to i32 and saves that copy for backward, so backward does
// not depend on the index tensor staying unchanged.

import { dataOf, gradPtrOf, newScratch, gradFor, sizeOf, rankOf, dimOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { scratchAlloc } from '../memory';
import { tracks, record, recOut, recA, recPtr, setRecPtr } from '../autodiff/tape';
import { lastDim, newScratchDropLast } from './kernels';

/** The f32 indices of `index` as a scratch i32 array (0 when out of memory). */
function indicesOf(index: i32): usize {
  const n = sizeOf(index), src = dataOf(index);
  const dst = scratchAlloc(<usize>n << 2);
  if (dst == 0) return 0;
  for (let i = 0; i < n; i++) store<i32>(dst + (<usize>i << 2), <i32>load<f32>(src + (<usize>i << 2)));
  return dst;
}

// a: (rows, C), index: (rows) -> out: (rows);  out[r] = a[r, index[r]]
export function opGather(a: i32, index: i32): i32 {
  const requires = tracks(a);
  const out = newScratchDropLast(a, requires);
  if (out < 0) return out;
  const idx = indicesOf(index);
  if (idx == 0) return ERR_OUT_OF_MEMORY;
  const c = lastDim(a), rows = sizeOf(out), x = dataOf(a), y = dataOf(out);
  for (let row = 0; row < rows; row++) {
    const col = load<i32>(idx + (<usize>row << 2));
    store<f32>(y + (<usize>row << 2), load<f32>(x + (<usize>(row * c + col) << 2)));
  }
  if (requires) {
    const r = record(gatherBackward, out, a, index);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecPtr(r, idx);
  }
  return out;
}

// out[r] = a[r, index[r]]  =>  da[r, index[r]] += dout[r]
function gatherBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const out = recOut(r), c = lastDim(a), rows = sizeOf(out), g = gradPtrOf(out), idx = recPtr(r);
  for (let row = 0; row < rows; row++) {
    const o = <usize>(row * c + load<i32>(idx + (<usize>row << 2))) << 2;
    store<f32>(ga + o, load<f32>(ga + o) + load<f32>(g + (<usize>row << 2)));
  }
}

// weight: (V, D), index: (...) with n elements -> out: (..., D);  out[i, :] = weight[index[i], :]
export function opEmbedding(weight: i32, index: i32): i32 {
  const requires = tracks(weight);
  const rank = rankOf(index);
  const d = dimOf(weight, 1);
  // out shape: index's dims, then D (the host keeps index rank <= 3)
  const out = newScratch(rank + 1,
    rank > 0 ? dimOf(index, 0) : d,
    rank > 1 ? dimOf(index, 1) : d,
    rank > 2 ? dimOf(index, 2) : d,
    d, requires);
  if (out < 0) return out;
  const idx = indicesOf(index);
  if (idx == 0) return ERR_OUT_OF_MEMORY;
  const n = sizeOf(index), w = dataOf(weight), y = dataOf(out);
  const rowBytes = <usize>d << 2;
  for (let i = 0; i < n; i++) {
    const v = load<i32>(idx + (<usize>i << 2));
    memory.copy(y + <usize>i * rowBytes, w + <usize>v * rowBytes, rowBytes);
  }
  if (requires) {
    const r = record(embeddingBackward, out, weight, index);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecPtr(r, idx);
  }
  return out;
}

// out[i, :] = weight[index[i], :]  =>  dweight[index[i], :] += dout[i, :], i in order, so
// repeated indices accumulate in a fixed order
function embeddingBackward(r: usize): void {
  const weight = recA(r), gw = gradFor(weight);
  if (gw == 0) return;
  const out = recOut(r), d = dimOf(weight, 1), n = sizeOf(out) / d, g = gradPtrOf(out), idx = recPtr(r);
  for (let i = 0; i < n; i++) {
    const src = g + (<usize>(i * d) << 2);
    const dst = gw + (<usize>(load<i32>(idx + (<usize>i << 2)) * d) << 2);
    for (let j = 0; j < d; j++) {
      const o = <usize>j << 2;
      store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
    }
  }
}
