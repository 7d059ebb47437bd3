// Elementwise unary ops. Each forward stores its output; each backward reads the saved
// input or output (whichever its derivative needs) from the record's tensors.

import { dataOf, gradPtrOf, newScratchLike, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA } from '../autodiff/tape';

// out = max(x, 0)
export function opRelu(a: i32): i32 {
  const requires = tracks(a);
  const out = newScratchLike(a, requires);
  if (out < 0) return out;
  const n = sizeOf(a), x = dataOf(a), y = dataOf(out);
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, max<f32>(load<f32>(x + o), 0));
  }
  if (requires && record(reluBackward, out, a) == 0) return ERR_OUT_OF_MEMORY;
  return out;
}

// dx += dout * (x > 0)
function reluBackward(r: usize): void {
  const a = recA(r), ga = gradFor(a);
  if (ga == 0) return;
  const n = sizeOf(a), x = dataOf(a), g = gradPtrOf(recOut(r));
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    if (load<f32>(x + o) > 0) store<f32>(ga + o, load<f32>(ga + o) + load<f32>(g + o));
  }
}
