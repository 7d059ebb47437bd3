// KL coefficient controllers (sdk/algos/ppo/kl_controller.ts): the window rule of the PPO paper
// (Schulman et al. 2017, section 4) and the proportional rule of Ziegler et al. 2019, each checked
// against its formula written out here; state round trips; refused inputs. How the trainer feeds
// them (kl_coef of update k+1 = rule(kl_coef, kl_to_ref) of update k) is in ppo_trainer.test.ts.

import { describe, expect, it } from 'vitest';
import {
  FixedKlController,
  NumericError,
  ProportionalKlController,
  ValueError,
  WindowKlController,
  defaultPPOConfig,
} from '../sdk/index';

describe('WindowKlController (PPO paper, section 4)', () => {
  it('multiplies beta by the factor when KL > 1.5 target, divides it when KL < target / 1.5, keeps it inside', () => {
    const target = 0.02;
    const c = new WindowKlController(0.1, target, 2);
    c.update(0.0301); // above 1.5 * 0.02 = 0.03
    expect(c.value).toBe(0.2);
    c.update(target * 1.5); // exactly on the upper edge: inside (the rule is a strict >)
    expect(c.value).toBe(0.2);
    c.update(0.02); // at the target
    expect(c.value).toBe(0.2);
    c.update(target / 1.5); // exactly on the lower edge: inside (strict <)
    expect(c.value).toBe(0.2);
    c.update(0.013); // below 0.02 / 1.5 = 0.01333...
    expect(c.value).toBe(0.1);
    c.update(0); // a policy identical to its reference
    expect(c.value).toBe(0.05);
    c.update(5); // far above: still one factor per update
    expect(c.value).toBe(0.1);
  });

  it('uses the configured factor; the trainer config defaults it to 2, as the paper', () => {
    expect(defaultPPOConfig.klFactor).toBe(2);
    expect(defaultPPOConfig.klController).toBe('window');
    const c = new WindowKlController(0.3, 1, 1.5);
    c.update(2);
    expect(c.value).toBe(0.3 * 1.5);
    c.update(0.1);
    c.update(0.1);
    expect(c.value).toBe((0.3 * 1.5) / 1.5 / 1.5);
    expect(new WindowKlController(0.3, 1).factor).toBe(2);
  });

  it('beta 0 stays 0 (a disabled penalty is not revived by the controller)', () => {
    const c = new WindowKlController(0, 0.02);
    c.update(10);
    expect(c.value).toBe(0);
  });

  it('saves and restores its value', () => {
    const a = new WindowKlController(0.1, 0.02);
    a.update(1);
    const b = new WindowKlController(0.1, 0.02);
    b.loadState(JSON.parse(JSON.stringify(a.state())));
    expect(b.value).toBe(0.2);
    expect(() => b.loadState({ value: NaN })).toThrow(ValueError);
  });
});

describe('ProportionalKlController (Ziegler et al. 2019)', () => {
  /** The published rule, written out: e = clip(KL / target - 1, -0.2, 0.2); beta *= 1 + e * n / horizon. */
  const rule = (beta: number, kl: number, target: number, n: number, horizon: number) => {
    let e = kl / target - 1;
    if (e > 0.2) e = 0.2;
    if (e < -0.2) e = -0.2;
    return beta * (1 + (e * n) / horizon);
  };

  it('follows the formula inside the clip', () => {
    const c = new ProportionalKlController(0.5, 6, 10000);
    c.update(6.6, 512); // e = 0.1
    expect(c.value).toBe(rule(0.5, 6.6, 6, 512, 10000));
    expect(c.value).toBeCloseTo(0.5 * (1 + (0.1 * 512) / 10000), 15); // the arithmetic by hand
    c.update(5.7, 256); // e = -0.05
    expect(c.value).toBe(rule(rule(0.5, 6.6, 6, 512, 10000), 5.7, 6, 256, 10000));
  });

  it('clips the proportional error at +-0.2', () => {
    const up = new ProportionalKlController(1, 0.1, 1000);
    up.update(100, 100); // e = 999 clipped to 0.2
    expect(up.value).toBeCloseTo(1 + (0.2 * 100) / 1000, 15);
    const down = new ProportionalKlController(1, 0.1, 1000);
    down.update(0, 100); // e = -1 clipped to -0.2
    expect(down.value).toBeCloseTo(1 - (0.2 * 100) / 1000, 15);
    const edge = new ProportionalKlController(1, 0.1, 1000);
    edge.update(0.12, 100); // e = 0.2 exactly (to rounding): no change from the clip
    expect(edge.value).toBeCloseTo(1 + (0.2 * 100) / 1000, 12);
  });

  it('defaults to the published horizon of 10000', () => {
    expect(new ProportionalKlController(1, 1).horizon).toBe(10000);
    expect(defaultPPOConfig.klHorizon).toBe(10000);
  });

  it('saves and restores its value', () => {
    const a = new ProportionalKlController(0.2, 0.5);
    a.update(1, 64);
    const b = new ProportionalKlController(0.2, 0.5);
    b.loadState(a.state());
    b.update(0.3, 64);
    a.update(0.3, 64);
    expect(b.value).toBe(a.value);
  });
});

describe('FixedKlController', () => {
  it('never changes', () => {
    const c = new FixedKlController(0.05);
    c.update();
    expect(c.value).toBe(0.05);
  });
});

describe('refused inputs', () => {
  it('names the bad target, factor, horizon or coefficient', () => {
    expect(() => new WindowKlController(0.1, 0)).toThrow(/klTarget must be a finite number > 0.*got 0/);
    expect(() => new WindowKlController(0.1, -1)).toThrow(ValueError);
    expect(() => new WindowKlController(0.1, Infinity)).toThrow(/klTarget/);
    expect(() => new WindowKlController(0.1, 0.02, 1)).toThrow(/klFactor must be a finite number > 1.*got 1/);
    expect(() => new WindowKlController(0.1, 0.02, NaN)).toThrow(/klFactor/);
    expect(() => new ProportionalKlController(0.1, NaN)).toThrow(/klTarget/);
    expect(() => new ProportionalKlController(0.1, 1, 0)).toThrow(/klHorizon must be a finite number > 0.*got 0/);
    expect(() => new ProportionalKlController(-0.1, 1)).toThrow(/KL coefficient must be a finite number >= 0.*got -0.1/);
    expect(() => new WindowKlController(NaN, 1)).toThrow(ValueError);
    expect(() => new FixedKlController(Infinity)).toThrow(ValueError);
  });

  it('refuses a non-finite KL (NumericError) and a bad step count', () => {
    const w = new WindowKlController(0.1, 0.02);
    expect(() => w.update(NaN)).toThrow(NumericError);
    expect(w.value).toBe(0.1);
    const p = new ProportionalKlController(0.1, 0.02);
    expect(() => p.update(Infinity, 10)).toThrow(/measured KL is Infinity/);
    expect(() => p.update(0.02, 0)).toThrow(/nSteps must be a positive integer/);
    expect(() => p.update(0.02, 1.5)).toThrow(ValueError);
    expect(p.value).toBe(0.1);
  });
});
