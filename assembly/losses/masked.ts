// Masked mean, fused forward and backward:  out = sum(x * mask) / sum(mask)
// x and mask have the same shape; the mask (0/1 or non-negative weights) gets no gradient.

import { dataOf, gradPtrOf, newScratch, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recB, recF0, setRecF0 } from '../autodiff/tape';
import { scratchAlloc } from '../memory';
import { meanDenominator, maskedMeanOf } from './stats';

// out = sum(x * mask) / sum(mask)
export function opMaskedMean(x: i32, mask: i32): i32 {
  const n = sizeOf(x);
  const requires = tracks(x);
  const out = newScratch(0, 1, 1, 1, 1, requires);
  if (out < 0) return out;
  const terms = scratchAlloc(<usize>n << 2); // (N) x * mask
  if (terms == 0) return ERR_OUT_OF_MEMORY;
  memory.copy(terms, dataOf(x), <usize>n << 2);
  const pm = dataOf(mask);
  const denom = meanDenominator(mask, pm, n);
  store<f32>(dataOf(out), maskedMeanOf(terms, mask, pm, n, denom));
  if (requires) {
    const r = record(maskedMeanBackward, out, x, mask);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecF0(r, denom);
  }
  return out;
}

// Backward of out = sum(x * mask) / denom:  dx_i += (dout / denom) * mask_i
function maskedMeanBackward(r: usize): void {
  const x = recA(r), mask = recB(r);
  const g = gradFor(x);
  if (g == 0) return;
  const n = sizeOf(x), pm = dataOf(mask);
  const scale = load<f32>(gradPtrOf(recOut(r))) / recF0(r);
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(g + o, load<f32>(g + o) + scale * load<f32>(pm + o));
  }
}
