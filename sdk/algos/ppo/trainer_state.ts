// What trainer.json holds besides the weights, and its check on restore: every field is checked,
// with a CheckpointError naming it, before anything is loaded (a bad file changes nothing).

import { CheckpointError } from '../../core/errors';

/** Everything besides the weights that a bit-identical resume needs (trainer.json). */
export interface PPOTrainerState {
  /** Updates done. */
  updateCount: number;
  /** Environment steps taken (all environments). */
  globalStep: number;
  /** Episodes finished. */
  episodesSeen: number;
  /** The KL controller's coefficient. */
  klController: { value: number };
  /** The optimizer's learning rate (after annealing). */
  lr: number;
  /** The core PRNG's four 32-bit words. */
  rngState: number[];
  /** The rollout engine's state (SyncRolloutEngine: observations in flight, last dones, environment state). */
  engine: unknown;
  /** The user's reward managers' state, or null. */
  rewards: Record<string, number> | null;
}

/** Checks a parsed trainer.json against the trainer's environment; throws CheckpointError naming the field. */
export function checkTrainerState(state: unknown, env: { numEnvs: number; observationSize: number }): asserts state is PPOTrainerState {
  const fail = (field: string, what: string, value: unknown): never => {
    throw new CheckpointError(`trainer.json: ${field} ${what}, got ${JSON.stringify(value) ?? String(value)}`, 'mismatch', 'trainer.json');
  };
  if (state === null || typeof state !== 'object' || Array.isArray(state)) fail('the trainer state', 'must be an object', state);
  const s = state as Record<string, unknown>;
  for (const field of ['updateCount', 'globalStep', 'episodesSeen'] as const) {
    if (!Number.isSafeInteger(s[field]) || (s[field] as number) < 0) fail(field, 'must be an integer >= 0', s[field]);
  }
  const kl = s['klController'] as Record<string, unknown> | null;
  if (kl === null || typeof kl !== 'object' || typeof kl['value'] !== 'number' || !Number.isFinite(kl['value']) || kl['value'] < 0) {
    fail('klController', 'must be { value: a finite number >= 0 }', kl);
  }
  if (typeof s['lr'] !== 'number' || !Number.isFinite(s['lr']) || s['lr'] < 0) fail('lr', 'must be a finite number >= 0', s['lr']);
  checkRngState(s['rngState'], 'rngState', fail);
  if (!('engine' in s)) fail('engine', 'is missing', undefined);
  const engine = s['engine'] as Record<string, unknown> | null;
  if (engine === null || typeof engine !== 'object' || Array.isArray(engine)) fail('engine', 'must be an object', engine);
  if ('lastDones' in engine! || 'observations' in engine!) {
    // SyncRolloutEngine's state
    const obs = engine!['observations'];
    if (obs !== null && (!Array.isArray(obs) || obs.length !== env.numEnvs * env.observationSize || obs.some((x) => typeof x !== 'number' || !Number.isFinite(x)))) {
      fail('engine.observations', `must be null or ${env.numEnvs} x ${env.observationSize} finite numbers`, obs);
    }
    const dones = engine!['lastDones'];
    if (!Array.isArray(dones) || dones.length !== env.numEnvs || dones.some((d) => d !== 0 && d !== 1)) {
      fail('engine.lastDones', `must be ${env.numEnvs} values of 0 or 1`, dones);
    }
    if (!('env' in engine!)) fail('engine.env', 'is missing (null when the environment has no state)', undefined);
  }
  const rewards = s['rewards'];
  if (rewards !== null && (typeof rewards !== 'object' || Array.isArray(rewards) || Object.values(rewards as object).some((v) => typeof v !== 'number'))) {
    fail('rewards', 'must be null or an object of numbers', rewards);
  }
}

/** Four integers in [0, 2^32), not all zero (the xoshiro128** state); `fail` names `field`. */
export function checkRngState(value: unknown, field: string, fail: (field: string, what: string, value: unknown) => never): asserts value is number[] {
  if (!Array.isArray(value) || value.length !== 4 || value.some((w) => !Number.isInteger(w) || w < 0 || w >= 2 ** 32) || value.every((w) => w === 0)) {
    fail(field, 'must be four integers in [0, 2^32), not all zero', value);
  }
}

/** The optimizer counters of trainer.json: { stepCount: integer >= 0, lr: finite >= 0 }. */
export function checkOptimizerCounters(value: unknown, fail: (field: string, what: string, value: unknown) => never): asserts value is { stepCount: number; lr: number } {
  const o = value as Record<string, unknown> | null;
  if (o === null || typeof o !== 'object') fail('optimizer', 'must be { stepCount, lr }', value);
  if (!Number.isSafeInteger(o!['stepCount']) || (o!['stepCount'] as number) < 0) fail('optimizer.stepCount', 'must be an integer >= 0', o!['stepCount']);
  if (typeof o!['lr'] !== 'number' || !Number.isFinite(o!['lr']) || (o!['lr'] as number) < 0) fail('optimizer.lr', 'must be a finite number >= 0', o!['lr']);
}
