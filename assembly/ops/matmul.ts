// Matrix multiply over the last two dims, batched over up to two leading dims:
//   (M, K) x (K, N)                -> (M, N)
//   (B, M, K) x (B, K, N)          -> (B, M, N)
//   (B, H, M, K) x (B, H, K, N)    -> (B, H, M, N)     e.g. attention: (B, H, T, D) x (B, H, D, T)
//   (B, M, K) x (K, N), (B, H, M, K) x (K, N)          a right operand shared by every batch
// The batch dims are contiguous in memory, so (B, H) is walked as one run of B*H matrices.
// transA / transB read the stored operand transposed, so backward needs no explicit transpose:
//   forward   C = A B
//   backward  dA += dC B^T   (transB)      dB += A^T dC   (transA)
// Every output element accumulates over its inner dim in order with separate mul and add (no
// fused multiply-add), so the SIMD and scalar builds agree bit for bit (gemm.ts).
//
// (..., M, K) x (K, N) with A not transposed is one (batch*M, K) x (K, N) product: the rows of A
// and C run on contiguously across the batch, so it is done as one gemm call (B is packed once,
// not once per batch), and so are both of its gradients. dB then sums over all batch*M rows in
// order.

import { dataOf, gradPtrOf, newScratch, gradFor, rankOf, dimOf, dimFromEnd, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recB, recInt, setRecInt, failBackward } from '../autodiff/tape';
import { gemm } from './gemm';

// Shapes with the flags applied: op(A) is (M, K), op(B) is (K, N); batch from A's leading dim.
@inline function rowsOf(x: i32, trans: bool): i32 { return trans ? dimFromEnd(x, 1) : dimFromEnd(x, 2); }
@inline function colsOf(x: i32, trans: bool): i32 { return trans ? dimFromEnd(x, 2) : dimFromEnd(x, 1); }

const TRANS_A: i32 = 1;
const TRANS_B: i32 = 2;

/** Batch count of a matmul with A's shape: the product of its dims before the last two. */
@inline function batchOf(a: i32): i32 {
  return dimFromEnd(a, 3) * dimFromEnd(a, 4);
}

/** Whether B has its own matrix per batch (same leading dims as A) rather than one shared. */
@inline function batchedB(b: i32): bool {
  return rankOf(b) > 2;
}

/** Whether the batch folds into the rows of one product: B shared and A not transposed. */
@inline function foldsBatch(a: i32, b: i32, transA: bool): bool {
  return rankOf(b) == 2 && !transA;
}

// out = op(a) op(b), batched
export function opMatmul(a: i32, b: i32, transA: bool, transB: bool): i32 {
  let m = rowsOf(a, transA);
  const k = colsOf(a, transA), n = colsOf(b, transB);
  let batch = batchOf(a);
  const requires = tracks(a, b);
  // out: A's leading dims, then (M, N)
  const rank = rankOf(a);
  const out = rank == 4 ? newScratch(4, dimOf(a, 0), dimOf(a, 1), m, n, requires)
    : rank == 3 ? newScratch(3, dimOf(a, 0), m, n, 1, requires)
    : newScratch(2, m, n, 1, 1, requires);
  if (out < 0) return out;
  if (foldsBatch(a, b, transA)) {
    m *= batch;
    batch = 1;
  }
  const bBatched = batchedB(b);
  for (let s = 0; s < batch; s++) {
    const ok = gemm(transA, transB, m, n, k,
      dataOf(a) + (<usize>(s * m * k) << 2),
      dataOf(b) + (bBatched ? <usize>(s * k * n) << 2 : 0),
      dataOf(out) + (<usize>(s * m * n) << 2), false);
    if (!ok) return ERR_OUT_OF_MEMORY;
  }
  if (requires) {
    const r = record(matmulBackward, out, a, b);
    if (r == 0) return ERR_OUT_OF_MEMORY;
    setRecInt(r, (transA ? TRANS_A : 0) | (transB ? TRANS_B : 0));
  }
  return out;
}

// Backward of C = op(A) op(B):
//   dop(A) = dC op(B)^T, and dA is that (or its transpose when A was read transposed);
//   dop(B) = op(A)^T dC, likewise; a B shared by the batch sums the batches' contributions.
function matmulBackward(r: usize): void {
  const out = recOut(r), a = recA(r), b = recB(r);
  const transA = (recInt(r) & TRANS_A) != 0, transB = (recInt(r) & TRANS_B) != 0;
  let m = rowsOf(a, transA);
  const k = colsOf(a, transA), n = colsOf(b, transB);
  let batch = batchOf(a);
  if (foldsBatch(a, b, transA)) {
    m *= batch;
    batch = 1;
  }
  const bBatched = batchedB(b);
  const ga = gradFor(a), gb = gradFor(b), g = gradPtrOf(out);
  for (let s = 0; s < batch; s++) {
    const pa = dataOf(a) + (<usize>(s * m * k) << 2);
    const pb = dataOf(b) + (bBatched ? <usize>(s * k * n) << 2 : 0);
    const pg = g + (<usize>(s * m * n) << 2);
    if (ga != 0) {
      const dst = ga + (<usize>(s * m * k) << 2);
      // dA (M,K) = dC (M,N) . op(B)^T ; stored transposed: dA^T (K,M) = op(B) (K,N) . dC^T
      const ok = !transA ? gemm(false, !transB, m, k, n, pg, pb, dst, true) : gemm(transB, true, k, m, n, pb, pg, dst, true);
      if (!ok) failBackward();
    }
    if (gb != 0) {
      const dst = gb + (bBatched ? <usize>(s * k * n) << 2 : 0);
      // dB (K,N) = op(A)^T (K,M) . dC (M,N) ; stored transposed: dB^T (N,K) = dC^T . op(A)
      const ok = !transB ? gemm(!transA, false, k, n, m, pa, pg, dst, true) : gemm(true, transA, n, k, m, pg, pa, dst, true);
      if (!ok) failBackward();
    }
  }
}
