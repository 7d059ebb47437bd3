// Per-sequence completion log-probs of a pair batch: chosen and rejected rows in one
// SequenceBatch (rows 0..B-1 chosen, B..2B-1 rejected, each pair's prompt on both), one
// responseForward, then the masked sum over completion tokens (or the mean, for IPO).

import type { Core } from '../../core/core';
import { Tensor } from '../../core/tensor';
import { SequenceBatch, responseForward } from '../../lm/sequence_batch';
import type { EncodedPair } from '../../lm/pair_encoding';
import type { GPT } from '../../nn/gpt';

export interface PairLogps {
  /** (B) */
  chosen: Tensor;
  /** (B) */
  rejected: Tensor;
}

/** The pairs as a (2B, L + R) SequenceBatch: chosen rows first, then rejected. Free it after use. */
export function pairSequenceBatch(pairs: readonly EncodedPair[], padTokenId: number, core: Core): SequenceBatch {
  return SequenceBatch.fromRows(
    {
      promptIds: [...pairs.map((p) => p.promptIds), ...pairs.map((p) => p.promptIds)],
      completionIds: [...pairs.map((p) => p.chosenIds), ...pairs.map((p) => p.rejectedIds)],
    },
    padTokenId,
    core,
  );
}

/**
 * log p(completion | prompt) under `model` for each row of the batch, summed over the
 * completion's tokens, or divided by their count when `average` (IPO). Records gradients unless
 * under noGrad.
 */
export function pairLogps(model: GPT, batch: SequenceBatch, average: boolean): PairLogps {
  const B = batch.rows / 2;
  const { logProbs } = responseForward(model, batch.ids, batch.attentionMask, batch.responseIds); // (2B, R)
  let logps = logProbs.mul(batch.responseMask).sum(1); // (2B)
  if (average) logps = logps.div(Tensor.from(batch.responseLengths, [2 * B], { core: batch.core }));
  return { chosen: logps.narrow(0, 0, B), rejected: logps.narrow(0, B, B) };
}
