// The matrix-multiply kernel behind opMatmul (internal: not part of the ABI).
//
//   C (M, N) (+)= op(A) (M, K) . op(B) (K, N)
//
// Summation order (the same in both builds, so they agree bit for bit): every output element
// starts from an accumulator of 0, adds op(A)[i][p] * op(B)[p][j] for p = 0, 1, ..., K-1 in
// that order, each a separate f32 multiply then f32 add (no fused multiply-add, no relaxed
// SIMD), and only then is written: C = acc, or C = C + acc when accumulating. There is no
// blocking over K: an accumulator lives in a register (SIMD) or a tile slot (scalar) for the
// whole sum. (Blocking over K would keep that order only by carrying each partial sum exactly:
// storing it and reloading it as the next block's starting value is exact, but in accumulate
// mode the carry must not go through C, or C + acc would become ((C + s1) + s2) ... Carrying
// through C was tried for the overwrite case and measured no faster up to K = 1024.)
//
// How it is fast (the GotoBLAS / BLIS scheme, sized for WebAssembly's 16 vector registers):
// - The microkernel keeps an MR x NR = 5 x 8 tile of C in 10 f32x4 registers; for each p it
//   loads two vectors of an 8-column strip of op(B) and splats five values of op(A): 10
//   multiplies, 10 adds. With the two B vectors, the splat and a product that is 14 of the 15
//   vector registers V8 gives WebAssembly on x64. A 6 x 8 tile needs 16 and spills an
//   accumulator every iteration (half the speed); 4 x 8 runs at the same iterations per second
//   as 5 x 8, so it does 20% less work. On the 2-core AMD EPYC (Zen 5) this was tuned on, the
//   5 x 8 loop alone reaches ~54 GFLOP/s, which is the machine's limit for separate 128-bit
//   multiplies and adds (two of each per cycle). On a 2-core Intel Xeon (Emerald Rapids, three
//   vector FP ports) the same loop on L1-resident data (assembly/peak.ts) measures ~34 GFLOP/s,
//   and all four variants at 256 and 512 run at 85-95% of it (bench/matmul.ts).
// - op(B) is copied one strip of 8 columns at a time into a contiguous K x 8 workspace
//   (16 KiB at K = 512, zero-padded past N), which stays in L1 while all the rows of A pass
//   over it. Reading B in place instead would walk rows N floats apart: with N a power of two
//   those lines fall into a few L1 sets and evict each other. transB is handled by this copy
//   (4 x 4 SIMD transposes), so the microkernel never sees it.
// - op(A) comes to the microkernel as a panel of MR rows through two strides (between rows,
//   between k). An untransposed A is read in place (rows K floats apart, each walked forward);
//   only a last panel of fewer than 5 rows is copied, zero-padded, so the microkernel never
//   reads past A. A transposed A (stored (K, M)) is packed first, as B is: each panel of 5 rows
//   copied into a contiguous K x 5 block (5 adjacent floats per k), all the panels once per
//   call (in equal blocks of at most PACKED_A_BYTES, B's strips packed again per block). Read
//   in place instead, its rows are M floats apart: with M a power of two those lines fall into
//   a few L1 sets and evict the B strip (512 x 512 ran at 70% of the plain speed). So all four
//   variants run the same microkernel on the same layouts, at the same speed. Blocking over M
//   (to keep a block of A in L2) or over N, and packing an untransposed A too, measured no
//   faster (mostly slower) for sizes up to 1024.
// Edge tiles compute a full 5 x 8 tile from the zero-padded copies into a tile buffer and
// write back only the rows and columns that exist.
//
// The copies live in one persistent workspace (one strip, then one panel or, for a transposed
// A, up to PACKED_A_BYTES of panels) that grows to the largest size seen and is reused by every
// later call, so memory does not grow from step to step.

import { persistentAlloc, persistentFree } from '../memory';

/** Rows of the register tile. */
const MR: i32 = 5;
/** Columns of the register tile: two f32x4. */
const NR: i32 = 8;

/** One MR x NR tile of C, for edge tiles: computed here in full, then its existing corner copied out. */
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

/** Most bytes of packed op(A) held at once; more rows than fit are done block by block. */
const PACKED_A_BYTES: usize = 1 << 20;

