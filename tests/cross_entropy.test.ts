// Fused cross-entropy and token log-probs (assembly/losses/cross_entropy.ts): forward against
// the float64 references in tests/reference/cross_entropy.ts, gradients against central finite
// differences, SIMD vs scalar bit for bit (checkOp); agreement with the composition
// logSoftmax + gather; ignored rows; large logits; typed errors.
//
// Tolerances: a row costs a max, a V-term exp-sum and a log in f32, so logp is within a few
// ulps of |logp| + log V: 1e-5 relative and absolute. Gradients are p - onehot in f32 (scaled
// by 1/count) against f64 central differences (error ~1e-9): 1e-5.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, Tensor, ValueError, type Core } from '../sdk/index';
import { checkOp, type Tolerance } from './op_check';
import { crossEntropyRef, tokenLogProbsRef } from './reference/cross_entropy';
import { expectBitwiseEqual, expectClose, loadCores, randomData, rng } from './util';

let cores: { simd: Core; scalar: Core };
beforeAll(async () => {
  cores = await loadCores();
});
afterEach(() => {
  cores.simd.endStep();
  cores.scalar.endStep();
});

const FORWARD: Tolerance = { rtol: 1e-5, atol: 1e-5 };
const GRADIENT: Tolerance = { rtol: 1e-4, atol: 1e-5 };

/** n integer tokens in [0, v), with every `ignoreEvery`-th one replaced by `ignore`. */
function tokensOf(n: number, v: number, seed: number, ignoreEvery = 0, ignore = -100): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, (_, i) => (ignoreEvery > 0 && i % ignoreEvery === ignoreEvery - 1 ? ignore : Math.floor(r() * v)));
}

const SHAPES: number[][] = [[1, 1], [3, 5], [4, 17], [2, 3, 33], [7, 64]];

describe('tokenLogProbs', () => {
  it.each(SHAPES)('logits %j', (...shape) => {
    const v = shape[shape.length - 1]!;
    const rows = shape.slice(0, -1);
    const n = rows.reduce((p, d) => p * d, 1);
    const tokens = tokensOf(n, v, n + v);
    checkOp(cores, {
      label: `tokenLogProbs ${shape}`,
      inputs: [{ data: randomData(n * v, v, -4, 4), shape }, { data: tokens, shape: rows, grad: false }],
      outShape: rows,
      op: ([x, t]) => x!.tokenLogProbs(t!),
      reference: ([x]) => tokenLogProbsRef(x!, tokens, v),
      forward: FORWARD, gradient: GRADIENT,
    });
  });

  it('equals logSoftmax then gather, bit for bit, gradients included', () => {
    const x = randomData(6 * 50, 3, -5, 5), t = tokensOf(6, 50, 4);
    const run = (composed: boolean) => {
      const logits = Tensor.from(x, [6, 50], { requiresGrad: true });
      const tokens = Tensor.from(t, [6]);
      const y = composed ? logits.logSoftmax().gather(tokens) : logits.tokenLogProbs(tokens);
      const out = y.toArray();
      y.mul(Tensor.from(randomData(6, 9), [6])).sum().backward();
      return [out, logits.grad()!];
    };
    const [fusedOut, fusedGrad] = run(false), [out, grad] = run(true);
    expectBitwiseEqual(fusedOut!, out!, 'logp');
    expectClose(fusedGrad!, grad!, 'grad', 1e-6, 1e-7); // dy - exp(y) sum(dy) vs p * dy: other f32 orderings
  });

  it('stays finite and exact for logits far from 0', () => {
    const x = Float64Array.from([1e4, 1e4 - 1, 1e4 - 30, -1e4, -1e4 + 2, -1e4 - 5]);
    const y = Tensor.from(x, [2, 3]).tokenLogProbs(Tensor.from([1, 0], [2])).toArray();
    expectClose(y, tokenLogProbsRef(x, [1, 0], 3), 'large logits', 1e-6, 1e-6);
  });
});

