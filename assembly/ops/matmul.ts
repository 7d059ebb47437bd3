// Matrix multiply, batched over one leading dim: (B, M, K) x (B, K, N) -> (B, M, N), or a rank-2
// right operand shared by every batch: (B, M, K) x (K, N). transA / transB read the stored
// operand transposed, so backward needs no explicit transpose:
//   forward   C = A B
//   backward  dA += dC B^T   (transB)      dB += A^T dC   (transA)
// Every output element accumulates over its inner dim in order with separate mul and add (no
// fused multiply-add), so the SIMD and scalar builds agree bit for bit (gemm.ts).
//
// (B, M, K) x (K, N) with A not transposed is one (B*M, K) x (K, N) product: the rows of A and
// C run on contiguously across the batch, so it is done as one gemm call (B is packed once, not
// B times), and so are both of its gradients. dB then sums over all B*M rows in order.

import { dataOf, gradPtrOf, newScratch, gradFor, rankOf, dimFromEnd, ERR_OUT_OF_MEMORY } from '../tensor';
import { tracks, record, recOut, recA, recB, recInt, setRecInt, failBackward } from '../autodiff/tape';
import { gemm } from './gemm';

// Shapes with the flags applied: op(A) is (M, K), op(B) is (K, N); batch from A's leading dim.
@inline function rowsOf(x: i32, trans: bool): i32 { return trans ? dimFromEnd(x, 1) : dimFromEnd(x, 2); }
@inline function colsOf(x: i32, trans: bool): i32 { return trans ? dimFromEnd(x, 2) : dimFromEnd(x, 1); }

const TRANS_A: i32 = 1;
const TRANS_B: i32 = 2;

/** Batch count of a matmul with A's shape: its leading dim when rank 3. */
@inline function batchOf(a: i32): i32 {
  return rankOf(a) == 3 ? dimFromEnd(a, 3) : 1;
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
  const out = rankOf(a) == 3 ? newScratch(3, batch, m, n, 1, requires) : newScratch(2, m, n, 1, 1, requires);
  if (out < 0) return out;
  if (foldsBatch(a, b, transA)) {
    m *= batch;
    batch = 1;
  }
  const bBatched = rankOf(b) == 3;
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
  const bBatched = rankOf(b) == 3;
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
