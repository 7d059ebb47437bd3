// Elementwise binary ops with broadcasting: add, sub, mul, div, minimum, maximum.
// Primitives (see assembly/README.md): all six are primitives; scalar variants (x + 2) are the
// same ops with a rank-0 operand.

import { dataOf, gradPtrOf, newScratch, gradFor, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recB, recInt, setRecInt } from '../autodiff/tape';
import { broadcastShape, broadcastStrides, od, st, stridesA, stridesB } from './broadcast';

const ADD: i32 = 0;
const SUB: i32 = 1;
const MUL: i32 = 2;
const DIV: i32 = 3;
const MIN: i32 = 4;
const MAX: i32 = 5;

@inline function apply(op: i32, x: f32, y: f32): f32 {
  switch (op) {
    case ADD: return x + y;
    case SUB: return x - y;
    case MUL: return x * y;
    case DIV: return x / y;
    case MIN: return min<f32>(x, y);
    default: return max<f32>(x, y);
  }
}

@inline function applyV(op: i32, x: v128, y: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(x, y);
    case SUB: return f32x4.sub(x, y);
    case MUL: return f32x4.mul(x, y);
    case DIV: return f32x4.div(x, y);
    case MIN: return f32x4.min(x, y);
    default: return f32x4.max(x, y);
  }
}

/** One output row: out[j] = a[j*sa] (op) b[j*sb] for j < n; sa, sb are 0 or 1. */
function row(op: i32, out: usize, a: usize, b: usize, n: i32, sa: i32, sb: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    if (sa == 1 && sb == 1) {
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        v128.store(out + o, applyV(op, v128.load(a + o), v128.load(b + o)));
      }
    } else if (sa == 1 && sb == 0) {
      const y = f32x4.splat(load<f32>(b));
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        v128.store(out + o, applyV(op, v128.load(a + o), y));
      }
    } else if (sa == 0 && sb == 1) {
      const x = f32x4.splat(load<f32>(a));
      for (; j + 4 <= n; j += 4) {
        const o = <usize>j << 2;
        v128.store(out + o, applyV(op, x, v128.load(b + o)));
      }
    }
  }
  for (; j < n; j++) {
    store<f32>(out + (<usize>j << 2), apply(op, load<f32>(a + (<usize>(j * sa) << 2)), load<f32>(b + (<usize>(j * sb) << 2))));
  }
}

// out = a (op) b, broadcast
function binaryForward(op: i32, a: i32, b: i32): i32 {
  const rank = broadcastShape(a, b);
  const requires = tracks(a, b);
  const out = newScratch(rank, od(4 - rank), od(5 - rank), od(6 - rank), od(7 - rank), requires);
  if (out < 0) return out;
  broadcastStrides(a, stridesA);
  broadcastStrides(b, stridesB);
  const pa = dataOf(a), pb = dataOf(b);
  let po = dataOf(out);
  const n3 = od(3);
  for (let i0 = 0; i0 < od(0); i0++) {
    for (let i1 = 0; i1 < od(1); i1++) {
      for (let i2 = 0; i2 < od(2); i2++) {
        const oa = i0 * st(stridesA, 0) + i1 * st(stridesA, 1) + i2 * st(stridesA, 2);
        const ob = i0 * st(stridesB, 0) + i1 * st(stridesB, 1) + i2 * st(stridesB, 2);
        row(op, po, pa + (<usize>oa << 2), pb + (<usize>ob << 2), n3, st(stridesA, 3), st(stridesB, 3));
        po += <usize>n3 << 2;
      }
    }
  }
  if (requires) {
    const r = record(binaryBackward, out, a, b);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecInt(r, op);
  }
  return out;
}

