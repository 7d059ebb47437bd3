// Reward managers: each one's arithmetic on hand-computed cases, running statistics against a
// two-pass float64 reference, checkpoint state round trips, composition order, and the shared
// refusal of NaN / infinite rewards and mismatched lengths.

import { describe, expect, it } from 'vitest';
import {
  CompositeRewardManager,
  IdentityReward,
  KlShapedReward,
  NumericError,
  type RewardBatch,
  type RewardManager,
  RunningNormReward,
  ScaleClipReward,
  ShapeError,
  ValueError,
} from '../sdk/index';
import { expectClose, randomData } from './util';

function batchOf(rewards: number[], logProbs?: number[], refLogProbs?: number[]): RewardBatch {
  const n = rewards.length;
  const batch: RewardBatch = {
    rewards: Float32Array.from(rewards),
    logProbs: Float32Array.from(logProbs ?? new Array(n).fill(0)),
    dones: new Uint8Array(n),
  };
  if (refLogProbs) batch.refLogProbs = Float32Array.from(refLogProbs);
  return batch;
}

const f32 = (xs: number[]) => xs.map(Math.fround);

describe('IdentityReward', () => {
  it('returns a copy of the rewards', () => {
    const batch = batchOf([1.5, -2, 0]);
    const out = new IdentityReward().compute(batch);
    expect(Array.from(out)).toEqual([1.5, -2, 0]);
    out[0] = 7;
    expect(batch.rewards[0]).toBe(1.5); // the batch is never modified
  });
});

describe('ScaleClipReward', () => {
  it('scales, shifts, then clips', () => {
    const m = new ScaleClipReward({ scale: 2, shift: -1, clip: 3 });
    // 2r - 1: -1, 1, 4 -> 3, -7 -> -3, -0.5
    expect(Array.from(m.compute(batchOf([0, 1, 2.5, -3, 0.25])))).toEqual([-1, 1, 3, -3, -0.5]);
    expect(Array.from(new ScaleClipReward().compute(batchOf([1e30, -0.1])))).toEqual(f32([1e30, -0.1]));
    expect(Array.from(new ScaleClipReward({ scale: 0.5, clip: 1 }).compute(batchOf([3, 1.5, -0.5])))).toEqual([1, 0.75, -0.25]);
  });

  it('refuses bad options and float32 overflow', () => {
    expect(() => new ScaleClipReward({ clip: 0 })).toThrow(/clip must be > 0/);
    expect(() => new ScaleClipReward({ scale: NaN })).toThrow(ValueError);
    expect(() => new ScaleClipReward({ shift: Infinity })).toThrow(ValueError);
    const e = (() => { try { new ScaleClipReward({ scale: 1e30 }).compute(batchOf([0, 1e10])); } catch (err) { return err as Error; } return undefined; })();
    expect(e).toBeInstanceOf(NumericError);
    expect(e!.message).toMatch(/rewards\[1\]/);
  });
});

