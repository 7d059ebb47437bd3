// Batched text generation with a KV cache (Hugging Face's generate(), sampling mode).
//
//   prompts ──left pad to L──▶ prefill: one pass over (B, L), keys and values into the cache
//   then one step per new token for the whole batch:
//     logits of the last position (B, V) ── sampleTokens (temperature, top-k, top-p) ──▶ ids
//     ids (B, 1) ── hiddenCached (attends over the cache, adds its own keys and values) ──▶ ...
//
// Prompts of different lengths are left-padded to the longest, L; the attention mask hides the
// padding and each row's positions count only its real tokens (as transformers does), so a
// padded row sees what it would see alone. A row that has produced a stop token is finished: it
// keeps being fed padding (the batch advances together) and what it outputs is ignored. The padding,
// positions and cache bookkeeping is ./cached_decode.ts, which the server's batched decoding shares.
//
// The cache holds persistent (B, H, L + maxNewTokens, D) tensors per layer; generate() frees
// them on return and on error. It runs under noGrad and ends the core's step after every token
// (core.endStep()), so scratch tensors made before the call do not survive it.

import { ValueError } from '../core/errors';
import { noGrad } from '../core/grad_mode';
import { sampleTokens, seed as seedCore } from '../core/random';
import { GPT } from './gpt';
import { CachedDecode } from './cached_decode';

export interface GenerateOptions {
  /** Most tokens to generate per prompt (>= 1); prompt length + maxNewTokens <= nPositions. */
  maxNewTokens: number;
  /** Softmax temperature; 0 is greedy (argmax, draws no random number). Default 1. */
  temperature?: number;
  /** Sample among the k most likely tokens (ties with the k-th kept); 0 (default) is off. */
  topK?: number;
  /** Nucleus sampling: the most likely tokens holding probability p; 1 (default) is off. */
  topP?: number;
  /** Re-seeds the core's generator (seed(n)) before sampling; later draws continue from it. */
  seed?: number;
  /** Token ids that finish a row (the stop token is kept in its completion). */
  stopTokenIds?: readonly number[];
  /** Id fed as left padding and to finished rows (never attended to). Default stopTokenIds[0], else 0. */
  padTokenId?: number;
}

export type FinishReason = 'stop' | 'length';

export interface GenerateResult {
  /** Per prompt, the generated ids (without the prompt; with the stop token when one was hit). */
  completions: number[][];
  /** Log-prob of each generated token under the processed distribution (temperature, top-k, top-p; 0 for greedy). */
  logProbs: number[][];
  /** Log-prob of each generated token under the model's raw distribution, log_softmax(logits). */
  rawLogProbs: number[][];
  /** 'stop' when a stop token ended the row, 'length' when maxNewTokens did. */
  finishReasons: FinishReason[];
  /** L, the longest prompt: every row of `sequences` holds its prompt left-padded to L first. */
  promptLength: number;
  /** (B, L + steps) left-padded prompt then completion, padTokenId after a stop: for scoring the batch again. */
  sequences: number[][];
  /** (B, L + steps) 1 at real prompt and completion tokens, 0 at padding (left, and after a stop). */
  attentionMask: number[][];
}

