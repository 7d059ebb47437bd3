// One check for one op on one set of inputs, used by the op test files:
//   1. forward on the SIMD core matches a float64 reference (within a stated tolerance),
//   2. every gradient matches central finite differences of that reference, with the loss
//      sum(op(x) * w) for a fixed random w (so each output element gets its own weight),
//   3. the scalar core gives bit-identical outputs and gradients.

import { expect } from 'vitest';
import { Tensor, type Core } from '../sdk/index';
import { expectBitwiseEqual, expectClose, finiteDiff, randomData } from './util';

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface OpInput {
  /** Values (already f32-representable, e.g. from randomData). */
  data: Float64Array;
  shape: number[];
  /** Check this input's gradient (default true); false for index tensors. */
  grad?: boolean;
}

export interface OpCase {
  label: string;
  inputs: OpInput[];
  /** The op on core tensors, in the order of `inputs`. */
  op: (inputs: Tensor[]) => Tensor;
  /** Float64 reference: the flat output from the flat inputs. */
  reference: (inputs: Float64Array[]) => Float64Array;
  outShape: number[];
  /** Forward tolerance against the reference. */
  forward: Tolerance;
  /** Gradient tolerance against finite differences of the reference. */
  gradient: Tolerance;
  /** Seed of the loss weights w. */
  seed?: number;
}

interface Run {
  out: Float32Array;
  grads: (Float32Array | null)[];
}

/** Runs the op and loss = sum(op(x) * w) on one core, backward included; ends the step. */
function run(core: Core, c: OpCase, w: Float64Array): Run {
  const ts = c.inputs.map((x) => Tensor.from(x.data, x.shape, { core, requiresGrad: x.grad ?? true }));
  const y = c.op(ts);
  expect(y.shape, `${c.label}: output shape`).toEqual(c.outShape);
  const out = y.toArray();
  y.mul(Tensor.from(w, y.shape, { core })).sum().backward();
  const grads = ts.map((t, i) => ((c.inputs[i]!.grad ?? true) ? t.grad() : null));
  core.endStep();
  return { out, grads };
}

export function checkOp(cores: { simd: Core; scalar: Core }, c: OpCase): void {
  const outSize = c.outShape.reduce((p, d) => p * d, 1);
  const w = randomData(outSize, c.seed ?? 7);
  const simd = run(cores.simd, c, w);
  expectClose(simd.out, c.reference(c.inputs.map((x) => x.data)), `${c.label} forward`, c.forward.rtol, c.forward.atol);

  c.inputs.forEach((input, i) => {
    if (!(input.grad ?? true)) return;
    const loss = (xi: Float64Array): number => {
      const y = c.reference(c.inputs.map((x, k) => (k === i ? xi : x.data)));
      let s = 0;
      for (let j = 0; j < y.length; j++) s += y[j]! * w[j]!;
      return s;
    };
    expect(simd.grads[i], `${c.label}: input ${i} got no gradient`).not.toBeNull();
    expectClose(simd.grads[i]!, finiteDiff(loss, input.data), `${c.label} grad of input ${i}`, c.gradient.rtol, c.gradient.atol);
  });

  const scalar = run(cores.scalar, c, w);
  expectBitwiseEqual(scalar.out, simd.out, `${c.label} forward simd vs scalar`);
  simd.grads.forEach((g, i) => {
    if (g) expectBitwiseEqual(scalar.grads[i]!, g, `${c.label} grad ${i} simd vs scalar`);
  });
}
