// Scores one generation batch with every reward function (TRL's _calculate_rewards): each
// function's rewards checked (one finite number per row) and named in the error when not, and the
// weighted total. Nothing in the trainer has changed when this throws.

import { NovaRLError } from '../../core/errors';
import type { NamedRewardFunction, RewardExtra } from '../../interfaces/reward_function';

/** A reward function threw, returned the wrong number of rewards, or a non-finite one. */
export class RewardError extends NovaRLError {
  override name = 'RewardError';
  constructor(
    message: string,
    /** The reward function's name. */
    readonly rewardName: string,
  ) {
    super(message);
  }
}

export interface ScoredRewards {
  /** Per row, sum of weight x reward. */
  total: number[];
  /** Per function name, its rewards (unweighted). */
  perFunction: Record<string, number[]>;
}

export async function scoreRewards(funcs: readonly NamedRewardFunction[], prompts: readonly string[], completions: readonly string[], extra: RewardExtra): Promise<ScoredRewards> {
  const total = new Array<number>(completions.length).fill(0);
  const perFunction: Record<string, number[]> = {};
  for (const { name, fn, weight = 1 } of funcs) {
    let out: readonly number[];
    try {
      out = await fn(prompts, completions, extra);
    } catch (error) {
      throw new RewardError(`reward function '${name}' threw: ${error instanceof Error ? error.message : String(error)}`, name);
    }
    if (!Array.isArray(out) || out.length !== completions.length) {
      throw new RewardError(`reward function '${name}' returned ${Array.isArray(out) ? out.length + ' rewards' : String(out)} for ${completions.length} completions`, name);
    }
    const bad = out.findIndex((r) => typeof r !== 'number' || !Number.isFinite(r));
    if (bad >= 0) throw new RewardError(`reward function '${name}' returned ${String(out[bad])} for completion ${bad}`, name);
    perFunction[name] = [...out];
    out.forEach((r, i) => (total[i]! += weight * r));
  }
  return { total, perFunction };
}
