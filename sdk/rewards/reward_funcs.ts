// Scoring completions with several reward functions, as TRL's reward_funcs: each function gives
// one number per completion, and the total is their weighted sum (weights default 1), in the
// order the functions are listed (a fixed order, so the sum is the same on every runtime).
//
//   const { total, perFunction } = await scoreRewards(
//     [sentimentReward(), lengthReward({ target: 24, scale: 24, weight: 0.1 })],
//     rollout.promptTexts, rollout.completionTexts, rollout.extra);
//   // perFunction.sentiment[i], perFunction.length[i]; total[i] = sentiment + 0.1 * length
//
// A function that throws, returns something other than one finite number per completion, is
// refused with a RewardFunctionError naming it, the row and the value, so a trainer stops before
// any parameter changes instead of training on NaN.

import { RewardFunctionError, ValueError } from '../core/errors';
import type { NamedRewardFunction, RewardExtra } from '../interfaces/reward_function';

/** Each function's rewards and their weighted sum, one entry per completion. */
export interface ScoredRewards {
  /** Per completion, sum over functions of weight * reward. */
  total: number[];
  /** Per function name, its (unweighted) rewards. */
  perFunction: Record<string, number[]>;
}

/** Checks a list of reward functions: non-empty, unique non-empty names, functions, finite weights. */
export function checkRewardFuncs(funcs: readonly NamedRewardFunction[], where = 'scoreRewards'): void {
  if (!Array.isArray(funcs) || funcs.length === 0) throw new ValueError(`${where}: rewardFuncs must be a non-empty array of {name, fn, weight?}`);
  const names = new Set<string>();
  funcs.forEach((f, i) => {
    if (typeof f !== 'object' || f === null) throw new ValueError(`${where}: rewardFuncs[${i}] must be an object {name, fn, weight?}`);
    if (typeof f.name !== 'string' || f.name === '') throw new ValueError(`${where}: rewardFuncs[${i}].name must be a non-empty string, got ${JSON.stringify(f.name)}`);
    if (names.has(f.name)) throw new ValueError(`${where}: two reward functions are named '${f.name}'; names must be unique (they key rewards/<name>/mean)`);
    names.add(f.name);
    if (typeof f.fn !== 'function') throw new ValueError(`${where}: reward function '${f.name}' has no fn`);
    if (f.weight !== undefined && (typeof f.weight !== 'number' || !Number.isFinite(f.weight))) {
      throw new ValueError(`${where}: reward function '${f.name}' has weight ${String(f.weight)}; a weight must be a finite number`);
    }
  });
}

/**
 * Calls every function (one after the other, awaiting async ones) on the completions and
 * returns each one's rewards and the weighted total. `prompts[i]` is the prompt of
 * `completions[i]` (a prompt repeats for its n completions).
 */
export async function scoreRewards(funcs: readonly NamedRewardFunction[], prompts: readonly string[], completions: readonly string[], extra: RewardExtra): Promise<ScoredRewards> {
  checkRewardFuncs(funcs);
  if (!Array.isArray(prompts) || !Array.isArray(completions)) throw new ValueError('scoreRewards: prompts and completions must be arrays of strings');
  if (prompts.length !== completions.length) throw new ValueError(`scoreRewards: ${prompts.length} prompts but ${completions.length} completions; give one prompt per completion`);
  const rows = completions.length;
  const total = new Array<number>(rows).fill(0);
  const perFunction: Record<string, number[]> = {};
  for (const f of funcs) {
    const rewards = await callRewardFunction(f, prompts, completions, extra);
    const weight = f.weight ?? 1;
    for (let i = 0; i < rows; i++) total[i] = total[i]! + weight * rewards[i]!;
    perFunction[f.name] = rewards;
  }
  return { total, perFunction };
}

/** One function's rewards, checked: a plain array of `completions.length` finite numbers. */
async function callRewardFunction(f: NamedRewardFunction, prompts: readonly string[], completions: readonly string[], extra: RewardExtra): Promise<number[]> {
  let result: unknown;
  try {
    result = await f.fn(prompts, completions, extra);
  } catch (error) {
    throw new RewardFunctionError(`reward function '${f.name}' threw: ${error instanceof Error ? error.message : String(error)}`, f.name, 'threw', undefined, { cause: error });
  }
  const isNumberArray = Array.isArray(result) || (ArrayBuffer.isView(result) && !(result instanceof DataView));
  if (!isNumberArray) throw new RewardFunctionError(`reward function '${f.name}' returned ${describe(result)}, not an array of numbers`, f.name, 'not-array');
  const values = Array.from(result as ArrayLike<unknown>);
  if (values.length !== completions.length) {
    throw new RewardFunctionError(`reward function '${f.name}' returned ${values.length} rewards for ${completions.length} completions`, f.name, 'wrong-length');
  }
  values.forEach((v, row) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RewardFunctionError(`reward function '${f.name}' gave row ${row} the reward ${describe(v)}; rewards must be finite numbers`, f.name, 'not-finite', row);
  });
  return values as number[];
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  if (typeof v === 'bigint') return `the bigint ${v}n`;
  if (typeof v === 'object') return v === null ? 'null' : Array.isArray(v) ? 'an array' : `an object (${Object.prototype.toString.call(v)})`;
  return typeof v;
}
