// Narrow (a slice of one axis) and writeInto (a slice of a persistent tensor overwritten in
// place, for a KV cache). Both see a tensor as blocks around `axis`, as concat does: with
// outer = prod(dims before axis) and inner = prod(dims after axis), a is (outer, A * inner),
// and the slice [start, start + length) of the axis is the run [start * inner, (start + length)
// * inner) of every outer row.

import { dataOf, gradPtrOf, newScratch, gradFor, sizeOf, rankOf, dimOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recInt, setRecInt } from '../autodiff/tape';

/** prod(dims after axis) (trailing dims past the rank are 1). */
function innerOf(x: i32, axis: i32): i32 {
  let n = 1;
  for (let d = axis + 1; d < 4; d++) n *= dimOf(x, d);
  return n;
}

// out = a[..., start:start+length, ...] along axis (a copy)
export function opNarrow(a: i32, axis: i32, start: i32, length: i32): i32 {
  const requires = tracks(a);
  const out = newScratch(rankOf(a),
    axis == 0 ? length : dimOf(a, 0),
    axis == 1 ? length : dimOf(a, 1),
    axis == 2 ? length : dimOf(a, 2),
    axis == 3 ? length : dimOf(a, 3), requires);
  if (out < 0) return out;
  const inner = innerOf(a, axis);
  const rowA = dimOf(a, axis) * inner, rowOut = length * inner;
  const outer = sizeOf(a) / rowA;
  const bytes = <usize>rowOut << 2;
  const src = dataOf(a) + (<usize>(start * inner) << 2), dst = dataOf(out);
  for (let i = 0; i < outer; i++) {
    memory.copy(dst + <usize>i * bytes, src + (<usize>(i * rowA) << 2), bytes);
  }
  if (requires) {
    const r = record(narrowBackward, out, a);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecInt(r, axis | (start << 2)); // axis < 4
  }
  return out;
}

// out[o, k] = a[o, start * inner + k]  =>  da[o, start * inner + k] += dout[o, k]
function narrowBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const out = recOut(r), axis = recInt(r) & 3, start = recInt(r) >> 2;
  const inner = innerOf(a, axis);
  const rowA = dimOf(a, axis) * inner, rowOut = dimOf(out, axis) * inner;
  const outer = sizeOf(a) / rowA;
  const g = gradPtrOf(out);
  for (let i = 0; i < outer; i++) {
    const dst = ga + (<usize>(i * rowA + start * inner) << 2);
    const src = g + (<usize>(i * rowOut) << 2);
    for (let k = 0; k < rowOut; k++) {
      const o = <usize>k << 2;
      store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
    }
  }
}

// target[..., start:start+L, ...] = src along axis, in place; src has target's shape with L
// on the axis. No tape record: the host refuses a call that would need a gradient and a
// scratch target, so this only ever fills persistent buffers (a KV cache under noGrad).
export function opWriteInto(target: i32, src: i32, axis: i32, start: i32): void {
  const inner = innerOf(target, axis);
  const rowTarget = dimOf(target, axis) * inner, rowSrc = dimOf(src, axis) * inner;
  const outer = sizeOf(target) / rowTarget;
  const bytes = <usize>rowSrc << 2;
  const dst = dataOf(target) + (<usize>(start * inner) << 2), from = dataOf(src);
  for (let i = 0; i < outer; i++) {
    memory.copy(dst + (<usize>(i * rowTarget) << 2), from + <usize>i * bytes, bytes);
  }
}
