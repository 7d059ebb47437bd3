// KL coefficient controllers (docs/architecture.md, "Algorithms"). Each holds the current coefficient `value`
// (beta) and updates it from the measured KL to the reference after every PPO update.

import { NumericError, ValueError } from '../../core/errors';

export interface KlController {
  /** The current KL coefficient (beta). */
  readonly value: number;
  /** Adjusts beta from the KL measured over the last rollout of `nSteps` samples. */
  update(kl: number, nSteps: number): void;
  state(): { value: number };
  loadState(state: { value: number }): void;
}

/** What every controller shares: the coefficient, validated, and its state for checkpoints. */
abstract class CoefficientController implements KlController {
  value: number;
  constructor(
    private readonly name: string,
    initial: number,
  ) {
    this.value = checkCoef(name, initial);
  }
  abstract update(kl: number, nSteps: number): void;
  state() {
    return { value: this.value };
  }
  loadState(state: { value: number }): void {
    this.value = checkCoef(`${this.name}.loadState`, state?.value);
  }
}

/** A constant coefficient. */
export class FixedKlController extends CoefficientController {
  constructor(initial: number) {
    super('FixedKlController', initial);
  }
  update(): void {}
}

/**
 * The original NovaRL rule, from the PPO paper (Schulman et al. 2017, section 4, there with
 * KL to the old policy): multiply beta by `factor` when KL > target * 1.5, divide it when
 * KL < target / 1.5, keep it inside the window otherwise.
 */
export class WindowKlController extends CoefficientController {
  constructor(
    initial: number,
    readonly target: number,
    readonly factor = 2,
  ) {
    super('WindowKlController', initial);
    checkTarget(target);
    if (!(factor > 1 && factor < Infinity)) throw new ValueError(`klFactor must be a finite number > 1 (got ${factor})`);
  }
  update(kl: number): void {
    checkKl('WindowKlController', kl);
    if (kl > this.target * 1.5) this.value *= this.factor;
    else if (kl < this.target / 1.5) this.value /= this.factor;
  }
}

/**
 * Ziegler et al. 2019 (lm-human-preferences): a proportional controller,
 * e = clip(KL / target - 1, -0.2, 0.2); beta *= 1 + e * nSteps / horizon.
 */
export class ProportionalKlController extends CoefficientController {
  constructor(
    initial: number,
    readonly target: number,
    readonly horizon = 10000,
  ) {
    super('ProportionalKlController', initial);
    checkTarget(target);
    if (!(horizon > 0 && horizon < Infinity)) throw new ValueError(`klHorizon must be a finite number > 0 (got ${horizon})`);
  }
  update(kl: number, nSteps: number): void {
    checkKl('ProportionalKlController', kl);
    if (!Number.isInteger(nSteps) || nSteps < 1) throw new ValueError(`ProportionalKlController.update: nSteps must be a positive integer (got ${nSteps})`);
    const error = Math.min(Math.max(kl / this.target - 1, -0.2), 0.2);
    this.value *= 1 + (error * nSteps) / this.horizon;
  }
}

function checkCoef(where: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value < Infinity)) throw new ValueError(`${where}: the KL coefficient must be a finite number >= 0 (got ${value})`);
  return value;
}

function checkTarget(target: number): void {
  if (!(target > 0 && target < Infinity)) throw new ValueError(`klTarget must be a finite number > 0 for an adaptive KL controller (got ${target})`);
}

/** A NaN KL would leave the window rule silently unchanged and turn the proportional one into NaN. */
function checkKl(where: string, kl: number): void {
  if (!Number.isFinite(kl)) throw new NumericError(`${where}.update: the measured KL is ${kl}`);
}
