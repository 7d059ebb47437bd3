// Fused causal self-attention, forward and backward, one head at a time:
//
//   q (B, H, T, D), k and v (B, H, S, D) with S = P + T (P past positions, e.g. from a KV
//   cache), optional key mask (B, S) of 0/1 -> out (B, H, T, D)
//   scores[i, j] = (q_i . k_j) * (1 / sqrt(D))      for allowed (i, j), -inf otherwise
//   allowed(i, j) = j <= P + i  and  mask[b, j] != 0
//   p[i, :] = softmax(scores[i, :]),  out_i = sum_j p[i, j] v_j
//
// A query row with no allowed key (every key masked) gets out_i = 0 and passes no gradient,
// rather than the 0/0 = NaN of a softmax over nothing.
//
// Per head the (T, S) score matrix lives in a scratch buffer reused by every head; backward
// recomputes it from q and k and keeps only each row's max and exp-sum from forward (2 floats
// per query row; the log-sum-exp in two parts), not the (B, H, T, S) probabilities. The f32
// operations are those of the composed version (sdk/nn/attention.ts: matmul, mul by the scale,
// where, softmax, matmul) in the same order: products through gemm with the same arguments,
// row max, exp and sums through the kernels.ts helpers softmax uses.

import { dataOf, gradPtrOf, newScratch, gradFor, dimOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { scratchAlloc } from '../memory';
import { tracks, record, recOut, recA, recB, recC, recInt, recF0, recPtr, setRecInt, setRecF0, setRecPtr, failBackward } from '../autodiff/tape';
import { gemm } from './gemm';
import { maxRow, expShiftedSum, sumCanonical } from './kernels';

/**
 * One head's scaled, masked scores: scores (T, S) = q (T, D) k (S, D)^T * scale, then -inf
 * where key j is in query i's future (j > past + i) or masked out (keyMask[j] == 0; keyMask 0:
 * no mask). Returns false when gemm cannot allocate its workspace.
 */
function headScores(qh: usize, kh: usize, keyMask: usize, scores: usize, t: i32, s: i32, d: i32, past: i32, scale: f32): bool {
  if (!gemm(false, true, t, s, d, qh, kh, scores, false)) return false;
  for (let i = 0; i < t; i++) {
    const row = scores + (<usize>(i * s) << 2);
    for (let j = 0; j < s; j++) {
      const o = <usize>j << 2;
      const allowed = j <= past + i && (keyMask == 0 || load<f32>(keyMask + o) != 0);
      store<f32>(row + o, allowed ? load<f32>(row + o) * scale : -Infinity);
    }
  }
  return true;
}

/**
 * probs[i, :] = exp(scores[i, :] - rowMax[i]) / rowSum[i], or 0 for a row with no allowed key
 * (rowMax -inf). With `fresh`, rowMax and rowSum are computed here and written out (forward);
 * otherwise they are read (backward recomputes the forward's probabilities bit for bit).
 */
function headProbs(scores: usize, probs: usize, rowMax: usize, rowSum: usize, t: i32, s: i32, fresh: bool): void {
  for (let i = 0; i < t; i++) {
    const x = scores + (<usize>(i * s) << 2), y = probs + (<usize>(i * s) << 2);
    const m = fresh ? maxRow(x, s) : load<f32>(rowMax + (<usize>i << 2));
    if (m == -Infinity) {
      memory.fill(y, 0, <usize>s << 2);
      if (fresh) {
        store<f32>(rowMax + (<usize>i << 2), m);
        store<f32>(rowSum + (<usize>i << 2), 0);
      }
      continue;
    }
    const sum = expShiftedSum(x, y, s, m);
    const total = fresh ? sum : load<f32>(rowSum + (<usize>i << 2));
    if (fresh) {
      store<f32>(rowMax + (<usize>i << 2), m);
      store<f32>(rowSum + (<usize>i << 2), total);
    }
    for (let j = 0; j < s; j++) {
      const o = <usize>j << 2;
      store<f32>(y + o, load<f32>(y + o) / total);
    }
  }
}

// out (B, H, T, D) = softmax(causal_mask(q k^T / sqrt(D))) v, per (b, h); mask -1: none
export function opCausalAttention(q: i32, k: i32, v: i32, mask: i32): i32 {
  const requires = tracks(q, k, v);
  const b = dimOf(q, 0), h = dimOf(q, 1), t = dimOf(q, 2), d = dimOf(q, 3), s = dimOf(k, 2);
  const past = s - t;
  const out = newScratch(4, b, h, t, d, requires);
  if (out < 0) return out;
  const scale = <f32>(1.0 / Math.sqrt(<f64>d));
  const rows = b * h * t;
  // saved: rowMax (B, H, T), rowSum (B, H, T), then a copy of the mask (B, S)
  const maskFloats: i32 = mask >= 0 ? b * s : 0;
  const saved = scratchAlloc(<usize>(2 * rows + maskFloats) << 2);
  const scores = scratchAlloc(<usize>(t * s) << 2), probs = scratchAlloc(<usize>(t * s) << 2);
  if (saved == 0 || scores == 0 || probs == 0) return ERR_OUT_OF_MEMORY;
  const maskCopy = mask >= 0 ? saved + (<usize>(2 * rows) << 2) : 0;
  if (mask >= 0) memory.copy(maskCopy, dataOf(mask), <usize>(b * s) << 2);
  for (let bi = 0; bi < b; bi++) {
    const keyMask = mask >= 0 ? maskCopy + (<usize>(bi * s) << 2) : 0;
    for (let hi = 0; hi < h; hi++) {
      const head = bi * h + hi;
      const qh = dataOf(q) + (<usize>(head * t * d) << 2);
      const kh = dataOf(k) + (<usize>(head * s * d) << 2), vh = dataOf(v) + (<usize>(head * s * d) << 2);
      if (!headScores(qh, kh, keyMask, scores, t, s, d, past, scale)) return ERR_OUT_OF_MEMORY;
      const rowMax = saved + (<usize>(head * t) << 2), rowSum = saved + (<usize>(rows + head * t) << 2);
      headProbs(scores, probs, rowMax, rowSum, t, s, true);
      if (!gemm(false, false, t, d, s, probs, vh, dataOf(out) + (<usize>(head * t * d) << 2), false)) return ERR_OUT_OF_MEMORY;
    }
  }
  if (requires) {
    const r = record(causalAttentionBackward, out, q, k, v);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecPtr(r, saved);
    setRecInt(r, mask >= 0 ? 1 : 0);
    setRecF0(r, scale);
  }
  return out;
}

// Backward, per head, with p recomputed and dO = dout:
//   dv += p^T dO                                  (out = p v)
//   dp  = dO v^T
//   dz[i, j] = p[i, j] (dp[i, j] - sum_j' dp[i, j'] p[i, j'])   (softmax)
//   dz[i, j] = 0 where masked, then * scale         (where, then the mul by 1/sqrt(D))
//   dq += dz k,  dk += dz^T q                      (z = q k^T)
function causalAttentionBackward(r: usize): void {
  const q = recA(r), k = recB(r), v = recC(r), out = recOut(r);
  const gq = gradFor(q), gk = gradFor(k), gv = gradFor(v);
  const b = dimOf(q, 0), h = dimOf(q, 1), t = dimOf(q, 2), d = dimOf(q, 3), s = dimOf(k, 2);
  const past = s - t, rows = b * h * t, scale = recF0(r), saved = recPtr(r);
  const maskCopy = recInt(r) != 0 ? saved + (<usize>(2 * rows) << 2) : 0;
  const scores = scratchAlloc(<usize>(t * s) << 2), probs = scratchAlloc(<usize>(t * s) << 2);
  const dp = scratchAlloc(<usize>(t * s) << 2), products = scratchAlloc(<usize>s << 2);
  if (scores == 0 || probs == 0 || dp == 0 || products == 0) {
    failBackward();
    return;
  }
  const g = gradPtrOf(out);
  for (let bi = 0; bi < b; bi++) {
    const keyMask = maskCopy != 0 ? maskCopy + (<usize>(bi * s) << 2) : 0;
    for (let hi = 0; hi < h; hi++) {
      const head = bi * h + hi;
      const qOff = <usize>(head * t * d) << 2, kvOff = <usize>(head * s * d) << 2;
      const qh = dataOf(q) + qOff, kh = dataOf(k) + kvOff, vh = dataOf(v) + kvOff, gh = g + qOff;
      if (!headScores(qh, kh, keyMask, scores, t, s, d, past, scale)) {
        failBackward();
        return;
      }
      headProbs(scores, probs, saved + (<usize>(head * t) << 2), saved + (<usize>(rows + head * t) << 2), t, s, false);
      if (gv != 0 && !gemm(true, false, s, d, t, probs, gh, gv + kvOff, true)) failBackward();
      if (gq == 0 && gk == 0) continue;
      memory.fill(dp, 0, <usize>(t * s) << 2);
      if (!gemm(false, true, t, s, d, gh, vh, dp, true)) {
        failBackward();
        return;
      }
      // dz overwrites the scores buffer
      for (let i = 0; i < t; i++) {
        const o = <usize>(i * s) << 2;
        const pRow = probs + o, dpRow = dp + o, dz = scores + o;
        for (let j = 0; j < s; j++) {
          const c = <usize>j << 2;
          store<f32>(products + c, load<f32>(dpRow + c) * load<f32>(pRow + c));
        }
        const dot = sumCanonical(products, s);
        for (let j = 0; j < s; j++) {
          const c = <usize>j << 2;
          const allowed = j <= past + i && (keyMask == 0 || load<f32>(keyMask + c) != 0);
          store<f32>(dz + c, allowed ? (load<f32>(pRow + c) * (load<f32>(dpRow + c) - dot)) * scale : 0);
        }
      }
      if (gq != 0 && !gemm(false, false, t, d, s, scores, kh, gq + qOff, true)) failBackward();
      if (gk != 0 && !gemm(true, false, s, d, t, scores, qh, gk + kvOff, true)) failBackward();
    }
  }
}
