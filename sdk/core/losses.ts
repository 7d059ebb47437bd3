// Fused RL losses (assembly/losses/): each checks its operands here, then makes one call into
// the core, which computes the value, the statistics and (when gradients are on) records one
// backward for the whole loss. Formulas and metric names follow CleanRL's ppo.py and TRL.

import { ShapeError, ValueError } from './errors';
import { sameShape } from './shape';
import { Tensor } from './tensor';
import { STAT_OBJECTIVE_UNCLIPPED, STAT_CLIPFRAC, STAT_APPROX_KL, STAT_OLD_APPROX_KL, STAT_VALUE_CLIPFRAC } from '../../assembly/abi';

// lossStat slots (assembly/losses/ppo.ts and value.ts)

export interface PpoClipLossInput {
  /** Log-probabilities of the taken actions under the current policy (any shape); gets the gradient. */
  logp: Tensor;
  /** Log-probabilities under the policy that collected the data; same shape. */
  oldLogp: Tensor;
  /** Advantages; same shape. */
  advantages: Tensor;
  /** Optional weights (usually 0/1, e.g. response tokens): means become sum(x * mask) / sum(mask). */
  mask?: Tensor;
  /** Clip range eps: ratios are clipped to [1 - eps, 1 + eps]; 0 (or Infinity) turns clipping off. */
  clipRange: number;
}

export interface PpoClipLossOutput {
  /** mean(max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps))): a rank-0 tensor to backpropagate. */
  loss: Tensor;
  /** mean(A * ratio). */
  objectiveUnclipped: number;
  /** Fraction of elements with |ratio - 1| > eps (CleanRL's clipfrac; 0 without clipping). */
  clipfrac: number;
  /** mean((ratio - 1) - logratio): the k3 estimate of KL(old || new) (CleanRL's approx_kl). */
  approxKl: number;
  /** mean(-logratio): the k1 estimate (CleanRL's old_approx_kl). */
  oldApproxKl: number;
}

/**
 * The PPO clipped surrogate (Schulman et al. 2017), with ratio = exp(logp - oldLogp):
 * loss = mean(max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps))). Only `logp` receives a
 * gradient. Returns the loss and CleanRL's statistics, computed in the same pass.
 */
export function ppoClipLoss(input: PpoClipLossInput): PpoClipLossOutput {
  const { logp, oldLogp, advantages, mask, clipRange } = input;
  if (!(clipRange >= 0)) throw new ValueError(`ppoClipLoss: clipRange must be >= 0 (0 turns clipping off), got ${clipRange}`);
  checkSameShapes('ppoClipLoss', ['logp', 'oldLogp', 'advantages', 'mask'], [logp, oldLogp, advantages, mask]);
  if (mask) checkMask('ppoClipLoss', mask);
  const core = logp.core;
  const id = core.exports.lossPpo(logp.id, oldLogp.id, advantages.id, mask?.id ?? -1, clipRange);
  const loss = new Tensor(core, core.check(id, 'ppoClipLoss'), [], core.epoch);
  const stat = core.exports.lossStat;
  return {
    loss,
    objectiveUnclipped: stat(STAT_OBJECTIVE_UNCLIPPED),
    clipfrac: stat(STAT_CLIPFRAC),
    approxKl: stat(STAT_APPROX_KL),
    oldApproxKl: stat(STAT_OLD_APPROX_KL),
  };
}

/** Which KL estimator (Schulman, "Approximating KL divergence"; logr = logpRef - logp). */
export type KlEstimator = 'k1' | 'k2' | 'k3';
const ESTIMATORS: Record<KlEstimator, number> = { k1: 1, k2: 2, k3: 3 };

/**
 * Per-element estimate of KL(policy || reference) from log-probs of samples drawn from the
 * policy, with logr = logpRef - logp:
 * - 'k1' = -logr: unbiased, can be negative (the usual choice for a KL penalty in the reward);
 * - 'k2' = logr^2 / 2: biased, non-negative, low variance;
 * - 'k3' = exp(logr) - 1 - logr: unbiased and non-negative (as a loss term it biases gradients).
 * Same shape as the inputs; both inputs get gradients when they require them.
 */
export function klEstimate(logp: Tensor, logpRef: Tensor, estimator: KlEstimator): Tensor {
  if (!Object.hasOwn(ESTIMATORS, estimator)) {
    throw new ValueError(`klEstimate: estimator must be 'k1', 'k2' or 'k3', got ${String(estimator)}`);
  }
  const code = ESTIMATORS[estimator];
  checkSameShapes('klEstimate', ['logp', 'logpRef'], [logp, logpRef]);
  const core = logp.core;
  return new Tensor(core, core.check(core.exports.opKl(logp.id, logpRef.id, code), 'klEstimate'), [...logp.shape], core.epoch);
}

