// GRPO's and RLOO's advantages and losses against independent float64 TypeScript references
// written from TRL's formulas (GRPOTrainer._compute_loss, RLOOTrainer._compute_loss): the loss
// value, and its gradient with respect to the log-probs against central finite differences of
// the float64 reference, for every loss type, with clipping active on both sides, a k3 term, truncated
// importance weights and a masked (truncated) row.

import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor, ValueError, grpoLoss, groupRelativeAdvantages, init, leaveOneOutAdvantages, resolveGRPOConfig, resolveRLOOConfig, rlooLoss, type Core, type GRPOLossType } from '../sdk/index';
import { expectClose, finiteDiff, rng } from './util';

let core: Core;
beforeAll(async () => {
  core = await init();
});

const [B, R] = [4, 5];
const r = rng(11);
const logp = Float64Array.from({ length: B * R }, () => -0.2 - 2 * r());
// old log-probs off by up to +-0.6, so some ratios leave [1 - eps, 1 + epsHigh] on both sides
const oldLogp = Float64Array.from(logp, (x) => x + (r() - 0.5) * 1.2);
const refLogp = Float64Array.from(logp, (x) => x + (r() - 0.5) * 0.8);
const weights = Float64Array.from({ length: B * R }, () => 0.5 + r());
const advantages = [1.3, -0.7, 0.4, -1.1];
// row 0 has 5 tokens, row 1 has 3, row 2 is masked (a truncated completion), row 3 has 1
const lengths = [5, 3, 0, 1];
const mask = Float64Array.from({ length: B * R }, (_, i) => (i % R < lengths[Math.floor(i / R)]! ? 1 : 0));
const [epsLow, epsHigh, maxLen, batchTokens] = [0.2, 0.28, 6, 23];

/** TRL's per-token GRPO loss and its normalisations, in float64. */
function grpoReference(lp: Float64Array, lossType: GRPOLossType, beta: number, useWeights: boolean): number {
  const token = (b: number, t: number) => {
    const i = b * R + t;
    const ratio = Math.exp(lp[i]! - oldLogp[i]!);
    const clipped = Math.min(Math.max(ratio, 1 - epsLow), 1 + epsHigh);
    let loss = -Math.min(ratio * advantages[b]!, clipped * advantages[b]!);
    if (useWeights) loss *= weights[i]!;
    if (beta > 0) loss += beta * (Math.exp(refLogp[i]! - lp[i]!) - (refLogp[i]! - lp[i]!) - 1);
    return loss * mask[i]!;
  };
  let total = 0, tokens = 0, perSequence = 0;
  for (let b = 0; b < B; b++) {
    let s = 0, n = 0;
    for (let t = 0; t < R; t++) {
      s += token(b, t);
      n += mask[b * R + t]!;
    }
    total += s;
    tokens += n;
    perSequence += s / Math.max(1, n);
  }
  if (lossType === 'grpo') return perSequence / B;
  if (lossType === 'bnpo') return total / Math.max(1, tokens);
  if (lossType === 'dr_grpo') return total / (B * maxLen);
  return total / batchTokens;
}

/** TRL's RLOO loss: the clip on the sequence ratio, the mean over sequences. */
function rlooReference(lp: Float64Array): number {
  let loss = 0;
  for (let b = 0; b < B; b++) {
    let d = 0;
    for (let t = 0; t < R; t++) d += (lp[b * R + t]! - oldLogp[b * R + t]!) * mask[b * R + t]!;
    const ratio = Math.exp(d);
    const clipped = Math.min(Math.max(ratio, 1 - epsLow), 1 + epsHigh);
    loss += -Math.min(ratio * advantages[b]!, clipped * advantages[b]!);
  }
  return loss / B;
}

const t = (data: ArrayLike<number>, shape: number[], requiresGrad = false) => Tensor.from(data, shape, { core, persistent: true, requiresGrad });

