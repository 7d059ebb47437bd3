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
// Work goes one head and one block of BLOCK query rows at a time: rows [i0, i0 + n) only see
// keys [0, width) with width = min(S, P + i0 + n), so the masked future beyond it is never
// computed (about a third of the work at P = 0). The block's (n, width) scores live in scratch
// buffers reused by every block; backward recomputes them from q and k and keeps only each
// row's max and exp-sum from forward (2 floats per query row: the log-sum-exp in two parts),
// not the (B, H, T, S) probabilities. The formulas are the composed version's
// (sdk/nn/attention.ts: matmul, mul by the scale, where, softmax, matmul), products through
// gemm, row max, exp and sums through the kernels.ts helpers softmax uses; only the grouping of
// some sums differs (shorter rows, dk and dv summed block by block).

import { dataOf, gradPtrOf, newScratch, gradFor, dimOf, ERR_OUT_OF_MEMORY } from '../tensor';
import { scratchAlloc } from '../memory';
import { tracks, record, recOut, recA, recB, recC, recInt, recF0, recPtr, setRecInt, setRecF0, setRecPtr, failBackward } from '../autodiff/tape';
import { gemm } from './gemm';
import { maxRow, expShiftedSum, sumCanonical } from './kernels';

/** Query rows per block. */
const BLOCK: i32 = 32;

/**
 * One block's scaled, masked scores: scores (n, width) = q (n, D) k (width, D)^T * scale, then
 * -inf where key j is in query row i0 + i's future (j > past + i0 + i) or masked out
 * (keyMask[j] == 0; keyMask 0: no mask). Returns false when gemm cannot allocate its workspace.
 */
function blockScores(qb: usize, kh: usize, keyMask: usize, scores: usize, n: i32, width: i32, d: i32, last: i32, scale: f32): bool {
  if (!gemm(false, true, n, width, d, qb, kh, scores, false)) return false;
  for (let i = 0; i < n; i++) {
    const row = scores + (<usize>(i * width) << 2);
    for (let j = 0; j < width; j++) {
      const o = <usize>j << 2;
      const allowed = j <= last + i && (keyMask == 0 || load<f32>(keyMask + o) != 0);
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
function blockProbs(scores: usize, probs: usize, rowMax: usize, rowSum: usize, n: i32, width: i32, fresh: bool): void {
  for (let i = 0; i < n; i++) {
    const x = scores + (<usize>(i * width) << 2), y = probs + (<usize>(i * width) << 2);
    const m = fresh ? maxRow(x, width) : load<f32>(rowMax + (<usize>i << 2));
    if (m == -Infinity) {
      memory.fill(y, 0, <usize>width << 2);
      if (fresh) {
        store<f32>(rowMax + (<usize>i << 2), m);
        store<f32>(rowSum + (<usize>i << 2), 0);
      }
      continue;
    }
    const sum = expShiftedSum(x, y, width, m);
    const total = fresh ? sum : load<f32>(rowSum + (<usize>i << 2));
    if (fresh) {
      store<f32>(rowMax + (<usize>i << 2), m);
      store<f32>(rowSum + (<usize>i << 2), total);
    }
    for (let j = 0; j < width; j++) {
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
  const blockRows = min(BLOCK, t);
  const scores = scratchAlloc(<usize>(blockRows * s) << 2), probs = scratchAlloc(<usize>(blockRows * s) << 2);
  if (saved == 0 || scores == 0 || probs == 0) return ERR_OUT_OF_MEMORY;
  const maskCopy = mask >= 0 ? saved + (<usize>(2 * rows) << 2) : 0;
  if (mask >= 0) memory.copy(maskCopy, dataOf(mask), <usize>(b * s) << 2);
  for (let bi = 0; bi < b; bi++) {
    const keyMask = mask >= 0 ? maskCopy + (<usize>(bi * s) << 2) : 0;
    for (let hi = 0; hi < h; hi++) {
      const head = bi * h + hi;
      const kh = dataOf(k) + (<usize>(head * s * d) << 2), vh = dataOf(v) + (<usize>(head * s * d) << 2);
      for (let i0 = 0; i0 < t; i0 += BLOCK) {
        const n = min(BLOCK, t - i0), width = min(s, past + i0 + n);
        const row = head * t + i0;
        const qb = dataOf(q) + (<usize>(row * d) << 2);
        if (!blockScores(qb, kh, keyMask, scores, n, width, d, past + i0, scale)) return ERR_OUT_OF_MEMORY;
        blockProbs(scores, probs, saved + (<usize>row << 2), saved + (<usize>(rows + row) << 2), n, width, true);
        if (!gemm(false, false, n, d, width, probs, vh, dataOf(out) + (<usize>(row * d) << 2), false)) return ERR_OUT_OF_MEMORY;
      }
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

// Backward, per head and block, with p recomputed and dO = dout:
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
  const blockRows = min(BLOCK, t);
  const scores = scratchAlloc(<usize>(blockRows * s) << 2), probs = scratchAlloc(<usize>(blockRows * s) << 2);
  const dp = scratchAlloc(<usize>(blockRows * s) << 2), products = scratchAlloc(<usize>s << 2);
  if (scores == 0 || probs == 0 || dp == 0 || products == 0) {
    failBackward();
    return;
  }
  const g = gradPtrOf(out);
  for (let bi = 0; bi < b; bi++) {
    const keyMask = maskCopy != 0 ? maskCopy + (<usize>(bi * s) << 2) : 0;
    for (let hi = 0; hi < h; hi++) {
      const head = bi * h + hi;
      const kvOff = <usize>(head * s * d) << 2;
      const kh = dataOf(k) + kvOff, vh = dataOf(v) + kvOff;
      for (let i0 = 0; i0 < t; i0 += BLOCK) {
        const n = min(BLOCK, t - i0), width = min(s, past + i0 + n);
        const row = head * t + i0;
        const qOff = <usize>(row * d) << 2;
        const qb = dataOf(q) + qOff, gb = g + qOff;
        if (!blockScores(qb, kh, keyMask, scores, n, width, d, past + i0, scale)) {
          failBackward();
          return;
        }
        blockProbs(scores, probs, saved + (<usize>row << 2), saved + (<usize>(rows + row) << 2), n, width, false);
        if (gv != 0 && !gemm(true, false, width, d, n, probs, gb, gv + kvOff, true)) failBackward();
        if (gq == 0 && gk == 0) continue;
        memory.fill(dp, 0, <usize>(n * width) << 2);
        if (!gemm(false, true, n, width, d, gb, vh, dp, true)) {
          failBackward();
          return;
        }
        // dz overwrites the scores buffer
        for (let i = 0; i < n; i++) {
          const o = <usize>(i * width) << 2;
          const pRow = probs + o, dpRow = dp + o, dz = scores + o;
          for (let j = 0; j < width; j++) {
            const c = <usize>j << 2;
            store<f32>(products + c, load<f32>(dpRow + c) * load<f32>(pRow + c));
          }
          const dot = sumCanonical(products, width);
          for (let j = 0; j < width; j++) {
            const c = <usize>j << 2;
            const allowed = j <= past + i0 + i && (keyMask == 0 || load<f32>(keyMask + c) != 0);
            store<f32>(dz + c, allowed ? (load<f32>(pRow + c) * (load<f32>(dpRow + c) - dot)) * scale : 0);
          }
        }
        if (gq != 0 && !gemm(false, false, n, d, width, scores, kh, gq + qOff, true)) failBackward();
        if (gk != 0 && !gemm(true, false, width, d, n, scores, qb, gk + kvOff, true)) failBackward();
      }
    }
  }
}
