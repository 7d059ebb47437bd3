// Learning-rate schedules for a training loop: call the returned function with the step number
// and set optimizer.lr to the result before optimizer.step().
//
// cosineWithWarmup is nanoGPT's get_lr: a linear warm-up from 0, then a half cosine from `lr`
// down to `minLr`, then `minLr` for any step past the end. The cosine uses detMath (not
// Math.cos) of the core, so the schedule, and the training it feeds, is bit-identical on every JS engine.

import type { Core } from './core';
import { detMath } from './det_math';
import { ValueError } from './errors';

export interface CosineWithWarmupOptions {
  /** Peak learning rate, reached at the end of the warm-up. */
  lr: number;
  /** Learning rate at the end of the decay and after it (nanoGPT: lr / 10). */
  minLr: number;
  /** Steps of linear warm-up: step s < warmupSteps gets lr * (s + 1) / warmupSteps. */
  warmupSteps: number;
  /** Step at which the cosine reaches minLr (the run's length). */
  totalSteps: number;
  /** The core whose deterministic cos is used (default: the default core, which must be initialised). */
  core?: Core;
}

/**
 * step (0-based) -> learning rate:
 *   s < W:       lr * (s + 1) / W
 *   W <= s <= N: minLr + (lr - minLr) * 0.5 * (1 + cos(pi * (s - W) / (N - W)))
 *   s > N:       minLr
 */
export function cosineWithWarmup(options: CosineWithWarmupOptions): (step: number) => number {
  const { lr, minLr, warmupSteps, totalSteps } = options;
  for (const [name, value] of [['lr', lr], ['minLr', minLr]] as const) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new ValueError(`cosineWithWarmup: ${name} must be a finite number >= 0, got ${value}`);
  }
  if (minLr > lr) throw new ValueError(`cosineWithWarmup: minLr ${minLr} exceeds lr ${lr}`);
  for (const [name, value] of [['warmupSteps', warmupSteps], ['totalSteps', totalSteps]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new ValueError(`cosineWithWarmup: ${name} must be a non-negative integer, got ${value}`);
  }
  if (warmupSteps > totalSteps) throw new ValueError(`cosineWithWarmup: warmupSteps ${warmupSteps} exceeds totalSteps ${totalSteps}`);
  return (step: number): number => {
    if (!Number.isSafeInteger(step) || step < 0) throw new ValueError(`cosineWithWarmup: step must be a non-negative integer, got ${step}`);
    if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
    if (step >= totalSteps) return minLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps); // in [0, 1)
    return minLr + (lr - minLr) * 0.5 * (1 + detMath(options.core).cos(Math.PI * progress));
  };
}
