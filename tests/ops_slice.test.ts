// narrow (assembly/ops/slice.ts) against the float64 reference in tests/reference/attention.ts,
// its gradient (a scatter-add into the input's range) against finite differences, SIMD vs
// scalar bit for bit (checkOp); writeInto filling a persistent KV cache one position and one
// block at a time; and the host's typed errors.
//
// Tolerances: narrow only moves values, so forward is exact; the gradient of moved values is
// the loss weight copied, compared with finite differences of a linear function (~1e-8 error).

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, StaleTensorError, Tensor, ValueError, noGrad, type Core } from '../sdk/index';
import { checkOp, type Tolerance } from './op_check';
import { narrowRef, writeIntoRef } from './reference/attention';
import { expectBitwiseEqual, loadCores, randomData } from './util';

let cores: { simd: Core; scalar: Core };
beforeAll(async () => {
  cores = await loadCores();
});
afterEach(() => {
  cores.simd.endStep();
  cores.scalar.endStep();
});

const EXACT: Tolerance = { rtol: 0, atol: 0 };
const MOVE_GRAD: Tolerance = { rtol: 1e-6, atol: 1e-7 };
const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

describe('narrow', () => {
  // [shape, axis, start, length]
  const cases: [number[], number, number, number][] = [
    [[7], 0, 2, 3],
    [[5, 6], 0, 1, 3],
    [[5, 6], 1, 4, 2],
    [[5, 6], -1, 0, 6],
    [[2, 3, 17], 2, 3, 13],
    [[2, 9, 5], 1, 0, 1],
    [[3, 2, 4, 5], 0, 2, 1],
    [[2, 3, 8, 5], 2, 5, 3],
    [[2, 3, 4, 5], 3, 1, 3],
  ];
  it.each(cases)('%j axis %i start %i length %i', (shape, axis, start, length) => {
    const ax = axis < 0 ? axis + shape.length : axis;
    const outShape = [...shape];
    outShape[ax] = length;
    checkOp(cores, {
      label: `narrow ${shape} axis ${axis}`,
      inputs: [{ data: randomData(size(shape), size(shape) + ax), shape }],
      outShape,
      op: ([x]) => x!.narrow(axis, start, length),
      reference: ([x]) => narrowRef(x!, shape, ax, start, length),
      forward: EXACT, gradient: MOVE_GRAD,
    });
  });

  it('slice(axis, start, end) is narrow(axis, start, end - start)', () => {
    const x = Tensor.from(randomData(24, 3), [2, 3, 4]);
    expect(Array.from(x.slice(2, 1, 3).toArray())).toEqual(Array.from(x.narrow(2, 1, 2).toArray()));
  });

  it('overlapping narrows of one tensor add their gradients', () => {
    const x = Tensor.from([1, 2, 3, 4, 5], [5], { requiresGrad: true });
    // loss = sum(x[0:3]) + 10 sum(x[2:5])
    x.narrow(0, 0, 3).sum().add(x.narrow(0, 2, 3).sum().mul(10)).backward();
    expect(Array.from(x.grad()!)).toEqual([1, 1, 11, 10, 10]);
  });

  it('refuses bad ranges and axes with typed errors', () => {
    const x = Tensor.zeros([3, 4]);
    expect(() => x.narrow(1, 2, 3)).toThrow(ValueError);
    expect(() => x.narrow(1, -1, 2)).toThrow(ValueError);
    expect(() => x.narrow(0, 0, 0)).toThrow(ValueError);
    expect(() => x.narrow(0, 0.5, 1)).toThrow(ValueError);
    expect(() => x.narrow(2, 0, 1)).toThrow(ValueError);
    expect(() => Tensor.scalar(1).narrow(0, 0, 1)).toThrow(ShapeError);
  });
});

