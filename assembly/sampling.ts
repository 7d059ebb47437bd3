// Picking tokens from logits: argmax, and seeded sampling with temperature, top-k and top-p
// (nucleus), applied in Hugging Face's order (temperature, then top-k, then top-p), each
// returning the token and its log-prob under the processed and the raw distribution.
//
//   logits (N, V) -> ids (N) as f32, logpProcessed (N), logpRaw (N)
//
// Rules, per row x (the host has refused NaN, +inf and rows with no finite logit):
// - raw:       logpRaw = (x_t - max x) - log(sum_j exp(x_j - max x))  (log_softmax(x)[t]).
// - temperature 0: greedy, t = the first index of max x; logpProcessed = 0 (a point mass); no
//   random number is drawn.
// - otherwise z = x / temperature, then
//   top-k (k in (0, V)): keep every j with z_j >= the k-th largest z (ties with the k-th value
//   are all kept, as HF's `scores < topk_values[..., -1]` removal does);
//   top-p (p < 1): order the kept tokens by z descending (equal z: lower index first), with
//   probabilities q = softmax over the kept ones, and drop from the least probable end while the
//   cumulative probability from that end stays <= 1 - p (HF's TopPLogitsWarper rule); the most
//   probable token is always kept. At equal z the higher index is dropped first.
//   The processed distribution is softmax over the kept z; one uniform u (24 bits, from the
//   core's xoshiro128** stream; one per row, rows in order) picks the first index j, in index
//   order, whose running sum of exp(z - max kept z) exceeds u * total (sampleCategorical's
//   rule); logpProcessed = (z_t - max) - log(total).
//
// exp and log are the core's deterministic f32 functions (math/det.ts), directly or through
// expShiftedSum (ops/kernels.ts).

import { dataOf, sizeOf, newScratch, ERR_OUT_OF_MEMORY } from './tensor';
import { scratchAlloc } from './memory';
import { maxRow, argmaxRow, expShiftedSum, sumCanonical, lastDim, newScratchDropLast } from './ops/kernels';
import { randUniform } from './random';
import { detExp, detLog } from './math/det';


// a (..., V) -> out (...) = first index of the max of each row (a NaN counts as largest), as f32
export function opArgmax(a: i32): i32 {
  const v = lastDim(a), rows = sizeOf(a) / v;
  const out = newScratchDropLast(a, false);
  if (out < 0) return out;
  const px = dataOf(a), po = dataOf(out);
  for (let row = 0; row < rows; row++) {
    store<f32>(po + (<usize>row << 2), <f32>argmaxRow(px + (<usize>(row * v) << 2), v));
  }
  return out;
}

@inline function zAt(z: usize, j: i32): f32 {
  return load<f32>(z + (<usize>j << 2));
}
@inline function idxAt(idx: usize, i: i32): i32 {
  return load<i32>(idx + (<usize>i << 2));
}

/** Whether index a sorts before index b: larger z first, equal z by lower index. */
@inline function before(z: usize, a: i32, b: i32): bool {
  const za = zAt(z, a), zb = zAt(z, b);
  return za > zb || (za == zb && a < b);
}

/** idx[0..n) = 0..n-1 sorted by `before` (bottom-up merge sort through tmp; a total order, so stable). */
function sortByValueDescending(z: usize, idx: usize, tmp: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<i32>(idx + (<usize>i << 2), i);
  let src = idx, dst = tmp;
  for (let width = 1; width < n; width <<= 1) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = min(lo + width, n), hi = min(lo + 2 * width, n);
      let i = lo, j = mid, o = lo;
      while (i < mid && j < hi) {
        const a = idxAt(src, i), b = idxAt(src, j);
        if (before(z, b, a)) {
          store<i32>(dst + (<usize>(o++) << 2), b);
          j++;
        } else {
          store<i32>(dst + (<usize>(o++) << 2), a);
          i++;
        }
      }
      while (i < mid) store<i32>(dst + (<usize>(o++) << 2), idxAt(src, i++));
      while (j < hi) store<i32>(dst + (<usize>(o++) << 2), idxAt(src, j++));
    }
    const swap = src;
    src = dst;
    dst = swap;
  }
  if (src != idx) memory.copy(idx, src, <usize>n << 2);
}

/**
 * How many of the sorted tokens top-k then top-p keep (a prefix of idx). `weights` is a (V)
 * work row.
 */
