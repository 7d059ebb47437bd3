// Float64 references for the GPU kernels and the error bounds their results are held to.
// The GPU computes in single precision in its own order (maybe with fused multiply-add), so
// results are judged against float64 with bounds derived from f32 rounding, not bit for bit.

import { expect } from 'vitest';
import { absSum64, matmulDims, matmulRef as matmulRef64, type MatmulSpec } from './reference/matmul';

/** Unit roundoff of f32: every f32 operation is exact up to a relative error of u. */
export const U32 = 2 ** -24;

export type MatmulCase = MatmulSpec;

/**
 * C = op(A) op(B) in float64 (tests/reference/matmul.ts), with magnitude[i] = sum_k
 * |op(A)[r, k]| |op(B)[k, c]| for the error bound, and K.
 */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, c: MatmulCase): { value: Float64Array; magnitude: Float64Array; k: number; shape: number[] } {
  const { k, shapeC } = matmulDims(c);
  return { value: matmulRef64(a, b, c), magnitude: matmulRef64(a, b, c, absSum64), k, shape: shapeC };
}

/**
 * |actual - expected| <= bound[i] elementwise; returns the largest error/bound ratio seen (so a
 * report can show how much of the bound was used) and fails naming the first violation.
 */
export function expectWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: (i: number) => number, label: string): number {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    const b = bound(i);
    if (!(err <= b)) expect.fail(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]} (error ${err.toExponential(3)} > bound ${b.toExponential(3)})`);
    if (b > 0) worst = Math.max(worst, err / b);
  }
  return worst;
}

/**
 * A dot product of length K accumulated in f32, in any order, with or without fused
 * multiply-add, is within gamma_K * sum |x_k y_k| of the exact value, gamma_K = K u / (1 - K u)
 * (Higham, Accuracy and Stability of Numerical Algorithms, 3.1). GLSL ES 3.00 highp floats
 * carry u = 2^-24 (section 4.5.1), the same as f32. The inputs are exact f32 values.
 */
export function dotBound(k: number, magnitude: number): number {
  const ku = k * U32;
  return (ku / (1 - ku)) * magnitude;
}

/** Worst-case relative error of exp on a GLSL ES 3.00 highp float: (3 + 2|x|) ULP (section 4.5.1), one ULP <= 2u relative. */
export function expUlpBound(x: number): number {
  return (3 + 2 * Math.abs(x)) * 2 * U32;
}

export type GpuUnaryName = 'exp' | 'tanh' | 'sigmoid' | 'gelu';

/**
 * The largest error allowed for the GPU's op(x) = y (y the float64 value), from the GLSL ES
 * 3.00 highp guarantees: + - * correctly rounded (u each), division 2.5 ULP (5u), exp as
 * expUlpBound. The kernels (kernels/elementwise.ts) build on e = exp(-|z|) <= 1:
 *   sigmoid: 1/(1+e) or e/(1+e): exp's relative error at most twice, plus 1+e and the division.
 *   tanh:    (1-e)/(1+e), e = exp(-2|x|): 1-e cancels near 0, so exp's error becomes an
 *            absolute error of up to twice exp's relative bound; the rest is relative.
 *   gelu:    x * sigmoid(z), z = 2 sqrt(2/pi) (x + 0.044715 x^3): sigmoid's bound at z, plus
 *            z's own rounding (about 6 roundings and the f32 constants, 8u |z|) passed through
 *            dy/dz <= |x|/4, taken as 2u |x z|.
 */
export function unaryBound(op: GpuUnaryName, x: number, y: number): number {
  switch (op) {
    case 'exp':
      return expUlpBound(x) * Math.abs(y);
    case 'sigmoid':
      return (2 * expUlpBound(x) + 8 * U32) * Math.abs(y);
    case 'tanh':
      return 2 * expUlpBound(2 * x) + 8 * U32 * Math.abs(y);
    case 'gelu': {
      const z = 2 * Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
      return (2 * expUlpBound(z) + 10 * U32) * Math.abs(y) + 2 * U32 * Math.abs(x * z);
    }
  }
}

/** Float64 sums of each row of x (rows, c), with sum |x| per row for the bound. */
export function sumLastRef(x: ArrayLike<number>, c: number): { value: Float64Array; magnitude: Float64Array } {
  const rows = x.length / c;
  const value = new Float64Array(rows), magnitude = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < c; j++) {
      value[r] += x[r * c + j]!;
      magnitude[r] += Math.abs(x[r * c + j]!);
    }
  }
  return { value, magnitude };
}

/**
 * Float64 softmax of each row of x (rows, c), with a relative bound per element: the max is
 * exact; d = x - max rounds (u |d| after exp); exp(d) adds expUlpBound(d); the row sum of
 * positive terms adds gamma_c plus the worst term's error; the division adds 5u.
 */
export function softmaxRef(x: ArrayLike<number>, c: number): { value: Float64Array; relBound: Float64Array } {
  const rows = x.length / c;
  const value = new Float64Array(x.length), relBound = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, x[r * c + j]!);
    let s = 0, worstTerm = 0;
    const termBound = (d: number) => expUlpBound(d) + U32 * Math.abs(d);
    for (let j = 0; j < c; j++) {
      const d = x[r * c + j]! - m;
      s += Math.exp(d);
      worstTerm = Math.max(worstTerm, termBound(d));
    }
    const sumBound = (c * U32) / (1 - c * U32) + worstTerm;
    for (let j = 0; j < c; j++) {
      const d = x[r * c + j]! - m;
      value[r * c + j] = Math.exp(d) / s;
      relBound[r * c + j] = termBound(d) + sumBound + 5 * U32;
    }
  }
  return { value, relBound };
}
