// Small built-in reward functions for token-level RLHF, each a factory returning a
// NamedRewardFunction (TRL's reward_funcs entries). They use only string operations and exact
// IEEE arithmetic (+ - * / and Math.abs), so they score the same on every runtime.
//
//   ruleReward('polite', (prompt, completion) => (completion.includes('please') ? 1 : 0))
//   lengthReward({ target: 24, scale: 24 })     // -|tokens - 24| / 24
//   exactMatchReward()                          // 1 when the first line equals the entry's `answer`
//   eosReward()                                 // 1 when the completion ended with a stop token

import { ValueError } from '../core/errors';
import type { NamedRewardFunction, RewardExtra } from '../interfaces/reward_function';

/** What every built-in takes besides its own settings. */
export interface RewardOptions {
  /** The name it is logged under (rewards/<name>/mean). Each built-in has a default. */
  name?: string;
  /** Its weight in the total reward. Default 1. */
  weight?: number;
}

function named(defaultName: string, options: RewardOptions, fn: NamedRewardFunction['fn']): NamedRewardFunction {
  const name = options.name ?? defaultName;
  if (typeof name !== 'string' || name === '') throw new ValueError(`${defaultName} reward: name must be a non-empty string`);
  if (options.weight !== undefined && !Number.isFinite(options.weight)) throw new ValueError(`${name} reward: weight must be a finite number, got ${options.weight}`);
  return options.weight === undefined ? { name, fn } : { name, fn, weight: options.weight };
}

/**
 * A per-row rule: `rule(prompt, completion, fields)` gives one completion's reward, where
 * `fields` are its prompt entry's other fields (e.g. `answer`).
 */
export function ruleReward(name: string, rule: (prompt: string, completion: string, fields: Readonly<Record<string, unknown>>) => number, options: Omit<RewardOptions, 'name'> = {}): NamedRewardFunction {
  if (typeof rule !== 'function') throw new ValueError(`ruleReward('${name}'): rule must be a function (prompt, completion, fields) => number`);
  return named(name, { ...options, name }, (prompts, completions, extra) => completions.map((completion, i) => rule(prompts[i]!, completion, extra.fields[i] ?? {})));
}

export interface LengthRewardOptions extends RewardOptions {
  /** The length that scores 0 (the best). */
  target: number;
  /** Lengths `scale` away from the target score -1. Default: target (or 1 when target is 0). */
  scale?: number;
  /**
   * 'tokens' (default): completion tokens, not counting the stop token that ended the row;
   * 'characters': Unicode code points of the completion text.
   */
  unit?: 'tokens' | 'characters';
}

/** -|length - target| / scale: 0 at the target length, more negative the further from it. Default name 'length'. */
export function lengthReward(options: LengthRewardOptions): NamedRewardFunction {
  const { target, unit = 'tokens' } = options;
  if (!Number.isFinite(target) || target < 0) throw new ValueError(`lengthReward: target must be a non-negative number, got ${target}`);
  const scale = options.scale ?? (target > 0 ? target : 1);
  if (!Number.isFinite(scale) || scale <= 0) throw new ValueError(`lengthReward: scale must be a positive number, got ${scale}`);
  if (unit !== 'tokens' && unit !== 'characters') throw new ValueError(`lengthReward: unit must be 'tokens' or 'characters', got ${String(unit)}`);
  return named('length', options, (_prompts, completions, extra) =>
    completions.map((completion, i) => {
      const length = unit === 'characters' ? [...completion].length : completionTokens(extra, i);
      return (0 - Math.abs(length - target)) / scale; // 0 - x, not -x: the target scores +0, not -0
    }),
  );
}

/** Row i's completion tokens without the stop token that ended it. */
function completionTokens(extra: RewardExtra, i: number): number {
  const ids = extra.completionIds?.[i];
  if (ids === undefined) throw new ValueError(`lengthReward: extra.completionIds has no row ${i}; count characters instead (unit: 'characters')`);
  return extra.finishReasons?.[i] === 'stop' ? ids.length - 1 : ids.length;
}

export interface MatchRewardOptions extends RewardOptions {
  /** Compare without regard to case. Default false. */
  ignoreCase?: boolean;
}

/** 1 when the completion contains `text`, else 0. Default name 'contains'. */
export function containsReward(text: string, options: MatchRewardOptions = {}): NamedRewardFunction {
  if (typeof text !== 'string' || text === '') throw new ValueError('containsReward: text must be a non-empty string');
  const needle = options.ignoreCase ? text.toLowerCase() : text;
  return named('contains', options, (_prompts, completions) => completions.map((c) => ((options.ignoreCase ? c.toLowerCase() : c).includes(needle) ? 1 : 0)));
}

/** 1 when `pattern` matches somewhere in the completion, else 0. Default name 'regex'. */
export function regexReward(pattern: RegExp, options: RewardOptions = {}): NamedRewardFunction {
  if (!(pattern instanceof RegExp)) throw new ValueError('regexReward: pattern must be a RegExp');
  // Without the g and y flags test() keeps no lastIndex, so rows do not affect each other.
  const regex = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return named('regex', options, (_prompts, completions) => completions.map((c) => (regex.test(c) ? 1 : 0)));
}

/**
 * For verifiable tasks: 1 when the completion's first line, trimmed, equals the prompt entry's
 * `field` (as a string, trimmed), else 0. A row whose entry lacks the field makes the function
 * throw (scoreRewards reports it as a RewardFunctionError). Default name 'exact_match'.
 */
export function exactMatchReward(field = 'answer', options: MatchRewardOptions = {}): NamedRewardFunction {
  const fold = (s: string) => (options.ignoreCase ? s.toLowerCase() : s);
  return named('exact_match', options, (_prompts, completions, extra) =>
    completions.map((completion, i) => {
      const expected = extra.fields[i]?.[field];
      if (expected === undefined || expected === null) throw new ValueError(`exactMatchReward: row ${i}'s prompt entry has no field "${field}"`);
      const firstLine = completion.split('\n', 1)[0]!.trim();
      return fold(firstLine) === fold(String(expected).trim()) ? 1 : 0;
    }),
  );
}

/** 1 when the completion ended with a stop token (finish reason 'stop'), 0 when it ran out of length. Default name 'eos'. */
export function eosReward(options: RewardOptions = {}): NamedRewardFunction {
  return named('eos', options, (_prompts, completions, extra) =>
    completions.map((_c, i) => {
      const reason = extra.finishReasons?.[i];
      if (reason === undefined) throw new ValueError(`eosReward: extra.finishReasons has no row ${i}`);
      return reason === 'stop' ? 1 : 0;
    }),
  );
}