/** Samples continuations of token-id prompts from a GPT, the whole batch one token per step. */
export function generate(model: GPT, prompts: readonly (readonly number[])[], options: GenerateOptions): GenerateResult {
  if (!(model instanceof GPT)) throw new ValueError('generate: model must be a GPT (sdk/nn/gpt.ts)');
  const { vocabSize, nPositions } = model.config;
  const { maxNewTokens, temperature = 1, topK = 0, topP = 1, stopTokenIds = [] } = checkOptions(options, vocabSize);
  const padTokenId = options.padTokenId ?? stopTokenIds[0] ?? 0;
  checkPrompts(prompts, vocabSize);
  const B = prompts.length;
  const L = Math.max(...prompts.map((p) => p.length));
  if (L + maxNewTokens > nPositions) {
    throw new ValueError(`generate: the longest prompt (${L} tokens) + maxNewTokens (${maxNewTokens}) exceeds the model's nPositions (${nPositions})`);
  }
  const stops = new Set(stopTokenIds);
  const core = model.core;
  if (options.seed !== undefined) seedCore(options.seed, core);

  const completions: number[][] = prompts.map(() => []);
  const logProbs: number[][] = prompts.map(() => []);
  const rawLogProbs: number[][] = prompts.map(() => []);
  const finishReasons: FinishReason[] = prompts.map(() => 'length');
  const done = prompts.map(() => false);

  const decode = new CachedDecode(model, prompts, padTokenId, maxNewTokens);
  try {
    noGrad(() => {
      let logits = decode.prefill(); // (B, V)
      for (let step = 0; step < maxNewTokens; step++) {
        const sampled = sampleTokens(logits, { temperature, topK, topP });
        const ids = sampled.ids.view(), lp = sampled.logProbs.view(), raw = sampled.rawLogProbs.view();
        const live = done.map((d) => !d); // a finished row is fed padding, masked out
        for (let b = 0; b < B; b++) {
          if (!live[b]) continue;
          completions[b]!.push(ids[b]!);
          logProbs[b]!.push(lp[b]!);
          rawLogProbs[b]!.push(raw[b]!);
          if (stops.has(ids[b]!)) {
            done[b] = true;
            finishReasons[b] = 'stop';
          }
        }
        decode.append(Array.from(ids), live);
        core.endStep();
        if (step === maxNewTokens - 1 || done.every(Boolean)) break;
        logits = decode.next();
      }
    }, core);
  } finally {
    decode.free();
    core.endStep();
  }
  return { completions, logProbs, rawLogProbs, finishReasons, promptLength: L, sequences: decode.sequences, attentionMask: decode.attentionMask };
}

function checkOptions(options: GenerateOptions, vocabSize: number): GenerateOptions {
  if (typeof options !== 'object' || options === null) throw new ValueError('generate: options must be an object with at least maxNewTokens');
  const { maxNewTokens, temperature = 1, topK = 0, topP = 1, seed, stopTokenIds = [], padTokenId } = options;
  if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens < 1) throw new ValueError(`generate: maxNewTokens must be an integer >= 1, got ${String(maxNewTokens)}`);
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) throw new ValueError(`generate: temperature must be a finite number >= 0 (0: greedy), got ${String(temperature)}`);
  if (!Number.isSafeInteger(topK) || topK < 0) throw new ValueError(`generate: topK must be an integer >= 0 (0: off), got ${String(topK)}`);
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw new ValueError(`generate: topP must be in (0, 1] (1: off), got ${String(topP)}`);
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) throw new ValueError(`generate: seed must be an integer in [0, 2^53), got ${String(seed)}`);
  if (!Array.isArray(stopTokenIds)) throw new ValueError('generate: stopTokenIds must be an array of token ids');
  for (const id of stopTokenIds) checkId('stopTokenIds', id, vocabSize);
  if (padTokenId !== undefined) checkId('padTokenId', padTokenId, vocabSize);
  return options;
}

function checkPrompts(prompts: readonly (readonly number[])[], vocabSize: number): void {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new ValueError('generate: prompts must be a non-empty array of token-id arrays');
  prompts.forEach((prompt, b) => {
    if (!Array.isArray(prompt)) throw new ValueError(`generate: prompt ${b} is not an array of token ids`);
    if (prompt.length === 0) throw new ValueError(`generate: prompt ${b} is empty (a GPT needs at least one token to condition on)`);
    prompt.forEach((id, t) => checkId(`prompt ${b} token ${t}`, id, vocabSize));
  });
}

function checkId(what: string, id: unknown, vocabSize: number): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new ValueError(`generate: ${what} is ${String(id)}, not a token id in [0, ${vocabSize})`);
  }
}