// Backward of out = a (op) b: walk the output again with the same strides and accumulate
// ga[offA] += dout * d(op)/da and gb[offB] += dout * d(op)/db. Broadcast dims sum in row order.
function binaryBackward(r: usize): void {
  const op = recInt(r);
  const out = recOut(r), a = recA(r), b = recB(r);
  const ga = gradFor(a), gb = gradFor(b);
  broadcastShape(a, b);
  broadcastStrides(a, stridesA);
  broadcastStrides(b, stridesB);
  const pa = dataOf(a), pb = dataOf(b), po = dataOf(out), g = gradPtrOf(out);
  if (op == ADD || op == SUB) {
    // d(a + b) = (dout, dout), d(a - b) = (dout, -dout): row-wise accumulation, same order
    if (ga != 0) accumulateBroadcast(ga, stridesA, g, false);
    if (gb != 0) accumulateBroadcast(gb, stridesB, g, op == SUB);
    return;
  }
  let k = 0;
  for (let i0 = 0; i0 < od(0); i0++) {
    for (let i1 = 0; i1 < od(1); i1++) {
      for (let i2 = 0; i2 < od(2); i2++) {
        for (let i3 = 0; i3 < od(3); i3++) {
          const ia = <usize>(i0 * st(stridesA, 0) + i1 * st(stridesA, 1) + i2 * st(stridesA, 2) + i3 * st(stridesA, 3)) << 2;
          const ib = <usize>(i0 * st(stridesB, 0) + i1 * st(stridesB, 1) + i2 * st(stridesB, 2) + i3 * st(stridesB, 3)) << 2;
          const d = load<f32>(g + (<usize>k << 2));
          const x = load<f32>(pa + ia), y = load<f32>(pb + ib);
          let da: f32 = 0, db: f32 = 0;
          switch (op) {
            case ADD: { da = d; db = d; break; }
            case SUB: { da = d; db = -d; break; }
            case MUL: { da = d * y; db = d * x; break; }
            // d(x/y)/dy = -(x/y)/y: reusing the output q = x/y avoids y*y, which overflows
            // for |y| > 1.8e19 and underflows to 0 (then inf) for |y| < 1e-19
            case DIV: { da = d / y; db = -da * load<f32>(po + (<usize>k << 2)); break; }
            // ties send the gradient to a, as PyTorch's where(a <= b, ...) would
            case MIN: { if (x <= y || isNaN(x)) da = d; else db = d; break; }
            default: { if (x >= y || isNaN(x)) da = d; else db = d; break; }
          }
          if (ga != 0) store<f32>(ga + ia, load<f32>(ga + ia) + da);
          if (gb != 0) store<f32>(gb + ib, load<f32>(gb + ib) + db);
          k++;
        }
      }
    }
  }
}

/**
 * gx[offset(x)] += (negate ? -dout : dout) over the output in row-major order: the same
 * additions in the same order as the general loop above, with a SIMD row when x does not
 * broadcast along the last dim (x + (-d) and x - d are the same IEEE operation).
 */
function accumulateBroadcast(gx: usize, strides: usize, g: usize, negate: bool): void {
  const n3 = od(3);
  const s3 = st(strides, 3);
  let pg = g;
  for (let i0 = 0; i0 < od(0); i0++) {
    for (let i1 = 0; i1 < od(1); i1++) {
      for (let i2 = 0; i2 < od(2); i2++) {
        const px = gx + (<usize>(i0 * st(strides, 0) + i1 * st(strides, 1) + i2 * st(strides, 2)) << 2);
        let j = 0;
        if (s3 == 1) {
          if (ASC_FEATURE_SIMD) {
            for (; j + 4 <= n3; j += 4) {
              const o = <usize>j << 2;
              const d = v128.load(pg + o);
              v128.store(px + o, negate ? f32x4.sub(v128.load(px + o), d) : f32x4.add(v128.load(px + o), d));
            }
          }
          for (; j < n3; j++) {
            const o = <usize>j << 2;
            const d = load<f32>(pg + o);
            store<f32>(px + o, negate ? load<f32>(px + o) - d : load<f32>(px + o) + d);
          }
        } else {
          let acc = load<f32>(px);
          for (; j < n3; j++) {
            const d = load<f32>(pg + (<usize>j << 2));
            acc = negate ? acc - d : acc + d;
          }
          store<f32>(px, acc);
        }
        pg += <usize>n3 << 2;
      }
    }
  }
}

/** a + b (broadcast) */
export function opAdd(a: i32, b: i32): i32 { return binaryForward(ADD, a, b); }
/** a - b (broadcast) */
export function opSub(a: i32, b: i32): i32 { return binaryForward(SUB, a, b); }
/** a * b (broadcast) */
export function opMul(a: i32, b: i32): i32 { return binaryForward(MUL, a, b); }
/** a / b (broadcast) */
export function opDiv(a: i32, b: i32): i32 { return binaryForward(DIV, a, b); }
/** elementwise min(a, b) (broadcast); ties pass the gradient to a */
export function opMinimum(a: i32, b: i32): i32 { return binaryForward(MIN, a, b); }
/** elementwise max(a, b) (broadcast); ties pass the gradient to a */
export function opMaximum(a: i32, b: i32): i32 { return binaryForward(MAX, a, b); }
