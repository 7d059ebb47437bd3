// The single-turn RLHF run the playground trains: the same dataset, model and PPO settings as
// examples/ppo_rlhf_single_turn.ts, built the same way in the same order, so one seed gives
// bit-identical numbers in the page and in Node (tests/playground.test.ts checks this).
// The page may change four settings: seed, klCoef, klTarget, clipRange.

import { ActorCritic, PPOTrainer, PreferenceDataset, SingleTurnPreferenceEnvironment, Tensor, noGrad, seed } from '../../../sdk/index';
import { DATA, RESPONSES, RLHF_PPO } from '../../rlhf_data';
import type { RunConfig } from './messages';

export const UPDATES = 60;
export { DATA, RESPONSES };

export const defaultRunConfig: RunConfig = { seed: 7, klCoef: 0.3, klTarget: 1.0, clipRange: 0.2 };

/** Prompts served per step, as examples/ppo_rlhf_single_turn.ts (its PPO settings are rlhf_data.ts RLHF_PPO). */
const NUM_ENVS = 16;

export interface Run {
  trainer: PPOTrainer;
  policy: ActorCritic;
  dataset: PreferenceDataset;
  env: SingleTurnPreferenceEnvironment;
  /** One-hot observations of every prompt, for the probability bars: (prompts, prompts). */
  allPrompts: Float32Array;
}

/** Builds the environment, actor-critic and trainer on the current default core. */
export function createRun(c: RunConfig): Run {
  seed(c.seed);
  const dataset = PreferenceDataset.fromEntries(DATA);
  const env = new SingleTurnPreferenceEnvironment({ dataset, numEnvs: NUM_ENVS, seed: c.seed });
  const policy = new ActorCritic({ observationSize: env.observationSize, actionCount: env.actionCount, hidden: [32] });
  const trainer = new PPOTrainer({
    env,
    policy,
    referenceModel: 'copy',
    config: { seed: c.seed, ...RLHF_PPO, clipRange: c.clipRange, klCoef: c.klCoef, klTarget: c.klTarget },
  });
  const allPrompts = new Float32Array(dataset.size * env.observationSize);
  for (let i = 0; i < dataset.size; i++) dataset.encode(i, allPrompts, i * env.observationSize);
  return { trainer, policy, dataset, env, allPrompts };
}

/** The policy's response probabilities for every prompt: one row of `actionCount` per prompt. */
export function responseProbabilities(run: Run): number[][] {
  const flat = noGrad(() => {
    const logits = run.policy.logits(Tensor.from(run.allPrompts, [run.dataset.size, run.env.observationSize]));
    return logits.softmax().toArray(); // (prompts, actions)
  });
  run.trainer.core.endStep();
  const a = run.env.actionCount;
  return Array.from({ length: run.dataset.size }, (_, i) => Array.from(flat.subarray(i * a, (i + 1) * a)));
}
