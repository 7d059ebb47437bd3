// The matrix-multiply kernel behind opMatmul (internal: not part of the ABI).
//
//   C (M, N) (+)= op(A) (M, K) . op(B) (K, N)
//
// Summation order (the same in both builds, so they agree bit for bit): every output element
// starts from an accumulator of 0, adds op(A)[i][p] * op(B)[p][j] for p = 0, 1, ..., K-1 in
// that order, each a separate f32 multiply then f32 add (no fused multiply-add, no relaxed
// SIMD), and only then is written: C = acc, or C = C + acc when accumulating. There is no
// blocking over K: an accumulator lives in a register (SIMD) or a tile slot (scalar) for the
// whole sum, so no partial sum is ever rounded through C.
//
// How it is fast (the GotoBLAS / BLIS scheme, sized for WebAssembly's 16 vector registers):
// - The microkernel keeps an MR x NR = 5 x 8 tile of C in 10 f32x4 registers; for each p it
//   loads two vectors of an 8-column strip of op(B) and splats five values of op(A): 10
//   multiplies, 10 adds. With the two B vectors, the splat and a product that is 14 of the 15
//   registers V8 gives WebAssembly on x64; a 6 x 8 tile needs 16 and spills an accumulator
//   every iteration, which halves its speed.
// - op(B) is read as strips of 8 columns, K x 8 floats. A strip is copied into a contiguous,
//   zero-padded workspace when it is not already a plain row-major slice (transB, the last
//   partial strip) and otherwise read in place, row stride N. One strip (16 KiB at K = 512)
//   stays in L1 while the rows of A pass over it.
// - op(A) is read in place through two strides (between rows, between k), so transA costs
//   nothing; only a partial last panel of fewer than 5 rows is copied, zero-padded, so the
//   microkernel never reads past A. Rows are taken MC at a time (MC x K floats, about
//   256 KiB) so the block stays in L2 while every strip of B passes over it.
// Edge tiles compute a full 5 x 8 tile from the zero-padded copies and write back only the
// rows and columns that exist.
//
// The copies live in one persistent workspace that grows to the largest call seen and is
// reused by every later call, so memory does not grow from step to step.

import { persistentAlloc, persistentFree } from '../memory';

/** Rows of the register tile. */
const MR: i32 = 5;
/** Columns of the register tile: two f32x4. */
const NR: i32 = 8;
/** Bytes of A kept in L2 at once (a block of MC rows x K). */
const A_BLOCK_BYTES: i32 = 256 << 10;

/** A tile of C for edge tiles (SIMD) and the accumulators of the scalar microkernel. */
const tile: usize = memory.data(MR * NR * 4, 16);

let workspace: usize = 0;
let workspaceBytes: usize = 0;

/** A workspace of at least `bytes`, reused across calls; 0 when memory cannot grow. */
function ensureWorkspace(bytes: usize): usize {
  if (bytes <= workspaceBytes) return workspace;
  // grow by at least half again, so a slowly growing sequence of shapes reallocates rarely
  const want = max<usize>(bytes, workspaceBytes + (workspaceBytes >> 1));
  persistentFree(workspace);
  workspaceBytes = 0;
  workspace = persistentAlloc(want);
  if (workspace != 0) workspaceBytes = want;
  return workspace;
}

/**
 * C (M, N) (+)= op(A) op(B) for one matrix. A is (M, K) or, with transA, stored (K, M);
 * B is (K, N) or, with transB, stored (N, K); C is (M, N), row-major. `accumulate` adds into
 * C instead of overwriting it. Returns false when the workspace cannot be allocated.
 */
