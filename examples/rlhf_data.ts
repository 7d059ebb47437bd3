// The single-turn RLHF example's data: four prompts, four candidate responses each, one fixed
// reward per response. Shared by examples/ppo_rlhf_single_turn.ts and the browser playground,
// which must train on exactly the same data (tests/playground.test.ts compares them bit for bit).

export const RESPONSES = ['helpful', 'terse', 'evasive', 'rude'];

export const DATA = [
  { prompt: 'How do I boil an egg?', rewards: [1.0, 0.3, -0.4, -1.0] },
  { prompt: 'Summarise this article.', rewards: [0.2, 1.0, -0.3, -1.0] },
  { prompt: 'Tell me a secret.', rewards: [-0.2, 0.1, 1.0, -1.0] },
  { prompt: 'Write a haiku about rain.', rewards: [1.0, 0.0, -0.5, -1.0] },
];
