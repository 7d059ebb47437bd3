// The sentiment reward of the classic RLHF demo (a model learns to write positive text), as its
// own entry, `novarl/sentiment`, so the SDK core keeps no runtime dependencies.
//
//   import { sentimentReward } from 'novarl/sentiment';
//   const rewardFuncs = [sentimentReward()];                      // comparative: score per word
//   const rewardFuncs = [sentimentReward({ measure: 'score' })];  // the plain AFINN sum
//
// Scores come from the `sentiment` npm package (5.0.2, MIT licence, (c) 2016 Andrew Sliwinski),
// which is bundled into this entry's dist file: AFINN-165 word scores from -5 to +5 (and emoji
// scores), with a word after a negator ("not", "don't"...) counted negated. Its tokenizer
// lower-cases, drops punctuation and splits on spaces. A completion with no words scores 0.
// Every score is an integer sum, divided by an integer count for `comparative`: exact IEEE
// operations, so the reward is the same on every runtime. Pure JavaScript with no node: import,
// so it runs in Node, Bun, Deno, browsers and workerd.

import Sentiment from 'sentiment';
// Only the SDK's public entry: the dist bundle imports it as the main bundle (tsup.config.ts).
import { ValueError, type NamedRewardFunction } from '../index';

export interface SentimentRewardOptions {
  /** 'comparative' (default): the AFINN sum divided by the number of words; 'score': the sum itself. */
  measure?: 'comparative' | 'score';
  /** Logged as rewards/<name>/mean. Default 'sentiment'. */
  name?: string;
  /** Weight in the total reward. Default 1. */
  weight?: number;
}

const analyzer = new Sentiment();

/** One text's AFINN-165 sentiment: the sum of its word scores, or that sum per word. */
export function sentimentScore(text: string, measure: 'comparative' | 'score' = 'comparative'): number {
  if (typeof text !== 'string') throw new ValueError(`sentimentScore: text must be a string, got ${typeof text}`);
  const result = analyzer.analyze(text);
  // The package counts the empty token of an empty text as a word; either way the score is 0.
  return measure === 'score' ? result.score : result.comparative;
}

/** A reward function scoring each completion's sentiment (see this file's header). */
export function sentimentReward(options: SentimentRewardOptions = {}): NamedRewardFunction {
  const measure = options.measure ?? 'comparative';
  if (measure !== 'comparative' && measure !== 'score') throw new ValueError(`sentimentReward: measure must be 'comparative' or 'score', got ${String(measure)}`);
  const name = options.name ?? 'sentiment';
  if (typeof name !== 'string' || name === '') throw new ValueError('sentimentReward: name must be a non-empty string');
  if (options.weight !== undefined && !Number.isFinite(options.weight)) throw new ValueError(`sentimentReward: weight must be a finite number, got ${options.weight}`);
  const fn = (_prompts: readonly string[], completions: readonly string[]) => completions.map((c) => sentimentScore(c, measure));
  return options.weight === undefined ? { name, fn } : { name, fn, weight: options.weight };
}
