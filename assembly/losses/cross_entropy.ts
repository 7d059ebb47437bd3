// Cross-entropy from logits and the log-probability of given tokens, fused forward and
// backward. Both read a row of logits (V) once in forward: its max m and the log of its
// max-shifted exp-sum, log_z = log(sum_j exp(x_j - m)), so that
//
//   logp_t = (x_t - m) - log_z            (log_softmax(x)[t], as opLogSoftmax computes it)
//
// and save (m, log_z) per row, 2 floats, for backward, which recomputes softmax once:
// p_j = exp((x_j - m) - log_z). The (N, V) softmax is never stored.
//
// Targets arrive as f32 integers the host has checked (in [0, V), or the ignore index); each
// forward converts them once to i32 and saves that copy with (m, log_z).
//
// exp and log are the core's deterministic f32 functions (math/det.ts), directly or through
// expShiftedSum (kernels.ts).

import { dataOf, gradPtrOf, newScratch, gradFor, sizeOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { scratchAlloc } from '../memory';
import { tracks, record, recOut, recA, recInt, recF0, recPtr, setRecInt, setRecF0, setRecPtr } from '../autodiff/tape';
import { maxRow, expShiftedSum, sumCanonical, lastDim, newScratchDropLast } from '../ops/kernels';
import { detExp, detExpX4, detLog } from '../math/det';


/**
 * For each of `rows` rows of logits (V): saved[2 r] = m, saved[2 r + 1] = log_z, and the
 * target as i32 in saved[2 rows + r]. `tmp` holds one row of exp(x - m).
 */
function rowStats(logits: i32, targets: i32, rows: i32, v: i32, saved: usize, tmp: usize): void {
  const px = dataOf(logits), pt = dataOf(targets);
  const tgt = saved + (<usize>(2 * rows) << 2);
  for (let row = 0; row < rows; row++) {
    const x = px + (<usize>(row * v) << 2);
    const m = maxRow(x, v);
    store<f32>(saved + (<usize>(2 * row) << 2), m);
    store<f32>(saved + (<usize>(2 * row + 1) << 2), detLog(expShiftedSum(x, tmp, v, m)));
    store<i32>(tgt + (<usize>row << 2), <i32>load<f32>(pt + (<usize>row << 2)));
  }
}

/**
 * dx[row, :] += scale * (p - onehot(target)) for one row, p = exp((x - m) - log_z). The SIMD
 * build takes eight columns a step (math/det.ts detExpX4: the scalar detExp's bits) and then
 * redoes the target's column as the scalar loop does it, from its value before the row.
 */
function addSoftmaxMinusOneHot(x: usize, dx: usize, v: i32, m: f32, logZ: f32, target: i32, scale: f32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const hasTarget = target >= 0 && target < v;
    const targetAt = dx + (<usize>(hasTarget ? target : <i32>0) << 2);
    const before = load<f32>(targetAt);
    const mv = f32x4.splat(m), zv = f32x4.splat(logZ), sv = f32x4.splat(scale);
    for (; j + 8 <= v; j += 8) { // two vectors a step: their dependency chains overlap
      const o = <usize>j << 2;
      const lo = detExpX4(f32x4.sub(f32x4.sub(v128.load(x + o), mv), zv));
      const hi = detExpX4(f32x4.sub(f32x4.sub(v128.load(x + o, 16), mv), zv));
      v128.store(dx + o, f32x4.add(v128.load(dx + o), f32x4.mul(sv, lo)));
      v128.store(dx + o, f32x4.add(v128.load(dx + o, 16), f32x4.mul(sv, hi)), 16);
    }
    if (hasTarget && target < j) {
      const p = detExp((load<f32>(x + (<usize>target << 2)) - m) - logZ);
      store<f32>(targetAt, before + scale * (p - 1));
    }
  }
  for (; j < v; j++) {
    const o = <usize>j << 2;
    const p = detExp((load<f32>(x + o) - m) - logZ);
    const d = j == target ? p - 1 : p;
    store<f32>(dx + o, load<f32>(dx + o) + scale * d);
  }
}

