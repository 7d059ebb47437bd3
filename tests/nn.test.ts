// nn modules: Linear against a float64 reference (values and gradients), parameter naming and
// state dicts, freezing, cloning, and the actor-critic's two layouts.

import { beforeAll, describe, expect, it } from 'vitest';
import { ActorCritic, Linear, MLP, ShapeError, StateDictError, Tensor, init, noGrad, seed } from '../sdk/index';
import { expectClose, finiteDiff, randomData } from './util';

beforeAll(async () => {
  await init();
  seed(11);
});

// y = x W^T + b in float64, summed against fixed weights
function linearLoss(x: Float64Array, w: Float64Array, b: Float64Array, out: Float64Array, B: number, I: number, O: number): number {
  let s = 0;
  for (let r = 0; r < B; r++) {
    for (let o = 0; o < O; o++) {
      let y = b[o]!;
      for (let i = 0; i < I; i++) y += x[r * I + i]! * w[o * I + i]!;
      s += y * out[r * O + o]!;
    }
  }
  return s;
}

describe('nn', () => {
  it('Linear matches y = x W^T + b, with gradients', () => {
    const [B, I, O] = [5, 7, 3];
    const layer = new Linear(I, O);
    const x = randomData(B * I, 1);
    const weights = randomData(B * O, 2);
    const w = Float64Array.from(layer.weight.toArray()), b = Float64Array.from(layer.bias!.toArray());
    const loss = layer.forward(Tensor.from(x, [B, I])).mul(Tensor.from(weights, [B, O])).sum();
    // float32 dot products of length 7 against float64: a few ulps of the terms
    expectClose([loss.item()], [linearLoss(x, w, b, weights, B, I, O)], 'loss', 1e-5, 1e-5);
    loss.backward();
    expectClose(layer.weight.grad()!, finiteDiff((v) => linearLoss(x, v, b, weights, B, I, O), w), 'dW', 1e-4, 1e-5);
    expectClose(layer.bias!.grad()!, finiteDiff((v) => linearLoss(x, w, v, weights, B, I, O), b), 'db', 1e-4, 1e-5);
    layer.zeroGrad();
    expect(Array.from(layer.weight.grad()!).every((g) => g === 0)).toBe(true);
  });

  it('Linear refuses the wrong number of input features', () => {
    const layer = new Linear(4, 2);
    expect(() => layer.forward(Tensor.zeros([3, 5]))).toThrow(ShapeError);
  });

  it('PyTorch default init bounds, and orthogonal init with gain', () => {
    const layer = new Linear(16, 8);
    const bound = 1 / Math.sqrt(16);
    expect(layer.weight.toArray().every((v) => Math.abs(v) <= bound)).toBe(true);
    const ortho = new Linear(16, 8, { init: 'orthogonal', gain: 2 });
    const W = ortho.weight.toArray();
    for (let a = 0; a < 8; a++) {
      for (let c = 0; c < 8; c++) {
        let dot = 0;
        for (let k = 0; k < 16; k++) dot += W[a * 16 + k]! * W[c * 16 + k]!;
        expect(dot).toBeCloseTo(a === c ? 4 : 0, 4); // W W^T = gain^2 I (rows orthonormal)
      }
    }
    expect(Array.from(ortho.bias!.toArray()).every((v) => v === 0)).toBe(true);
  });

  it('names parameters by path and round-trips a state dict', () => {
    const mlp = new MLP([4, 8, 8, 2]);
    expect(mlp.namedParameters().map(([n]) => n)).toEqual([
      'layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias',
    ]);
    expect(mlp.parameterCount()).toBe(4 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2);
    const other = new MLP([4, 8, 8, 2]);
    other.loadStateDict(mlp.stateDict());
    const x = Tensor.from(randomData(12, 3), [3, 4]);
    expect(Array.from(other.forward(x).toArray())).toEqual(Array.from(mlp.forward(x).toArray()));
    const { ['layers.2.bias']: _dropped, ...partial } = mlp.stateDict();
    expect(() => other.loadStateDict(partial)).toThrow(/missing \[layers\.2\.bias\]/);
    expect(() => other.loadStateDict({ ...mlp.stateDict(), extra: new Float32Array(1) })).toThrow(StateDictError);
  });

  it('a frozen clone records nothing and keeps its weights while the original trains', () => {
    const policy = new ActorCritic({ observationSize: 3, actionCount: 2, hidden: [8] });
    const ref = policy.clone().freeze();
    const x = Tensor.from(randomData(6, 4), [2, 3]);
    expect(Array.from(ref.logits(x).toArray())).toEqual(Array.from(policy.logits(x).toArray()));
    const core = x.core;
    core.endStep();
    const before = core.exports.tapeLength();
    ref.logits(Tensor.from(randomData(6, 4), [2, 3]));
    expect(core.exports.tapeLength()).toBe(before); // frozen parameters need no tape
    core.endStep();
  });

  it('ActorCritic: separate trunks by default, one shared trunk on request', () => {
    const separate = new ActorCritic({ observationSize: 4, actionCount: 3, hidden: [16, 16] });
    const shared = new ActorCritic({ observationSize: 4, actionCount: 3, hidden: [16, 16], shareTrunk: true });
    expect(separate.criticTrunk).toBeDefined();
    expect(shared.criticTrunk).toBeUndefined();
    expect(shared.parameterCount()).toBeLessThan(separate.parameterCount());
    const obs = Tensor.from(randomData(20, 5), [5, 4]);
    for (const model of [separate, shared]) {
      const { logits, values } = noGrad(() => model.forward(obs));
      expect(logits.shape).toEqual([5, 3]);
      expect(values.shape).toEqual([5]);
      expect(Array.from(values.toArray())).toEqual(Array.from(noGrad(() => model.values(obs)).toArray()));
    }
  });
});
