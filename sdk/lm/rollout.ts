// One generation batch for token-level RLHF, shared by every on-policy trainer (PPO, GRPO, RLOO):
//
//   prompts ── engine.complete (n per prompt) ──▶ completion ids + the engine's log-probs
//           ── SequenceBatch (B, L + R) in the core
//           ── policy forward, noGrad ──▶ old log-probs (B, R) [and values (B, R)]   (the trainer's own, as TRL recomputes them)
//           ── reference forward, noGrad ──▶ reference log-probs (B, R)            (when there is a reference)
//           ── decode ──▶ prompt and completion texts for the reward functions
//
// The engine's log-probs are kept beside the recomputed ones: their difference is the
// off-policy gap (a remote engine, other weights, other sampling settings), logged as
// `engine/logprob_delta_*` and corrected, if asked, by truncated importance sampling.

import { ValueError } from '../core/errors';
import { noGrad } from '../core/grad_mode';
import { Tensor } from '../core/tensor';
import type { CompletionEngine, Completions, SamplingParams } from '../interfaces/completion_engine';
import type { PromptRow, RewardExtra } from '../interfaces/reward_function';
import type { GPT } from '../nn/gpt';
import type { Tokenizer } from '../text/tokenizer';
import { responseForward, SequenceBatch } from './sequence_batch';

export interface LmRolloutOptions {
  engine: CompletionEngine;
  /** The policy being trained: scores the sampled tokens (old log-probs) and, with a value head, their values. */
  policy: GPT;
  /** The frozen reference; none: no reference log-probs (beta = 0). */
  reference?: GPT;
  tokenizer: Tokenizer;
  prompts: readonly PromptRow[];
  /** Completions per prompt (GRPO's group size). */
  n: number;
  sampling: SamplingParams;
  /** Id of the padding in the batch (default: the tokenizer's pad, else its EOS, else 0). */
  padTokenId?: number;
  /** Also compute the policy's values (PPO with a value head). */
  values?: boolean;
  signal?: AbortSignal;
}

/** The off-policy gap between the engine's log-probs and the trainer's, over response tokens. */
export interface OffPolicyStats {
  /** mean |logp_trainer - logp_engine| */
  deltaMean: number;
  /** max |logp_trainer - logp_engine| */
  deltaMax: number;
  /** min and max of exp(logp_trainer - logp_engine) */
  ratioMin: number;
  ratioMax: number;
}

export interface LmRollout {
  completions: Completions;
  batch: SequenceBatch;
  /** Per row, the prompt text and the decoded completion (special tokens dropped). */
  promptTexts: string[];
  completionTexts: string[];
  /** What reward functions get besides the texts. */
  extra: RewardExtra;
  /** (B, R) the policy's log-probs of the sampled tokens, at the sampling temperature. Persistent. */
  oldLogProbs: Tensor;
  /** (B, R) the engine's log-probs (0 at padding); undefined when the engine's are unusable. Persistent. */
  engineLogProbs?: Tensor;
  /** (B, R) the reference's log-probs, when there is a reference. Persistent. */
  refLogProbs?: Tensor;
  /** (B, R) the value head's estimates, when asked for. Persistent. */
  values?: Tensor;
  /** The engine-trainer gap, when the engine's log-probs are usable. */
  offPolicy?: OffPolicyStats;
  /** Wall time of the engine call and of the scoring passes. */
  generationSeconds: number;
  scoringSeconds: number;
  free(): void;
}