describe('writeInto', () => {
  it('fills a persistent (B, H, Tmax, D) cache one position, then a block, at a time', () => {
    const shape = [2, 3, 9, 5];
    for (const core of [cores.simd, cores.scalar]) {
      const cache = Tensor.zeros(shape, { core, persistent: true });
      let expected: Float64Array = new Float64Array(size(shape));
      try {
        noGrad(() => {
          // a prompt block of 4 positions, then 3 single positions, one step each
          const steps: [number, number][] = [[0, 4], [4, 1], [5, 1], [6, 1], [7, 2]];
          steps.forEach(([start, length], n) => {
            const blockShape = [2, 3, length, 5];
            const data = randomData(size(blockShape), 100 + n);
            Tensor.from(data, blockShape, { core }).writeInto(cache, 2, start);
            expected = writeIntoRef(expected, shape, data, blockShape, 2, start);
            core.endStep(); // the cache outlives the step
            expect(Array.from(cache.toArray()), `after step ${n}`).toEqual(Array.from(Float32Array.from(expected)));
          });
        }, core);
      } finally {
        cache.free();
      }
    }
  });

  it('writes along every axis, the same bits in both builds', () => {
    const shape = [3, 4, 5, 6];
    for (let axis = 0; axis < 4; axis++) {
      const blockShape = [...shape];
      blockShape[axis] = 2;
      const data = randomData(size(blockShape), axis);
      const base = randomData(size(shape), 10 + axis);
      const results = [cores.simd, cores.scalar].map((core) => {
        const target = Tensor.from(base, shape, { core, persistent: true });
        noGrad(() => Tensor.from(data, blockShape, { core }).writeInto(target, axis, 1), core);
        const out = target.toArray();
        target.free();
        return out;
      });
      expect(Array.from(results[0]!), `axis ${axis}`).toEqual(Array.from(Float32Array.from(writeIntoRef(base, shape, data, blockShape, axis, 1))));
      expectBitwiseEqual(results[1]!, results[0]!, `writeInto axis ${axis} simd vs scalar`);
    }
  });

  it('refuses a scratch target, a gradient, a misfit and aliasing with typed errors', () => {
    const cache = Tensor.zeros([2, 8, 4], { persistent: true });
    const weights = Tensor.zeros([2, 1, 4], { persistent: true, requiresGrad: true });
    try {
      const step = Tensor.zeros([2, 1, 4]);
      expect(() => noGrad(() => step.writeInto(Tensor.zeros([2, 8, 4]), 1, 0))).toThrow(/scratch/);
      // gradients recorded and the source requires one
      expect(() => weights.writeInto(cache, 1, 0)).toThrow(ValueError);
      expect(() => step.mul(weights).writeInto(cache, 1, 0)).toThrow(/noGrad/);
      // a persistent target that requires a gradient, outside noGrad
      expect(() => step.writeInto(weights, 1, 0)).toThrow(/noGrad/);
      noGrad(() => {
        expect(() => weights.writeInto(cache, 1, 7)).not.toThrow(); // fine under noGrad
        expect(() => step.writeInto(cache, 1, 8)).toThrow(ValueError);
        expect(() => step.writeInto(cache, 1, -1)).toThrow(ValueError);
        expect(() => Tensor.zeros([2, 1, 3]).writeInto(cache, 1, 0)).toThrow(ShapeError);
        expect(() => Tensor.zeros([2, 1]).writeInto(cache, 1, 0)).toThrow(ShapeError);
        expect(() => step.writeInto(cache, 3, 0)).toThrow(ValueError);
        expect(() => cache.narrow(1, 0, 1).writeInto(cache, 1, 1)).not.toThrow(); // a copy, not a view
        expect(() => cache.reshape([2, 8, 4]).narrow(1, 0, 8).writeInto(cache, 1, 0)).not.toThrow();
        expect(() => cache.reshape([2, 8, 4]).writeInto(cache, 1, 0)).toThrow(/share memory/);
      });
      const stale = Tensor.zeros([2, 1, 4]);
      cores.simd.endStep();
      expect(() => noGrad(() => stale.writeInto(cache, 1, 0))).toThrow(StaleTensorError);
    } finally {
      cache.free();
      weights.free();
    }
  });
});
