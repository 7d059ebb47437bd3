// Scoring completions with several named reward functions (TRL's reward_funcs with
// reward_weights): each function's values are checked (one finite number per completion) and
// kept for its `rewards/<name>/mean`; the total is the weighted sum. A function that throws,
// returns the wrong length or a non-finite value is a RewardFunctionError naming it.

import { NovaRLError, ValueError } from '../../core/errors';
import type { NamedRewardFunction, RewardExtra } from '../../interfaces/reward_function';

/** A reward function failed: it threw, or returned the wrong number of values, or a non-finite one. */
export class RewardFunctionError extends NovaRLError {
  override name = 'RewardFunctionError';
  constructor(
    message: string,
    /** The function's name. */
    readonly rewardFunction: string,
  ) {
    super(message);
  }
}

export interface ScoredRewards {
  /** Per row, sum of weight x value over the functions. */
  total: number[];
  /** Per function name, its raw values. */
  perFunction: Record<string, number[]>;
}

/** Calls every function (in order) on the batch's texts; see the file comment. */
export async function scoreRewardFunctions(funcs: readonly NamedRewardFunction[], prompts: readonly string[], completions: readonly string[], extra: RewardExtra): Promise<ScoredRewards> {
  const total = new Array<number>(completions.length).fill(0);
  const perFunction: Record<string, number[]> = {};
  for (const { name, fn, weight = 1 } of funcs) {
    let values: readonly number[];
    try {
      values = await fn(prompts, completions, extra);
    } catch (error) {
      throw new RewardFunctionError(`reward function '${name}' threw: ${error instanceof Error ? error.message : String(error)}`, name);
    }
    if (!Array.isArray(values) || values.length !== completions.length) {
      throw new RewardFunctionError(`reward function '${name}' returned ${Array.isArray(values) ? `${values.length} values` : typeof values} for ${completions.length} completions`, name);
    }
    values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new RewardFunctionError(`reward function '${name}' returned ${String(v)} for completion ${i}`, name);
    });
    perFunction[name] = [...values];
    for (let i = 0; i < total.length; i++) total[i] = total[i]! + weight * values[i]!;
  }
  return { total, perFunction };
}

/** The functions' names are unique and non-empty, their weights finite; fn is callable. */
export function checkRewardFunctions(funcs: readonly NamedRewardFunction[]): void {
  if (!Array.isArray(funcs) || funcs.length === 0) throw new ValueError('rewardFuncs must be a non-empty array of { name, fn, weight? }');
  const seen = new Set<string>();
  for (const [i, f] of funcs.entries()) {
    if (!f || typeof f.name !== 'string' || f.name === '' || typeof f.fn !== 'function') throw new ValueError(`rewardFuncs[${i}] must be { name: non-empty string, fn: function, weight?: number }`);
    if (seen.has(f.name)) throw new ValueError(`rewardFuncs: the name '${f.name}' is used twice`);
    if (f.weight !== undefined && !Number.isFinite(f.weight)) throw new ValueError(`rewardFuncs '${f.name}': weight must be a finite number, got ${f.weight}`);
    seen.add(f.name);
  }
}
