// Fused causal self-attention (assembly/ops/attention.ts, sdk/nn/attention.ts):
//   - forward against the float64 reference (tests/reference/attention.ts), every gradient
//     against its central finite differences, SIMD vs scalar bit for bit (checkOp);
//   - fused == composed (causalSelfAttentionReference: matmul, mul, where, softmax, matmul),
//     outputs and gradients;
//   - a past (P > 0), key masks (left padding), rows with no allowed key (0, no gradient);
//   - incremental decoding through a persistent KV cache filled by writeInto == one pass;
//   - typed errors.
//
// Tolerances. Forward vs float64: each output is a D-term dot, a softmax over <= S terms and an
// S-term weighted sum in f32 with values O(1): errors are a few f32 ulps of O(1), so 1e-5.
// Gradients vs finite differences: the f32 backward (same depth, one more product chain) is
// compared with an f64 central difference at h = 1e-6 (error ~1e-9): 2e-5 absolute.
// Fused vs composed: the same formulas with the same kernels (gemm, kernels.ts's maxRow /
// expShiftedSum / sumCanonical); the fused op works in blocks of 32 query rows and skips the
// masked future, so a row's softmax sums over fewer (zero) terms in another grouping and dk, dv
// are summed block by block: a few f32 ulps of O(1) values, so 1e-6 relative, 1e-7 absolute
// (with T <= 32 the two are bit-equal today; the tolerance also lets softmax.ts change its
// inner loops without the fused op following in lockstep).

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, Tensor, ValueError, causalSelfAttention, causalSelfAttentionReference, noGrad, type Core } from '../sdk/index';
import { checkOp, type Tolerance } from './op_check';
import { attentionRef } from './reference/attention';
import { expectClose, loadCores, randomData } from './util';

let cores: { simd: Core; scalar: Core };
beforeAll(async () => {
  cores = await loadCores();
});
afterEach(() => {
  cores.simd.endStep();
  cores.scalar.endStep();
});

const FORWARD: Tolerance = { rtol: 1e-5, atol: 1e-5 };
const GRADIENT: Tolerance = { rtol: 1e-4, atol: 2e-5 };

interface Case {
  b: number;
  h: number;
  t: number;
  past: number;
  d: number;
  /** Left padding per batch row (keys [0, pad) masked), or no mask. */
  pad?: number[];
}

const CASES: Case[] = [
  { b: 1, h: 1, t: 1, past: 0, d: 1 },
  { b: 2, h: 2, t: 5, past: 0, d: 3 },
  { b: 1, h: 2, t: 4, past: 3, d: 8 },
  { b: 2, h: 1, t: 6, past: 2, d: 5, pad: [1, 2] },
  // pad 4 > past 0: queries 0..3 of batch row 1 have no allowed key
  { b: 2, h: 2, t: 7, past: 0, d: 4, pad: [0, 4] },
  { b: 1, h: 1, t: 9, past: 0, d: 17 },
  // two blocks of query rows (32 + 8)
  { b: 1, h: 1, t: 40, past: 3, d: 2, pad: [2] },
];

const label = (c: Case) => `B${c.b} H${c.h} T${c.t} P${c.past} D${c.d}${c.pad ? ` pad ${c.pad}` : ''}`;

function maskOf(c: Case): Float64Array | undefined {
  if (!c.pad) return undefined;
  const s = c.past + c.t;
  return Float64Array.from({ length: c.b * s }, (_, i) => (i % s < c.pad![Math.floor(i / s)]! ? 0 : 1));
}

function inputsOf(c: Case, seed: number) {
  const s = c.past + c.t;
  return {
    q: randomData(c.b * c.h * c.t * c.d, seed, -2, 2),
    k: randomData(c.b * c.h * s * c.d, seed + 1, -2, 2),
    v: randomData(c.b * c.h * s * c.d, seed + 2),
    mask: maskOf(c),
    qShape: [c.b, c.h, c.t, c.d],
    kvShape: [c.b, c.h, s, c.d],
  };
}

describe('causalSelfAttention vs float64, finite differences, scalar build', () => {
  it.each(CASES.map((c) => [label(c), c] as const))('%s', (_, c) => {
    const x = inputsOf(c, 11);
    const dims = { b: c.b, h: c.h, t: c.t, s: c.past + c.t, d: c.d };
    checkOp(cores, {
      label: label(c),
      inputs: [
        { data: x.q, shape: x.qShape },
        { data: x.k, shape: x.kvShape },
        { data: x.v, shape: x.kvShape },
        ...(x.mask ? [{ data: x.mask, shape: [c.b, dims.s], grad: false }] : []),
      ],
      outShape: x.qShape,
      op: ([q, k, v, mask]) => causalSelfAttention(q!, k!, v!, { mask }),
      reference: ([q, k, v, mask]) => attentionRef(q!, k!, v!, dims, mask),
      forward: FORWARD, gradient: GRADIENT,
    });
  });
});

/** Output and the three gradients of sum(attention(q, k, v) * w). */
function runBoth(c: Case, fn: typeof causalSelfAttention): Float32Array[] {
  const x = inputsOf(c, 23);
  const q = Tensor.from(x.q, x.qShape, { requiresGrad: true });
  const k = Tensor.from(x.k, x.kvShape, { requiresGrad: true });
  const v = Tensor.from(x.v, x.kvShape, { requiresGrad: true });
  const mask = x.mask ? Tensor.from(x.mask, [c.b, c.past + c.t]) : undefined;
  const y = fn(q, k, v, { mask });
  const out = y.toArray();
  y.mul(Tensor.from(randomData(y.size, 5), y.shape)).sum().backward();
  return [out, q.grad()!, k.grad()!, v.grad()!];
}

