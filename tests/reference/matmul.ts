// The float64 matmul reference every matmul test judges against (the core's, the GPU's): the
// textbook triple loop over the core's stored layouts, written for plainness and sharing no
// code with the core, as llm.c keeps matmul_forward_naive beside its fast kernel.
//
//   C[..., i, j] = sum over p of op(A)[..., i, p] * op(B)[..., p, j]
//
// op(A) is A, or A's last two dims transposed with transA (likewise B); the leading (batch)
// dims of A are the output's, and B either has the same leading dims or is a (K, N) matrix
// shared by every batch. Each element's K terms are handed, in p order, to `sum`: a float64
// sum by default, or another reduction (the sum of |terms| for an error bound, or an f32
// emulation of the core's documented order).

/** The operands of one matmul, as stored. */
export interface MatmulSpec {
  /** (..., M, K), or (..., K, M) with transA. */
  shapeA: number[];
  /** (..., K, N) with A's leading dims, or a shared (K, N); (N, K) forms with transB. */
  shapeB: number[];
  transA?: boolean;
  transB?: boolean;
}

/** The sizes a MatmulSpec implies. */
export interface MatmulDims {
  /** Leading dims of A (and of a batched B): [], [B] or [B, H]. */
  batch: number[];
  /** Number of matrices: the product of `batch`. */
  count: number;
  m: number;
  k: number;
  n: number;
  /** B holds one matrix per batch rather than one shared matrix. */
  batchedB: boolean;
  /** The output: [...batch, M, N]. */
  shapeC: number[];
}

export function matmulDims(spec: MatmulSpec): MatmulDims {
  const { shapeA: sa, shapeB: sb, transA = false, transB = false } = spec;
  const [ra, ca] = sa.slice(-2) as [number, number];
  const [rb, cb] = sb.slice(-2) as [number, number];
  const m = transA ? ca : ra, k = transA ? ra : ca, n = transB ? rb : cb;
  if ((transB ? cb : rb) !== k) throw new Error(`matmulRef: inner dims differ in [${sa}] x [${sb}]`);
  const batch = sa.slice(0, -2);
  const count = batch.reduce((x, y) => x * y, 1);
  return { batch, count, m, k, n, batchedB: sb.length > 2, shapeC: [...batch, m, n] };
}

/** A reduction of one output element's K terms, given in p order. */
export type TermSum = (terms: readonly number[]) => number;

/** The float64 sum. */
export const sum64: TermSum = (terms) => terms.reduce((s, t) => s + t, 0);
/** The float64 sum of |terms|: the magnitude that error bounds of a dot product scale with. */
export const absSum64: TermSum = (terms) => terms.reduce((s, t) => s + Math.abs(t), 0);

/** C = op(A) op(B) over the stored layouts, each element reduced by `sum` (float64 by default). */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, spec: MatmulSpec, sum: TermSum = sum64): Float64Array {
  const { count, m, k, n, batchedB } = matmulDims(spec);
  const { transA = false, transB = false } = spec;
  const out = new Float64Array(count * m * n);
  const terms = new Array<number>(k);
  for (let s = 0; s < count; s++) {
    const offA = s * m * k, offB = batchedB ? s * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        for (let p = 0; p < k; p++) {
          const x = a[offA + (transA ? p * m + i : i * k + p)]!;
          const y = b[offB + (transB ? j * k + p : p * n + j)]!;
          terms[p] = x * y;
        }
        out[s * m * n + i * n + j] = sum(terms);
      }
    }
  }
  return out;
}
