// Checks shared by the environments: actions passed to step() and numeric options. Actions
// come from user code (or a policy) and cross into the environment here, so they are checked
// once, with messages naming the environment index and the bad value.

import { ShapeError, ValueError } from '../core/errors';

/**
 * Refuses an actions array of the wrong length (ShapeError) and any action that is not an
 * integer in [0, actionCount) (ValueError naming the environment index and the action).
 * Accepts any array-like at runtime, since plain-JS callers may pass number[].
 */
export function checkActions(envName: string, actions: ArrayLike<number>, numEnvs: number, actionCount: number): void {
  if (actions == null || typeof actions.length !== 'number') {
    throw new ValueError(`${envName}.step: actions must be an Int32Array of ${numEnvs} actions, got ${String(actions)}`);
  }
  if (actions.length !== numEnvs) {
    throw new ShapeError(`${envName}.step`, [[actions.length], [numEnvs]], `expected one action per environment (${numEnvs}), got ${actions.length}`);
  }
  for (let i = 0; i < numEnvs; i++) {
    const a = actions[i]!;
    if (!Number.isInteger(a)) {
      throw new ValueError(`${envName}.step: environment ${i}: action ${a} is not an integer`);
    }
    if (a < 0 || a >= actionCount) {
      throw new ValueError(`${envName}.step: environment ${i}: action ${a} is out of range [0, ${actionCount})`);
    }
  }
}

/** An option that must be an integer >= min; returns it (or the default when undefined). */
export function intOption(envName: string, name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new ValueError(`${envName}: option ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** An option that must be a finite number >= min; returns it (or the default when undefined). */
export function numberOption(envName: string, name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ValueError(`${envName}: option ${name} must be a finite number >= ${min}, got ${v}`);
  return v;
}

/** A seed: any safe integer. */
export function seedOption(envName: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v)) throw new ValueError(`${envName}: seed must be a safe integer, got ${v}`);
  return v;
}
