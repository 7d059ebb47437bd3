// cosineWithWarmup against nanoGPT's get_lr written out in float64 with Math.cos (the core's
// deterministic cos agrees with it to a few ulps), its fixed points, and its typed errors.

import { beforeAll, describe, expect, it } from 'vitest';
import { ValueError, cosineWithWarmup, init } from '../sdk/index';

beforeAll(async () => {
  await init();
});

/** nanoGPT's get_lr (train.py), with warm-up (s + 1) / W as there. */
function nanoGptLr(step: number, lr: number, minLr: number, warmup: number, total: number): number {
  if (step < warmup) return (lr * (step + 1)) / warmup;
  if (step > total) return minLr;
  const ratio = (step - warmup) / (total - warmup);
  return minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (lr - minLr);
}

describe('cosineWithWarmup', () => {
  const options = { lr: 1e-3, minLr: 1e-4, warmupSteps: 10, totalSteps: 100 };
  const schedule = cosineWithWarmup(options);

  it('follows nanoGPT get_lr at every step, and past the end', () => {
    for (let s = 0; s <= 120; s++) {
      expect(schedule(s)).toBeCloseTo(nanoGptLr(s, 1e-3, 1e-4, 10, 100), 12);
    }
  });

  it('warms up linearly to lr, peaks at the end of the warm-up and ends at minLr', () => {
    expect(schedule(0)).toBe(1e-4);
    expect(schedule(4)).toBeCloseTo(5e-4, 15);
    expect(schedule(9)).toBe(1e-3);
    expect(schedule(10)).toBe(1e-3); // cos(0) = 1 exactly
    expect(schedule(55)).toBeCloseTo(5.5e-4, 12); // half way down the cosine: the mean of lr and minLr
    expect(schedule(100)).toBe(1e-4);
    expect(schedule(1000)).toBe(1e-4);
  });

  it('decreases monotonically after the warm-up', () => {
    for (let s = 10; s < 110; s++) expect(schedule(s + 1)).toBeLessThanOrEqual(schedule(s));
  });

  it('with no warm-up starts at lr', () => {
    expect(cosineWithWarmup({ lr: 2, minLr: 0, warmupSteps: 0, totalSteps: 4 })(0)).toBe(2);
  });

  it('refuses bad options and steps with a ValueError', () => {
    expect(() => cosineWithWarmup({ ...options, minLr: 2e-3 })).toThrow(ValueError);
    expect(() => cosineWithWarmup({ ...options, lr: Number.NaN })).toThrow(ValueError);
    expect(() => cosineWithWarmup({ ...options, warmupSteps: 200 })).toThrow(/warmupSteps 200 exceeds totalSteps 100/);
    expect(() => cosineWithWarmup({ ...options, totalSteps: 1.5 })).toThrow(ValueError);
    expect(() => schedule(-1)).toThrow(ValueError);
    expect(() => schedule(2.5)).toThrow(/step must be a non-negative integer/);
  });
});
