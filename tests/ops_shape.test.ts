// Shape ops (assembly/ops/shape.ts): reshape (a view), transpose (two axes swapped, a copy)
// and concat, against the float64 references in tests/reference/reduce.ts, gradients against
// finite differences, SIMD vs scalar bit for bit (checkOp in tests/op_check.ts), the view
// semantics of reshape, gradient flow through chains, and the host's typed errors.
//
// Tolerances: these ops only move values, so forward is exact; the gradient of moved values
// is the weight w copied (or summed once), compared with finite differences of the f64
// reference, which are accurate to ~1e-8 at h = 1e-6.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, Tensor, ValueError, type Core } from '../sdk/index';
import { checkOp, type Tolerance } from './op_check';
import * as ref from './reference/reduce';
import { TAIL_SIZES, expectBitwiseEqual, expectClose, finiteDiff, loadCores, randomData } from './util';

let cores: { simd: Core; scalar: Core };
beforeAll(async () => {
  cores = await loadCores();
});
afterEach(() => {
  cores.simd.endStep();
  cores.scalar.endStep();
});

const EXACT: Tolerance = { rtol: 0, atol: 0 };
// a copied weight vs a finite difference of a linear function: only the FD's ~1e-8 error
const MOVE_GRAD: Tolerance = { rtol: 1e-6, atol: 1e-7 };

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
const swapped = (shape: readonly number[], a: number, b: number): number[] => {
  const s = [...shape];
  [s[a], s[b]] = [shape[b]!, shape[a]!];
  return s;
};

describe('reshape', () => {
  const cases: [number[], number[]][] = [
    [[6], [2, 3]],
    [[2, 3], [3, 2]],
    [[4, 17], [17, 4]],
    [[2, 3, 5], [6, 5]],
    [[33], [3, 1, 11]],
    [[2, 3, 1, 5], [30]],
    [[5, 3], [1, 5, 1, 3]],
    [[1], []],
  ];
  it.each(cases)('%j -> %j', (from, to) => {
    checkOp(cores, {
      label: `reshape ${from} -> ${to}`,
      inputs: [{ data: randomData(size(from), size(from)), shape: from }],
      outShape: to,
      op: ([x]) => x!.reshape(to), reference: ([x]) => Float64Array.from(x!),
      forward: EXACT, gradient: MOVE_GRAD,
    });
  });

  it('infers one -1 dimension', () => {
    expect(Tensor.zeros([2, 3, 4]).reshape([-1, 4]).shape).toEqual([6, 4]);
    expect(Tensor.zeros([2, 3, 4]).reshape([2, -1]).shape).toEqual([2, 12]);
  });

  it('is a view: writes through either tensor show in the other', () => {
    const x = Tensor.from([0, 1, 2, 3, 4, 5], [2, 3], { persistent: true });
    try {
      const y = x.reshape([3, 2]);
      expect(cores.simd.exports.tensorData(y.id)).toBe(cores.simd.exports.tensorData(x.id));
      y.view()[5] = 42;
      expect(Array.from(x.toArray())).toEqual([0, 1, 2, 3, 4, 42]);
      x.view()[0] = -7;
      expect(y.toArray()[0]).toBe(-7);
    } finally {
      x.free();
    }
  });

  it('keeps its own gradient and adds it into the original', () => {
    const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], { persistent: true, requiresGrad: true });
    try {
      const y = x.reshape([3, 2]);
      // two uses: through the view (weights 1..6) and directly (weight 10 each)
      y.mul(Tensor.from([1, 2, 3, 4, 5, 6], [3, 2])).sum().add(x.mul(10).sum()).backward();
      expect(Array.from(y.grad()!)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(Array.from(x.grad()!)).toEqual([11, 12, 13, 14, 15, 16]);
    } finally {
      x.free();
    }
  });

  it('refuses sizes that do not match with ShapeError', () => {
    const x = Tensor.zeros([2, 3]);
    expect(() => x.reshape([4, 2])).toThrow(ShapeError);
    expect(() => x.reshape([4, 2])).toThrow(/6 elements do not fit/);
    expect(() => x.reshape([-1, 4])).toThrow(ShapeError);
    expect(() => x.reshape([-1, -1])).toThrow(ShapeError);
    expect(() => x.reshape([1, 1, 1, 2, 3])).toThrow(ShapeError);
    expect(() => x.reshape([0, 6])).toThrow(ShapeError);
  });
});

