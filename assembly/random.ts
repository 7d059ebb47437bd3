// Seeded randomness that gives the same bits on every engine (docs/architecture.md, "Determinism").
//
// Generator: xoshiro128** (Blackman and Vigna), 128 bits of state, seeded through splitmix32.
// Normals: Box-Muller in f64 with AssemblyScript's software Math.log/sin/cos/sqrt. Every fill
// walks its tensor in row-major order, so a stream depends only on the seed and the calls made.
//
// Error codes (besides tensor.ts's): ERR_RANK_DEFICIENT from initOrthogonal when a column of the
// random matrix came out linearly dependent (probability zero in exact arithmetic).

import { dataOf, sizeOf, rankOf, dimOf, dimFromEnd, newScratch, ERR_OUT_OF_MEMORY } from './tensor';
import { persistentAlloc, persistentFree, scratchAlloc } from './memory';
import { sumCanonical } from './ops/kernels';
import { ERR_RANK_DEFICIENT } from './abi';
import { detExp } from './math/det';

// ---- the generator ---------------------------------------------------------------------------

let s0: u32 = 0, s1: u32 = 0, s2: u32 = 0, s3: u32 = 0;

/** xoshiro128**: the next 32 random bits. */
function nextU32(): u32 {
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u32>(s3, 11);
  return result;
}

let splitmixState: u32 = 0;

/** splitmix32: a well-mixed word from a counter (its finaliser is a bijection). */
function splitmix32(): u32 {
  splitmixState += 0x9e3779b9;
  let z = splitmixState;
  z = (z ^ (z >>> 16)) * 0x85ebca6b;
  z = (z ^ (z >>> 13)) * 0xc2b2ae35;
  return z ^ (z >>> 16);
}

/**
 * Seeds the generator from a 64-bit seed (lo, hi): s0, s1 come from a splitmix32 stream started
 * at lo, s2, s3 from the same stream with hi mixed in. Distinct seeds give distinct states, and
 * the state is never all zero (two consecutive splitmix32 outputs cannot both be 0).
 */
export function rngSeed(lo: u32, hi: u32): void {
  splitmixState = lo;
  s0 = splitmix32();
  s1 = splitmix32();
  splitmixState ^= hi;
  s2 = splitmix32();
  s3 = splitmix32();
}

// a fresh core starts as if seeded with 0
rngSeed(0, 0);

/** Word 0..3 of the generator's state (for checkpoints). */
export function rngGetState(word: i32): u32 {
  return word == 0 ? s0 : word == 1 ? s1 : word == 2 ? s2 : s3;
}
/** Restores a state from rngGetState (the host refuses the all-zero state). */
export function rngSetState(w0: u32, w1: u32, w2: u32, w3: u32): void {
  s0 = w0;
  s1 = w1;
  s2 = w2;
  s3 = w3;
}

/** Uniform in [0, 1) with 24 random bits: every value is an exact f32. */
@inline function uniformF32(): f32 {
  return <f32>(nextU32() >>> 8) * (1.0 / 16777216.0);
}

/** Uniform integer in [0, range), unbiased (Lemire's multiply-and-reject). */
function boundedU32(range: u32): u32 {
  let m = <u64>nextU32() * <u64>range;
  let low = <u32>m;
  if (low < range) {
    const threshold: u32 = (<u32>0 - range) % range; // 2^32 mod range
    while (low < threshold) {
      m = <u64>nextU32() * <u64>range;
      low = <u32>m;
    }
  }
  return <u32>(m >>> 32);
}

let spareNormal: f64 = 0;

/**
 * Box-Muller: two independent standard normals from two uniforms; returns the first and leaves
 * the second in spareNormal. u1 is in (0, 1] with 32 bits, so log(u1) is finite.
 */
function normalPair(): f64 {
  const u1 = (<f64>nextU32() + 1.0) * (1.0 / 4294967296.0);
  const u2 = <f64>nextU32() * (1.0 / 4294967296.0);
  const radius = Math.sqrt(-2.0 * Math.log(u1));
  const angle = 2.0 * Math.PI * u2;
  spareNormal = radius * Math.sin(angle);
  return radius * Math.cos(angle);
}

// ---- fills -----------------------------------------------------------------------------------

/** Fills a tensor with lo + (hi - lo) * u, u uniform in [0, 1) (f32 rounding may reach hi). */
export function randUniform(id: i32, lo: f32, hi: f32): void {
  const n = sizeOf(id), p = dataOf(id);
  const width = hi - lo;
  for (let i = 0; i < n; i++) store<f32>(p + (<usize>i << 2), lo + width * uniformF32());
}

/** Fills a tensor with mean + std * z, z standard normal (pairs in order; an odd tail drops one). */
export function randNormal(id: i32, mean: f32, std: f32): void {
  const n = sizeOf(id), p = dataOf(id);
  for (let i = 0; i < n; i += 2) {
    store<f32>(p + (<usize>i << 2), mean + std * <f32>normalPair());
    if (i + 1 < n) store<f32>(p + (<usize>(i + 1) << 2), mean + std * <f32>spareNormal);
  }
}

