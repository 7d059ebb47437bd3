// Reductions, softmax, indexing and layer norm (assembly/ops/reduce.ts, softmax.ts,
// index_ops.ts, norm.ts): forward against the float64 references in tests/reference/reduce.ts,
// gradients against finite differences of those references, SIMD vs scalar bit for bit
// (checkOp in tests/op_check.ts), plus edge cases and the host's typed errors.
//
// Tolerances. The core computes in f32 (unit roundoff u = 2^-24 ~ 6e-8); the references in f64.
// A canonical sum of C <= 33 terms has at most C/4 + 3 <= 12 roundings in a chain, so a row sum
// of values in [-1, 1] is off by at most 12 * u * 33 ~ 2.4e-5 absolute (typically ~1e-6).
// exp, log and division add a few ulps relative. Finite differences of the f64 reference
// (h = 1e-6) are accurate to ~1e-8, so gradient tolerances measure the f32 backward: a few
// roundings per element, relative ~1e-6, scaled by weights |w| <= 1 and row sums of <= 33 terms.
// A wrong formula is off by O(0.01..1), far outside every tolerance here.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, Tensor, ValueError, type Core } from '../sdk/index';
import { checkOp, type Tolerance } from './op_check';
import * as ref from './reference/reduce';
import { TAIL_SIZES, loadCores, randomData, rng } from './util';

let cores: { simd: Core; scalar: Core };
beforeAll(async () => {
  cores = await loadCores();
});
afterEach(() => {
  cores.simd.endStep();
  cores.scalar.endStep();
});

/** Reduced (last-axis) sizes: the SIMD tails plus whole multiples of 4. */
const LAST_SIZES = [...TAIL_SIZES, 4, 16];
/** Leading dims giving ranks 1 to 4. */
const LEADS: number[][] = [[], [2], [3, 2], [2, 1, 2]];
/** [rank, leading dims] rows for it.each. */
const RANKS = LEADS.map((lead) => [lead.length + 1, lead] as const);

const size = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);

// sums of <= 4 * 33 values in [-1, 1]: the bound above, with the whole-tensor sum's
// 12 * u * 132 ~ 1e-4 worst case; in practice errors are ~1e-6
const SUM_FORWARD: Tolerance = { rtol: 1e-5, atol: 5e-5 };
// gradients of sums and means are dout (or dout / n) copied: exact but for one division
const COPY_GRAD: Tolerance = { rtol: 1e-5, atol: 1e-6 };

describe('sum and mean over every element', () => {
  it.each(RANKS)('rank %i: every reduced size', (_rank, lead) => {
    LAST_SIZES.forEach((c, k) => {
      const shape = [...lead, c];
      const data = randomData(size(shape), 100 + k);
      checkOp(cores, {
        label: `sum ${shape}`, inputs: [{ data, shape }], outShape: [],
        op: ([x]) => x!.sum(), reference: ([x]) => Float64Array.of(ref.sum(x!)),
        forward: SUM_FORWARD, gradient: COPY_GRAD, seed: k,
      });
      checkOp(cores, {
        label: `mean ${shape}`, inputs: [{ data, shape }], outShape: [],
        op: ([x]) => x!.mean(), reference: ([x]) => Float64Array.of(ref.mean(x!)),
        forward: SUM_FORWARD, gradient: COPY_GRAD, seed: k,
      });
    });
  });
});

