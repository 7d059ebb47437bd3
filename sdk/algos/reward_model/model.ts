// A reward model: a GPT backbone with a scalar score head, laid out as transformers'
// GPT2ForSequenceClassification with num_labels = 1:
//
//   ids (B, T) ── transformer (GPT-2) ── ln_f ──▶ hidden (B, T, C) ── score (C -> 1, no bias) ──▶ (B, T)
//   reward[b] = score output at the last non-padding token of row b
//
// "Last non-padding token" is transformers' rule (modeling_gpt2.py, GPT2ForSequenceClassification
// .forward): the rightmost position whose id is not config.pad_token_id, for left or right
// padding alike (argmax of index * (id != pad); position 0 for a row of padding only). When the
// pad id is also the EOS id (GPT-2 has no pad token, and TRL pads with EOS), a trailing EOS counts
// as padding and the score is read at the token before it; NovaRL reads the same token, so a
// saved reward model scores identically in transformers.
//
// The class extends GPT so the backbone's weights can be copied from a policy (TRL starts the
// reward model from the SFT model); its language-model head (tied to wte) is simply not used.

import type { Core } from '../../core/core';
import { defaultCore } from '../../core/core';
import { ShapeError, ValueError } from '../../core/errors';
import { noGrad } from '../../core/grad_mode';
import { Module, Parameter } from '../../core/module';
import { normal_ } from '../../core/random';
import { Tensor } from '../../core/tensor';
import { trunkWeights } from '../../lm/reference';
import { GPT, type GPTConfig } from '../../nn/gpt';

/** transformers' `score`: nn.Linear(n_embd, num_labels = 1, bias=False). */
class ScoreHead extends Module {
  readonly weight: Parameter; // (1, C), PyTorch's Linear layout
  constructor(nEmbd: number, core: Core) {
    super();
    this.weight = Parameter.create([1, nEmbd], core);
  }
}

export interface GPTRewardModelOptions {
  /** The id the score's "last non-padding token" rule skips (config.json's pad_token_id). */
  padTokenId: number;
  /** Draw GPT-2's initialisation (default true); false leaves every parameter zero, for loading. */
  init?: boolean;
  core?: Core;
}

export class GPTRewardModel extends GPT {
  /** The scalar head on the last hidden state. */
  readonly score: ScoreHead;
  /** Padding id: rows are right-padded with it, and the score skips it. */
  readonly padTokenId: number;

  constructor(config: GPTConfig, options: GPTRewardModelOptions) {
    super(config, { init: options.init, core: options.core ?? defaultCore() });
    if (!Number.isSafeInteger(options.padTokenId) || options.padTokenId < 0 || options.padTokenId >= this.config.vocabSize) {
      throw new ValueError(`GPTRewardModel: padTokenId must be a token id in [0, ${this.config.vocabSize}), got ${options.padTokenId}`);
    }
    this.padTokenId = options.padTokenId;
    this.score = new ScoreHead(this.config.nEmbd, this.core);
    // transformers' _init_weights for a Linear: N(0, initializer_range = 0.02)
    if (options.init ?? true) normal_(this.score.weight, 0, 0.02);
  }

  /** A reward model whose backbone is a copy of `policy`'s transformer, with a fresh score head. */
  static fromPolicy(policy: GPT, padTokenId: number): GPTRewardModel {
    const model = new GPTRewardModel(policy.config, { padTokenId, init: false, core: policy.core });
    noGrad(() => model.loadStateDict({ ...trunkWeights(policy), 'score.weight': new Float32Array(policy.config.nEmbd) }), policy.core);
    normal_(model.score.weight, 0, 0.02);
    return model;
  }

  /**
   * One reward per row: rows of token ids (any lengths <= nPositions) are right-padded with the
   * pad id and scored at each row's last non-padding token. (B). Records gradients unless under noGrad.
   */
  rewards(rows: readonly (readonly number[])[]): Tensor {
    if (!Array.isArray(rows) || rows.length === 0) throw new ValueError('GPTRewardModel.rewards: needs a non-empty array of token-id rows');
    const T = Math.max(...rows.map((r) => r.length));
    if (T === 0) throw new ValueError('GPTRewardModel.rewards: every row is empty');
    if (T > this.config.nPositions) throw new ShapeError('GPTRewardModel', [[rows.length, T]], `a row of ${T} tokens exceeds nPositions ${this.config.nPositions}`);
    const B = rows.length;
    const ids = new Float32Array(B * T).fill(this.padTokenId);
    const mask = new Float32Array(B * T);
    rows.forEach((row, b) => {
      row.forEach((id: number, t: number) => {
        ids[b * T + t] = id;
        mask[b * T + t] = 1;
      });
    });
    const core = this.core;
    return this.rewardsOf(Tensor.from(ids, [B, T], { core }), Tensor.from(mask, [B, T], { core }));
  }

  /** One reward per row of ids (B, T) with its 0/1 attentionMask (B, T): (B). */
  rewardsOf(ids: Tensor, attentionMask: Tensor): Tensor {
    const [B, T] = ids.shape as [number, number];
    const last = lastNonPaddingIndex(ids.toArray(), B, T, this.padTokenId);
    const pick = new Float32Array(B * T);
    last.forEach((t, b) => (pick[b * T + t] = 1));
    const hidden = this.hidden(ids, { attentionMask }); // (B, T, C)
    const perToken = hidden.matmul(this.score.weight, { transB: true }).reshape([B, T]); // (B, T)
    return perToken.mul(Tensor.from(pick, [B, T], { core: this.core })).sum(1); // (B)
  }
}

/** transformers' rule: per row, the rightmost index whose id is not padId (0 when there is none). */
export function lastNonPaddingIndex(ids: ArrayLike<number>, B: number, T: number, padId: number): number[] {
  return Array.from({ length: B }, (_, b) => {
    for (let t = T - 1; t >= 0; t--) if (ids[b * T + t] !== padId) return t;
    return 0;
  });
}
