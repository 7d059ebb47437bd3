// Elementwise unary ops on gpu.js: y[i] = f(x[i]) for the transcendental ops, the only
// elementwise ops whose arithmetic can outweigh moving the data to the GPU and back (the core
// computes them in software Mathf, tens of ns per element; add or relu cost less than the
// transfer of their operands, so they stay in the core).
//
// Each uses the overflow-free form the core uses (assembly/ops/unary.ts), built on
// e = exp(-|z|) <= 1, so no shader ever evaluates exp of a large positive number (GLSL leaves
// overflow, and native tanh of large arguments on some drivers, undefined).
// One shader thread per element, over a 1D output that gpu.js lays out as a near-square texture.

import { copyResult, type KernelCache } from './kernel_cache';

export type UnaryOp = 'exp' | 'tanh' | 'sigmoid' | 'gelu';

export const UNARY_OPS: readonly UnaryOp[] = ['exp', 'tanh', 'sigmoid', 'gelu'];

// y = e^x
const EXP = `function unaryExp(x) {
  return Math.exp(x[this.thread.x]);
}`;

// y = tanh(x) = sign(x) (1 - e) / (1 + e), e = exp(-2|x|)
const TANH = `function unaryTanh(x) {
  const v = x[this.thread.x];
  const e = Math.exp(-2 * Math.abs(v));
  const t = (1 - e) / (1 + e);
  if (v < 0) return -t;
  return t;
}`;

// y = 1 / (1 + e^-x): 1/(1+e) for x >= 0, e/(1+e) below, e = exp(-|x|)
const SIGMOID = `function unarySigmoid(x) {
  const v = x[this.thread.x];
  const e = Math.exp(-Math.abs(v));
  if (v >= 0) return 1 / (1 + e);
  return e / (1 + e);
}`;

// y = 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)
const GELU = `function unaryGelu(x) {
  const v = x[this.thread.x];
  const z = 2 * 0.7978845608028654 * (v + 0.044715 * v * v * v);
  const e = Math.exp(-Math.abs(z));
  if (z >= 0) return v / (1 + e);
  return v * e / (1 + e);
}`;

const SOURCES: Record<UnaryOp, string> = { exp: EXP, tanh: TANH, sigmoid: SIGMOID, gelu: GELU };

/** out[i] = op(x[i]) on the GPU for the `n` elements of x. */
export function gpuUnary(cache: KernelCache, op: UnaryOp, x: Float32Array, out: Float32Array): void {
  const kernel = cache.get(SOURCES[op], { output: [x.length] });
  copyResult(kernel(x), out, 0, x.length);
}
