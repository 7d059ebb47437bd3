// Property tests of broadcasting (fast-check): for random broadcast-compatible shapes (rank <= 4,
// dims 1..5) every binary op and where produce the numpy shape and the float64 reference's
// values; for incompatible shapes Tensor.add throws a ShapeError naming the op and both shapes.

import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, Tensor, formatShape, type Core } from '../sdk/index';
import { expectBitwiseEqual, loadCores, randomData } from './util';
import { binaryOpRef, broadcastShapeRef, whereRef, type BinaryName, type Shape } from './reference/elementwise';

let cores: { simd: Core; scalar: Core };

beforeAll(async () => {
  cores = await loadCores();
});

afterEach(() => {
  cores.simd.endStep();
  cores.scalar.endStep();
});

const sizeOf = (shape: Shape) => shape.reduce((p, d) => p * d, 1);
const dim = fc.integer({ min: 1, max: 5 });

/** A shape that broadcasts to `out`: a suffix of it (any rank <= out's) with about a third of its dims set to 1. */
function operandOf(out: number[]): fc.Arbitrary<number[]> {
  return fc.integer({ min: 0, max: out.length }).chain((rank) =>
    fc.array(fc.integer({ min: 0, max: 2 }), { minLength: rank, maxLength: rank })
      .map((keep) => out.slice(out.length - rank).map((d, i) => (keep[i] !== 0 ? d : 1))));
}

/** `count` shapes that broadcast together (rank <= 4, dims 1..5). */
function compatibleShapes(count: number): fc.Arbitrary<number[][]> {
  return fc.array(dim, { maxLength: 4 }).chain((out) => fc.tuple(...Array.from({ length: count }, () => operandOf(out))));
}

/** Two shapes that do not broadcast: a compatible pair with one aligned dim set to two different sizes > 1. */
const incompatiblePair: fc.Arbitrary<[number[], number[]]> = compatibleShapes(2)
  .filter(([a, b]) => a!.length > 0 && b!.length > 0)
  .chain(([a, b]) => fc.tuple(
    fc.constant(a!), fc.constant(b!),
    fc.integer({ min: 1, max: Math.min(a!.length, b!.length) }), // the clashing dim, counted from the back
    fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 3 }),
  ))
  .map(([a, b, k, da, offset]) => {
    const sa = [...a], sb = [...b];
    sa[sa.length - k] = da;
    sb[sb.length - k] = 2 + ((da - 2 + offset) % 4); // another size in 2..5
    return [sa, sb];
  });

const BINARY: BinaryName[] = ['add', 'sub', 'mul', 'div', 'minimum', 'maximum'];

describe('the float64 reference broadcasts like numpy', () => {
  // Examples from numpy's broadcasting documentation: the reference itself is pinned down here.
  it.each([
    [[8, 1, 6, 1], [7, 1, 5], [8, 7, 6, 5]],
    [[5, 4], [1], [5, 4]],
    [[5, 4], [4], [5, 4]],
    [[15, 3, 5], [15, 1, 5], [15, 3, 5]],
    [[15, 3, 5], [3, 5], [15, 3, 5]],
    [[15, 3, 5], [3, 1], [15, 3, 5]],
    [[], [2, 3], [2, 3]],
    [[3], [4], null],
    [[2, 1], [8, 4, 3], null],
  ])('%j with %j -> %j', (a, b, out) => {
    expect(broadcastShapeRef(a, b)).toEqual(out);
  });
});

describe('broadcasting properties', () => {
  it('binary ops: numpy output shape and the correctly rounded float64 values', () => {
    fc.assert(
      fc.property(compatibleShapes(2), fc.constantFrom(...BINARY), fc.integer({ min: 1, max: 1 << 30 }), ([sa, sb], op, seed) => {
        const a = randomData(sizeOf(sa!), seed), b = randomData(sizeOf(sb!), seed + 1);
        const ref = binaryOpRef(op, a, sa!, b, sb!);
        for (const core of [cores.simd, cores.scalar]) {
          const out = Tensor.from(a, sa!, { core })[op](Tensor.from(b, sb!, { core }));
          expect(out.shape).toEqual(ref.shape);
          // one IEEE operation on f32 inputs: the f32 result is the f64 result rounded once
          expectBitwiseEqual(out.toArray(), Float32Array.from(ref.data), `${op} ${formatShape(sa!)} ${formatShape(sb!)}`);
          core.endStep();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('where: numpy output shape of all three operands and the selected values', () => {
    fc.assert(
      fc.property(compatibleShapes(3), fc.integer({ min: 1, max: 1 << 30 }), ([sc, sa, sb], seed) => {
        const c = randomData(sizeOf(sc!), seed).map((v) => (v < 0 ? 0 : 1));
        const a = randomData(sizeOf(sa!), seed + 1), b = randomData(sizeOf(sb!), seed + 2);
        const ref = whereRef(c, sc!, a, sa!, b, sb!);
        for (const core of [cores.simd, cores.scalar]) {
          const out = Tensor.where(Tensor.from(c, sc!, { core }), Tensor.from(a, sa!, { core }), Tensor.from(b, sb!, { core }));
          expect(out.shape).toEqual(ref.shape);
          expectBitwiseEqual(out.toArray(), Float32Array.from(ref.data), `where ${[sc, sa, sb].map((s) => formatShape(s!)).join(' ')}`);
          core.endStep();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('incompatible shapes: Tensor.add throws a ShapeError naming add and both shapes', () => {
    fc.assert(
      fc.property(incompatiblePair, ([sa, sb]) => {
        expect(broadcastShapeRef(sa, sb)).toBeNull();
        const core = cores.simd;
        const a = Tensor.from(randomData(sizeOf(sa), 1), sa, { core });
        const b = Tensor.from(randomData(sizeOf(sb), 2), sb, { core });
        const before = core.exports.scratchTensorCount();
        let error: unknown;
        try {
          a.add(b);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ShapeError);
        const shapeError = error as ShapeError;
        expect(shapeError.op).toBe('add');
        expect(shapeError.shapes).toEqual([sa, sb]);
        expect(shapeError.message).toMatch(/^add: /);
        expect(shapeError.message).toContain(`${formatShape(sa)} and ${formatShape(sb)}`);
        // refused on the host: nothing reached the core
        expect(core.exports.scratchTensorCount()).toBe(before);
        core.endStep();
      }),
      { numRuns: 150 },
    );
  });
});
