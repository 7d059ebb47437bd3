// From one scored generation batch to PPO's training targets, as TRL's PPOTrainer does it:
//
//   nonScore[b, t] = -beta * k(logp, logpRef)[b, t]         at every response token (klPenalty 'reward')
//   rewards[b, t]  = nonScore[b, t] (+ score[b] at the last real response token)
//   rewards        = maskedWhiten(rewards, shiftMean = false)     (whitenRewards)
//   advantages, returns = GAE over response tokens (gamma, lambda), values 0 after the response
//   advantages     = maskedWhiten(advantages), 0 at padding        (returns keep the raw advantages)
//
// All (B, R) row-major host arrays. The arithmetic is float64 (+ - * / and sqrt, which every
// JavaScript engine does in IEEE double, so the bits are the same everywhere), rounded to float32
// when stored. GAE is sdk/buffers/gae.ts's, with each response a (R, 1) episode that ends at its
// last real token.

import { ShapeError, ValueError } from '../../core/errors';
import { computeGae } from '../../buffers/gae';

export interface LmAdvantageInput {
  /** B */
  rows: number;
  /** R */
  responseLength: number;
  /** (B) the total score of each completion (reward functions, penalties, clipping already applied). */
  scores: ArrayLike<number>;
  /** (B, R) 1 at real response tokens. Each row's real tokens come first (right padding). */
  mask: Float32Array;
  /** (B, R) the rollout's values (state before token t). */
  values: Float32Array;
  /** (B, R) the per-token KL estimate k to the reference; undefined: no KL in the reward. */
  kl?: Float32Array;
  /** The KL coefficient applied in the reward. */
  beta: number;
  gamma: number;
  lambda: number;
  whitenRewards: boolean;
}

export interface LmAdvantages {
  /** (B, R) -beta * k at response tokens (0 without a KL in the reward). */
  nonScoreRewards: Float32Array;
  /** (B, R) the per-token rewards GAE ran on. */
  rewards: Float32Array;
  /** (B, R) whitened over the batch's response tokens, 0 at padding. */
  advantages: Float32Array;
  /** (B, R) the value targets: raw advantages + values, 0 at padding. */
  returns: Float32Array;
}

/** Rewards, advantages and returns of one batch (see the file comment). */
export function lmAdvantages(input: LmAdvantageInput): LmAdvantages {
  const { rows: B, responseLength: R, scores, mask, values, kl, beta, gamma, lambda } = input;
  const n = B * R;
  for (const [name, a] of [['mask', mask], ['values', values], ['kl', kl]] as const) {
    if (a && a.length !== n) throw new ShapeError('lmAdvantages', [[a.length], [B, R]], `${name} must hold B x R = ${n} values`);
  }
  if (scores.length !== B) throw new ShapeError('lmAdvantages', [[scores.length], [B]], 'one score per row');
  const nonScoreRewards = new Float32Array(n);
  let rewards: Float32Array = new Float32Array(n);
  for (let b = 0; b < B; b++) {
    let last = -1;
    for (let t = 0; t < R; t++) {
      const i = b * R + t;
      if (mask[i] === 0) continue;
      if (kl) nonScoreRewards[i] = -beta * kl[i]!;
      rewards[i] = nonScoreRewards[i]!;
      last = i;
    }
    // an empty completion has no token to carry its score
    if (last >= 0) rewards[last] = rewards[last]! + scores[b]!;
  }
  if (input.whitenRewards) rewards = maskedWhiten(rewards, mask, false);

  // GAE wants (T, N) = (R, B) with done flags: each response ends at its last real token, and
  // padding after it is a run of ended zero-reward, zero-value steps
  const rewardsTN = new Float32Array(n), valuesTN = new Float32Array(n), dones = new Uint8Array(n);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < R; t++) {
      const i = b * R + t, j = t * B + b;
      const real = mask[i] !== 0;
      const nextReal = t + 1 < R && mask[i + 1] !== 0;
      rewardsTN[j] = real ? rewards[i]! : 0;
      valuesTN[j] = real ? values[i]! : 0;
      dones[j] = real && nextReal ? 0 : 1;
    }
  }
  const gae = computeGae({ steps: R, numEnvs: B, rewards: rewardsTN, values: valuesTN, dones, lastValues: new Float32Array(B), gamma, gaeLambda: lambda });
  const rawAdvantages = new Float32Array(n), returns = new Float32Array(n);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < R; t++) {
      const i = b * R + t, j = t * B + b;
      if (mask[i] === 0) continue;
      rawAdvantages[i] = gae.advantages[j]!;
      returns[i] = gae.returns[j]!;
    }
  }
  return { nonScoreRewards, rewards, advantages: maskedWhiten(rawAdvantages, mask, true), returns };
}

/**
 * TRL's masked_whiten: (x - mean) / sqrt(var + 1e-8) over the entries where mask > 0, with the
 * unbiased variance; shiftMean false adds the mean back (rewards keep their sign). Padding gets 0.
 * Host float64 (see the file comment).
 */
export function maskedWhiten(x: Float32Array, mask: Float32Array, shiftMean: boolean): Float32Array {
  let count = 0, sum = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask[i] === 0) continue;
    count++;
    sum += x[i]!;
  }
  if (count < 2) throw new ValueError(`maskedWhiten: needs at least 2 unmasked values for an unbiased variance, got ${count} (longer or more completions per step)`);
  const mean = sum / count;
  let squares = 0;
  for (let i = 0; i < x.length; i++) {
    if (mask[i] === 0) continue;
    const d = x[i]! - mean;
    squares += d * d;
  }
  const invStd = 1 / Math.sqrt(squares / (count - 1) + 1e-8);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    if (mask[i] === 0) continue;
    const w = (x[i]! - mean) * invStd;
    out[i] = shiftMean ? w : w + mean;
  }
  return out;
}
