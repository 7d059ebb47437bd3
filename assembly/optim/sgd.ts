// SGD with momentum, weight decay and Nesterov momentum, as torch.optim.SGD (dampening 0):
//
//   d   = grad + weightDecay * p                    (when weightDecay != 0)
//   buf = momentum * buf + d                        (when momentum != 0; buf starts at zero,
//                                                    so step 1 gives buf = d, PyTorch's clone)
//   d   = nesterov ? d + momentum * buf : buf
//   p   = p - lr * d
//
// Arguments (argument buffer, see args.ts): n parameter ids, then n momentum-buffer ids (read
// only when momentum != 0). Parameters without a gradient buffer are skipped. The SIMD path
// does each element's f32 operations in the scalar path's order, so both builds agree bit for bit.

import { dataOf, gradPtrOf, sizeOf } from '../tensor';
import { argId } from './args';

export { argBuffer, argCapacity } from './args';

/** One SGD step over the n parameters in the argument buffer. */
export function sgdStep(n: i32, lr: f32, momentum: f32, weightDecay: f32, nesterov: bool): void {
  for (let k = 0; k < n; k++) {
    const param = argId(k);
    const g = gradPtrOf(param);
    if (g == 0) continue;
    const buf = momentum != 0 ? dataOf(argId(n + k)) : 0;
    sgdTensor(dataOf(param), g, buf, sizeOf(param), lr, momentum, weightDecay, nesterov);
  }
}

// p (size), g (size), buf (size, or 0 without momentum)
function sgdTensor(p: usize, g: usize, buf: usize, size: i32, lr: f32, momentum: f32, weightDecay: f32, nesterov: bool): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vlr = f32x4.splat(lr), vmom = f32x4.splat(momentum), vwd = f32x4.splat(weightDecay);
    for (; i + 4 <= size; i += 4) {
      const o = <usize>i << 2;
      const pv = v128.load(p + o);
      let d = v128.load(g + o);
      if (weightDecay != 0) d = f32x4.add(d, f32x4.mul(vwd, pv));
      if (momentum != 0) {
        const b = f32x4.add(f32x4.mul(vmom, v128.load(buf + o)), d);
        v128.store(buf + o, b);
        d = nesterov ? f32x4.add(d, f32x4.mul(vmom, b)) : b;
      }
      v128.store(p + o, f32x4.sub(pv, f32x4.mul(vlr, d)));
    }
  }
  for (; i < size; i++) {
    const o = <usize>i << 2;
    const pv = load<f32>(p + o);
    let d = load<f32>(g + o);
    if (weightDecay != 0) d = d + weightDecay * pv;
    if (momentum != 0) {
      const b = momentum * load<f32>(buf + o) + d;
      store<f32>(buf + o, b);
      d = nesterov ? d + momentum * b : b;
    }
    store<f32>(p + o, pv - lr * d);
  }
}
