// Layer norm over the last axis (llm.c's layernorm_forward / layernorm_backward). x and out
// are (rows, C); gamma and beta are (C) or absent (id -1). Forward saves each row's mean and
// rstd = 1 / sqrt(var + eps) for backward. Row sums use sumCanonical (kernels.ts).

import { dataOf, gradPtrOf, newScratchLike, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { scratchAlloc } from '../memory';
import { tracks, record, recOut, recA, recB, recC, recPtr, setRecPtr, failBackward } from '../autodiff/tape';
import { sumCanonical, lastDim } from './kernels';

// mean = sum(x) / C;  var = sum((x - mean)^2) / C;  rstd = 1 / sqrt(var + eps)
// out = (x - mean) * rstd * gamma + beta
export function opLayerNorm(x: i32, gamma: i32, beta: i32, eps: f32): i32 {
  const requires = tracks(x, gamma, beta);
  const out = newScratchLike(x, requires);
  if (out < 0) return out;
  const c = lastDim(x), rows = sizeOf(x) / c;
  // stats: (rows, 2) = (mean, rstd) per row, saved for backward
  const stats = scratchAlloc(<usize>rows << 3);
  if (stats == 0) return ERR_OUT_OF_MEMORY;
  const g = gamma >= 0 ? dataOf(gamma) : 0, b = beta >= 0 ? dataOf(beta) : 0;
  for (let row = 0; row < rows; row++) {
    const xr = dataOf(x) + (<usize>(row * c) << 2);
    const yr = dataOf(out) + (<usize>(row * c) << 2);
    const mean = sumCanonical(xr, c) / <f32>c;
    // the output row holds (x - mean)^2 until the variance is known
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      const dev = load<f32>(xr + o) - mean;
      store<f32>(yr + o, dev * dev);
    }
    const variance = sumCanonical(yr, c) / <f32>c;
    const rstd = <f32>1 / Mathf.sqrt(variance + eps);
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      let v = (load<f32>(xr + o) - mean) * rstd;
      if (g != 0) v = v * load<f32>(g + o);
      if (b != 0) v = v + load<f32>(b + o);
      store<f32>(yr + o, v);
    }
    store<f32>(stats + (<usize>row << 3), mean);
    store<f32>(stats + (<usize>row << 3) + 4, rstd);
  }
  if (requires) {
    const r = record(layerNormBackward, out, x, gamma, beta);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecPtr(r, stats);
  }
  return out;
}

// With xhat = (x - mean) * rstd and out = xhat * gamma + beta:
//   dbeta[j]  += sum_r dout[r, j]
//   dgamma[j] += sum_r dout[r, j] * xhat[r, j]
//   dnorm = dout * gamma  (dout when gamma is absent)
//   dx += (dnorm - mean_j(dnorm) - xhat * mean_j(dnorm * xhat)) * rstd
function layerNormBackward(r: usize): void {
  const x = recA(r), gamma = recB(r), beta = recC(r), out = recOut(r);
  const gx = gradFor(x), ggamma = gradFor(gamma), gbeta = gradFor(beta);
  const c = lastDim(x), rows = sizeOf(x) / c, stats = recPtr(r);
  const g = gamma >= 0 ? dataOf(gamma) : 0;
  // dnorm, dnormXhat: (C) one row of dnorm and of dnorm * xhat, summed canonically
  const dnorm = scratchAlloc(<usize>c << 3);
  if (dnorm == 0) {
    failBackward();
    return;
  }
  const dnormXhat = dnorm + (<usize>c << 2);
  for (let row = 0; row < rows; row++) {
    const base = <usize>(row * c) << 2;
    const xr = dataOf(x) + base, dy = gradPtrOf(out) + base;
    const mean = load<f32>(stats + (<usize>row << 3));
    const rstd = load<f32>(stats + (<usize>row << 3) + 4);
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      const xhat = (load<f32>(xr + o) - mean) * rstd;
      const d = load<f32>(dy + o);
      if (gbeta != 0) store<f32>(gbeta + o, load<f32>(gbeta + o) + d);
      if (ggamma != 0) store<f32>(ggamma + o, load<f32>(ggamma + o) + d * xhat);
      const dn = g != 0 ? d * load<f32>(g + o) : d;
      store<f32>(dnorm + o, dn);
      store<f32>(dnormXhat + o, dn * xhat);
    }
    if (gx == 0) continue;
    const dnormMean = sumCanonical(dnorm, c) / <f32>c;
    const dnormXhatMean = sumCanonical(dnormXhat, c) / <f32>c;
    const dx = gx + base;
    for (let j = 0; j < c; j++) {
      const o = <usize>j << 2;
      const xhat = (load<f32>(xr + o) - mean) * rstd;
      const v = (load<f32>(dnorm + o) - dnormMean - xhat * dnormXhatMean) * rstd;
      store<f32>(dx + o, load<f32>(dx + o) + v);
    }
  }
}
