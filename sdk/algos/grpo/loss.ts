// GRPO's token loss (TRL GRPOTrainer._compute_loss, importance_sampling_level 'token'), composed
// from the core's deterministic Tensor ops:
//
//   ratio     = exp(logp - logp_old)                                   (mb, R); 1 at padding
//   token     = -min(ratio * A, clip(ratio, 1 - eps, 1 + epsHigh) * A)  A: (mb, 1), one per sequence
//   token    *= w_IS                                                    truncated importance weights, when given
//   token    += beta * k3(logp, logp_ref)                               k3 = exp(ref - logp) - (ref - logp) - 1
//   loss      = normalise(token * mask)                                 lossType (config.ts)
//
// The old log-probs are the generating policy's, recomputed by the trainer (collectLmRollout), so
// with numIterations = 1 the ratio is 1 and the loss still has the policy gradient A * grad logp.
//
// Normalisation against TRL: TRL normalises each micro-batch and divides by the gradient
// accumulation steps; here one minibatch is one optimizer step, without accumulation. So with
// minibatches = 1, 'grpo', 'bnpo' and 'dr_grpo' are TRL's with the whole generation batch on one
// device; 'dapo' is TRL's for any minibatches: it divides by num_items_in_batch, the loss tokens of
// the whole generation batch (after mask_truncated_completions), so each minibatch's step is
// weighted by its share of the batch's tokens. A sequence whose tokens are all masked counts as 0
// in 'grpo''s mean over sequences (TRL's clamp(min=1)).

import { ShapeError, ValueError } from '../../core/errors';
import { klEstimate } from '../../core/losses';
import { Tensor } from '../../core/tensor';
import type { GRPOLossType } from './config';

export interface GrpoLossInput {
  /** (mb, R) the current policy's log-probs of the sampled tokens; gets the gradient. */
  logp: Tensor;
  /** (mb, R) the generating policy's log-probs. */
  oldLogp: Tensor;
  /** (mb, 1) one advantage per sequence. */
  advantages: Tensor;
  /** (mb, R) 1 at tokens that carry loss (response tokens; 0 for masked truncated completions). */
  mask: Tensor;
  /** (mb, R) the reference's log-probs; needed when beta > 0. */
  refLogp?: Tensor;
  /** (mb, R) truncated importance weights (off-policy correction), multiplying the clipped term. */
  importanceWeights?: Tensor;
  beta: number;
  epsilonLow: number;
  epsilonHigh: number;
  lossType: GRPOLossType;
  /** 'dr_grpo' divides by rows x this (TRL max_completion_length). */
  maxCompletionLength: number;
  /** 'dapo' divides by this: the loss tokens of the whole generation batch (TRL num_items_in_batch). */
  generationBatchTokens: number;
}

export interface GrpoLossOutput {
  /** Rank 0; backpropagate it. */
  loss: Tensor;
  /** Over loss tokens: ratio < 1 - eps with A < 0 (TRL clip_ratio/low_mean). */
  clipLow: number;
  /** Over loss tokens: ratio > 1 + epsHigh with A > 0 (TRL clip_ratio/high_mean). */
  clipHigh: number;
  /** Either (TRL clip_ratio/region_mean). */
  clipRegion: number;
  /** Mean k3 over loss tokens, when beta > 0 (TRL kl). */
  kl?: number;
}

export function grpoLoss(input: GrpoLossInput): GrpoLossOutput {
  const { logp, oldLogp, advantages, mask, refLogp, importanceWeights, beta, epsilonLow, epsilonHigh, lossType } = input;
  const [rows, R] = logp.shape as [number, number];
  if (logp.rank !== 2) throw new ShapeError('grpoLoss', [logp.shape], 'logp must be (rows, R)');
  for (const [name, t] of [['oldLogp', oldLogp], ['mask', mask], ['refLogp', refLogp], ['importanceWeights', importanceWeights]] as const) {
    if (t && (t.rank !== 2 || t.shape[0] !== rows || t.shape[1] !== R)) throw new ShapeError('grpoLoss', [logp.shape, t.shape], `${name} must have logp's shape`);
  }
  if (advantages.rank !== 2 || advantages.shape[0] !== rows || advantages.shape[1] !== 1) throw new ShapeError('grpoLoss', [advantages.shape, [rows, 1]], 'advantages must be (rows, 1)');
  if (beta > 0 && !refLogp) throw new ValueError('grpoLoss: beta > 0 needs refLogp');

  // padding tokens get log-ratio 0 (ratio 1) and reference gap 0, so nothing there can overflow
  const ratio = logp.sub(oldLogp).mul(mask).exp(); // (mb, R)
  const clipped = ratio.clamp(1 - epsilonLow, 1 + epsilonHigh);
  let token = ratio.mul(advantages).minimum(clipped.mul(advantages)).neg(); // (mb, R)
  if (importanceWeights) token = token.mul(importanceWeights);
  let kl: Tensor | undefined;
  if (beta > 0) {
    kl = klEstimate(logp.mul(mask), refLogp!.mul(mask), 'k3');
    token = token.add(kl.mul(beta));
  }
  const masked = token.mul(mask);

  const maskValues = mask.view();
  const tokens = sumOf(maskValues);
  let loss: Tensor;
  if (lossType === 'grpo') {
    // each sequence's mean over its own tokens (a fully masked one counts as 0), then the mean over sequences
    const lengths = new Float32Array(rows);
    for (let b = 0; b < rows; b++) lengths[b] = Math.max(1, sumOf(maskValues.subarray(b * R, b * R + R)));
    loss = masked.sum(-1).div(Tensor.from(lengths, [rows], { core: logp.core })).mean();
  } else if (lossType === 'bnpo') {
    loss = masked.sum().div(Math.max(1, tokens));
  } else if (lossType === 'dr_grpo') {
    loss = masked.sum().div(rows * input.maxCompletionLength);
  } else if (lossType === 'dapo') {
    loss = masked.sum().div(Math.max(1, input.generationBatchTokens));
  } else {
    throw new ValueError(`grpoLoss: unknown lossType ${String(lossType)}`);
  }

  // clip statistics over the loss tokens, on the host (comparisons only)
  const r = ratio.view(), a = advantages.view();
  let low = 0, high = 0;
  for (let b = 0; b < rows; b++) {
    for (let t = 0; t < R; t++) {
      const w = maskValues[b * R + t]!;
      if (w === 0) continue;
      if (r[b * R + t]! < 1 - epsilonLow && a[b]! < 0) low += w;
      else if (r[b * R + t]! > 1 + epsilonHigh && a[b]! > 0) high += w;
    }
  }
  const denominator = Math.max(1, tokens);
  return {
    loss,
    clipLow: low / denominator,
    clipHigh: high / denominator,
    clipRegion: (low + high) / denominator,
    kl: kl ? sumOf(kl.mul(mask).view()) / denominator : undefined,
  };
}

function sumOf(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}
