// Reductions. Every sum goes through sumCanonical (kernels.ts) so that the SIMD and scalar
// builds agree bit for bit.

import { dataOf, gradPtrOf, newScratch, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA } from '../autodiff/tape';
import { sumCanonical } from './kernels';

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
