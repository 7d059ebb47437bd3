import type { FinishReason } from '../nn/generate';

/**
 * Sampling settings, as both the in-process generator and an OpenAI-compatible server take them
 * (vLLM's field names in brackets). The trainer scores the sampled tokens under the same settings,
 * so an engine must apply exactly these.
 */
export interface SamplingParams {
  /** Most new tokens per completion [max_tokens]. */
  maxNewTokens: number;
  /** Softmax temperature; 0 is greedy [temperature]. Default 1. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 is off [top_k: -1 or 0]. Default 0. */
  topK?: number;
  /** Nucleus sampling; 1 is off [top_p]. Default 1. */
  topP?: number;
  /** Seeds the sampling [seed]. */
  seed?: number;
  /** Token ids that end a completion; the stop token is kept in it [stop_token_ids]. */
  stopTokenIds?: readonly number[];
}

/** n completions for each of a batch of token-id prompts. */
export interface CompletionRequest extends SamplingParams {
  /** Token-id prompts, each non-empty. */
  prompts: readonly (readonly number[])[];
  /** Completions per prompt [n]. Default 1. */
  n?: number;
  /** Cancels the request; the engine rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * What an engine returns: one row per completion, prompts.length * n rows, grouped by prompt
 * (rows p*n .. p*n + n - 1 continue prompt p), so GRPO's groups are contiguous.
 */
export interface Completions {
  /** Per row, the index of its prompt in the request. */
  promptIndex: number[];
  /** Per row, the prompt's token ids. */
  promptIds: number[][];
  /** Per row, the sampled token ids (with the stop token when one ended the row). */
  completionIds: number[][];
  /**
   * Per row, the engine's log-prob of each sampled token under the processed distribution
   * (temperature, top-k, top-p applied), one per completion id.
   */
  logProbs: number[][];
  /** False when the engine's log-probs do not belong to these ids (a server that had to be re-tokenised). */
  logProbsUsable: boolean;
  /** 'stop' when a stop token ended the row, 'length' when maxNewTokens did. */
  finishReasons: FinishReason[];
}

/**
 * Where completions come from: the in-process GPT (LocalCompletionEngine) or an
 * OpenAI-compatible server (vLLM, NovaRL's own). Asynchronous, since a remote one is.
 */
export interface CompletionEngine {
  /** Samples request.n completions per prompt. */
  complete(request: CompletionRequest): Promise<Completions>;
}
