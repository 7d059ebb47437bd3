// Prompts and their sampled completions as one (B, L + R) token batch in the core, the layout
// every token-level algorithm (PPO, GRPO, RLOO, DPO, the reward model) scores:
//
//   column:     0 ........ L-1 | L ............. L+R-1
//   ids:        pad pad p0 p1 p2 | c0 c1 c2 EOS pad pad      (prompt left-padded to L, response right-padded to R)
//   attention:   0   0  1  1  1 |  1  1  1  1   0   0
//   response:                   |  1  1  1  1   0   0       (responseMask, (B, R))
//
// The logits that predict response token t sit at column L - 1 + t, so one forward pass over
// ids[:, :L+R-1] gives every response token's log-prob (responseForward). Positions count real
// tokens only (cumsum of the attention mask), as generate() fed them, so scoring a batch gives
// the generator's log-probs again.

import type { Core } from '../core/core';
import { defaultCore } from '../core/core';
import { ValueError } from '../core/errors';
import { Tensor } from '../core/tensor';
import type { GPT } from '../nn/gpt';

/** The host-side rows a SequenceBatch is made from. */
export interface SequenceRows {
  /** Per row, the prompt's token ids (non-empty). */
  promptIds: readonly (readonly number[])[];
  /** Per row, the response's token ids (may be empty). */
  completionIds: readonly (readonly number[])[];
}

export class SequenceBatch {
  /** B */
  readonly rows!: number;
  /** L: the longest prompt; every prompt is left-padded to it. */
  readonly promptLength!: number;
  /** R: the longest response (>= 1); every response is right-padded to it. */
  readonly responseLength!: number;
  /** Per row, the number of real response tokens. */
  readonly responseLengths!: number[];
  /** (B, L + R) ids: left-padded prompt, response, padTokenId after it. Persistent. */
  readonly ids!: Tensor;
  /** (B, L + R) 1 at real prompt and response tokens. Persistent. */
  readonly attentionMask!: Tensor;
  /** (B, R) the response ids (padTokenId after each response). Persistent. */
  readonly responseIds!: Tensor;
  /** (B, R) 1 at real response tokens. Persistent. */
  readonly responseMask!: Tensor;

  private constructor(init: Omit<SequenceBatch, 'free' | 'core'>) {
    Object.assign(this, init);
  }

  get core(): Core {
    return this.ids.core;
  }

  /**
   * Lays out prompts and responses (e.g. an engine's Completions) in the core. Ids are checked
   * against the vocabulary when a model scores them.
   */
  static fromRows(data: SequenceRows, padTokenId: number, core: Core = defaultCore()): SequenceBatch {
    const { promptIds, completionIds } = data;
    if (!Array.isArray(promptIds) || !Array.isArray(completionIds) || promptIds.length === 0 || promptIds.length !== completionIds.length) {
      throw new ValueError(`SequenceBatch: promptIds and completionIds must be non-empty arrays of the same length (got ${promptIds?.length} and ${completionIds?.length})`);
    }
    if (!Number.isInteger(padTokenId) || padTokenId < 0) throw new ValueError(`SequenceBatch: padTokenId must be a token id, got ${padTokenId}`);
    promptIds.forEach((p, b) => {
      if (!Array.isArray(p) || p.length === 0) throw new ValueError(`SequenceBatch: prompt ${b} must be a non-empty array of token ids`);
      if (!Array.isArray(completionIds[b])) throw new ValueError(`SequenceBatch: completion ${b} must be an array of token ids`);
    });
    const B = promptIds.length;
    const L = Math.max(...promptIds.map((p) => p.length));
    const R = Math.max(1, ...completionIds.map((c) => c.length));
    const S = L + R;
    const ids = new Float32Array(B * S).fill(padTokenId);
    const attention = new Float32Array(B * S);
    const responseIds = new Float32Array(B * R).fill(padTokenId);
    const responseMask = new Float32Array(B * R);
    for (let b = 0; b < B; b++) {
      const p = promptIds[b]!, c = completionIds[b]!;
      for (let i = 0; i < p.length; i++) {
        ids[b * S + L - p.length + i] = p[i]!;
        attention[b * S + L - p.length + i] = 1;
      }
      for (let t = 0; t < c.length; t++) {
        ids[b * S + L + t] = c[t]!;
        attention[b * S + L + t] = 1;
        responseIds[b * R + t] = c[t]!;
        responseMask[b * R + t] = 1;
      }
    }
    const persistent = (data: Float32Array, shape: number[]) => Tensor.from(data, shape, { core, persistent: true });
    return new SequenceBatch({
      rows: B,
      promptLength: L,
      responseLength: R,
      responseLengths: completionIds.map((c) => c.length),
      ids: persistent(ids, [B, S]),
      attentionMask: persistent(attention, [B, S]),
      responseIds: persistent(responseIds, [B, R]),
      responseMask: persistent(responseMask, [B, R]),
    });
  }

  free(): void {
    for (const t of [this.ids, this.attentionMask, this.responseIds, this.responseMask]) t.free();
  }
}

export interface ResponseForwardOptions {
  /** Divide the logits by this before the log-softmax: the temperature the engine sampled with (default 1). */
  temperature?: number;
  /** Also return the value head's estimates (the model needs valueHead: true). */
  values?: boolean;
}

export interface ResponseForward {
  /** (B, R, V) logits (divided by the temperature) at the positions that predict each response token. */
  logits: Tensor;
  /** (B, R) log p(response token t | prompt, tokens before t); garbage at padding (mask it). */
  logProbs: Tensor;
  /** (B, R) the value head's estimate at the same positions (state before token t), when asked for. */
  values?: Tensor;
}

/**
 * One forward pass of `model` over rows of a SequenceBatch layout: ids and attentionMask
 * (B, L + R), responseIds (B, R). Records gradients unless called under noGrad. Pass a batch's
 * tensors, or rows of them selected with Tensor.embedding (a minibatch).
 */
export function responseForward(model: GPT, ids: Tensor, attentionMask: Tensor, responseIds: Tensor, options: ResponseForwardOptions = {}): ResponseForward {
  const [B, S] = ids.shape as [number, number];
  const R = responseIds.shape[1]!;
  const L = S - R;
  if (responseIds.rank !== 2 || responseIds.shape[0] !== B || L < 1) {
    throw new ValueError(`responseForward: responseIds ${JSON.stringify(responseIds.shape)} must be (B, R) with R < the ids' length ${S} (ids ${JSON.stringify(ids.shape)})`);
  }
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0 && Number.isFinite(temperature))) throw new ValueError(`responseForward: temperature must be a finite number > 0, got ${temperature}`);
  // The last column predicts nothing: feed columns 0 .. S-2, keep the R positions from L-1 on
  const hidden = model.hidden(ids.narrow(1, 0, S - 1), { attentionMask: attentionMask.narrow(1, 0, S - 1) }).narrow(1, L - 1, R); // (B, R, C)
  let logits = model.logitsOf(hidden); // (B, R, V)
  if (temperature !== 1) logits = logits.div(temperature);
  const logProbs = logits.tokenLogProbs(responseIds); // (B, R)
  return { logits, logProbs, values: options.values ? model.valuesOf(hidden) : undefined };
}