describe('sum, mean and max over the last axis', () => {
  it.each(RANKS)('rank %i: every reduced size', (_rank, lead) => {
    LAST_SIZES.forEach((c, k) => {
      const shape = [...lead, c];
      const data = randomData(size(shape), 200 + k);
      checkOp(cores, {
        label: `sumLast ${shape}`, inputs: [{ data, shape }], outShape: lead,
        op: ([x]) => x!.sum(-1), reference: ([x]) => ref.sumLast(x!, c),
        forward: SUM_FORWARD, gradient: COPY_GRAD, seed: k,
      });
      checkOp(cores, {
        label: `meanLast ${shape}`, inputs: [{ data, shape }], outShape: lead,
        op: ([x]) => x!.mean(-1), reference: ([x]) => ref.meanLast(x!, c),
        forward: SUM_FORWARD, gradient: COPY_GRAD, seed: k,
      });
      checkOp(cores, {
        label: `maxLast ${shape}`, inputs: [{ data: distinctRows(size(lead), c, 300 + k), shape }], outShape: lead,
        op: ([x]) => x!.max(), reference: ([x]) => ref.maxLast(x!, c),
        // max selects an element: exact
        forward: { rtol: 0, atol: 0 }, gradient: COPY_GRAD, seed: k,
      });
    });
  });

  it('max sends the gradient to the first of tied maxima, and propagates NaN', () => {
    const x = Tensor.from([1, 3, 3, 2, /* row 2 */ 5, 5, 5, 5], [2, 4], { requiresGrad: true });
    const m = x.max();
    expect(Array.from(m.toArray())).toEqual([3, 5]);
    m.sum().backward();
    expect(Array.from(x.grad()!)).toEqual([0, 1, 0, 0, 1, 0, 0, 0]);
    expect(Number.isNaN(Tensor.from([1, NaN, 2], [3]).max().item())).toBe(true);
  });
});

/**
 * rows x c values in [-1, 1) with no two within 1/c of each other in a row, so finite
 * differences (h = 1e-6) never cross a tie of max.
 */
function distinctRows(rows: number, c: number, seed: number): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(rows * c);
  for (let row = 0; row < rows; row++) {
    const vals = Array.from({ length: c }, (_, j) => Math.fround(((j + 0.5 * r()) / c) * 2 - 1));
    for (let j = c - 1; j > 0; j--) {
      const k = Math.floor(r() * (j + 1));
      [vals[j], vals[k]] = [vals[k]!, vals[j]!];
    }
    out.set(vals, row * c);
  }
  return out;
}

describe('softmax and log-softmax', () => {
  // softmax: exp and the division each a few ulps relative on outputs in (0, 1]
  const SOFTMAX_FORWARD: Tolerance = { rtol: 1e-5, atol: 1e-7 };
  // log-softmax: outputs up to ~|x - max| + log C ~ 10, each a few ulps of the operands
  const LOG_SOFTMAX_FORWARD: Tolerance = { rtol: 1e-5, atol: 2e-6 };
  // backward: one canonical row sum of <= 33 products of size <= 1, then a multiply
  const SOFTMAX_GRAD: Tolerance = { rtol: 1e-4, atol: 2e-6 };

  it.each(RANKS)('rank %i: every row length', (_rank, lead) => {
    LAST_SIZES.forEach((c, k) => {
      const shape = [...lead, c];
      const data = randomData(size(shape), 400 + k, -4, 4);
      checkOp(cores, {
        label: `softmax ${shape}`, inputs: [{ data, shape }], outShape: shape,
        op: ([x]) => x!.softmax(), reference: ([x]) => ref.softmax(x!, c),
        forward: SOFTMAX_FORWARD, gradient: SOFTMAX_GRAD, seed: k,
      });
      checkOp(cores, {
        label: `logSoftmax ${shape}`, inputs: [{ data, shape }], outShape: shape,
        op: ([x]) => x!.logSoftmax(), reference: ([x]) => ref.logSoftmax(x!, c),
        forward: LOG_SOFTMAX_FORWARD, gradient: SOFTMAX_GRAD, seed: k,
      });
    });
  });

  it('stays finite for logits [1000, 0, -1000] (the max is subtracted first)', () => {
    const x = Tensor.from([1000, 0, -1000], [3], { requiresGrad: true });
    const logp = x.logSoftmax();
    // log(1 + e^-1000 + e^-2000) is 0 in f32, so the values are exact
    expect(Array.from(logp.toArray())).toEqual([0, -1000, -2000]);
    logp.mul(Tensor.from([1, 2, 3], [3])).sum().backward();
    // dx = dy - softmax * sum(dy) = [1, 2, 3] - [1, 0, 0] * 6
    expect(Array.from(x.grad()!)).toEqual([-5, 2, 3]);
    const p = Tensor.from([1000, 0, -1000], [3]).softmax();
    expect(Array.from(p.toArray())).toEqual([1, 0, 0]);
  });
});