/**
 * C (M, N) (+)= op(A) op(B) for one matrix. A is (M, K) or, with transA, stored (K, M);
 * B is (K, N) or, with transB, stored (N, K); C is (M, N), row-major. `accumulate` adds into
 * C instead of overwriting it. Returns false when the workspace cannot be allocated.
 */
export function gemm(transA: bool, transB: bool, m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, accumulate: bool): bool {
  if (!transA && !transB && m < MR) {
    gemmFewRows(m, n, k, a, b, c, accumulate);
    return true;
  }
  const stripBytes = <usize>(k * NR) << 2;
  const panelBytes = <usize>(k * MR) << 2;
  const panels = (m + MR - 1) / MR;
  // Panels of op(A) packed at a time: with transA all of them, in as few equal blocks as keep
  // each within PACKED_A_BYTES; A read in place needs only its last panel of < MR rows copied.
  const fitting = max<i32>(1, <i32>(PACKED_A_BYTES / panelBytes));
  const blocks = (panels + fitting - 1) / fitting;
  const blockPanels = transA ? (panels + blocks - 1) / blocks : 1;
  const ws = ensureWorkspace(stripBytes + <usize>blockPanels * panelBytes);
  if (ws == 0) return false;
  const strip = ws, packed = ws + stripBytes;
  // op(A)[i][p] lives at a + i*aRow + p*aK (bytes)
  const aRow: usize = <usize>(transA ? <i32>1 : k) << 2;
  const aK: usize = <usize>(transA ? m : <i32>1) << 2;
  const blockRows = transA ? blockPanels * MR : m;
  for (let i0 = 0; i0 < m; i0 += blockRows) {
    const rows = min<i32>(blockRows, m - i0);
    // rows i0 .. i0+full-1 come in whole panels; the last rows % MR are zero-padded to one
    const full = rows - rows % MR;
    if (transA) {
      for (let i = 0; i < rows; i += MR) {
        packPanel(k, a + <usize>(i0 + i) * aRow, aRow, aK, min<i32>(MR, rows - i), packed + <usize>(i / MR) * panelBytes);
      }
    } else if (full < rows) {
      packPanel(k, a + <usize>(i0 + full) * aRow, aRow, aK, rows - full, packed);
    }
    for (let j0 = 0; j0 < n; j0 += NR) {
      const cols = min<i32>(NR, n - j0);
      packStrip(transB, k, n, b, j0, cols, strip);
      const cj = c + (<usize>(i0 * n + j0) << 2);
      for (let i = 0; i < rows; i += MR) {
        // the panel: packed (p-major, MR floats per k) or, for whole panels of an untransposed
        // A, read in place
        const inPlace = !transA && i < full;
        const pa = inPlace ? a + <usize>(i0 + i) * aRow : packed + (transA ? <usize>(i / MR) * panelBytes : 0);
        const pRow: usize = inPlace ? aRow : 4;
        const pK: usize = inPlace ? aK : <usize>MR << 2;
        const ci = cj + (<usize>(i * n) << 2);
        if (cols == NR && i < full) {
          tileKernel(k, pa, pRow, pK, strip, ci, n, accumulate);
        } else {
          tileKernel(k, pa, pRow, pK, strip, tile, NR, false);
          writeTile(ci, n, min<i32>(MR, rows - i), cols, accumulate);
        }
      }
    }
  }
  return true;
}

/**
 * C (M, N) (+)= A (M, K) B (K, N) for fewer than MR rows (one token per row in generation):
 * each row of A against B read in place, 16 columns (a cache line) at a time. Packing B would
 * cost as much as the product itself for one row. Every output keeps the tile kernel's order:
 * acc = 0, then acc = acc + A[i][p] * B[p][j] for p = 0 .. K-1, then C = acc or C + acc.
 */
