// PPO's optimisation phase for one language-model batch: the rollout's tensors and the host
// targets (sdk/algos/ppo_lm/advantages.ts) as a RolloutBatch of B sequences x R response tokens,
// trained by sdk/algos/ppo/step.ts's ppoStep (epochs x minibatches of rows, the fused clipped
// policy and value losses with the response mask, the KL term when it is in the loss, clipGradNorm,
// the optimizer) with the SequencePolicy scoring each minibatch's tokens.

import { noGrad } from '../../core/grad_mode';
import type { Optimizer } from '../../core/optim';
import { Tensor } from '../../core/tensor';
import type { RolloutBatch } from '../../interfaces/batch';
import { truncatedImportanceWeights, type LmRollout } from '../../lm/rollout';
import { ppoStep, type PpoStepStats } from '../ppo/step';
import type { LMPPOConfig } from './config';
import type { SequencePolicy } from './policy';

/** The host targets of one batch, (B, R) each. */
export interface LmPpoTargets {
  advantages: Float32Array;
  returns: Float32Array;
  rewards: Float32Array;
  /** (B, R) the rollout's values (the policy's head or the critic's). */
  values: Tensor;
}

export interface LmPpoStepOptions {
  /** beta of the KL term in the loss (klPenalty 'loss'); 0: none. */
  klCoef: number;
  /** Names the step in error messages. */
  label?: string;
}

/**
 * Runs config.epochs x config.minibatches of PPO over the rollout's rows; returns ppoStep's
 * statistics. With importanceSamplingCap > 0 and usable engine log-probs, each token's policy
 * loss is multiplied by min(pi_old / pi_engine, cap).
 */
export function lmPpoStep(policy: SequencePolicy, rollout: LmRollout, targets: LmPpoTargets, config: LMPPOConfig, optimizer: Optimizer, options: LmPpoStepOptions): PpoStepStats {
  const { batch } = rollout;
  const core = batch.core;
  const shape = [batch.rows, batch.responseLength];
  const owned: Tensor[] = [];
  const persistent = (data: Float32Array) => {
    const t = Tensor.from(data, shape, { core, persistent: true });
    owned.push(t);
    return t;
  };
  try {
    const weights =
      config.importanceSamplingCap > 0 && rollout.engineLogProbs
        ? noGrad(() => {
            const w = truncatedImportanceWeights(rollout.oldLogProbs, rollout.engineLogProbs!, config.importanceSamplingCap);
            return persistent(w.view());
          }, core)
        : undefined;
    const rolloutBatch: RolloutBatch = {
      rows: batch.rows,
      steps: batch.responseLength,
      observations: batch.ids,
      actions: batch.responseIds,
      attentionMask: batch.attentionMask,
      oldLogProbs: rollout.oldLogProbs,
      refLogProbs: rollout.refLogProbs ?? rollout.oldLogProbs,
      values: targets.values,
      rewards: persistent(targets.rewards),
      advantages: persistent(targets.advantages),
      returns: persistent(targets.returns),
      mask: batch.responseMask,
      dense: false,
      policyLossWeights: weights,
    };
    return ppoStep(
      policy,
      rolloutBatch,
      {
        epochs: config.epochs,
        minibatches: config.minibatches,
        normalizeAdvantages: false, // whitened once over the whole batch (TRL), in lmAdvantages
        clipRange: config.clipRange,
        valueClip: config.clipRangeValue,
        entropyCoef: config.entropyCoef,
        valueCoef: config.valueCoef,
        maxGradNorm: config.maxGradNorm,
        klEstimator: config.klEstimator,
        targetKl: 0, // LMPPOConfig.targetKl is the adaptive controller's target, not an early stop
      },
      optimizer,
      { klCoef: options.klCoef, label: options.label },
    );
  } finally {
    for (const t of owned) t.free();
  }
}