export function gemm(transA: bool, transB: bool, m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, accumulate: bool): bool {
  // workspace: one B strip (K x NR) then one A panel (K x MR)
  const stripBytes = <usize>(k * NR) << 2;
  const ws = ensureWorkspace(stripBytes + (<usize>(k * MR) << 2));
  if (ws == 0) return false;
  const packedStrip = ws, packedPanel = ws + stripBytes;
  // op(A)[i][p] lives at a + i*aRow + p*aK (bytes)
  const aRow: usize = <usize>(transA ? <i32>1 : k) << 2;
  const aK: usize = <usize>(transA ? m : <i32>1) << 2;
  const blockRows = max<i32>(MR, A_BLOCK_BYTES / (k << 2) / MR * MR);
  for (let i0 = 0; i0 < m; i0 += blockRows) {
    const i1 = min<i32>(m, i0 + blockRows);
    for (let j0 = 0; j0 < n; j0 += NR) {
      const cols = min<i32>(NR, n - j0);
      // op(B)[p][j0 + jj] lives at strip + p*stripK + jj*4 (bytes)
      let strip = b + (<usize>j0 << 2);
      let stripK: usize = <usize>n << 2;
      if (transB || cols < NR) {
        packStrip(transB, k, n, b, j0, cols, packedStrip);
        strip = packedStrip;
        stripK = <usize>NR << 2;
      }
      let i = i0;
      for (; i + MR <= i1; i += MR) {
        microkernel(k, a + <usize>i * aRow, aRow, aK, strip, stripK, c + (<usize>(i * n + j0) << 2), n, MR, cols, accumulate);
      }
      if (i < i1) {
        // the last rows of A (fewer than MR): copy them into a zero-padded panel
        const rows = i1 - i;
        packPanel(k, a + <usize>i * aRow, aRow, aK, rows, packedPanel);
        microkernel(k, packedPanel, 4, <usize>MR << 2, strip, stripK, c + (<usize>(i * n + j0) << 2), n, rows, cols, accumulate);
      }
    }
  }
  return true;
}

/** Copies columns j0 .. j0+cols-1 of op(B) (K, N) into strip[p*NR + jj], zero past `cols`. */
function packStrip(transB: bool, k: i32, n: i32, b: usize, j0: i32, cols: i32, dst: usize): void {
  for (let p = 0; p < k; p++) {
    const out = dst + (<usize>(p * NR) << 2);
    for (let jj = 0; jj < NR; jj++) {
      let v: f32 = 0;
      if (jj < cols) v = load<f32>(b + (<usize>(transB ? (j0 + jj) * k + p : p * n + j0 + jj) << 2));
      store<f32>(out + (<usize>jj << 2), v);
    }
  }
}

/** Copies `rows` (< MR) rows of op(A), element (r, p) at a + r*aRow + p*aK, into panel[p*MR + r], zero past `rows`. */
function packPanel(k: i32, a: usize, aRow: usize, aK: usize, rows: i32, dst: usize): void {
  for (let p = 0; p < k; p++) {
    const out = dst + (<usize>(p * MR) << 2);
    for (let r = 0; r < MR; r++) {
      let v: f32 = 0;
      if (r < rows) v = load<f32>(a + <usize>r * aRow + <usize>p * aK);
      store<f32>(out + (<usize>r << 2), v);
    }
  }
}

/**
 * One MR x NR tile: C[r][jj] (+)= sum over p of A(r, p) * B(p, jj), for the `rows` x `cols`
 * corner that exists. A(r, p) is at a + r*aRow + p*aK, B(p, jj) at b + p*bK + jj*4 (bytes);
 * C is addressed at `c` with row length `ldc` floats.
 */
@inline function microkernel(k: i32, a: usize, aRow: usize, aK: usize, b: usize, bK: usize, c: usize, ldc: i32, rows: i32, cols: i32, accumulate: bool): void {
  if (ASC_FEATURE_SIMD) microkernelSimd(k, a, aRow, aK, b, bK, c, ldc, rows, cols, accumulate);
  else microkernelScalar(k, a, aRow, aK, b, bK, c, ldc, rows, cols, accumulate);
}

