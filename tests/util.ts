// Shared test helpers: deterministic data, float64 finite differences, closeness checks, and
// both builds of the core.

import { expect } from 'vitest';
import { init, type Core } from '../sdk/index';

/** mulberry32: deterministic pseudo-random numbers in [0, 1) for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [lo, hi), already rounded to f32 so the f64 reference sees the same inputs. */
export function randomData(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround(lo + (hi - lo) * r());
  return out;
}

/**
 * Central finite differences of a float64 function f at x: df/dx[i] ~ (f(x + h e_i) - f(x - h e_i)) / 2h.
 * f receives a fresh copy of x each time.
 */
export function finiteDiff(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const plus = Float64Array.from(x);
    const minus = Float64Array.from(x);
    plus[i] = x[i]! + h;
    minus[i] = x[i]! - h;
    g[i] = (f(plus) - f(minus)) / (2 * h);
  }
  return g;
}

/** Elementwise |a - e| <= atol + rtol |e|, with a message naming the first mismatch. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, rtol = 1e-5, atol = 1e-6): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect.fail(`${label}: element ${i} is ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** Bitwise equality of two float arrays (NaN payloads aside), naming the first difference. */
export function expectBitwiseEqual(a: Float32Array, b: Float32Array, label: string): void {
  expect(a.length, `${label}: length`).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]!) && Number.isNaN(b[i]!))) {
      expect.fail(`${label}: element ${i} differs: ${a[i]} vs ${b[i]}`);
    }
  }
}

let cores: Promise<{ simd: Core; scalar: Core }> | undefined;

/** The SIMD build (also made the default core) and the scalar build, loaded once per file. */
export function loadCores(): Promise<{ simd: Core; scalar: Core }> {
  cores ??= (async () => {
    const scalar = await init({ simd: false, setDefault: false });
    const simd = await init({ simd: true });
    return { simd, scalar };
  })();
  return cores;
}

/** Sizes that exercise SIMD tails (n % 4 != 0) and tiny cases. */
export const TAIL_SIZES = [1, 3, 5, 17, 33];
