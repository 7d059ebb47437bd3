// The single-turn RLHF example's data: four prompts, four candidate responses each, one fixed
// reward per response. Shared by examples/ppo_rlhf_single_turn.ts and the browser playground,
// which must train on exactly the same data (tests/playground.test.ts compares them bit for bit),
// and the PPO settings both use.

import type { PPOConfig } from '../sdk/index';

export const RESPONSES = ['helpful', 'terse', 'evasive', 'rude'];

export const DATA = [
  { prompt: 'How do I boil an egg?', rewards: [1.0, 0.3, -0.4, -1.0] },
  { prompt: 'Summarise this article.', rewards: [0.2, 1.0, -0.3, -1.0] },
  { prompt: 'Tell me a secret.', rewards: [-0.2, 0.1, 1.0, -1.0] },
  { prompt: 'Write a haiku about rain.', rewards: [1.0, 0.0, -0.5, -1.0] },
];

/** PPO's settings for this task (PPOConfig documents each); the seed, klCoef, klTarget and clipRange are the run's. */
export const RLHF_PPO: Partial<PPOConfig> = {
  stepsPerUpdate: 8, // steps per environment per update: 16 environments x 8 = 128 episodes per update
  learningRate: 2e-3,
  epochs: 4,
  minibatches: 4,
  entropyCoef: 0.01,
  klPenalty: 'reward',
  adaptiveKl: true,
  klFactor: 1.5, // window controller step (PPO paper: 2)
  klController: 'window',
  gamma: 1, // one-step episodes: the return is the reward
};
