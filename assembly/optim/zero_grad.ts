// Zeroing the gradients of many tensors in one call (Optimizer.zeroGrad, Module.zeroGrad), so
// a training step does not cross into the core once per parameter.
//
// Arguments (argument buffer, see args.ts): n tensor ids; tensors without a gradient buffer
// are skipped.

import { gradPtrOf, sizeOf } from '../tensor';
import { argId } from './args';

/** Zeroes the gradient buffers of the n tensors in the argument buffer. */
export function zeroGrads(n: i32): void {
  for (let k = 0; k < n; k++) {
    const id = argId(k);
    const g = gradPtrOf(id);
    if (g != 0) memory.fill(g, 0, <usize>sizeOf(id) << 2);
  }
}
