// RLOO configuration: TRL's RLOOConfig fields in camelCase, TRL's defaults (the shared fields'
// exceptions are in sdk/algos/lm/config.ts).

import { ValueError } from '../../core/errors';
import { checkLmTrainerConfig, defaultLmTrainerConfig, type LmTrainerConfig } from '../lm/config';

export interface RLOOConfig extends LmTrainerConfig {
  /** KL coefficient: beta * sum_t (logp_old - logp_ref) is subtracted from each sequence's reward (TRL 0.05); 0 builds no reference. */
  beta: number;
  /** Lower clip range of the sequence ratio (TRL epsilon, 0.2). */
  epsilon: number;
  /** Upper clip range (default: epsilon). */
  epsilonHigh: number;
  /** Whiten the advantages over the generation batch (TRL normalize_advantages, false). */
  normalizeAdvantages: boolean;
}

export function defaultRLOOConfig(): RLOOConfig {
  return { ...defaultLmTrainerConfig(), beta: 0.05, epsilon: 0.2, epsilonHigh: 0.2, normalizeAdvantages: false };
}

/** Defaults filled in (epsilonHigh follows epsilon unless given), every field checked (ValueError naming it). */
export function resolveRLOOConfig(config: Partial<RLOOConfig> = {}): RLOOConfig {
  if (config === null || typeof config !== 'object') throw new ValueError(`RLOOConfig: config must be an object, got ${String(config)}`);
  const given = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Partial<RLOOConfig>;
  const c: RLOOConfig = { ...defaultRLOOConfig(), epsilonHigh: config.epsilon ?? 0.2, ...given };
  checkLmTrainerConfig('RLOOConfig', c);
  for (const field of ['beta', 'epsilon', 'epsilonHigh'] as const) {
    const v = c[field];
    if (typeof v !== 'number' || !(v >= 0) || v === Infinity) throw new ValueError(`RLOOConfig.${field} must be a finite number >= 0, got ${String(v)}`);
  }
  if (c.epsilon >= 1) throw new ValueError(`RLOOConfig.epsilon must be < 1 (the lower clip bound is 1 - epsilon), got ${c.epsilon}`);
  if (typeof c.normalizeAdvantages !== 'boolean') throw new ValueError(`RLOOConfig.normalizeAdvantages must be a boolean, got ${String(c.normalizeAdvantages)}`);
  return c;
}
