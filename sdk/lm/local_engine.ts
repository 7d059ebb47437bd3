// The in-process rollout engine: n completions per prompt from a GPT with generate() (the KV
// cache in the core), in the row order every engine uses (prompt p's n rows together).

import { ValueError } from '../core/errors';
import type { CompletionEngine, CompletionRequest, Completions } from '../interfaces/completion_engine';
import { generate } from '../nn/generate';
import type { GPT } from '../nn/gpt';

export interface LocalCompletionEngineOptions {
  /** Id fed as left padding and to finished rows (never attended to). Default the first stop token, else 0. */
  padTokenId?: number;
}

/**
 * Samples from the policy itself, so its log-probs are the trainer's own (up to the last bits
 * of a cached versus a full forward pass).
 *
 * @example
 * const engine = new LocalCompletionEngine(policy);
 * const out = await engine.complete({ prompts, n: 4, maxNewTokens: 24, temperature: 1, stopTokenIds: [eos] });
 */
export class LocalCompletionEngine implements CompletionEngine {
  constructor(
    readonly model: GPT,
    readonly options: LocalCompletionEngineOptions = {},
  ) {}

  async complete(request: CompletionRequest): Promise<Completions> {
    request.signal?.throwIfAborted();
    const n = request.n ?? 1;
    if (!Number.isSafeInteger(n) || n < 1) throw new ValueError(`LocalCompletionEngine: n must be an integer >= 1, got ${String(n)}`);
    if (!Array.isArray(request.prompts) || request.prompts.length === 0) throw new ValueError('LocalCompletionEngine: prompts must be a non-empty array of token-id arrays');
    const promptIndex = request.prompts.flatMap((_, p) => Array<number>(n).fill(p));
    const promptIds = promptIndex.map((p) => [...request.prompts[p]!]);
    const { maxNewTokens, temperature, topK, topP, seed, stopTokenIds } = request;
    const out = generate(this.model, promptIds, { maxNewTokens, temperature, topK, topP, seed, stopTokenIds, padTokenId: this.options.padTokenId });
    return { promptIndex, promptIds, completionIds: out.completions, logProbs: out.logProbs, logProbsUsable: true, finishReasons: out.finishReasons };
  }
}
