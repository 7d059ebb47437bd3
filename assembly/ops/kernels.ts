// Shared inner loops (internal: not part of the ABI).

import { newScratch, rankOf, dimOf, dimFromEnd } from '../tensor';
import { detExp, detExpX4 } from '../math/det';

// Every sum over a run of floats uses one canonical order so that the SIMD and scalar builds
// agree bit for bit: four interleaved partial sums (lane l takes elements i = l mod 4 of the
// first n - n % 4), combined as (s0 + s1) + (s2 + s3), then the tail added in order.
/** sum(x[0..n)) in the canonical order. */
export function sumCanonical(x: usize, n: i32): f32 {
  const n4 = n & ~3;
  let total: f32;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) acc = f32x4.add(acc, v128.load(x + (<usize>i << 2)));
    total = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  } else {
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    for (let i = 0; i < n4; i += 4) {
      const p = x + (<usize>i << 2);
      s0 += load<f32>(p);
      s1 += load<f32>(p, 4);
      s2 += load<f32>(p, 8);
      s3 += load<f32>(p, 12);
    }
    total = (s0 + s1) + (s2 + s3);
  }
  for (let i = n4; i < n; i++) total += load<f32>(x + (<usize>i << 2));
  return total;
}


/** The first index of the largest of x[0..n) (n >= 1); a NaN counts as largest, the first one wins. */
export function argmaxRow(x: usize, n: i32): i32 {
  let best = load<f32>(x);
  let at = 0;
  for (let i = 1; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    // strict > keeps the first maximum; once best is NaN nothing replaces it
    if (v > best || (isNaN(v) && !isNaN(best))) {
      best = v;
      at = i;
    }
  }
  return at;
}

/** max(x[0..n)) (n >= 1), NaN when any element is NaN. */
export function maxRow(x: usize, n: i32): f32 {
  return load<f32>(x + (<usize>argmaxRow(x, n) << 2));
}

/**
 * out[j] = exp(x[j] - m) for j < n (math/det.ts detExp, four at a time), and their sum in the
 * canonical order: the inner part of a max-shifted log-sum-exp (softmax, log-softmax,
 * entropy). `out` may be a row of the result, or x itself.
 */
export function expShiftedSum(x: usize, out: usize, n: i32, m: f32): f32 {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const mv = f32x4.splat(m);
    for (; j + 8 <= n; j += 8) { // two vectors a step: their dependency chains overlap
      const o = <usize>j << 2;
      const lo = detExpX4(f32x4.sub(v128.load(x + o), mv)), hi = detExpX4(f32x4.sub(v128.load(x + o, 16), mv));
      v128.store(out + o, lo);
      v128.store(out + o, hi, 16);
    }
    for (; j + 4 <= n; j += 4) {
      const o = <usize>j << 2;
      v128.store(out + o, detExpX4(f32x4.sub(v128.load(x + o), mv)));
    }
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    store<f32>(out + o, detExp(load<f32>(x + o) - m));
  }
  return sumCanonical(out, n);
}

/** Length of the last axis (the row length of a last-axis op); 1 for a rank-0 tensor. */
@inline export function lastDim(a: i32): i32 {
  return dimFromEnd(a, 1);
}

/** A scratch tensor shaped like `a` without its last axis: (..., C) -> (...). */
export function newScratchDropLast(a: i32, requires: bool): i32 {
  return newScratch(rankOf(a) - 1, dimOf(a, 0), dimOf(a, 1), dimOf(a, 2), 1, requires);
}