describe('RunningNormReward', () => {
  it('divides by the running std of all rewards seen (hand-computed)', () => {
    const m = new RunningNormReward();
    // [1, 2, 3]: mean 2, population variance 2/3.
    expectClose(m.compute(batchOf([1, 2, 3])), [1, 2, 3].map((r) => r / Math.sqrt(2 / 3 + 1e-8)), 'first call', 1e-6); // float32 output
    expect(m.state()).toEqual({ count: 3, mean: 2, m2: 2 });
    // + [4, 5]: all five have mean 3, variance (4 + 1 + 0 + 1 + 4) / 5 = 2.
    expectClose(m.compute(batchOf([4, 5])), [4, 5].map((r) => r / Math.sqrt(2 + 1e-8)), 'second call', 1e-6); // float32 output
    expect(m.count).toBe(5);
    expect(m.mean).toBe(3);
    expect(m.variance).toBeCloseTo(2, 14); // Welford in float64 on small integers
    expect(m.metrics()).toEqual({ reward_running_mean: 3, reward_running_std: Math.sqrt(m.variance) });
  });

  it('optionally subtracts the mean; epsilon keeps a constant stream finite', () => {
    const m = new RunningNormReward({ subtractMean: true, epsilon: 0.25 });
    // [1, 3]: mean 2, variance 1, std sqrt(1.25).
    expectClose(m.compute(batchOf([1, 3])), [-1 / Math.sqrt(1.25), 1 / Math.sqrt(1.25)], 'centred', 1e-6); // float32 output
    const constant = new RunningNormReward({ subtractMean: true });
    expect(Array.from(constant.compute(batchOf([5, 5, 5])))).toEqual([0, 0, 0]);
    expect(Array.from(new RunningNormReward().compute(batchOf([2])))).toEqual(f32([2 / Math.sqrt(1e-8)]));
    expect(() => new RunningNormReward({ epsilon: 0 })).toThrow(ValueError);
  });

  it('matches a two-pass float64 mean and variance over many calls', () => {
    const data = randomData(1000, 3, -5, 20);
    const m = new RunningNormReward();
    let last: Float32Array = new Float32Array(0);
    for (let start = 0; start < 1000; start += 143) last = m.compute(batchOf(Array.from(data.subarray(start, start + 143))));
    const mean = data.reduce((a, b) => a + b, 0) / 1000;
    const variance = data.reduce((a, b) => a + (b - mean) ** 2, 0) / 1000;
    // Welford and two-pass differ only by float64 rounding over 1000 terms.
    expectClose([m.mean, m.variance], [mean, variance], 'running stats', 1e-10);
    expectClose(last, Array.from(data.subarray(1000 - (1000 % 143))).map((r) => r / Math.sqrt(variance + 1e-8)), 'last batch', 1e-6); // float32 output
  });

  it('round-trips its state through a checkpoint', () => {
    const a = new RunningNormReward({ subtractMean: true });
    a.compute(batchOf([0.5, -1, 4, 2]));
    const b = new RunningNormReward({ subtractMean: true });
    b.loadState(JSON.parse(JSON.stringify(a.state())));
    expect(b.state()).toEqual(a.state());
    const next = batchOf([3, -2, 0.125]);
    expect(Array.from(b.compute(next))).toEqual(Array.from(a.compute(next)));
    expect(b.state()).toEqual(a.state());
    expect(() => b.loadState({ count: -1, mean: 0, m2: 0 })).toThrow(/count must be an integer >= 0, got -1/);
    expect(() => b.loadState({ count: 2, mean: NaN, m2: 0 })).toThrow(/mean must be finite/);
    expect(() => b.loadState({ count: 2, mean: 0 })).toThrow(/m2 must be finite and >= 0, got undefined/);
  });
});

describe('KlShapedReward', () => {
  it('subtracts coef * (logp - logpRef) per step and reports kl and kl_penalty', () => {
    const m = new KlShapedReward({ coef: 0.1 });
    // kl = logp - logpRef = [0.5, -1, 0]; penalty = -0.1 kl = [-0.05, 0.1, 0]
    const out = m.compute(batchOf([1, 0, -1], [-1, -2, -0.5], [-1.5, -1, -0.5]));
    expect(Array.from(out)).toEqual(f32([1 - 0.05, 0.1, -1]));
    const metrics = m.metrics();
    expect(metrics.kl).toBeCloseTo(-0.5 / 3, 15); // float64 means of exact float32 inputs
    expect(metrics.kl_penalty).toBeCloseTo(0.05 / 3, 15);
    expect(metrics.kl_coef).toBe(0.1);
  });

  it('reads a coefficient function at every compute (adaptive KL control)', () => {
    let beta = 1;
    const m = new KlShapedReward({ coef: () => beta });
    const batch = batchOf([0, 0], [-1, -3], [-2, -2]); // kl = [1, -1]
    expect(Array.from(m.compute(batch))).toEqual([-1, 1]);
    beta = 0.5;
    expect(Array.from(m.compute(batch))).toEqual([-0.5, 0.5]);
    expect(m.metrics()).toEqual({ kl: 0, kl_penalty: 0, kl_coef: 0.5 });
    beta = NaN;
    expect(() => m.compute(batch)).toThrow(/coef must be a finite number >= 0/);
  });

  it('requires finite refLogProbs and logProbs', () => {
    const m = new KlShapedReward({ coef: 0.1 });
    const e = (() => { try { m.compute(batchOf([1, 2])); } catch (err) { return err as Error; } return undefined; })();
    expect(e).toBeInstanceOf(ValueError);
    expect(e!.message).toMatch(/refLogProbs is absent/);
    expect(() => m.compute(batchOf([1, 2], [0, NaN], [0, 0]))).toThrow(/logProbs\[1\] is NaN/);
    expect(() => m.compute(batchOf([1, 2], [0, 0], [-Infinity, 0]))).toThrow(/refLogProbs\[0\] is -Infinity/);
    expect(() => m.compute(batchOf([1, 2], [0, 0], [0]))).toThrow(ShapeError);
    expect(() => new KlShapedReward({ coef: -0.1 })).toThrow(ValueError);
  });
});

