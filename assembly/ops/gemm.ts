// The matrix-multiply kernel behind opMatmul (internal: not part of the ABI).
// Accumulates over k in order 0..K-1 with separate mul and add (no fused multiply-add), so the
// SIMD and scalar builds agree bit for bit.

/**
 * C (M, N) (+)= op(A) op(B) for one matrix. A is (M, K) or, with transA, stored (K, M);
 * B is (K, N) or, with transB, stored (N, K). `accumulate` adds into C instead of overwriting.
 */
export function gemm(transA: bool, transB: bool, m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, accumulate: bool): void {
  for (let i = 0; i < m; i++) {
    const crow = c + (<usize>(i * n) << 2);
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      if (!transB) {
        for (; j + 4 <= n; j += 4) {
          let acc = f32x4.splat(0);
          for (let p = 0; p < k; p++) {
            const av = load<f32>(a + (<usize>(transA ? p * m + i : i * k + p) << 2));
            acc = f32x4.add(acc, f32x4.mul(f32x4.splat(av), v128.load(b + (<usize>(p * n + j) << 2))));
          }
          const o = crow + (<usize>j << 2);
          v128.store(o, accumulate ? f32x4.add(v128.load(o), acc) : acc);
        }
      }
    }
    for (; j < n; j++) {
      let acc: f32 = 0;
      for (let p = 0; p < k; p++) {
        const av = load<f32>(a + (<usize>(transA ? p * m + i : i * k + p) << 2));
        const bv = load<f32>(b + (<usize>(transB ? j * k + p : p * n + j) << 2));
        acc += av * bv;
      }
      const o = crow + (<usize>j << 2);
      store<f32>(o, accumulate ? load<f32>(o) + acc : acc);
    }
  }
}