/** Entropy of the categorical distributions given by logits over the last axis: (..., A) -> (...). */
export function entropyFromLogits(logits: Tensor): Tensor {
  logits.assertLive('entropyFromLogits');
  if (logits.rank === 0) throw new ShapeError('entropyFromLogits', [logits.shape], 'logits need a last (class) axis: rank >= 1');
  const core = logits.core;
  return new Tensor(core, core.check(core.exports.opEntropy(logits.id), 'entropyFromLogits'), logits.shape.slice(0, -1), core.epoch);
}

export interface ValueLossInput {
  /** Value predictions (any shape); gets the gradient. */
  values: Tensor;
  /** Return targets; same shape. */
  returns: Tensor;
  /** Predictions of the value function that collected the data; needed when clipRange > 0. */
  oldValues?: Tensor;
  /** Optional weights: means become sum(x * mask) / sum(mask). */
  mask?: Tensor;
  /** Clip range for the value update (CleanRL's clip_vloss); 0 (default) turns clipping off. */
  clipRange?: number;
}

export interface ValueLossOutput {
  /** 0.5 * mean((v - R)^2), or of max((v - R)^2, (vClipped - R)^2) when clipping: rank 0. */
  loss: Tensor;
  /** Fraction of elements where the clipped error is larger (TRL's val/clipfrac; 0 without clipping). */
  clipfrac: number;
}

/**
 * The value loss 0.5 * mean((v - R)^2); with clipRange > 0 (CleanRL's clip_vloss),
 * vClipped = vOld + clamp(v - vOld, -clip, clip) and loss = 0.5 * mean(max((v - R)^2, (vClipped - R)^2)).
 * Only `values` receives a gradient.
 */
export function valueLoss(input: ValueLossInput): ValueLossOutput {
  const { values, returns, oldValues, mask, clipRange = 0 } = input;
  if (!(clipRange >= 0)) throw new ValueError(`valueLoss: clipRange must be >= 0 (0 turns clipping off), got ${clipRange}`);
  if (clipRange > 0 && !oldValues) throw new ValueError(`valueLoss: clipRange ${clipRange} needs oldValues`);
  checkSameShapes('valueLoss', ['values', 'returns', 'oldValues', 'mask'], [values, returns, oldValues, mask]);
  if (mask) checkMask('valueLoss', mask);
  const core = values.core;
  const id = core.exports.lossValue(values.id, oldValues?.id ?? -1, returns.id, mask?.id ?? -1, clipRange);
  const loss = new Tensor(core, core.check(id, 'valueLoss'), [], core.epoch);
  return { loss, clipfrac: core.exports.lossStat(STAT_VALUE_CLIPFRAC) };
}

/** sum(x * mask) / sum(mask) as a rank-0 tensor; the gradient flows to x only. */
export function maskedMean(x: Tensor, mask: Tensor): Tensor {
  checkSameShapes('maskedMean', ['x', 'mask'], [x, mask]);
  checkMask('maskedMean', mask);
  const core = x.core;
  return new Tensor(core, core.check(core.exports.opMaskedMean(x.id, mask.id), 'maskedMean'), [], core.epoch);
}

// ---- checks ------------------------------------------------------------------------------------

/** Every present tensor is live, on the first one's core, and has the first one's shape. */
function checkSameShapes(op: string, names: readonly string[], tensors: readonly (Tensor | undefined)[]): void {
  const first = tensors[0]!;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    if (!t) continue;
    t.assertLive(op);
    if (t.core !== first.core) throw new ValueError(`${op}: ${names[i]} lives on a different core than ${names[0]}`);
    if (!sameShape(t.shape, first.shape)) {
      throw new ShapeError(op, [first.shape, t.shape], `${names[i]} must have the shape of ${names[0]}`);
    }
  }
}

/** A mask holds finite non-negative weights and selects at least one element. */
function checkMask(op: string, mask: Tensor): void {
  const v = mask.view();
  let any = false;
  for (let i = 0; i < v.length; i++) {
    const w = v[i]!;
    if (!(w >= 0) || w === Infinity) throw new ValueError(`${op}: mask values must be finite and >= 0, got ${w} at flat index ${i}`);
    if (w > 0) any = true;
  }
  if (!any) throw new ValueError(`${op}: the mask selects no element (all zero), so the mean is undefined`);
}
