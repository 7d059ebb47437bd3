// Metrics every language-model trainer (GRPO, RLOO, LM PPO) logs under TRL's names.

import type { LmRollout } from '../../lm/rollout';
import type { ScoredRewards } from '../../rewards/reward_funcs';
import { mean } from '../grpo/advantages';

/** reward, reward_std, rewards/<name>/mean and /std; `spread` is the trainer's standard deviation (TRL's GRPO: unbiased, PPO: population). */
export function rewardMetrics(scored: ScoredRewards, spread: (xs: readonly number[]) => number): Record<string, number> {
  const out: Record<string, number> = { reward: mean(scored.total), reward_std: spread(scored.total) };
  for (const [name, rewards] of Object.entries(scored.perFunction)) {
    out[`rewards/${name}/mean`] = mean(rewards);
    out[`rewards/${name}/std`] = spread(rewards);
  }
  return out;
}

/** How far the engine's log-probs were from the policy's (only for an off-policy engine; {} otherwise). */
export function engineMetrics(rollout: LmRollout): Record<string, number> {
  if (!rollout.offPolicy) return {};
  return {
    'engine/logprob_delta_mean': rollout.offPolicy.deltaMean,
    'engine/logprob_delta_max': rollout.offPolicy.deltaMax,
    'engine/ratio_min': rollout.offPolicy.ratioMin,
    'engine/ratio_max': rollout.offPolicy.ratioMax,
  };
}
