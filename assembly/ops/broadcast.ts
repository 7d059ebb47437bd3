// Numpy-style broadcasting for rank <= 4, aligned at the trailing dimension.
//
// An input's broadcast strides say how far to move in its data when the output index moves by
// one along each of the 4 (left-padded) output dims: 0 along a dim the input broadcasts
// (its dim is 1 or missing), the ordinary row-major stride otherwise. Ops walk the output in
// row-major order with these strides, so accumulation order is fixed and identical in the SIMD
// and scalar builds.

import { rankOf, dimFromEnd } from '../tensor';

/** out dims (left-padded to 4) of broadcasting a with b (and c when >= 0). */
export const outDims = memory.data(16);
export const stridesA = memory.data(16);
export const stridesB = memory.data(16);
export const stridesC = memory.data(16);

@inline export function od(d: i32): i32 {
  return load<i32>(outDims + (<usize>d << 2));
}
@inline export function st(strides: usize, d: i32): i32 {
  return load<i32>(strides + (<usize>d << 2));
}

/** Fills outDims from the inputs (the host has already checked they broadcast). Returns out rank. */
export function broadcastShape(a: i32, b: i32, c: i32 = -1): i32 {
  let rank = rankOf(a);
  if (rankOf(b) > rank) rank = rankOf(b);
  if (c >= 0 && rankOf(c) > rank) rank = rankOf(c);
  for (let k = 1; k <= 4; k++) {
    let d = dimFromEnd(a, k);
    const db = dimFromEnd(b, k);
    if (db != 1) d = db;
    if (c >= 0) {
      const dc = dimFromEnd(c, k);
      if (dc != 1) d = dc;
    }
    store<i32>(outDims + (<usize>(4 - k) << 2), d);
  }
  return rank;
}

/** Fills `strides` for input `x` against the current outDims. */
export function broadcastStrides(x: i32, strides: usize): void {
  let stride = 1;
  for (let k = 1; k <= 4; k++) {
    const d = dimFromEnd(x, k);
    const s = d == 1 && od(4 - k) != 1 ? 0 : stride;
    store<i32>(strides + (<usize>(4 - k) << 2), s);
    stride *= d;
  }
}