describe('gather and embedding', () => {
  // both select elements: forward exact, backward adds selected weights (exact up to repeats,
  // which add at most a few values of size <= 1)
  const EXACT: Tolerance = { rtol: 0, atol: 0 };
  const SCATTER_GRAD: Tolerance = { rtol: 1e-6, atol: 1e-6 };

  it.each(RANKS)('gather, rank %i: every row length', (_rank, lead) => {
    LAST_SIZES.forEach((c, k) => {
      const shape = [...lead, c];
      const r = rng(500 + k);
      const index = Float64Array.from({ length: size(lead) }, () => Math.floor(r() * c));
      checkOp(cores, {
        label: `gather ${shape}`,
        inputs: [{ data: randomData(size(shape), 600 + k), shape }, { data: index, shape: lead, grad: false }],
        outShape: lead,
        op: ([x, i]) => x!.gather(i!), reference: ([x, i]) => ref.gather(x!, c, i!),
        forward: EXACT, gradient: SCATTER_GRAD, seed: k,
      });
    });
  });

  // index shapes of rank 0 to 3; with V = 5 rows every larger index repeats rows, so the
  // backward's scatter-add of repeated rows is exercised
  const INDEX_SHAPES: number[][] = [[], [7], [2, 3], [2, 2, 3]];
  it.each(INDEX_SHAPES.map((s) => [s]))('embedding, index shape %j: every row width', (indexShape) => {
    const vocab = 5;
    LAST_SIZES.forEach((d, k) => {
      const r = rng(700 + k);
      const index = Float64Array.from({ length: size(indexShape) }, () => Math.floor(r() * vocab));
      checkOp(cores, {
        label: `embedding (${vocab}, ${d}) by [${indexShape}]`,
        inputs: [{ data: randomData(vocab * d, 800 + k), shape: [vocab, d] }, { data: index, shape: indexShape, grad: false }],
        outShape: [...indexShape, d],
        op: ([w, i]) => Tensor.embedding(w!, i!), reference: ([w, i]) => ref.embedding(w!, d, i!),
        forward: EXACT, gradient: SCATTER_GRAD, seed: k,
      });
    });
  });

  it('embedding selects minibatch rows and scatters gradients in index order', () => {
    const batch = Tensor.from([0, 1, 10, 11, 20, 21, 30, 31], [4, 2], { requiresGrad: true });
    const rows = Tensor.embedding(batch, Tensor.from([3, 1, 3], [3]));
    expect(Array.from(rows.toArray())).toEqual([30, 31, 10, 11, 30, 31]);
    rows.mul(Tensor.from([1, 2, 3, 4, 5, 6], [3, 2])).sum().backward();
    expect(Array.from(batch.grad()!)).toEqual([0, 0, 3, 4, 0, 0, 1 + 5, 2 + 6]);
  });

  it('backward uses the indices of the forward, even if the index tensor changes after', () => {
    const x = Tensor.from([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const index = Tensor.from([1, 0], [2]);
    const y = x.gather(index);
    index.set([0, 1]);
    y.sum().backward();
    expect(Array.from(x.grad()!)).toEqual([0, 1, 1, 0]);
  });

  it('refuses bad indices and index shapes with typed errors, before the core', () => {
    const x = Tensor.from(randomData(6, 1), [2, 3]);
    expect(() => x.gather(Tensor.from([0, 3], [2]))).toThrow(ValueError);
    expect(() => x.gather(Tensor.from([0, 3], [2]))).toThrow(/index 3 at position 1/);
    expect(() => x.gather(Tensor.from([-1, 0], [2]))).toThrow(/index -1 at position 0/);
    expect(() => x.gather(Tensor.from([0, 1.5], [2]))).toThrow(/index 1.5 at position 1/);
    expect(() => x.gather(Tensor.from([0, 1, 2], [3]))).toThrow(ShapeError);
    expect(() => x.gather(Tensor.from([0, 1], [1, 2]))).toThrow(ShapeError);
    const w = Tensor.from(randomData(8, 2), [4, 2]);
    expect(() => Tensor.embedding(w, Tensor.from([0, 4], [2]))).toThrow(ValueError);
    expect(() => Tensor.embedding(w, Tensor.from([0, 4], [2]))).toThrow(/index 4 at position 1/);
    expect(() => Tensor.embedding(w, Tensor.from([NaN], [1]))).toThrow(/index NaN at position 0/);
    expect(() => Tensor.embedding(w, Tensor.from([2.5], [1]))).toThrow(/index 2.5/);
    expect(() => Tensor.embedding(Tensor.from([1, 2], [2]), Tensor.from([0], [1]))).toThrow(ShapeError);
    expect(() => Tensor.embedding(w, Tensor.zeros([1, 1, 1, 1]))).toThrow(ShapeError);
  });
});

describe('layer norm', () => {
  // outputs of size ~1..sqrt(C); x - mean loses up to ~1e-7 absolute, amplified by rstd
  const NORM_FORWARD: Tolerance = { rtol: 1e-5, atol: 1e-5 };
  // backward: two canonical row sums, each term amplified by rstd; small rows have larger rstd
  const NORM_GRAD: Tolerance = { rtol: 1e-4, atol: 5e-5 };
  const eps = Math.fround(1e-5); // the core receives eps as f32

  const variants = [
    { name: 'no affine', gamma: false, beta: false },
    { name: 'gamma only', gamma: true, beta: false },
    { name: 'gamma and beta', gamma: true, beta: true },
  ];
  it.each(variants)('$name: every rank and row length', ({ gamma, beta }) => {
    LEADS.forEach((lead, li) => {
      LAST_SIZES.forEach((c, k) => {
        const shape = [...lead, c];
        const inputs = [{ data: randomData(size(shape), 900 + 10 * li + k, -2, 2), shape }];
        if (gamma) inputs.push({ data: randomData(c, 950 + k, 0.5, 1.5), shape: [c] });
        if (beta) inputs.push({ data: randomData(c, 980 + k), shape: [c] });
        checkOp(cores, {
          label: `layerNorm ${shape} gamma=${gamma} beta=${beta}`, inputs, outShape: shape,
          op: ([x, g, b]) => x!.layerNorm(g, b, eps),
          reference: ([x, g, b]) => ref.layerNorm(x!, c, g ?? null, b ?? null, eps),
          forward: NORM_FORWARD, gradient: NORM_GRAD, seed: k,
        });
      });
    });
  });

  it('refuses gamma or beta of the wrong shape', () => {
    const x = Tensor.from(randomData(6, 3), [2, 3]);
    expect(() => x.layerNorm(Tensor.zeros([2]))).toThrow(ShapeError);
    expect(() => x.layerNorm(undefined, Tensor.zeros([3, 1]))).toThrow(ShapeError);
  });
});

describe('recording and axes', () => {
  it('records nothing when no input requires a gradient', () => {
    const core = cores.simd;
    const x = Tensor.from(randomData(12, 4), [3, 4]);
    x.sum(); x.mean(-1); x.max(); x.softmax(); x.logSoftmax(); x.layerNorm();
    x.gather(Tensor.from([0, 1, 2], [3]));
    Tensor.embedding(x, Tensor.from([2], [1]));
    expect(core.exports.tapeLength()).toBe(0);
  });

  it('refuses axes other than the last, and out-of-range axes, with ValueError', () => {
    const x = Tensor.from(randomData(6, 5), [2, 3]);
    expect(() => x.sum(0)).toThrow(ValueError);
    expect(() => x.softmax(2)).toThrow(/axis 2 is out of range/);
    expect(() => x.logSoftmax(-3)).toThrow(ValueError);
    expect(() => x.max(1.5)).toThrow(ValueError);
    expect(() => Tensor.scalar(1).mean(-1)).toThrow(ShapeError);
  });

});
