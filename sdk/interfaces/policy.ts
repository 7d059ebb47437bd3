import type { Parameter } from '../core/module';
import type { Tensor } from '../core/tensor';

/** What a policy with a value function gives for a batch of rows. */
export interface PolicyOutput {
  /** (rows, A) logits for single steps, or (rows, T, V) for token sequences. */
  logits: Tensor;
  /** (rows) values for single steps, or (rows, T). */
  values: Tensor;
}

/**
 * The policy PPO trains: logits and values for the observations (or token ids) of some batch
 * rows, and the parameters the optimizer updates. ActorCritic implements it; a transformer
 * with a value head fits the same way.
 */
export interface PolicyWithValue {
  forward(observations: Tensor): PolicyOutput;
  parameters(): Parameter[];
  /**
   * Optional, for padded token sequences (a language model): score the taken tokens of some
   * batch rows directly, given the rows' attention mask. When present, ppoStep calls it instead
   * of forward() + log-softmax, so the log-probs come from the same computation as the rollout's.
   */
  scoreTokens?(observations: Tensor, actions: Tensor, attentionMask?: Tensor): ScoredTokens;
}

/** What scoreTokens gives for mb rows of T taken tokens. */
export interface ScoredTokens extends PolicyOutput {
  /** (mb, T) log-probabilities of the taken tokens. */
  logProbs: Tensor;
}