/** Records the rewards it is given and adds 1. */
class RecordingReward implements RewardManager {
  seen: number[][] = [];
  compute(batch: RewardBatch): Float32Array {
    this.seen.push(Array.from(batch.rewards));
    return batch.rewards.map((r) => r + 1);
  }
}

describe('CompositeRewardManager', () => {
  it('runs managers in order, each seeing the previous output', () => {
    const batch = batchOf([0.8], [0], [-0.5]); // kl 0.5
    const clipThenKl = new CompositeRewardManager([new ScaleClipReward({ scale: 2, clip: 1 }), new KlShapedReward({ coef: 1 })]);
    const klThenClip = new CompositeRewardManager([new KlShapedReward({ coef: 1 }), new ScaleClipReward({ scale: 2, clip: 1 })]);
    expect(Array.from(clipThenKl.compute(batch))).toEqual([0.5]); // min(1, 1.6) - 0.5
    expect(Array.from(klThenClip.compute(batch))).toEqual([Math.fround(Math.fround(0.8) - 0.5) * 2]); // 2 (0.8 - 0.5)
    expect(clipThenKl.metrics()).toEqual({ '1.kl': 0.5, '1.kl_penalty': -0.5, '1.kl_coef': 1 });
    const first = new RecordingReward(), second = new RecordingReward();
    const out = new CompositeRewardManager([first, second]).compute(batchOf([1, 2]));
    expect(first.seen).toEqual([[1, 2]]);
    expect(second.seen).toEqual([[2, 3]]);
    expect(Array.from(out)).toEqual([3, 4]);
    expect(Array.from(batch.rewards)).toEqual(f32([0.8])); // the input batch is untouched
    expect(Array.from(new CompositeRewardManager([]).compute(batchOf([4, 5])))).toEqual([4, 5]);
  });

  it('merges states under index prefixes and routes them back', () => {
    const make = () => new CompositeRewardManager([new RunningNormReward(), new ScaleClipReward({ scale: 3 }), new RunningNormReward({ subtractMean: true })]);
    const a = make();
    a.compute(batchOf([1, 2, 7]));
    a.compute(batchOf([-4]));
    const state = a.state();
    expect(Object.keys(state).sort()).toEqual(['0.count', '0.m2', '0.mean', '2.count', '2.m2', '2.mean']);
    expect(state['0.count']).toBe(4);
    const b = make();
    b.loadState(state);
    expect(b.state()).toEqual(state);
    const next = batchOf([0.5, 3]);
    expect(Array.from(b.compute(next))).toEqual(Array.from(a.compute(next)));
    expect(Object.keys(a.metrics()).sort()).toEqual(['0.reward_running_mean', '0.reward_running_std', '2.reward_running_mean', '2.reward_running_std']);
    expect(() => b.loadState({ ...state, '1.count': 3 })).toThrow(/key "1.count" does not belong/);
    expect(() => b.loadState({ ...state, count: 3 })).toThrow(ValueError);
    expect(() => new CompositeRewardManager([{} as RewardManager])).toThrow(/managers\[0\] has no compute/);
  });
});

describe('shared validation', () => {
  const managers: [string, () => RewardManager][] = [
    ['IdentityReward', () => new IdentityReward()],
    ['ScaleClipReward', () => new ScaleClipReward({ scale: 2 })],
    ['RunningNormReward', () => new RunningNormReward()],
    ['KlShapedReward', () => new KlShapedReward({ coef: 0.1 })],
    ['CompositeRewardManager', () => new CompositeRewardManager([new IdentityReward()])],
  ];
  for (const [name, make] of managers) {
    it(`${name} refuses NaN and infinite rewards, and mismatched lengths`, () => {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const m = make();
        const e = (() => { try { m.compute(batchOf([0.5, 1, bad], [0, 0, 0], [0, 0, 0])); } catch (err) { return err as Error; } return undefined; })();
        expect(e).toBeInstanceOf(NumericError);
        expect(e!.message).toContain(`${name}.compute: rewards[2] is ${bad}`);
      }
      const m = make();
      const mismatched = batchOf([1, 2, 3], [0, 0, 0], [0, 0, 0]);
      mismatched.dones = new Uint8Array(2);
      expect(() => m.compute(mismatched)).toThrow(/dones has 2 entries but rewards has 3/);
      // A refused batch leaves running statistics untouched.
      expect(m.state?.()).toEqual(make().state?.());
    });
  }
});