function keptCount(z: usize, idx: usize, weights: usize, v: i32, topK: i32, topP: f32): i32 {
  let kept = v;
  if (topK > 0 && topK < v) {
    const threshold = zAt(z, idxAt(idx, topK - 1));
    kept = topK;
    while (kept < v && zAt(z, idxAt(idx, kept)) >= threshold) kept++;
  }
  if (topP < 1) {
    // q_i = exp(z_i - max) / sum over the kept prefix, in sorted order
    const top = zAt(z, idxAt(idx, 0));
    for (let i = 0; i < kept; i++) store<f32>(weights + (<usize>i << 2), detExp(zAt(z, idxAt(idx, i)) - top));
    const total = sumCanonical(weights, kept);
    const dropBelow: f32 = 1 - topP;
    let tail: f32 = 0;
    let cut = kept;
    for (let i = kept - 1; i >= 1; i--) {
      tail += load<f32>(weights + (<usize>i << 2)) / total;
      if (tail > dropBelow) break;
      cut = i;
    }
    kept = cut;
  }
  return kept;
}

/**
 * One token per row of logits (N, V) into ids (N), with its log-probs under the processed
 * distribution (logpProcessed, N) and the raw one (logpRaw, N); outputs are host-made tensors.
 * topK 0: off; topP 1: off. Returns 0 or ERR_OUT_OF_MEMORY.
 */
export function sampleTokens(logits: i32, temperature: f32, topK: i32, topP: f32, ids: i32, logpProcessed: i32, logpRaw: i32): i32 {
  const v = lastDim(logits), rows = sizeOf(logits) / v;
  const filtering = (topK > 0 && topK < v) || topP < 1;
  const z = scratchAlloc(<usize>v << 2), weights = scratchAlloc(<usize>v << 2);
  const idx = scratchAlloc(<usize>v << 2), flags = scratchAlloc(<usize>v << 2);
  if (z == 0 || weights == 0 || idx == 0 || flags == 0) return ERR_OUT_OF_MEMORY;
  let uniforms: usize = 0;
  if (temperature > 0) {
    // one uniform per row, drawn up front: 0 + (1 - 0) * u = u exactly
    const u = newScratch(1, rows, 1, 1, 1, false);
    if (u < 0) return u;
    randUniform(u, 0, 1);
    uniforms = dataOf(u);
  }
  for (let row = 0; row < rows; row++) {
    const x = dataOf(logits) + (<usize>(row * v) << 2);
    const m = maxRow(x, v);
    const logZ = detLog(expShiftedSum(x, weights, v, m));
    let choice: i32;
    let processed: f32 = 0;
    if (temperature == 0) {
      choice = argmaxRow(x, v);
    } else {
      for (let j = 0; j < v; j++) store<f32>(z + (<usize>j << 2), load<f32>(x + (<usize>j << 2)) / temperature);
      let top: f32;
      if (filtering) {
        sortByValueDescending(z, idx, flags, v);
        const kept = keptCount(z, idx, weights, v, topK, topP);
        memory.fill(flags, 0, <usize>v << 2);
        for (let i = 0; i < kept; i++) store<i32>(flags + (<usize>idxAt(idx, i) << 2), 1);
        top = zAt(z, idxAt(idx, 0));
        for (let j = 0; j < v; j++) {
          const o = <usize>j << 2;
          store<f32>(weights + o, load<i32>(flags + o) != 0 ? detExp(load<f32>(z + o) - top) : 0);
        }
      } else {
        top = maxRow(z, v);
        for (let j = 0; j < v; j++) {
          const o = <usize>j << 2;
          store<f32>(weights + o, detExp(load<f32>(z + o) - top));
        }
      }
      const total = sumCanonical(weights, v);
      const target = load<f32>(uniforms + (<usize>row << 2)) * total;
      // the running sum may end a rounding error below the canonical total: fall back to the
      // last token with positive weight
      choice = -1;
      let lastPositive = 0;
      let running: f32 = 0;
      for (let j = 0; j < v; j++) {
        const w = load<f32>(weights + (<usize>j << 2));
        if (w > 0) lastPositive = j;
        running += w;
        if (choice < 0 && target < running) choice = j;
      }
      if (choice < 0) choice = lastPositive;
      processed = (zAt(z, choice) - top) - detLog(total);
    }
    store<f32>(dataOf(ids) + (<usize>row << 2), <f32>choice);
    store<f32>(dataOf(logpProcessed) + (<usize>row << 2), processed);
    store<f32>(dataOf(logpRaw) + (<usize>row << 2), (load<f32>(x + (<usize>choice << 2)) - m) - logZ);
  }
  return 0;
}
