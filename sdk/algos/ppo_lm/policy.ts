// A GPT policy (with its value head, or with a separate critic GPT) as the PolicyWithValue that
// ppoStep trains: it scores the response tokens of SequenceBatch rows with responseForward, the
// same computation the rollout's old log-probs came from, so the first minibatch's ratio is 1.

import { ValueError } from '../../core/errors';
import type { Parameter } from '../../core/module';
import type { Tensor } from '../../core/tensor';
import type { PolicyOutput, PolicyWithValue, ScoredTokens } from '../../interfaces/policy';
import { responseForward } from '../../lm/sequence_batch';
import type { GPT } from '../../nn/gpt';

export class SequencePolicy implements PolicyWithValue {
  /**
   * @param policy the language model; its value head gives the values unless `critic` is given
   * @param critic a separate value model (a GPT with valueHead: true), or undefined
   * @param temperature the sampling temperature the log-probs are taken at
   */
  constructor(
    readonly policy: GPT,
    readonly critic: GPT | undefined,
    readonly temperature: number,
  ) {
    if (!critic && !policy.v_head) throw new ValueError('SequencePolicy: the policy has no value head: construct it with { valueHead: true } (then resetValueHead()) or pass a critic');
    if (critic && !critic.v_head) throw new ValueError('SequencePolicy: the critic needs a value head (new GPT(config, { valueHead: true }))');
  }

  /** ids (mb, L + R), responseIds (mb, R), attentionMask (mb, L + R): log-probs and values (mb, R). */
  scoreTokens(ids: Tensor, responseIds: Tensor, attentionMask?: Tensor): ScoredTokens {
    if (!attentionMask) throw new ValueError('SequencePolicy.scoreTokens: the batch has no attention mask (it must come from a SequenceBatch)');
    const scored = responseForward(this.policy, ids, attentionMask, responseIds, { temperature: this.temperature, values: !this.critic });
    const values = scored.values ?? criticValues(this.critic!, ids, attentionMask, responseIds);
    return { logits: scored.logits, logProbs: scored.logProbs, values };
  }

  forward(): PolicyOutput {
    throw new ValueError('SequencePolicy.forward: score token sequences with scoreTokens(ids, responseIds, attentionMask)');
  }

  parameters(): Parameter[] {
    // the policy's own value head is trained only when it gives the values
    const own = this.critic ? this.policy.namedParameters().filter(([name]) => !name.startsWith('v_head.')).map(([, p]) => p) : this.policy.parameters();
    return this.critic ? [...own, ...this.critic.parameters()] : own;
  }
}

/** The critic's values at the positions responseForward uses (state before each response token): (mb, R). */
export function criticValues(critic: GPT, ids: Tensor, attentionMask: Tensor, responseIds: Tensor): Tensor {
  return responseForward(critic, ids, attentionMask, responseIds, { values: true }).values!;
}