function microkernelSimd(k: i32, a: usize, aRow: usize, aK: usize, b: usize, bK: usize, c: usize, ldc: i32, rows: i32, cols: i32, accumulate: bool): void {
  // c<r><h>: row r, columns 4h .. 4h+3 of the tile
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  const a1 = aRow, a2 = aRow * 2, a3 = aRow * 3, a4 = aRow * 4;
  let pa = a, pb = b;
  const end = b + <usize>k * bK;
  while (pb < end) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let av = v128.load32_splat(pa);
    c00 = f32x4.add(c00, f32x4.mul(av, b0)); c01 = f32x4.add(c01, f32x4.mul(av, b1));
    av = v128.load32_splat(pa + a1);
    c10 = f32x4.add(c10, f32x4.mul(av, b0)); c11 = f32x4.add(c11, f32x4.mul(av, b1));
    av = v128.load32_splat(pa + a2);
    c20 = f32x4.add(c20, f32x4.mul(av, b0)); c21 = f32x4.add(c21, f32x4.mul(av, b1));
    av = v128.load32_splat(pa + a3);
    c30 = f32x4.add(c30, f32x4.mul(av, b0)); c31 = f32x4.add(c31, f32x4.mul(av, b1));
    av = v128.load32_splat(pa + a4);
    c40 = f32x4.add(c40, f32x4.mul(av, b0)); c41 = f32x4.add(c41, f32x4.mul(av, b1));
    pa += aK;
    pb += bK;
  }
  const rowBytes = <usize>ldc << 2;
  if (rows == MR && cols == NR) {
    let o = c;
    storeRow(o, c00, c01, accumulate); o += rowBytes;
    storeRow(o, c10, c11, accumulate); o += rowBytes;
    storeRow(o, c20, c21, accumulate); o += rowBytes;
    storeRow(o, c30, c31, accumulate); o += rowBytes;
    storeRow(o, c40, c41, accumulate);
    return;
  }
  // edge tile: spill to the tile buffer, then write the existing corner
  v128.store(tile, c00, 0); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
  v128.store(tile, c40, 128); v128.store(tile, c41, 144);
  writeTile(c, ldc, rows, cols, accumulate);
}

@inline function storeRow(o: usize, lo: v128, hi: v128, accumulate: bool): void {
  if (accumulate) {
    v128.store(o, f32x4.add(v128.load(o), lo));
    v128.store(o, f32x4.add(v128.load(o, 16), hi), 16);
  } else {
    v128.store(o, lo);
    v128.store(o, hi, 16);
  }
}

function microkernelScalar(k: i32, a: usize, aRow: usize, aK: usize, b: usize, bK: usize, c: usize, ldc: i32, rows: i32, cols: i32, accumulate: bool): void {
  memory.fill(tile, 0, <usize>(MR * NR) << 2);
  let pa = a, pb = b;
  for (let p = 0; p < k; p++) {
    for (let r = 0; r < rows; r++) {
      const av = load<f32>(pa + <usize>r * aRow);
      const t = tile + (<usize>(r * NR) << 2);
      for (let jj = 0; jj < cols; jj++) {
        const o = t + (<usize>jj << 2);
        store<f32>(o, load<f32>(o) + av * load<f32>(pb + (<usize>jj << 2)));
      }
    }
    pa += aK;
    pb += bK;
  }
  writeTile(c, ldc, rows, cols, accumulate);
}

/** C[r][jj] (+)= tile[r][jj] for the rows x cols corner. */
function writeTile(c: usize, ldc: i32, rows: i32, cols: i32, accumulate: bool): void {
  for (let r = 0; r < rows; r++) {
    const t = tile + (<usize>(r * NR) << 2);
    const o = c + (<usize>(r * ldc) << 2);
    for (let jj = 0; jj < cols; jj++) {
      const v = load<f32>(t + (<usize>jj << 2));
      const d = o + (<usize>jj << 2);
      store<f32>(d, accumulate ? load<f32>(d) + v : v);
    }
  }
}