function gemmFewRows(m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, accumulate: bool): void {
  const ldb = <usize>n << 2;
  for (let i = 0; i < m; i++) {
    const ai = a + (<usize>(i * k) << 2); // row i of A: (K)
    const ci = c + (<usize>(i * n) << 2); // row i of C: (N)
    let j = 0;
    if (ASC_FEATURE_SIMD) {
      for (; j + 16 <= n; j += 16) {
        let acc0 = f32x4.splat(0), acc1 = f32x4.splat(0), acc2 = f32x4.splat(0), acc3 = f32x4.splat(0);
        let pb = b + (<usize>j << 2);
        for (let p = 0; p < k; p++) {
          const av = f32x4.splat(load<f32>(ai + (<usize>p << 2)));
          acc0 = f32x4.add(acc0, f32x4.mul(av, v128.load(pb)));
          acc1 = f32x4.add(acc1, f32x4.mul(av, v128.load(pb, 16)));
          acc2 = f32x4.add(acc2, f32x4.mul(av, v128.load(pb, 32)));
          acc3 = f32x4.add(acc3, f32x4.mul(av, v128.load(pb, 48)));
          pb += ldb;
        }
        const cj = ci + (<usize>j << 2);
        if (accumulate) {
          acc0 = f32x4.add(v128.load(cj), acc0);
          acc1 = f32x4.add(v128.load(cj, 16), acc1);
          acc2 = f32x4.add(v128.load(cj, 32), acc2);
          acc3 = f32x4.add(v128.load(cj, 48), acc3);
        }
        v128.store(cj, acc0);
        v128.store(cj, acc1, 16);
        v128.store(cj, acc2, 32);
        v128.store(cj, acc3, 48);
      }
      for (; j + 4 <= n; j += 4) {
        let acc = f32x4.splat(0);
        let pb = b + (<usize>j << 2);
        for (let p = 0; p < k; p++) {
          acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(ai + (<usize>p << 2))), v128.load(pb)));
          pb += ldb;
        }
        const cj = ci + (<usize>j << 2);
        v128.store(cj, accumulate ? f32x4.add(v128.load(cj), acc) : acc);
      }
    }
    for (; j < n; j++) {
      let acc: f32 = 0;
      let pb = b + (<usize>j << 2);
      for (let p = 0; p < k; p++) {
        acc = acc + load<f32>(ai + (<usize>p << 2)) * load<f32>(pb);
        pb += ldb;
      }
      const cj = ci + (<usize>j << 2);
      store<f32>(cj, accumulate ? load<f32>(cj) + acc : acc);
    }
  }
}

/**
 * Copies columns j0 .. j0+cols-1 of op(B) (K, N) into a strip: dst[p*NR + jj] = op(B)[p][j0 + jj],
 * zero for jj >= cols. B is (K, N), or (N, K) with transB.
 */
function packStrip(transB: bool, k: i32, n: i32, b: usize, j0: i32, cols: i32, dst: usize): void {
  if (ASC_FEATURE_SIMD && cols == NR) {
    if (!transB) {
      // two vectors per row of B
      let src = b + (<usize>j0 << 2);
      const rowBytes = <usize>n << 2;
      for (let p = 0; p < k; p++) {
        const out = dst + (<usize>(p * NR) << 2);
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
        src += rowBytes;
      }
      return;
    }
    // transB: rows j0 .. j0+7 of the stored (N, K) B become the strip's columns, four k at a
    // time through 4 x 4 transposes
    const rowBytes = <usize>k << 2;
    const r0 = b + <usize>j0 * rowBytes;
    let p = 0;
    for (; p + 4 <= k; p += 4) {
      const at = r0 + (<usize>p << 2);
      transpose4(at, rowBytes, dst + (<usize>(p * NR) << 2));
      transpose4(at + 4 * rowBytes, rowBytes, dst + (<usize>(p * NR + 4) << 2));
    }
    for (; p < k; p++) {
      for (let jj = 0; jj < NR; jj++) {
        store<f32>(dst + (<usize>(p * NR + jj) << 2), load<f32>(r0 + <usize>jj * rowBytes + (<usize>p << 2)));
      }
    }
    return;
  }
  for (let p = 0; p < k; p++) {
    const out = dst + (<usize>(p * NR) << 2);
    for (let jj = 0; jj < NR; jj++) {
      let v: f32 = 0;
      if (jj < cols) v = load<f32>(b + (<usize>(transB ? (j0 + jj) * k + p : p * n + j0 + jj) << 2));
      store<f32>(out + (<usize>jj << 2), v);
    }
  }
}

/**
 * Reads four rows of four floats (row q at src + q*rowBytes) and writes them transposed: row q
 * of the output, at dst + q*NR*4, holds element q of each input row.
 */