describe('crossEntropy', () => {
  const cases: [number[], number][] = [[[1, 1], 0], [[3, 5], 0], [[8, 17], 3], [[2, 5, 33], 4], [[6, 64], 2]];
  it.each(cases)('logits %j, every %i-th row ignored', (shape, ignoreEvery) => {
    const v = shape[shape.length - 1]!;
    const rows = shape.slice(0, -1);
    const n = rows.reduce((p, d) => p * d, 1);
    const targets = tokensOf(n, v, n * v, ignoreEvery);
    checkOp(cores, {
      label: `crossEntropy ${shape}`,
      inputs: [{ data: randomData(n * v, n, -4, 4), shape }, { data: targets, shape: rows, grad: false }],
      outShape: [],
      op: ([x, t]) => x!.crossEntropy(t!),
      reference: ([x]) => Float64Array.of(crossEntropyRef(x!, targets, v)),
      forward: FORWARD, gradient: GRADIENT,
    });
  });

  it('takes a custom ignore index, also one inside [0, V)', () => {
    const x = randomData(5 * 4, 8, -3, 3);
    const targets = [2, 0, 3, 0, 1];
    const y = Tensor.from(x, [5, 4]).crossEntropy(Tensor.from(targets, [5]), { ignoreIndex: 0 }).item();
    expect(y).toBeCloseTo(crossEntropyRef(x, targets, 4, 0), 5);
  });

  it('is 0 with a zero gradient when every row is ignored', () => {
    const logits = Tensor.from(randomData(12, 1), [3, 4], { requiresGrad: true });
    const loss = logits.crossEntropy(Tensor.from([-100, -100, -100], [3]));
    expect(loss.item()).toBe(0);
    loss.backward();
    expect(Array.from(logits.grad() ?? new Float32Array(12)).every((g) => g === 0)).toBe(true);
  });

  it('equals the mean of -tokenLogProbs over the kept rows', () => {
    const x = randomData(10 * 20, 5, -3, 3);
    const targets = tokensOf(10, 20, 6, 3);
    const kept = [...targets.keys()].filter((i) => targets[i] !== -100);
    const loss = Tensor.from(x, [10, 20]).crossEntropy(Tensor.from(targets, [10])).item();
    const logp = Tensor.from(x, [10, 20]).tokenLogProbs(Tensor.from(targets.map((t) => (t < 0 ? 0 : t)), [10])).toArray();
    expect(loss).toBeCloseTo(-kept.reduce((s, i) => s + logp[i]!, 0) / kept.length, 5);
  });
});

describe('errors', () => {
  it('refuses bad targets, shapes and options with typed errors', () => {
    const logits = Tensor.zeros([3, 4]);
    expect(() => logits.crossEntropy(Tensor.zeros([4]))).toThrow(ShapeError);
    expect(() => logits.crossEntropy(Tensor.from([0, 4, 1], [3]))).toThrow(ValueError);
    expect(() => logits.crossEntropy(Tensor.from([0, 1.5, 1], [3]))).toThrow(ValueError);
    expect(() => logits.crossEntropy(Tensor.from([0, -1, 1], [3]))).toThrow(/out of range/);
    expect(() => logits.crossEntropy(Tensor.from([0, -1, 1], [3]), { ignoreIndex: -1 })).not.toThrow();
    expect(() => logits.crossEntropy(Tensor.from([0, 1, 1], [3]), { ignoreIndex: 0.5 })).toThrow(ValueError);
    expect(() => logits.tokenLogProbs(Tensor.from([0, 1], [2]))).toThrow(ShapeError);
    expect(() => logits.tokenLogProbs(Tensor.from([0, 1, -100], [3]))).toThrow(ValueError);
    expect(() => Tensor.scalar(1).tokenLogProbs(Tensor.scalar(0))).toThrow(ShapeError);
  });
});