describe('fused == composed reference', () => {
  // beyond one block of 32 query rows, with a past and a mask
  const longer: Case[] = [{ b: 1, h: 2, t: 70, past: 5, d: 8, pad: [3] }, { b: 2, h: 1, t: 33, past: 0, d: 16 }];
  it.each([...CASES.filter((c) => c !== CASES[4]), ...longer].map((c) => [label(c), c] as const))('%s', (_, c) => {
    const fused = runBoth(c, causalSelfAttention);
    const composed = runBoth(c, causalSelfAttentionReference);
    ['out', 'dq', 'dk', 'dv'].forEach((name, i) => expectClose(fused[i]!, composed[i]!, `${label(c)} ${name}`, 1e-6, 1e-7));
  });

  it('a row with no allowed key gives 0 and no gradient (the composed softmax gives NaN)', () => {
    const c = CASES[4]!; // batch row 1: keys 0..3 masked, no past
    const fused = runBoth(c, causalSelfAttention);
    const composed = runBoth(c, causalSelfAttentionReference);
    const { t, d, h } = c;
    for (let hi = 0; hi < h; hi++) {
      for (let i = 0; i < t; i++) {
        const row = ((1 * h + hi) * t + i) * d;
        const fusedRow = Array.from(fused[0]!.subarray(row, row + d));
        const composedRow = Array.from(composed[0]!.subarray(row, row + d));
        if (i < 4) {
          expect(fusedRow, `head ${hi} query ${i}`).toEqual(new Array(d).fill(0));
          expect(composedRow.every(Number.isNaN)).toBe(true);
          // its query gets no gradient
          expect(Array.from(fused[1]!.subarray(row, row + d)).every((g) => g === 0)).toBe(true);
        } else {
          expectClose(fusedRow, composedRow, `head ${hi} query ${i}`, 1e-6, 1e-7);
        }
      }
    }
    // batch row 0 is untouched by row 1's padding
    const half = h * t * d;
    expectClose(fused[0]!.subarray(0, half), composed[0]!.subarray(0, half), 'batch row 0', 1e-6, 1e-7);
  });
});

describe('incremental decoding through a KV cache', () => {
  it('one query at a time against a persistent (B, H, Tmax, D) cache == one pass over the sequence', () => {
    const b = 2, h = 2, t = 6, d = 4, tmax = 8;
    const q = randomData(b * h * t * d, 41, -2, 2), k = randomData(b * h * t * d, 42, -2, 2), v = randomData(b * h * t * d, 43);
    const pad = [0, 2];
    const maskData = Float64Array.from({ length: b * tmax }, (_, i) => (i % tmax < pad[Math.floor(i / tmax)]! ? 0 : 1));
    const core = cores.simd;
    const full = noGrad(() => {
      const mask = Tensor.from(maskData, [b, tmax]).narrow(1, 0, t);
      return causalSelfAttention(Tensor.from(q, [b, h, t, d]), Tensor.from(k, [b, h, t, d]), Tensor.from(v, [b, h, t, d]), { mask }).toArray();
    });
    const kCache = Tensor.zeros([b, h, tmax, d], { persistent: true });
    const vCache = Tensor.zeros([b, h, tmax, d], { persistent: true });
    const maskCache = Tensor.from(maskData, [b, tmax], { persistent: true });
    const steps = new Float32Array(b * h * t * d);
    try {
      noGrad(() => {
        for (let pos = 0; pos < t; pos++) {
          const at = (data: Float64Array) => Tensor.from(data, [b, h, t, d]).narrow(2, pos, 1);
          at(k).writeInto(kCache, 2, pos);
          at(v).writeInto(vCache, 2, pos);
          const y = causalSelfAttention(at(q), kCache.narrow(2, 0, pos + 1), vCache.narrow(2, 0, pos + 1), { mask: maskCache.narrow(1, 0, pos + 1) });
          const out = y.toArray();
          for (let head = 0; head < b * h; head++) steps.set(out.subarray(head * d, head * d + d), (head * t + pos) * d);
          core.endStep();
        }
      });
    } finally {
      kCache.free();
      vCache.free();
      maskCache.free();
    }
    // the same dots and the same exps; only the grouping of the canonical row sum differs
    expectClose(steps, full, 'incremental vs one pass', 1e-6, 1e-7);
  });
});

describe('errors', () => {
  it('refuses bad shapes and masks with typed errors', () => {
    const q = Tensor.zeros([1, 2, 3, 4]);
    const kv = Tensor.zeros([1, 2, 5, 4]);
    expect(() => causalSelfAttention(Tensor.zeros([2, 3, 4]), kv, kv)).toThrow(ShapeError);
    expect(() => causalSelfAttention(q, Tensor.zeros([1, 2, 5, 3]), kv)).toThrow(ShapeError);
    expect(() => causalSelfAttention(q, kv, Tensor.zeros([1, 2, 4, 4]))).toThrow(ShapeError);
    expect(() => causalSelfAttention(q, Tensor.zeros([1, 2, 2, 4]), Tensor.zeros([1, 2, 2, 4]))).toThrow(/fewer than queries/);
    expect(() => causalSelfAttention(q, kv, kv, { mask: Tensor.zeros([1, 4]) })).toThrow(ShapeError);
    expect(() => causalSelfAttention(q, kv, kv, { mask: Tensor.from([1, 1, 0.5, 1, 1], [1, 5]) })).toThrow(ValueError);
    expect(() => causalSelfAttentionReference(q, kv, kv, { mask: Tensor.from([1, 1, 2, 1, 1], [1, 5]) })).toThrow(ValueError);
    expect(causalSelfAttention(q, kv, kv, { mask: Tensor.from([0, 1, 1, 0, 1], [1, 5]) }).shape).toEqual([1, 2, 3, 4]);
  });
});
