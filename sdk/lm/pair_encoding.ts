// Preference pairs as token ids: the one encoding the reward model and DPO both train on.
//
//   prompt:    the prompt's ids, truncated from the left to maxPromptLength (the end is kept: it
//              is what the completion continues; TRL's truncation_mode "keep_end")
//   completion: the completion's ids, then EOS (TRL appends it), truncated on the right to
//              maxCompletionLength
//
// A pair that carries its token ids (sdk/lm/preference_pairs.ts's PreferencePair: the ids
// buildPreferencePairs sampled, or the ones PreferencePairs made, EOS already appended) is used
// as it is, only truncated; a pair of texts only is tokenised here.
//
// With maxPromptLength + maxCompletionLength <= nPositions, any batch of encoded pairs fits the
// model: prompt + completion as one row (the reward model), or the (B, L + R) SequenceBatch
// layout of DPO, whose L + R - 1 fed columns are at most nPositions.

import { ValueError } from '../core/errors';
import { PreferencePairs } from './preference_pairs';

/** One preference: two completions of the same prompt, the first preferred; texts, and optionally their exact ids. */
export interface PairInput {
  prompt: string;
  chosen: string;
  rejected: string;
  promptIds?: readonly number[];
  chosenIds?: readonly number[];
  rejectedIds?: readonly number[];
}

/** What the trainers take as pairs: a PreferencePairs dataset (every pair, file order) or an array. */
export type PairSource = PreferencePairs | readonly PairInput[];

/** A PreferencePair as token ids. */
export interface EncodedPair {
  promptIds: number[];
  chosenIds: number[];
  rejectedIds: number[];
}

/** What pair encoding needs of a tokenizer (sdk/text's Tokenizer has it). */
export interface PairTokenizer {
  encode(text: string): number[];
  readonly eosTokenId: number | undefined;
}

export interface PairEncodingOptions {
  /** Prompt tokens kept at most (the last ones). */
  maxPromptLength: number;
  /** Completion tokens kept at most, EOS included. */
  maxCompletionLength: number;
  /** Append the tokenizer's EOS to each completion (default true, as TRL does). */
  appendEos?: boolean;
}

/** Checks the pairs' fields (ValueError naming the pair and field) and encodes them. */
export function encodePairs(tokenizer: PairTokenizer, source: PairSource, options: PairEncodingOptions, what = 'pairs'): EncodedPair[] {
  const pairs = source instanceof PreferencePairs ? source.all() : source;
  if (!Array.isArray(pairs)) throw new ValueError(`${what} must be a PreferencePairs dataset or an array of {prompt, chosen, rejected}`);
  const { maxPromptLength, maxCompletionLength } = options;
  const appendEos = options.appendEos ?? true;
  const eos = tokenizer.eosTokenId;
  if (appendEos && eos === undefined) throw new ValueError(`${what}: the tokenizer has no EOS token to append (pass appendEos: false)`);
  return pairs.map((pair, i) => {
    if (typeof pair !== 'object' || pair === null) throw new ValueError(`${what}[${i}] is not an object with prompt, chosen and rejected`);
    for (const field of ['prompt', 'chosen', 'rejected'] as const) {
      if (typeof pair[field] !== 'string') throw new ValueError(`${what}[${i}].${field} must be a string, got ${typeof pair[field]}`);
    }
    const given = (field: 'promptIds' | 'chosenIds' | 'rejectedIds'): number[] | undefined => {
      const ids = pair[field];
      if (ids === undefined) return undefined;
      if (!Array.isArray(ids) || ids.some((id) => !Number.isSafeInteger(id) || id < 0)) throw new ValueError(`${what}[${i}].${field} must be an array of token ids`);
      return [...ids];
    };
    const promptIds = (given('promptIds') ?? tokenizer.encode(pair.prompt)).slice(-maxPromptLength);
    if (promptIds.length === 0) throw new ValueError(`${what}[${i}].prompt encodes to no tokens: a completion needs something to continue`);
    const completion = (field: 'chosen' | 'rejected'): number[] => {
      let ids = given(`${field}Ids`);
      if (ids === undefined) {
        ids = tokenizer.encode(pair[field]);
        if (appendEos) ids.push(eos!);
      }
      if (ids.length === 0) throw new ValueError(`${what}[${i}].${field} has no tokens (and no EOS is appended)`);
      return ids.slice(0, maxCompletionLength);
    };
    return { promptIds, chosenIds: completion('chosen'), rejectedIds: completion('rejected') };
  });
}

/** Checks a maxPromptLength / maxCompletionLength pair against a model's nPositions. */
export function checkPairLengths(config: { maxPromptLength: number; maxCompletionLength: number }, nPositions: number, who: string): void {
  for (const field of ['maxPromptLength', 'maxCompletionLength'] as const) {
    if (!Number.isSafeInteger(config[field]) || config[field] < 1) throw new ValueError(`${who}: ${field} must be an integer >= 1, got ${config[field]}`);
  }
  if (config.maxPromptLength + config.maxCompletionLength > nPositions) {
    throw new ValueError(`${who}: maxPromptLength (${config.maxPromptLength}) + maxCompletionLength (${config.maxCompletionLength}) exceeds the model's nPositions ${nPositions}`);
  }
}
