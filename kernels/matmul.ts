// Matrix multiply on gpu.js: C (M, N) = op(A) op(B), with op(A) (M, K) and op(B) (K, N), and
// each operand read as stored or transposed, the same four cases as the core's matmul:
//   forward   C = A B                    (NN)
//   backward  dA = dC B^T                (NT: B read transposed)
//             dB = A^T dC                (TN: A read transposed)
//   and       C = A^T B^T                (TT)
// One shader thread per output element; it walks k = 0..K-1 in order. The GPU may fuse the
// multiply and add and rounds differently from the core, so results agree to a tolerance, not
// bit for bit (docs/gpu.md).
//
// Kernel sources are strings, not functions: gpu.js compiles the text of a function, and
// transpilers, minifiers and coverage instrumentation rewrite function text.

import { copyResult, type KernelCache } from './kernel_cache';

// Operands arrive flat (row-major). this.thread.y is the row of C, this.thread.x its column.
// a is (M, K) and b is (K, N).
const MATMUL_NN = `function matmulNN(a, b) {
  let sum = 0;
  for (let i = 0; i < this.constants.K; i++) {
    sum += a[this.thread.y * this.constants.K + i] * b[i * this.constants.N + this.thread.x];
  }
  return sum;
}`;

// a is (M, K), b is stored (N, K) and read transposed.
const MATMUL_NT = `function matmulNT(a, b) {
  let sum = 0;
  for (let i = 0; i < this.constants.K; i++) {
    sum += a[this.thread.y * this.constants.K + i] * b[this.thread.x * this.constants.K + i];
  }
  return sum;
}`;

// a is stored (K, M) and read transposed, b is (K, N).
const MATMUL_TN = `function matmulTN(a, b) {
  let sum = 0;
  for (let i = 0; i < this.constants.K; i++) {
    sum += a[i * this.constants.M + this.thread.y] * b[i * this.constants.N + this.thread.x];
  }
  return sum;
}`;

// a is stored (K, M), b is stored (N, K); both read transposed.
const MATMUL_TT = `function matmulTT(a, b) {
  let sum = 0;
  for (let i = 0; i < this.constants.K; i++) {
    sum += a[i * this.constants.M + this.thread.y] * b[this.thread.x * this.constants.K + i];
  }
  return sum;
}`;

export interface MatmulDims {
  /** Rows of op(A) and of C. */
  m: number;
  /** Columns of op(B) and of C. */
  n: number;
  /** The summed dimension. */
  k: number;
  /** Number of independent products (the leading dim of a rank-3 A; 1 otherwise). */
  batch: number;
  /** Whether B has its own matrix per batch entry (rank 3) or one shared (rank 2). */
  bBatched: boolean;
  transA: boolean;
  transB: boolean;
}

function sourceFor(transA: boolean, transB: boolean): string {
  if (transA) return transB ? MATMUL_TT : MATMUL_TN;
  return transB ? MATMUL_NT : MATMUL_NN;
}

/**
 * out (batch, M, N) = op(a) op(b) on the GPU: each batch entry uploads its slices of a and b,
 * runs one kernel and reads its (M, N) block back into `out`.
 */
export function gpuMatmul(cache: KernelCache, a: Float32Array, b: Float32Array, out: Float32Array, dims: MatmulDims): void {
  const { m, n, k, batch, bBatched } = dims;
  const kernel = cache.get(sourceFor(dims.transA, dims.transB), { output: [n, m], constants: { M: m, N: n, K: k } });
  for (let s = 0; s < batch; s++) {
    const aSlice = a.subarray(s * m * k, (s + 1) * m * k);
    const bSlice = bBatched ? b.subarray(s * k * n, (s + 1) * k * n) : b;
    copyResult(kernel(aSlice, bSlice), out, s * m * n, m * n);
  }
}

/** Floats uploaded plus floats read back by gpuMatmul (the transfer the dispatcher counts). */
export function matmulTransferFloats(dims: MatmulDims): number {
  return dims.batch * (dims.m * dims.k + dims.k * dims.n + dims.m * dims.n);
}

/** Floating-point operations of the product: 2 M N K per batch entry. */
export function matmulFlops(dims: MatmulDims): number {
  return 2 * dims.batch * dims.m * dims.n * dims.k;
}
