import type { FinishReason } from '../nn/generate';

/**
 * What a reward function sees besides the texts (TRL's `**kwargs` of reward_funcs): per
 * completion row, the dataset's other fields of its prompt (e.g. `answer` for a checker), and
 * the token-level facts.
 */
export interface RewardExtra {
  /** Per row, the prompt entry's fields other than the prompt itself (e.g. { answer: '42' }). */
  fields: readonly Readonly<Record<string, unknown>>[];
  /** Per row, the index of its prompt in this batch (rows of one prompt are contiguous). */
  promptIndex: readonly number[];
  /** Per row, the completion's token ids. */
  completionIds: readonly (readonly number[])[];
  /** Per row, 'stop' (ended with a stop token) or 'length'. */
  finishReasons: readonly FinishReason[];
}

/**
 * A reward function as in TRL's reward_funcs: one finite number per completion, given the
 * prompt and completion texts (one entry per row), plain or async.
 */
export type RewardFunction = (prompts: readonly string[], completions: readonly string[], extra: RewardExtra) => readonly number[] | Promise<readonly number[]>;

/** A reward function with the name it is logged under (`rewards/<name>/mean`) and its weight in the sum. */
export interface NamedRewardFunction {
  name: string;
  fn: RewardFunction;
  /** Weight in the total reward (default 1). */
  weight?: number;
}

/** One prompt as the rollout takes it: its text, its token ids, and the rest of its dataset entry. */
export interface PromptRow {
  text: string;
  ids: readonly number[];
  /** The entry's other fields, handed to reward functions as extra.fields. */
  fields: Readonly<Record<string, unknown>>;
}
