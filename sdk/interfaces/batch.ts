import type { Tensor } from '../core/tensor';

/**
 * One rollout in core memory, as every algorithm consumes it: B rows of T steps. A batch of
 * single environment steps is B = steps x environments, T = 1; a batch of padded token
 * sequences is B sequences of T tokens, with `mask` marking the real ones. Validated once,
 * where the data enters (the rollout engine, or RolloutBatch.fromArrays for caller data).
 *
 * @example
 * const batch = TensorRolloutBatch.fromArrays({ observations, observationSize: 4, actions,
 *   oldLogProbs, values, rewards, advantages, returns });   // T = 1, mask all ones
 * const stats = ppoStep(policy, batch, config, optimizer);
 * batch.free();
 */
export interface RolloutBatch {
  /** B: rows (sequences; environment steps when T = 1). */
  readonly rows: number;
  /** T: steps per row (1 for single environment steps; the padded length of token sequences). */
  readonly steps: number;
  /** (B, observationSize) observations when T = 1, or (B, T) token ids. */
  readonly observations: Tensor;
  /** (B, T) integer actions (token ids), as floats. */
  readonly actions: Tensor;
  /** (B, T) log-probabilities of the actions under the policy that collected them. */
  readonly oldLogProbs: Tensor;
  /** (B, T) log-probabilities under the reference model (the acting policy's own when there is none). */
  readonly refLogProbs: Tensor;
  /** (B, T) value estimates of the policy that collected them. */
  readonly values: Tensor;
  /** (B, T) training rewards (after the reward managers). */
  readonly rewards: Tensor;
  /** (B, T) advantages (GAE, or any estimator). */
  readonly advantages: Tensor;
  /** (B, T) value targets. */
  readonly returns: Tensor;
  /** (B, T) 1 for a real step, 0 for padding. */
  readonly mask: Tensor;
  /** Every mask entry is 1: losses take plain means (the same bits as no mask at all). */
  readonly dense: boolean;
  /** Optional (B, S) attention mask over the observation tokens (padded sequences), handed to the policy's scoreTokens. */
  readonly attentionMask?: Tensor;
  /** Optional (B, T) weights that multiply each token's policy loss (truncated importance sampling); the mean stays over `mask`. */
  readonly policyLossWeights?: Tensor;
}