/**
 * torch.nn.init.orthogonal_: a (rows, cols) tensor (rank >= 2; trailing dims flattened into cols)
 * becomes gain * Q, where Q has orthonormal columns (rows >= cols) or orthonormal rows
 * (rows < cols). Q comes from the QR decomposition (modified Gram-Schmidt, in f64) of a
 * (max, min) standard normal matrix; Gram-Schmidt gives R a positive diagonal, the sign
 * convention torch applies. Returns 0, ERR_OUT_OF_MEMORY or ERR_RANK_DEFICIENT.
 */
export function initOrthogonal(id: i32, gain: f32): i32 {
  const rows = dimOf(id, 0);
  const cols = sizeOf(id) / rows;
  const tall = rows >= cols;
  const big = tall ? rows : cols, small = tall ? cols : rows;
  // a: (big, small) f64, row-major; its columns become Q's columns in place
  const a = persistentAlloc(<usize>(big * small) << 3);
  if (a == 0) return ERR_OUT_OF_MEMORY;
  const count = big * small;
  for (let i = 0; i < count; i += 2) {
    store<f64>(a + (<usize>i << 3), normalPair());
    if (i + 1 < count) store<f64>(a + (<usize>(i + 1) << 3), spareNormal);
  }
  for (let j = 0; j < small; j++) {
    // remove the components along the earlier columns, one at a time (modified Gram-Schmidt)
    for (let k = 0; k < j; k++) {
      let dot: f64 = 0;
      for (let i = 0; i < big; i++) dot += at(a, small, i, k) * at(a, small, i, j);
      for (let i = 0; i < big; i++) put(a, small, i, j, at(a, small, i, j) - dot * at(a, small, i, k));
    }
    let sq: f64 = 0;
    for (let i = 0; i < big; i++) sq += at(a, small, i, j) * at(a, small, i, j);
    const norm = Math.sqrt(sq);
    if (!(norm > 0)) {
      persistentFree(a);
      return ERR_RANK_DEFICIENT;
    }
    for (let i = 0; i < big; i++) put(a, small, i, j, at(a, small, i, j) / norm);
  }
  // out (rows, cols) = gain * Q (tall) or gain * Q^T (wide)
  const out = dataOf(id);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const q = tall ? at(a, small, r, c) : at(a, small, c, r);
      store<f32>(out + (<usize>(r * cols + c) << 2), gain * <f32>q);
    }
  }
  persistentFree(a);
  return 0;
}

@inline function at(a: usize, width: i32, i: i32, j: i32): f64 {
  return load<f64>(a + (<usize>(i * width + j) << 3));
}
@inline function put(a: usize, width: i32, i: i32, j: i32, v: f64): void {
  store<f64>(a + (<usize>(i * width + j) << 3), v);
}

// ---- sampling --------------------------------------------------------------------------------

/**
 * One sample per row of logits (..., A) from softmax(row): a scratch tensor (...) of f32 indices.
 * Inverse CDF with one uniform per row: the first j whose running sum of exp(x - max) exceeds
 * u * total. Zero-probability classes (logits of -inf) are never drawn.
 */
export function sampleCategorical(logits: i32): i32 {
  const rank = rankOf(logits);
  const classes = dimFromEnd(logits, 1);
  const rows = sizeOf(logits) / classes;
  const out = newScratch(rank - 1, dimOf(logits, 0), dimOf(logits, 1), dimOf(logits, 2), 1, false);
  if (out < 0) return out;
  const weights = scratchAlloc(<usize>classes << 2); // (A) exp(x - max x)
  if (weights == 0) return ERR_OUT_OF_MEMORY;
  const px = dataOf(logits), po = dataOf(out);
  for (let row = 0; row < rows; row++) {
    const x = px + (<usize>(row * classes) << 2);
    let m = load<f32>(x);
    for (let j = 1; j < classes; j++) m = max<f32>(m, load<f32>(x + (<usize>j << 2)));
    let lastPositive = classes - 1;
    for (let j = 0; j < classes; j++) {
      const w = detExp(load<f32>(x + (<usize>j << 2)) - m);
      store<f32>(weights + (<usize>j << 2), w);
      if (w > 0) lastPositive = j;
    }
    const target = uniformF32() * sumCanonical(weights, classes);
    // the running sum may end a rounding error below the canonical total: fall back to the
    // last class with positive weight
    let choice = lastPositive;
    let running: f32 = 0;
    for (let j = 0; j < classes; j++) {
      running += load<f32>(weights + (<usize>j << 2));
      if (target < running) {
        choice = j;
        break;
      }
    }
    store<f32>(po + (<usize>row << 2), <f32>choice);
  }
  return out;
}

/** A scratch rank-1 tensor holding a uniformly random permutation of 0..n-1 (Fisher-Yates). */
export function randPermutation(n: i32): i32 {
  const out = newScratch(1, n, 1, 1, 1, false);
  if (out < 0) return out;
  const p = dataOf(out);
  for (let i = 0; i < n; i++) store<f32>(p + (<usize>i << 2), <f32>i);
  for (let i = n - 1; i > 0; i--) {
    const j = <i32>boundedU32(<u32>(i + 1));
    const a = p + (<usize>i << 2), b = p + (<usize>j << 2);
    const t = load<f32>(a);
    store<f32>(a, load<f32>(b));
    store<f32>(b, t);
  }
  return out;
}