/** Generates, lays out and scores one batch; the caller frees it. */
export async function collectLmRollout(options: LmRolloutOptions): Promise<LmRollout> {
  const { engine, policy, reference, tokenizer, prompts, n, sampling } = options;
  if (!Array.isArray(prompts) || prompts.length === 0) throw new ValueError('collectLmRollout: prompts must be a non-empty array of PromptRow');
  const core = policy.core;
  const padTokenId = options.padTokenId ?? tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
  const temperature = sampling.temperature ?? 1;

  const started = performance.now();
  const completions = await engine.complete({ ...sampling, prompts: prompts.map((p) => p.ids), n, signal: options.signal });
  const generated = performance.now();
  const B = completions.completionIds.length;
  if (B !== prompts.length * n) throw new ValueError(`collectLmRollout: the engine returned ${B} completions for ${prompts.length} prompts x n = ${n}`);

  const batch = SequenceBatch.fromRows(completions, padTokenId, core);
  const owned: Tensor[] = [];
  const keep = (t: Tensor) => {
    const p = Tensor.from(t.view(), t.shape, { core, persistent: true });
    owned.push(p);
    return p;
  };
  try {
    const score = (model: GPT, values: boolean) => responseForward(model, batch.ids, batch.attentionMask, batch.responseIds, { temperature: temperature > 0 ? temperature : 1, values });
    const { oldLogProbs, values } = noGrad(() => {
      const out = score(policy, options.values ?? false);
      return { oldLogProbs: keep(out.logProbs), values: out.values && keep(out.values) };
    }, core);
    core.endStep();
    const refLogProbs = reference ? noGrad(() => keep(score(reference, false).logProbs), core) : undefined;
    core.endStep();
    const R = batch.responseLength;
    const engineRows = completions.logProbsUsable ? padRows(completions.logProbs, R) : undefined;
    const engineLogProbs = engineRows && keep(Tensor.from(engineRows, [B, R], { core }));
    const offPolicy = engineRows && offPolicyStats(oldLogProbs.view(), engineRows, batch.responseMask.view());
    const rowPrompt = completions.promptIndex.map((p) => prompts[p]!);
    const decode = (ids: readonly number[]) => tokenizer.decode(ids, { skipSpecialTokens: true });
    return {
      completions,
      batch,
      promptTexts: rowPrompt.map((p) => p.text),
      completionTexts: completions.completionIds.map(decode),
      extra: { fields: rowPrompt.map((p) => p.fields), promptIndex: completions.promptIndex, completionIds: completions.completionIds, finishReasons: completions.finishReasons },
      oldLogProbs,
      engineLogProbs,
      refLogProbs,
      values,
      offPolicy,
      generationSeconds: (generated - started) / 1000,
      scoringSeconds: (performance.now() - generated) / 1000,
      free() {
        batch.free();
        for (const t of owned) t.free();
      },
    };
  } catch (error) {
    batch.free();
    for (const t of owned) t.free();
    throw error;
  }
}

/**
 * Truncated importance sampling (TRL's and verl's vLLM correction): per token
 * min(exp(logp_trainer - logp_engine), cap), (B, R), to multiply into the token losses when the
 * engine sampled from other weights or other settings. Computed in the core (exp is the core's).
 */
export function truncatedImportanceWeights(oldLogProbs: Tensor, engineLogProbs: Tensor, cap: number): Tensor {
  if (!(cap >= 1 && Number.isFinite(cap))) throw new ValueError(`truncatedImportanceWeights: cap must be a finite number >= 1, got ${cap}`);
  return noGrad(() => oldLogProbs.sub(engineLogProbs).exp().minimum(cap), oldLogProbs.core);
}

function padRows(rows: readonly (readonly number[])[], R: number): Float32Array {
  const out = new Float32Array(rows.length * R);
  rows.forEach((row, b) => row.forEach((x, t) => (out[b * R + t] = x)));
  return out;
}

// Host statistics for logging only (they feed nothing back into training, so host exp is fine here).
function offPolicyStats(trainer: Float32Array, engine: Float32Array, mask: Float32Array): OffPolicyStats {
  let sum = 0, count = 0, max = 0, ratioMin = Infinity, ratioMax = -Infinity;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    const d = trainer[i]! - engine[i]!;
    sum += Math.abs(d);
    max = Math.max(max, Math.abs(d));
    const r = Math.exp(d);
    ratioMin = Math.min(ratioMin, r);
    ratioMax = Math.max(ratioMax, r);
    count++;
  }
  return count === 0 ? { deltaMean: 0, deltaMax: 0, ratioMin: 1, ratioMax: 1 } : { deltaMean: sum / count, deltaMax: max, ratioMin, ratioMax };
}