describe('transpose', () => {
  // every pair of axes, ranks 1 to 4, with tail sizes on the moving axes
  const shapes: number[][] = [[5], [3, 5], [17, 4], [1, 33], [2, 3, 5], [2, 3, 1, 5], [3, 1, 2, 17]];
  it.each(shapes.map((s) => [s]))('every pair of axes of %j', (shape) => {
    for (let a = 0; a < shape.length; a++) {
      for (let b = a; b < shape.length; b++) {
        checkOp(cores, {
          label: `transpose ${shape} (${a}, ${b})`,
          inputs: [{ data: randomData(size(shape), 10 * a + b), shape }],
          outShape: swapped(shape, a, b),
          op: ([x]) => x!.transpose(a, b), reference: ([x]) => ref.transpose(x!, shape, a, b),
          forward: EXACT, gradient: MOVE_GRAD, seed: a + b,
        });
      }
    }
  });

  it('defaults to the last two axes and takes negative axes', () => {
    const x = Tensor.from([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    expect(x.transpose().shape).toEqual([1, 3, 2]);
    expect(Array.from(x.transpose().toArray())).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(x.transpose(-3, -2).toArray())).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses axes out of range with ValueError', () => {
    const x = Tensor.zeros([2, 3]);
    expect(() => x.transpose(0, 2)).toThrow(ValueError);
    expect(() => x.transpose(-3, 0)).toThrow(/axis -3 is out of range for a tensor of rank 2/);
    expect(() => x.transpose(0.5, 1)).toThrow(ValueError);
  });
});

describe('concat', () => {
  // along every axis of ranks 1 to 4, with different (tail) sizes on the joined axis
  const shapes: number[][] = [[3], [2, 5], [2, 3, 4], [2, 1, 3, 5]];
  it.each(shapes.map((s) => [s]))('along every axis of %j', (shape) => {
    shape.forEach((_, axis) => {
      TAIL_SIZES.slice(0, 3).forEach((other, k) => {
        const shapeB = [...shape];
        shapeB[axis] = other;
        const outShape = [...shape];
        outShape[axis] = shape[axis]! + other;
        checkOp(cores, {
          label: `concat ${shape} + ${shapeB} on ${axis}`,
          inputs: [{ data: randomData(size(shape), 20 + k), shape }, { data: randomData(size(shapeB), 40 + k), shape: shapeB }],
          outShape,
          op: ([a, b]) => Tensor.concat([a!, b!], axis),
          reference: ([a, b]) => ref.concat(a!, shape, b!, shapeB, axis),
          forward: EXACT, gradient: MOVE_GRAD, seed: axis,
        });
      });
    });
  });

  it('joins three tensors, one of them twice, and sums the gradient of the repeated one', () => {
    const a = Tensor.from([1, 2], [2, 1], { requiresGrad: true });
    const b = Tensor.from([3, 4, 5, 6], [2, 2], { requiresGrad: true });
    const y = Tensor.concat([a, b, a], -1);
    expect(y.shape).toEqual([2, 4]);
    expect(Array.from(y.toArray())).toEqual([1, 3, 4, 1, 2, 5, 6, 2]);
    y.mul(Tensor.from([1, 2, 3, 4, 5, 6, 7, 8], [2, 4])).sum().backward();
    expect(Array.from(a.grad()!)).toEqual([1 + 4, 5 + 8]);
    expect(Array.from(b.grad()!)).toEqual([2, 3, 6, 7]);
  });

  it('refuses mismatched dims with ShapeError and bad axes with ValueError', () => {
    const a = Tensor.zeros([2, 3]);
    expect(() => Tensor.concat([a, Tensor.zeros([3, 3])], 1)).toThrow(ShapeError);
    expect(() => Tensor.concat([a, Tensor.zeros([3, 3])], 1)).toThrow(/all dims but axis 1 must match/);
    expect(() => Tensor.concat([a, Tensor.zeros([2, 3, 1])], 0)).toThrow(ShapeError);
    expect(() => Tensor.concat([a, a], 2)).toThrow(ValueError);
    expect(() => Tensor.concat([], 0)).toThrow(ValueError);
  });
});

describe('gradients through chains of shape ops', () => {
  it('reshape -> transpose -> reshape -> transpose -> concat matches finite differences', () => {
    // x: (2, 3, 4) -> (6, 4) -> (4, 6) -> (2, 2, 6) -> (2, 6, 2) -> concat with itself on axis 0
    const shape = [2, 3, 4];
    const x0 = randomData(size(shape), 77);
    const w = randomData(2 * size(shape), 78);
    const chain = (x: Float64Array): Float64Array => {
      const t = ref.transpose(x, [6, 4], 0, 1);
      const u = ref.transpose(t, [2, 2, 6], 1, 2);
      return ref.concat(u, [2, 6, 2], u, [2, 6, 2], 0);
    };
    const loss = (x: Float64Array): number => chain(x).reduce((s, v, i) => s + v * w[i]!, 0);
    const grads = [cores.simd, cores.scalar].map((core) => {
      const x = Tensor.from(x0, shape, { core, requiresGrad: true });
      const u = x.reshape([6, 4]).transpose().reshape([2, 2, 6]).transpose(1, 2);
      const y = Tensor.concat([u, u], 0);
      expectClose(y.toArray(), chain(x0), 'chain forward', 0, 0); // values only move
      y.mul(Tensor.from(w, y.shape, { core })).sum().backward();
      return x.grad()!;
    });
    // each x gets two weights (the concat repeats it): one f32 addition, relative 2^-24
    expectClose(grads[0]!, finiteDiff(loss, x0), 'chain gradient', 1e-6, 1e-7);
    expectBitwiseEqual(grads[1]!, grads[0]!, 'chain gradient simd vs scalar');
  });

  it('records nothing when the input needs no gradient', () => {
    const x = Tensor.from(randomData(6, 1), [2, 3]);
    Tensor.concat([x.reshape([3, 2]).transpose(), x], 0);
    expect(cores.simd.exports.tapeLength()).toBe(0);
  });
});
