// The DPO family's losses (TRL's DPOTrainer.dpo_loss), on per-sequence log-probs:
//
//   h = (logp_c - logp_r) - (logpRef_c - logpRef_r)        the implicit reward margin / beta
//   sigmoid (DPO, Rafailov et al. 2023):  -(1 - ls) log sigmoid(beta h) - ls log sigmoid(-beta h)
//                                          (ls = labelSmoothing: conservative DPO, cDPO)
//   hinge (SLiC, Zhao et al. 2023):        relu(1 - beta h)
//   ipo (Azar et al. 2023):                (h - 1 / (2 beta))^2
//   loss = mean over pairs
//
// TRL's implicit rewards (the logged rewards/chosen, rewards/rejected) are beta (logp - logpRef).
// How per-token log-probs become one per sequence: summed over completion tokens for sigmoid and
// hinge, averaged over them for IPO (TRL's concatenated_forward divides by the completion length
// when loss_type == "ipo", following the IPO paper's length-normalised log-likelihoods).

import { ValueError } from '../../core/errors';
import { logSigmoid } from '../../core/log_sigmoid';
import type { Tensor } from '../../core/tensor';

export type DpoLossType = 'sigmoid' | 'ipo' | 'hinge';
export const DPO_LOSS_TYPES: readonly DpoLossType[] = ['sigmoid', 'ipo', 'hinge'];

export interface DpoLossInput {
  /** (B) policy log-probs of the chosen completions (summed, or averaged for IPO). */
  chosenLogps: Tensor;
  /** (B) policy log-probs of the rejected completions. */
  rejectedLogps: Tensor;
  /** (B) the frozen reference's, for the chosen completions (no gradient). */
  referenceChosenLogps: Tensor;
  /** (B) the frozen reference's, for the rejected completions. */
  referenceRejectedLogps: Tensor;
  beta: number;
  lossType: DpoLossType;
  /** sigmoid only: probability that a label is flipped (cDPO), in [0, 0.5). Default 0. */
  labelSmoothing?: number;
}

/** The mean DPO loss over the pairs (a scalar tensor). */
export function dpoLoss(input: DpoLossInput): Tensor {
  const { beta, lossType } = input;
  const labelSmoothing = input.labelSmoothing ?? 0;
  if (!(beta > 0 && Number.isFinite(beta))) throw new ValueError(`dpoLoss: beta must be a finite number > 0, got ${beta}`);
  if (!DPO_LOSS_TYPES.includes(lossType)) throw new ValueError(`dpoLoss: lossType must be one of ${DPO_LOSS_TYPES.join(', ')}, got ${JSON.stringify(lossType)}`);
  if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) throw new ValueError(`dpoLoss: labelSmoothing must be in [0, 0.5), got ${labelSmoothing}`);
  if (labelSmoothing > 0 && lossType !== 'sigmoid') throw new ValueError(`dpoLoss: labelSmoothing applies to lossType 'sigmoid' only, not '${lossType}'`);
  const h = input.chosenLogps.sub(input.rejectedLogps).sub(input.referenceChosenLogps.sub(input.referenceRejectedLogps)); // (B)
  if (lossType === 'hinge') return h.mul(-beta).add(1).relu().mean();
  if (lossType === 'ipo') return h.sub(1 / (2 * beta)).square().mean();
  let losses = logSigmoid(h.mul(beta)).mul(-(1 - labelSmoothing));
  if (labelSmoothing > 0) losses = losses.sub(logSigmoid(h.mul(-beta)).mul(labelSmoothing));
  return losses.mean();
}
