// A learned reward model as one of TRL's reward_funcs: scores each prompt + completion with a
// GPTRewardModel, encoded exactly as the reward model was trained (sdk/lm/pair_encoding.ts).

import { noGrad } from '../../core/grad_mode';
import type { NamedRewardFunction } from '../../interfaces/reward_function';
import { encodePairs, type PairTokenizer } from '../../lm/pair_encoding';
import type { GPTRewardModel } from './model';

export interface RewardModelRewardOptions {
  /** Logged as rewards/<name>/mean (default 'reward_model'). */
  name?: string;
  /** Weight in the total reward (default 1). */
  weight?: number;
  /** Prompt tokens kept, the last ones (default half of nPositions: the trainer's default). */
  maxPromptLength?: number;
  /** Completion tokens kept, EOS included (default nPositions - maxPromptLength). */
  maxCompletionLength?: number;
  /** Rows scored per forward pass (default 16). */
  batchSize?: number;
}

/** A NamedRewardFunction whose scores come from `model` (no gradient). */
export function rewardModelReward(model: GPTRewardModel, tokenizer: PairTokenizer, options: RewardModelRewardOptions = {}): NamedRewardFunction {
  const maxPromptLength = options.maxPromptLength ?? Math.floor(model.config.nPositions / 2);
  const lengths = { maxPromptLength, maxCompletionLength: options.maxCompletionLength ?? model.config.nPositions - maxPromptLength };
  const batchSize = options.batchSize ?? 16;
  return {
    name: options.name ?? 'reward_model',
    weight: options.weight ?? 1,
    fn: (prompts, completions) => {
      // the pair encoding with the completion in both slots: one row per completion
      const rows = encodePairs(tokenizer, prompts.map((prompt, i) => ({ prompt, chosen: completions[i]!, rejected: '' })), lengths, 'completions').map((p) => [...p.promptIds, ...p.chosenIds]);
      const scores: number[] = [];
      for (let at = 0; at < rows.length; at += batchSize) {
        // scratch tensors stay until the caller's next endStep (ending the step here could free its own)
        noGrad(() => scores.push(...model.rewards(rows.slice(at, at + batchSize)).toArray()), model.core);
      }
      return scores;
    },
  };
}