// logits (N, V), targets (N) -> loss () = mean over rows with targets != ignoreIndex of
// -logp_target; 0 (with no gradient) when every row is ignored
export function lossCrossEntropy(logits: i32, targets: i32, ignoreIndex: i32): i32 {
  const v = lastDim(logits), rows = sizeOf(logits) / v;
  const requires = tracks(logits);
  const out = newScratch(0, 1, 1, 1, 1, requires);
  if (out < 0) return out;
  const saved = scratchAlloc(<usize>(3 * rows) << 2);
  const tmp = scratchAlloc(<usize>v << 2), nll = scratchAlloc(<usize>rows << 2);
  if (saved == 0 || tmp == 0 || nll == 0) return ERR_OUT_OF_MEMORY;
  rowStats(logits, targets, rows, v, saved, tmp);
  const tgt = saved + (<usize>(2 * rows) << 2);
  let count = 0;
  for (let row = 0; row < rows; row++) {
    const target = load<i32>(tgt + (<usize>row << 2));
    let loss: f32 = 0;
    if (target != ignoreIndex) {
      const x = load<f32>(dataOf(logits) + (<usize>(row * v + target) << 2));
      // -logp_t = log_z - (x_t - m)
      loss = load<f32>(saved + (<usize>(2 * row + 1) << 2)) - (x - load<f32>(saved + (<usize>(2 * row) << 2)));
      count++;
    }
    store<f32>(nll + (<usize>row << 2), loss);
  }
  store<f32>(dataOf(out), count > 0 ? sumCanonical(nll, rows) / <f32>count : 0);
  if (requires) {
    const r = record(crossEntropyBackward, out, logits, targets);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecPtr(r, saved);
    setRecInt(r, ignoreIndex);
    setRecF0(r, <f32>count);
  }
  return out;
}

// loss = (1 / count) sum_rows -logp_t  =>  dx[row, j] += dloss / count * (p_j - [j == t])
// for every row that is not ignored
function crossEntropyBackward(r: usize): void {
  const logits = recA(r), gx = gradFor(logits);
  const count = recF0(r);
  if (gx == 0 || count == 0) return;
  const v = lastDim(logits), rows = sizeOf(logits) / v, saved = recPtr(r), ignoreIndex = recInt(r);
  const tgt = saved + (<usize>(2 * rows) << 2);
  const scale = load<f32>(gradPtrOf(recOut(r))) / count;
  for (let row = 0; row < rows; row++) {
    const target = load<i32>(tgt + (<usize>row << 2));
    if (target == ignoreIndex) continue;
    const base = <usize>(row * v) << 2;
    addSoftmaxMinusOneHot(dataOf(logits) + base, gx + base, v, load<f32>(saved + (<usize>(2 * row) << 2)),
      load<f32>(saved + (<usize>(2 * row + 1) << 2)), target, scale);
  }
}

// logits (..., V), tokens (...) -> out (...) = log_softmax(logits)[token]
export function opTokenLogProb(logits: i32, tokens: i32): i32 {
  const v = lastDim(logits), rows = sizeOf(logits) / v;
  const requires = tracks(logits);
  const out = newScratchDropLast(logits, requires);
  if (out < 0) return out;
  const saved = scratchAlloc(<usize>(3 * rows) << 2), tmp = scratchAlloc(<usize>v << 2);
  if (saved == 0 || tmp == 0) return ERR_OUT_OF_MEMORY;
  rowStats(logits, tokens, rows, v, saved, tmp);
  const tgt = saved + (<usize>(2 * rows) << 2), po = dataOf(out);
  for (let row = 0; row < rows; row++) {
    const target = load<i32>(tgt + (<usize>row << 2));
    const x = load<f32>(dataOf(logits) + (<usize>(row * v + target) << 2));
    const m = load<f32>(saved + (<usize>(2 * row) << 2)), logZ = load<f32>(saved + (<usize>(2 * row + 1) << 2));
    store<f32>(po + (<usize>row << 2), (x - m) - logZ);
  }
  if (requires) {
    const r = record(tokenLogProbBackward, out, logits, tokens);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecPtr(r, saved);
  }
  return out;
}

// out[row] = x_t - m - log_z  =>  dx[row, j] += dout[row] * ([j == t] - p_j)
function tokenLogProbBackward(r: usize): void {
  const logits = recA(r), gx = gradFor(logits);
  if (gx == 0) return;
  const v = lastDim(logits), rows = sizeOf(logits) / v, saved = recPtr(r);
  const tgt = saved + (<usize>(2 * rows) << 2), g = gradPtrOf(recOut(r));
  for (let row = 0; row < rows; row++) {
    const base = <usize>(row * v) << 2;
    addSoftmaxMinusOneHot(dataOf(logits) + base, gx + base, v, load<f32>(saved + (<usize>(2 * row) << 2)),
      load<f32>(saved + (<usize>(2 * row + 1) << 2)), load<i32>(tgt + (<usize>row << 2)), -load<f32>(g + (<usize>row << 2)));
  }
}
