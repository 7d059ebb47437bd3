// Generalized Advantage Estimation (Schulman et al. 2016), the loop of CleanRL's ppo.py.
//
// Done convention. CleanRL stores with step t the done flag of the observation at step t
// ("obs[t] starts a new episode"), so its loop reads the NEXT step's flag:
//     nextnonterminal = 1 - (t == last ? next_done : dones[t + 1])
// NovaRL's Transition.dones[t] is the flag the environment returned for step t ("the episode
// ended with this step"), which is exactly CleanRL's dones[t + 1] (and next_done for the last
// step). So here, for every t including the last:
//     nextnonterminal = 1 - dones[t]
// Truncated episodes count as ended (no bootstrap through a time limit), as in CleanRL.
//
// Precision. The recurrence runs in float64 (plain + - *, which every JavaScript engine does
// in IEEE double without fused multiply-add, so the bits are the same everywhere); each
// result is rounded to float32 once, when stored: advantages[i] = f32(A), returns[i] =
// f32(A + V) with A still in float64.

import { ShapeError, ValueError } from '../core/errors';

export interface GaeInput {
  /** Steps per environment (T). */
  steps: number;
  /** Environments stepped together (N). */
  numEnvs: number;
  /** (T, N) rewards of each step. */
  rewards: Float32Array;
  /** (T, N) value estimates of each step's observation. */
  values: Float32Array;
  /** (T, N) 1 where the episode ended with this step (NovaRL's convention, see above). */
  dones: Uint8Array;
  /** (N) value estimates of the observations after the last step (the bootstrap). */
  lastValues: Float32Array;
  /** Discount factor. */
  gamma: number;
  /** GAE lambda: 0 gives one-step TD errors, 1 gives Monte Carlo returns minus values. */
  gaeLambda: number;
}

export interface GaeOutput {
  /** (T, N) */
  advantages: Float32Array;
  /** (T, N) advantages + values: the value function's regression targets. */
  returns: Float32Array;
}

/**
 * GAE advantages and returns for a (T, N) rollout stored row-major (index t * N + env).
 * Writes into `out` when given (its arrays must have T * N entries).
 *
 * @example
 * const { advantages, returns } = computeGae({ steps: 128, numEnvs: 4, rewards, values, dones,
 *   lastValues, gamma: 0.99, gaeLambda: 0.95 });
 */
export function computeGae(input: GaeInput, out?: GaeOutput): GaeOutput {
  const { steps, numEnvs, rewards, values, dones, lastValues, gamma, gaeLambda } = input;
  const total = steps * numEnvs;
  checkGaeCoefficients('computeGae', gamma, gaeLambda);
  checkLength('rewards', rewards.length, [steps, numEnvs]);
  checkLength('values', values.length, [steps, numEnvs]);
  checkLength('dones', dones.length, [steps, numEnvs]);
  checkLength('lastValues', lastValues.length, [numEnvs]);
  const advantages = out?.advantages ?? new Float32Array(total);
  const returns = out?.returns ?? new Float32Array(total);
  checkLength('advantages (output)', advantages.length, [steps, numEnvs]);
  checkLength('returns (output)', returns.length, [steps, numEnvs]);

  // lastGaeLam[env]: the advantage of step t + 1, carried backwards (float64).
  const lastGaeLam = new Float64Array(numEnvs);
  for (let t = steps - 1; t >= 0; t--) {
    for (let env = 0; env < numEnvs; env++) {
      const i = t * numEnvs + env;
      const nextNonTerminal = 1 - dones[i]!;
      const nextValue = t === steps - 1 ? lastValues[env]! : values[i + numEnvs]!;
      const delta = rewards[i]! + gamma * nextValue * nextNonTerminal - values[i]!;
      const advantage = delta + gamma * gaeLambda * nextNonTerminal * lastGaeLam[env]!;
      lastGaeLam[env] = advantage;
      advantages[i] = advantage;
      returns[i] = advantage + values[i]!;
    }
  }
  return { advantages, returns };
}

/** Refuses a gamma or lambda outside [0, 1] (ValueError naming `op`). */
export function checkGaeCoefficients(op: string, gamma: number, gaeLambda: number): void {
  if (!(gamma >= 0 && gamma <= 1)) throw new ValueError(`${op}: gamma must be in [0, 1], got ${gamma}`);
  if (!(gaeLambda >= 0 && gaeLambda <= 1)) throw new ValueError(`${op}: gaeLambda must be in [0, 1], got ${gaeLambda}`);
}

function checkLength(field: string, length: number, shape: number[]): void {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (length !== expected) {
    throw new ShapeError('computeGae', [[length], shape], `${field} has ${length} values, expected ${expected}`);
  }
}
