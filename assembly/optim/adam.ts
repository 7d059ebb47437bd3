// Adam and AdamW, as torch.optim.Adam / torch.optim.AdamW (amsgrad off):
//
//   Adam  (L2, decoupled = 0):     g = grad + weightDecay * p
//   AdamW (decoupled = 1):         p = p * (1 - lr * weightDecay)
//   m   = beta1 * m + (1 - beta1) * g
//   v   = beta2 * v + (1 - beta2) * g * g
//   bc1 = 1 - beta1^step,   bc2 = 1 - beta2^step                 (step is 1-based)
//   p   = p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
//
// The scalars (bias corrections, step size, decay factor) are computed in f64, as PyTorch does
// in Python floats, with AssemblyScript's software Math.pow (the same bits on every engine),
// then rounded to f32; the elementwise update is f32. The SIMD path does each element's
// operations in the scalar path's order (sqrt and division are exactly rounded in both).
//
// Arguments (argument buffer, see args.ts): n parameter ids, n first-moment ids, n
// second-moment ids. Parameters without a gradient buffer are skipped.

import { dataOf, gradPtrOf, sizeOf } from '../tensor';
import { argId } from './args';

/** One Adam (decoupled = false) or AdamW (decoupled = true) step over n parameters. */
export function adamStep(n: i32, lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, decoupled: bool, step: i32): void {
  const bc1 = 1.0 - Math.pow(<f64>beta1, <f64>step);
  const bc2 = 1.0 - Math.pow(<f64>beta2, <f64>step);
  const stepSize = <f32>(<f64>lr / bc1);
  const bc2Sqrt = <f32>Math.sqrt(bc2);
  const decay = decoupled && weightDecay != 0 ? <f32>(1.0 - <f64>lr * <f64>weightDecay) : <f32>1;
  const l2 = decoupled ? <f32>0 : weightDecay;
  for (let k = 0; k < n; k++) {
    const param = argId(k);
    const g = gradPtrOf(param);
    if (g == 0) continue;
    adamTensor(dataOf(param), g, dataOf(argId(n + k)), dataOf(argId(2 * n + k)), sizeOf(param),
      beta1, beta2, eps, l2, decay, stepSize, bc2Sqrt);
  }
}

// p, g, m, v: (size) each
function adamTensor(p: usize, g: usize, m: usize, v: usize, size: i32, beta1: f32, beta2: f32, eps: f32,
  l2: f32, decay: f32, stepSize: f32, bc2Sqrt: f32): void {
  const oneMinusBeta1: f32 = 1 - beta1, oneMinusBeta2: f32 = 1 - beta2;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vb1 = f32x4.splat(beta1), vb2 = f32x4.splat(beta2), v1b1 = f32x4.splat(oneMinusBeta1), v1b2 = f32x4.splat(oneMinusBeta2);
    const veps = f32x4.splat(eps), vl2 = f32x4.splat(l2), vdecay = f32x4.splat(decay);
    const vstep = f32x4.splat(stepSize), vbc2 = f32x4.splat(bc2Sqrt);
    for (; i + 4 <= size; i += 4) {
      const o = <usize>i << 2;
      let pv = v128.load(p + o);
      let gv = v128.load(g + o);
      if (l2 != 0) gv = f32x4.add(gv, f32x4.mul(vl2, pv));
      if (decay != 1) pv = f32x4.mul(pv, vdecay);
      const mv = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(v1b1, gv));
      const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(f32x4.mul(v1b2, gv), gv));
      v128.store(m + o, mv);
      v128.store(v + o, vv);
      const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc2), veps);
      v128.store(p + o, f32x4.sub(pv, f32x4.mul(vstep, f32x4.div(mv, denom))));
    }
  }
  for (; i < size; i++) {
    const o = <usize>i << 2;
    let pv = load<f32>(p + o);
    let gv = load<f32>(g + o);
    if (l2 != 0) gv = gv + l2 * pv;
    if (decay != 1) pv = pv * decay;
    const mv = beta1 * load<f32>(m + o) + oneMinusBeta1 * gv;
    const vv = beta2 * load<f32>(v + o) + (oneMinusBeta2 * gv) * gv;
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    const denom = Mathf.sqrt(vv) / bc2Sqrt + eps;
    store<f32>(p + o, pv - stepSize * (mv / denom));
  }
}
