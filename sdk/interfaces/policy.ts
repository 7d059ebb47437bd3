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
}
