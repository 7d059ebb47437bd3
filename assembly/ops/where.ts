// Elementwise selection (a primitive): out = cond != 0 ? a : b, broadcasting all three operands
// with the numpy rule (ops/broadcast.ts). Any nonzero cond counts as true, NaN included (it is
// != 0); -0 counts as false. The gradient goes to a where cond is true, to b elsewhere, and
// never to cond (a selection is piecewise constant in it).

import { dataOf, gradPtrOf, newScratch, gradFor, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recB, recC } from '../autodiff/tape';
import { broadcastShape, broadcastStrides, od, st, stridesA, stridesB, stridesC } from './broadcast';

// 16-byte splats of an operand's single last-dim value, so the SIMD loop below can load every
// operand with a plain v128.load whether it broadcasts along the last dim (step 0) or not.
const splatCond = memory.data(16);
const splatA = memory.data(16);
const splatB = memory.data(16);

/** Where the SIMD loop reads `src` from: `src` itself (stride 1) or a splat of src[0] (stride 0). */
@inline function vectorSource(src: usize, stride: i32, splat: usize): usize {
  if (stride == 1) return src;
  v128.store(splat, v128.load32_splat(src));
  return splat;
}

/** One output row: out[j] = c[j*sc] != 0 ? a[j*sa] : b[j*sb] for j < n; strides are 0 or 1. */
function selectRow(out: usize, c: usize, a: usize, b: usize, n: i32, sc: i32, sa: i32, sb: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const vc = vectorSource(c, sc, splatCond), va = vectorSource(a, sa, splatA), vb = vectorSource(b, sb, splatB);
    const stepC = <usize>(sc << 4), stepA = <usize>(sa << 4), stepB = <usize>(sb << 4);
    const zero = f32x4.splat(0);
    let pc = vc, pa = va, pb = vb, po = out;
    for (; j + 4 <= n; j += 4) {
      const isTrue = f32x4.ne(v128.load(pc), zero);
      v128.store(po, v128.bitselect(v128.load(pa), v128.load(pb), isTrue));
      pc += stepC;
      pa += stepA;
      pb += stepB;
      po += 16;
    }
  }
  for (; j < n; j++) {
    const cv = load<f32>(c + (<usize>(j * sc) << 2));
    const av = load<f32>(a + (<usize>(j * sa) << 2));
    const bv = load<f32>(b + (<usize>(j * sb) << 2));
    store<f32>(out + (<usize>j << 2), cv != 0 ? av : bv);
  }
}

// out = cond != 0 ? a : b, broadcast
export function opWhere(cond: i32, a: i32, b: i32): i32 {
  const rank = broadcastShape(cond, a, b);
  const requires = tracks(a, b);
  const out = newScratch(rank, od(4 - rank), od(5 - rank), od(6 - rank), od(7 - rank), requires);
  if (out < 0) return out;
  broadcastStrides(cond, stridesC);
  broadcastStrides(a, stridesA);
  broadcastStrides(b, stridesB);
  const pc = dataOf(cond), pa = dataOf(a), pb = dataOf(b);
  let po = dataOf(out);
  const n3 = od(3);
  for (let i0 = 0; i0 < od(0); i0++) {
    for (let i1 = 0; i1 < od(1); i1++) {
      for (let i2 = 0; i2 < od(2); i2++) {
        const oc = i0 * st(stridesC, 0) + i1 * st(stridesC, 1) + i2 * st(stridesC, 2);
        const oa = i0 * st(stridesA, 0) + i1 * st(stridesA, 1) + i2 * st(stridesA, 2);
        const ob = i0 * st(stridesB, 0) + i1 * st(stridesB, 1) + i2 * st(stridesB, 2);
        selectRow(po, pc + (<usize>oc << 2), pa + (<usize>oa << 2), pb + (<usize>ob << 2), n3,
          st(stridesC, 3), st(stridesA, 3), st(stridesB, 3));
        po += <usize>n3 << 2;
      }
    }
  }
  if (requires && record(whereBackward, out, cond, a, b) == 0) return ERR_OUT_OF_MEMORY;
  return out;
}

// Backward of out = cond != 0 ? a : b: walk the output again with the same strides;
// ga[offA] += dout where cond != 0, gb[offB] += dout elsewhere. Broadcast dims sum in row order.
function whereBackward(r: usize): void {
  const out = recOut(r), cond = recA(r), a = recB(r), b = recC(r);
  const ga = gradFor(a), gb = gradFor(b);
  broadcastShape(cond, a, b);
  broadcastStrides(cond, stridesC);
  broadcastStrides(a, stridesA);
  broadcastStrides(b, stridesB);
  const pc = dataOf(cond), g = gradPtrOf(out);
  let k = 0;
  for (let i0 = 0; i0 < od(0); i0++) {
    for (let i1 = 0; i1 < od(1); i1++) {
      for (let i2 = 0; i2 < od(2); i2++) {
        for (let i3 = 0; i3 < od(3); i3++) {
          const ic = <usize>(i0 * st(stridesC, 0) + i1 * st(stridesC, 1) + i2 * st(stridesC, 2) + i3 * st(stridesC, 3)) << 2;
          const d = load<f32>(g + (<usize>k << 2));
          if (load<f32>(pc + ic) != 0) {
            if (ga != 0) {
              const ia = <usize>(i0 * st(stridesA, 0) + i1 * st(stridesA, 1) + i2 * st(stridesA, 2) + i3 * st(stridesA, 3)) << 2;
              store<f32>(ga + ia, load<f32>(ga + ia) + d);
            }
          } else if (gb != 0) {
            const ib = <usize>(i0 * st(stridesB, 0) + i1 * st(stridesB, 1) + i2 * st(stridesB, 2) + i3 * st(stridesB, 3)) << 2;
            store<f32>(gb + ib, load<f32>(gb + ib) + d);
          }
          k++;
        }
      }
    }
  }
}