describe('grpoLoss', () => {
  for (const lossType of ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const) {
    for (const [beta, useWeights] of [[0, false], [0.04, true]] as const) {
      it(`${lossType}, beta ${beta}${useWeights ? ', importance weights' : ''}: value and gradient match the float64 reference`, () => {
        const lp = t(logp, [B, R], true);
        const tensors = [lp, t(oldLogp, [B, R]), t(advantages, [B, 1]), t(mask, [B, R]), t(refLogp, [B, R]), t(weights, [B, R])];
        const [, old, adv, m, ref, w] = tensors;
        const out = grpoLoss({ logp: lp, oldLogp: old!, advantages: adv!, mask: m!, refLogp: beta > 0 ? ref : undefined, importanceWeights: useWeights ? w : undefined, beta, epsilonLow: epsLow, epsilonHigh: epsHigh, lossType, maxCompletionLength: maxLen, generationBatchTokens: batchTokens });
        const f = (x: Float64Array) => grpoReference(x, lossType, beta, useWeights);
        expect(out.loss.item()).toBeCloseTo(f(logp), 5);
        out.loss.backward();
        expectClose(lp.grad()!, finiteDiff(f, logp), `${lossType} grad`, 1e-4, 1e-6);
        // the fixture clips on both sides, so the clip statistics are not trivially 0
        expect(out.clipLow).toBeGreaterThan(0);
        expect(out.clipHigh).toBeGreaterThan(0);
        expect(out.clipRegion).toBeCloseTo(out.clipLow + out.clipHigh, 12);
        for (const x of tensors) x.free();
        core.endStep();
      });
    }
  }

  it('with the ratio at 1 (numIterations = 1) the gradient is the policy gradient -A / normaliser', () => {
    const lp = t(logp, [B, R], true);
    const old = t(logp, [B, R]), adv = t(advantages, [B, 1]), m = t(mask, [B, R]);
    grpoLoss({ logp: lp, oldLogp: old, advantages: adv, mask: m, beta: 0, epsilonLow: 0.2, epsilonHigh: 0.2, lossType: 'bnpo', maxCompletionLength: maxLen, generationBatchTokens: 9 }).loss.backward();
    const expected = Array.from(mask, (w, i) => (-advantages[Math.floor(i / R)]! * w) / 9);
    expectClose(lp.grad()!, expected, 'policy gradient', 1e-6, 1e-7);
    for (const x of [lp, old, adv, m]) x.free();
    core.endStep();
  });
});

describe('rlooLoss', () => {
  it('the sequence-level clip: value and gradient match the float64 reference', () => {
    const lp = t(logp, [B, R], true);
    const old = t(oldLogp, [B, R]), adv = t(advantages, [B]), m = t(mask, [B, R]);
    const out = rlooLoss({ logp: lp, oldLogp: old, advantages: adv, mask: m, epsilonLow: epsLow, epsilonHigh: epsHigh });
    expect(out.loss.item()).toBeCloseTo(rlooReference(logp), 5);
    out.loss.backward();
    expectClose(lp.grad()!, finiteDiff(rlooReference, logp), 'rloo grad', 1e-4, 1e-6);
    for (const x of [lp, old, adv, m]) x.free();
    core.endStep();
  });
});

describe('advantages', () => {
  const rewards = [1, 0, 0, 1, 2, 2, 2, 2, 0.5, 1.5, 3, -1];
  it("'group' divides by the group's unbiased std + 1e-4, as TRL (torch.std)", () => {
    const { advantages: a, fracZeroStd, groupStd } = groupRelativeAdvantages(rewards, 4, 'group');
    const std0 = Math.sqrt((4 * 0.25) / 3); // mean 0.5, unbiased
    expect(groupStd[0]).toBeCloseTo(std0, 12);
    expect(a[0]).toBeCloseTo(0.5 / (std0 + 1e-4), 12);
    expect(a.slice(4, 8)).toEqual([0, 0, 0, 0]);
    expect(fracZeroStd).toBeCloseTo(1 / 3, 12);
  });
  it("'batch' divides by the whole batch's std, 'none' (Dr. GRPO) only centres", () => {
    const m = rewards.reduce((s, x) => s + x, 0) / rewards.length;
    const std = Math.sqrt(rewards.reduce((s, x) => s + (x - m) ** 2, 0) / (rewards.length - 1));
    expect(groupRelativeAdvantages(rewards, 4, 'batch').advantages[11]).toBeCloseTo((-1 - 1) / (std + 1e-4), 12);
    expect(groupRelativeAdvantages(rewards, 4, 'none').advantages.slice(8)).toEqual([-0.5, 0.5, 2, -2]);
  });
  it('leave-one-out: r_i minus the mean of the other n - 1', () => {
    const a = leaveOneOutAdvantages([1, 2, 3, 6], 4);
    expect(a).toEqual([1 - 11 / 3, 2 - 10 / 3, 3 - 3, 6 - 2]);
  });
  it('refuse rewards that do not split into groups, and NaN', () => {
    expect(() => groupRelativeAdvantages([1, 2, 3], 2, 'group')).toThrow(ValueError);
    expect(() => leaveOneOutAdvantages([1, NaN], 2)).toThrow(/reward 1/);
  });
});

describe('configs', () => {
  it('fill TRL defaults, make epsilonHigh follow epsilon, and name a bad field', () => {
    const g = resolveGRPOConfig({ epsilon: 0.1 });
    expect([g.lossType, g.scaleRewards, g.beta, g.epsilonHigh, g.numIterations]).toEqual(['dapo', 'group', 0, 0.1, 1]);
    expect(resolveRLOOConfig({}).beta).toBe(0.05);
    expect(() => resolveGRPOConfig({ lossType: 'ppo' as never })).toThrow(/GRPOConfig.lossType/);
    expect(() => resolveGRPOConfig({ numGenerations: 1 })).toThrow(/numGenerations/);
    expect(() => resolveGRPOConfig({ promptsPerStep: 3, numGenerations: 2, minibatches: 4 })).toThrow(/minibatches/);
    expect(() => resolveRLOOConfig({ beta: -1 })).toThrow(/RLOOConfig.beta/);
    expect(() => resolveGRPOConfig({ importanceSamplingCap: 0.5 })).toThrow(/importanceSamplingCap/);
  });
});
