// Shape ops: reshape (a view, no copy), transpose (swap two axes, copy) and concat (copy).
// Shapes are read padded to 4 dims with trailing 1s (tensor.ts), which is what lets one
// 4-deep loop serve every rank.

import { dataOf, gradPtrOf, newScratch, newScratchView, gradFor, sizeOf, rankOf, dimOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recB, recInt, setRecInt } from '../autodiff/tape';

// out = a viewed with shape (s0..s3): same data pointer, its own gradient buffer
export function opReshape(a: i32, rank: i32, s0: i32, s1: i32, s2: i32, s3: i32): i32 {
  const requires = tracks(a);
  const out = newScratchView(dataOf(a), rank, s0, s1, s2, s3, requires);
  if (out < 0) return out;
  if (requires && record(reshapeBackward, out, a) == 0) return ERR_OUT_OF_MEMORY;
  return out;
}

// out[i] = a[i] (flat)  =>  da[i] += dout[i]
function reshapeBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const g = gradPtrOf(recOut(r)), n = sizeOf(a);
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(ga + o, load<f32>(ga + o) + load<f32>(g + o));
  }
}

// Transpose walks the output in row-major order; `strides` holds, per output dim, the step in
// a's data (a's row-major strides with dim0 and dim1 swapped).
const strides = memory.data(16);
const outDims = memory.data(16);

@inline function strideAt(d: i32): i32 { return load<i32>(strides + (<usize>d << 2)); }
@inline function outDim(d: i32): i32 { return load<i32>(outDims + (<usize>d << 2)); }

/** Fills strides and outDims for swapping dim0 and dim1 of a. */
function transposeLayout(a: i32, dim0: i32, dim1: i32): void {
  let step = 1;
  for (let d = 3; d >= 0; d--) {
    store<i32>(strides + (<usize>d << 2), step);
    store<i32>(outDims + (<usize>d << 2), dimOf(a, d));
    step *= dimOf(a, d);
  }
  const s = strideAt(dim0), n = outDim(dim0);
  store<i32>(strides + (<usize>dim0 << 2), strideAt(dim1));
  store<i32>(outDims + (<usize>dim0 << 2), outDim(dim1));
  store<i32>(strides + (<usize>dim1 << 2), s);
  store<i32>(outDims + (<usize>dim1 << 2), n);
}

// out[..i..j..] = a[..j..i..]  (dims dim0 and dim1 swapped)
export function opTranspose(a: i32, dim0: i32, dim1: i32): i32 {
  const requires = tracks(a);
  transposeLayout(a, dim0, dim1);
  const out = newScratch(rankOf(a), outDim(0), outDim(1), outDim(2), outDim(3), requires);
  if (out < 0) return out;
  const x = dataOf(a);
  let y = dataOf(out);
  for (let i0 = 0; i0 < outDim(0); i0++) {
    for (let i1 = 0; i1 < outDim(1); i1++) {
      for (let i2 = 0; i2 < outDim(2); i2++) {
        for (let i3 = 0; i3 < outDim(3); i3++) {
          const src = i0 * strideAt(0) + i1 * strideAt(1) + i2 * strideAt(2) + i3 * strideAt(3);
          store<f32>(y, load<f32>(x + (<usize>src << 2)));
          y += 4;
        }
      }
    }
  }
  if (requires) {
    const r = record(transposeBackward, out, a);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecInt(r, dim0 | (dim1 << 8));
  }
  return out;
}

// out[..i..j..] = a[..j..i..]  =>  da[..j..i..] += dout[..i..j..]
function transposeBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  transposeLayout(a, recInt(r) & 0xff, recInt(r) >> 8);
  let g = gradPtrOf(recOut(r));
  for (let i0 = 0; i0 < outDim(0); i0++) {
    for (let i1 = 0; i1 < outDim(1); i1++) {
      for (let i2 = 0; i2 < outDim(2); i2++) {
        for (let i3 = 0; i3 < outDim(3); i3++) {
          const o = <usize>(i0 * strideAt(0) + i1 * strideAt(1) + i2 * strideAt(2) + i3 * strideAt(3)) << 2;
          store<f32>(ga + o, load<f32>(ga + o) + load<f32>(g));
          g += 4;
        }
      }
    }
  }
}

// Concat along `axis` seen as blocks: with outer = prod(dims before axis) and
// inner = prod(dims after axis), a is (outer, A) and b is (outer, B) with A = a[axis] * inner,
// B = b[axis] * inner, and out is (outer, A + B): each out row is a's row then b's row.

/** Elements per concat block of x: x[axis] * prod(dims after axis). */
function blockOf(x: i32, axis: i32): i32 {
  let n = 1;
  for (let d = axis; d < 4; d++) n *= dimOf(x, d);
  return n;
}

// out = [a, b] along axis
export function opConcat(a: i32, b: i32, axis: i32): i32 {
  const requires = tracks(a, b);
  const joined = dimOf(a, axis) + dimOf(b, axis);
  const out = newScratch(rankOf(a),
    axis == 0 ? joined : dimOf(a, 0),
    axis == 1 ? joined : dimOf(a, 1),
    axis == 2 ? joined : dimOf(a, 2),
    axis == 3 ? joined : dimOf(a, 3), requires);
  if (out < 0) return out;
  const blockA = blockOf(a, axis), blockB = blockOf(b, axis), outer = sizeOf(a) / blockA;
  const bytesA = <usize>blockA << 2, bytesB = <usize>blockB << 2;
  let y = dataOf(out);
  for (let i = 0; i < outer; i++) {
    memory.copy(y, dataOf(a) + <usize>i * bytesA, bytesA);
    memory.copy(y + bytesA, dataOf(b) + <usize>i * bytesB, bytesB);
    y += bytesA + bytesB;
  }
  if (requires) {
    const r = record(concatBackward, out, a, b);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecInt(r, axis);
  }
  return out;
}

/** dst[k] += src[k] for k < n. */
function addInto(dst: usize, src: usize, n: i32): void {
  for (let k = 0; k < n; k++) {
    const o = <usize>k << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

// out = [a, b] along axis  =>  da += dout[:, :A], db += dout[:, A:]  (per outer row)
function concatBackward(r: usize): void {
  const a = recA(r), b = recB(r), axis = recInt(r);
  const ga = gradFor(a), gb = gradFor(b);
  const blockA = blockOf(a, axis), blockB = blockOf(b, axis), outer = sizeOf(a) / blockA;
  let g = gradPtrOf(recOut(r));
  for (let i = 0; i < outer; i++) {
    if (ga != 0) addInto(ga + (<usize>(i * blockA) << 2), g, blockA);
    if (gb != 0) addInto(gb + (<usize>(i * blockB) << 2), g + (<usize>blockA << 2), blockB);
    g += <usize>(blockA + blockB) << 2;
  }
}