@inline function transpose4(src: usize, rowBytes: usize, dst: usize): void {
  const x0 = v128.load(src), x1 = v128.load(src + rowBytes);
  const x2 = v128.load(src + 2 * rowBytes), x3 = v128.load(src + 3 * rowBytes);
  const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5); // x0[0] x1[0] x0[1] x1[1]
  const t1 = i32x4.shuffle(x0, x1, 2, 6, 3, 7); // x0[2] x1[2] x0[3] x1[3]
  const t2 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
  const stride = <usize>NR << 2;
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + stride, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

/**
 * Copies `rows` (<= MR) rows of op(A), element (r, p) at a + r*aRow + p*aK, into a panel:
 * panel[p*MR + r], zero for r >= rows.
 */
function packPanel(k: i32, a: usize, aRow: usize, aK: usize, rows: i32, dst: usize): void {
  if (ASC_FEATURE_SIMD && rows == MR && aRow == 4) {
    // A transposed: the MR floats of one k are adjacent in memory
    for (let p = 0; p < k; p++) {
      const src = a + <usize>p * aK, out = dst + (<usize>(p * MR) << 2);
      v128.store(out, v128.load(src));
      store<f32>(out, load<f32>(src, 16), 16);
    }
    return;
  }
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
 * One MR x NR tile of C against one strip:
 *   C[r][jj] (+)= sum over p of A(r, p) * strip[p*NR + jj]
 * A(r, p) at a + r*aRow + p*aK (bytes); C addressed at `c` with rows `ldc` floats apart.
 */
@inline function tileKernel(k: i32, a: usize, aRow: usize, aK: usize, strip: usize, c: usize, ldc: i32, accumulate: bool): void {
  if (ASC_FEATURE_SIMD) tileKernelSimd(k, a, aRow, aK, strip, c, ldc, accumulate);
  else tileKernelScalar(k, a, aRow, aK, strip, c, ldc, accumulate);
}

// Kept a function of its own (it has several call sites, so Binaryen does not inline it):
// inlined into the loop over panels, V8 hoists the five splat loads above the arithmetic and
// spills two accumulators, which costs more than half the speed.
function tileKernelSimd(k: i32, a: usize, aRow: usize, aK: usize, strip: usize, c: usize, ldc: i32, accumulate: bool): void {
  // c<r><h>: row r, columns 4h .. 4h+3 of the tile
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0), c41 = f32x4.splat(0);
  const a1 = aRow, a2 = aRow * 2, a3 = aRow * 3, a4 = aRow * 4;
  let pa = a, pb = strip;
  const end = strip + (<usize>(k * NR) << 2);
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
    pb += <usize>NR << 2;
  }
  const rowBytes = <usize>ldc << 2;
  storeRow(c, c00, c01, accumulate); c += rowBytes;
  storeRow(c, c10, c11, accumulate); c += rowBytes;
  storeRow(c, c20, c21, accumulate); c += rowBytes;
  storeRow(c, c30, c31, accumulate); c += rowBytes;
  storeRow(c, c40, c41, accumulate);
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

// The scalar build does the same arithmetic one float at a time: for each row r of the tile
// and each group of four columns, four accumulators in locals run over p = 0..K-1.
function tileKernelScalar(k: i32, a: usize, aRow: usize, aK: usize, strip: usize, c: usize, ldc: i32, accumulate: bool): void {
  for (let r = 0; r < MR; r++) {
    for (let j = 0; j < NR; j += 4) {
      let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
      let pa = a + <usize>r * aRow, pb = strip + (<usize>j << 2);
      for (let p = 0; p < k; p++) {
        const av = load<f32>(pa);
        s0 += av * load<f32>(pb);
        s1 += av * load<f32>(pb, 4);
        s2 += av * load<f32>(pb, 8);
        s3 += av * load<f32>(pb, 12);
        pa += aK;
        pb += <usize>NR << 2;
      }
      const o = c + (<usize>(r * ldc + j) << 2);
      if (accumulate) {
        s0 = load<f32>(o) + s0;
        s1 = load<f32>(o, 4) + s1;
        s2 = load<f32>(o, 8) + s2;
        s3 = load<f32>(o, 12) + s3;
      }
      store<f32>(o, s0);
      store<f32>(o, s1, 4);
      store<f32>(o, s2, 8);
      store<f32>(o, s3, 12);
    }
  }
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
