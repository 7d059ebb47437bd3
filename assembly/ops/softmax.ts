// Softmax and log-softmax over the last axis, numerically stable: each row is shifted by its
// max before exp, so the largest exponent is exp(0) = 1 and nothing overflows. x and out are
// (rows, C). Row sums use sumCanonical (kernels.ts), exp and log are math/det.ts's (four lanes
// at a time where a row allows), so the SIMD and scalar builds agree bit for bit.

import { dataOf, gradPtrOf, newScratchLike, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { scratchAlloc } from '../memory';
import { tracks, record, recOut, recA, failBackward } from '../autodiff/tape';
import { sumCanonical, maxRow, lastDim, expShiftedSum } from './kernels';
import { detExp, detExpX4, detLog } from '../math/det';

// out[r, j] = exp(x[r, j] - m) / s,  m = max_j x[r, j],  s = sum_j exp(x[r, j] - m)
export function opSoftmax(a: i32): i32 {
  const requires = tracks(a);
  const out = newScratchLike(a, requires);
  if (out < 0) return out;
  const c = lastDim(a), rows = sizeOf(a) / c;
  for (let row = 0; row < rows; row++) {
    const x = dataOf(a) + (<usize>(row * c) << 2);
    const y = dataOf(out) + (<usize>(row * c) << 2);
    const s = expShiftedSum(x, y, c, maxRow(x, c));
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(y + o, load<f32>(y + o) / s);
    }
  }
  if (requires && record(softmaxBackward, out, a) == 0) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = softmax(x)  =>  dx[r, j] += y[r, j] * (dy[r, j] - sum_k dy[r, k] * y[r, k])
function softmaxBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const out = recOut(r), c = lastDim(a), rows = sizeOf(a) / c;
  // products: (C) dy * y of one row, summed canonically
  const products = scratchAlloc(<usize>c << 2);
  if (products == 0) {
    failBackward();
    return;
  }
  for (let row = 0; row < rows; row++) {
    const base = <usize>(row * c) << 2;
    const y = dataOf(out) + base, dy = gradPtrOf(out) + base, dx = ga + base;
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(products + o, load<f32>(dy + o) * load<f32>(y + o));
    }
    const dot = sumCanonical(products, c);
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(dx + o, load<f32>(dx + o) + load<f32>(y + o) * (load<f32>(dy + o) - dot));
    }
  }
}

// out[r, j] = (x[r, j] - m) - log(sum_k exp(x[r, k] - m)),  m = max_j x[r, j]
export function opLogSoftmax(a: i32): i32 {
  const requires = tracks(a);
  const out = newScratchLike(a, requires);
  if (out < 0) return out;
  const c = lastDim(a), rows = sizeOf(a) / c;
  for (let row = 0; row < rows; row++) {
    const x = dataOf(a) + (<usize>(row * c) << 2);
    const y = dataOf(out) + (<usize>(row * c) << 2);
    const m = maxRow(x, c);
    // the output row holds exp(x - m) until the log-sum is known
    const logSum = detLog(expShiftedSum(x, y, c, m));
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(y + o, (load<f32>(x + o) - m) - logSum);
    }
  }
  if (requires && record(logSoftmaxBackward, out, a) == 0) return ERR_OUT_OF_MEMORY;
  return out;
}

// y = log_softmax(x)  =>  dx[r, j] += dy[r, j] - exp(y[r, j]) * sum_k dy[r, k]
function logSoftmaxBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const out = recOut(r), c = lastDim(a), rows = sizeOf(a) / c;
  for (let row = 0; row < rows; row++) {
    const base = <usize>(row * c) << 2;
    const y = dataOf(out) + base, dy = gradPtrOf(out) + base, dx = ga + base;
    const total = sumCanonical(dy, c);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      const tv = f32x4.splat(total);
      for (; j + 8 <= c; j += 8) { // two vectors a step: their dependency chains overlap
        const o = <usize>j << 2;
        const d0 = f32x4.sub(v128.load(dy + o), f32x4.mul(detExpX4(v128.load(y + o)), tv));
        const d1 = f32x4.sub(v128.load(dy + o, 16), f32x4.mul(detExpX4(v128.load(y + o, 16)), tv));
        v128.store(dx + o, f32x4.add(v128.load(dx + o), d0));
        v128.store(dx + o, f32x4.add(v128.load(dx + o, 16), d1), 16);
      }
      for (; j + 4 <= c; j += 4) {
        const o = <usize>j << 2;
        const d = f32x4.sub(v128.load(dy + o), f32x4.mul(detExpX4(v128.load(y + o)), tv));
        v128.store(dx + o, f32x4.add(v128.load(dx + o), d));
      }
    }
    for (; j < c; j++) {
      const o = <usize>j << 2;
      store<f32>(dx + o, load<f32>(dx + o) + (load<f32>(dy + o) - detExp(load<f32>(y + o)) * total));
    }
  }
}
