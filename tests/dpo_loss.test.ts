// The DPO losses and log sigmoid against float64 TypeScript references: values, and gradients
// with respect to each input log-prob by central finite differences.

import { beforeAll, describe, expect, it } from 'vitest';
import { DPO_LOSS_TYPES, Tensor, ValueError, bradleyTerryLoss, dpoLoss, init, logSigmoid, type Core, type DpoLossType } from '../sdk/index';
import { expectClose, finiteDiff, randomData } from './util';

let core: Core;
beforeAll(async () => {
  core = await init();
});

const logSig64 = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

/** float64 DPO loss over B pairs; x = [pc, pr, rc, rr] each of length B. */
function dpo64(x: Float64Array, B: number, beta: number, lossType: DpoLossType, ls: number): number {
  let sum = 0;
  for (let b = 0; b < B; b++) {
    const h = x[b]! - x[B + b]! - (x[2 * B + b]! - x[3 * B + b]!);
    if (lossType === 'sigmoid') sum += -(1 - ls) * logSig64(beta * h) - ls * logSig64(-beta * h);
    else if (lossType === 'hinge') sum += Math.max(0, 1 - beta * h);
    else sum += (h - 1 / (2 * beta)) ** 2;
  }
  return sum / B;
}

describe('logSigmoid', () => {
  it('matches float64 and has the exact gradient sigmoid(-x), at 0 too', () => {
    const xs = [-30, -3, -0.5, 0, 0.25, 4, 30];
    const x = Tensor.from(xs, [xs.length], { core, requiresGrad: true });
    const y = logSigmoid(x);
    expectClose(y.toArray(), xs.map(logSig64), 'logSigmoid', 1e-6, 1e-7);
    y.sum().backward();
    expectClose(x.grad()!, xs.map((v) => 1 / (1 + Math.exp(v))), 'd logSigmoid', 1e-6, 1e-7);
    expect(x.grad()![3]).toBe(0.5);
    core.endStep();
  });
});

describe('dpoLoss', () => {
  const B = 5;
  const cases: [DpoLossType, number, number][] = [...DPO_LOSS_TYPES.map((t): [DpoLossType, number, number] => [t, 0.1, 0]), ['sigmoid', 0.5, 0.2], ['hinge', 2, 0], ['ipo', 0.5, 0]];
  for (const [lossType, beta, ls] of cases) {
    it(`${lossType} (beta ${beta}, label smoothing ${ls}): value and gradients match float64`, () => {
      const x = randomData(4 * B, 11, -8, -1);
      const parts = [0, 1, 2, 3].map((k) => Tensor.from(x.subarray(k * B, (k + 1) * B), [B], { core, requiresGrad: true }));
      const loss = dpoLoss({ chosenLogps: parts[0]!, rejectedLogps: parts[1]!, referenceChosenLogps: parts[2]!, referenceRejectedLogps: parts[3]!, beta, lossType, labelSmoothing: ls });
      expect(loss.item()).toBeCloseTo(dpo64(x, B, beta, lossType, ls), 5);
      loss.backward();
      const grads = new Float64Array(4 * B);
      parts.forEach((p, k) => grads.set(p.grad()!, k * B));
      expectClose(grads, finiteDiff((v) => dpo64(v, B, beta, lossType, ls), x), `d ${lossType}`, 1e-4, 1e-6);
      core.endStep();
    });
  }

  it('at policy = reference: sigmoid gives log 2, hinge 1, IPO 1/(4 beta^2)', () => {
    const z = () => Tensor.from([-2, -3], [2], { core });
    const args = { chosenLogps: z(), rejectedLogps: z(), referenceChosenLogps: z(), referenceRejectedLogps: z(), beta: 0.25 };
    expect(dpoLoss({ ...args, lossType: 'sigmoid' }).item()).toBeCloseTo(Math.LN2, 6);
    expect(dpoLoss({ ...args, lossType: 'hinge' }).item()).toBe(1);
    expect(dpoLoss({ ...args, lossType: 'ipo' }).item()).toBeCloseTo(4, 5);
    core.endStep();
  });

  it('refuses bad settings with a ValueError naming them', () => {
    const z = () => Tensor.from([0], [1], { core });
    const args = { chosenLogps: z(), rejectedLogps: z(), referenceChosenLogps: z(), referenceRejectedLogps: z() };
    expect(() => dpoLoss({ ...args, beta: 0, lossType: 'sigmoid' })).toThrow(/beta/);
    expect(() => dpoLoss({ ...args, beta: 0.1, lossType: 'kto' as DpoLossType })).toThrow(ValueError);
    expect(() => dpoLoss({ ...args, beta: 0.1, lossType: 'ipo', labelSmoothing: 0.1 })).toThrow(/labelSmoothing/);
    core.endStep();
  });
});

describe('bradleyTerryLoss', () => {
  it('matches float64 -log sigmoid(r_c - r_r) + c mean((r_c + r_r)^2), with gradients', () => {
    const B = 4, c = 0.01;
    const x = randomData(2 * B, 5, -3, 3);
    const ref = (v: Float64Array) => {
      let bt = 0, center = 0;
      for (let b = 0; b < B; b++) {
        bt += -logSig64(v[b]! - v[B + b]!);
        center += (v[b]! + v[B + b]!) ** 2;
      }
      return bt / B + (c * center) / B;
    };
    const chosen = Tensor.from(x.subarray(0, B), [B], { core, requiresGrad: true });
    const rejected = Tensor.from(x.subarray(B), [B], { core, requiresGrad: true });
    const loss = bradleyTerryLoss({ chosen, rejected, centerRewardsCoefficient: c });
    expect(loss.item()).toBeCloseTo(ref(x), 5);
    loss.backward();
    expectClose([...chosen.grad()!, ...rejected.grad()!], finiteDiff(ref, x), 'd bradleyTerry', 1e-4, 1e-6);
    core.endStep();
  });
});
