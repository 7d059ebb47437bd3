// KL coefficient controllers (DESIGN.md section 5). Each holds the current coefficient `value`
// (beta) and updates it from the measured KL to the reference after every PPO update.

import { ValueError } from '../../core/errors';

export interface KlController {
  /** The current KL coefficient (beta). */
  readonly value: number;
  /** Adjusts beta from the KL measured over the last rollout of `nSteps` samples. */
  update(kl: number, nSteps: number): void;
  state(): { value: number };
  loadState(state: { value: number }): void;
}

/** A constant coefficient. */
export class FixedKlController implements KlController {
  constructor(public value: number) {}
  update(): void {}
  state() {
    return { value: this.value };
  }
  loadState(state: { value: number }): void {
    this.value = state.value;
  }
}

/**
 * The original NovaRL rule, from the PPO paper (Schulman et al. 2017, section 4, there with
 * KL to the old policy): multiply beta by `factor` when KL > target * 1.5, divide it when
 * KL < target / 1.5, keep it inside the window otherwise.
 */
export class WindowKlController implements KlController {
  value: number;
  constructor(
    initial: number,
    readonly target: number,
    readonly factor = 2,
  ) {
    if (!(target > 0)) throw new ValueError(`klTarget must be > 0 for an adaptive KL controller (got ${target})`);
    if (!(factor > 1)) throw new ValueError(`klFactor must be > 1 (got ${factor})`);
    this.value = initial;
  }
  update(kl: number): void {
    if (kl > this.target * 1.5) this.value *= this.factor;
    else if (kl < this.target / 1.5) this.value /= this.factor;
  }
  state() {
    return { value: this.value };
  }
  loadState(state: { value: number }): void {
    this.value = state.value;
  }
}

/**
 * Ziegler et al. 2019 (lm-human-preferences): a proportional controller,
 * e = clip(KL / target - 1, -0.2, 0.2); beta *= 1 + e * nSteps / horizon.
 */
export class ProportionalKlController implements KlController {
  value: number;
  constructor(
    initial: number,
    readonly target: number,
    readonly horizon = 10000,
  ) {
    if (!(target > 0)) throw new ValueError(`klTarget must be > 0 for an adaptive KL controller (got ${target})`);
    if (!(horizon > 0)) throw new ValueError(`klHorizon must be > 0 (got ${horizon})`);
    this.value = initial;
  }
  update(kl: number, nSteps: number): void {
    const error = Math.min(Math.max(kl / this.target - 1, -0.2), 0.2);
    this.value *= 1 + (error * nSteps) / this.horizon;
  }
  state() {
    return { value: this.value };
  }
  loadState(state: { value: number }): void {
    this.value = state.value;
  }
}
