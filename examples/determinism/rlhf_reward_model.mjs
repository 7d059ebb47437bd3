// One deterministic reward-model run for the cross-runtime test, against the built SDK's public
// API only (no node: imports, no files): the rule-labelled pairs of rlhf_dpo.mjs, a
// GPTRewardModel from a fixed seed, three Bradley-Terry steps with AdamW and reward centring,
// and an FNV-1a hash of the final parameters' f32 bytes.
//   npm run build:sdk && node examples/determinism/rlhf_reward_model.mjs

import { GPTRewardModel, RewardModelTrainer, Tokenizer, init, seed } from 'novarl';
import { config as dpoConfig, parameterHash, rulePairs } from './rlhf_dpo.mjs';

export const config = {
  initSeed: 6,
  trainer: { learningRate: 3e-3, batchSize: 3, centerRewardsCoefficient: 0.01, weightDecay: 0.01, seed: 8 },
  steps: 3,
};

/** Trains on `core` and returns the hex FNV-1a of the reward model's parameters. */
export async function rewardModelHash(core) {
  const tokenizer = Tokenizer.train(dpoConfig.corpus.repeat(3), { vocabSize: 280 });
  seed(config.initSeed, core);
  const model = new GPTRewardModel({ ...dpoConfig.model, vocabSize: tokenizer.vocabSize }, { padTokenId: tokenizer.eosTokenId, core });
  const trainer = new RewardModelTrainer({ model, tokenizer, pairs: rulePairs(), config: config.trainer });
  for (let i = 0; i < config.steps; i++) await trainer.step();
  const hash = parameterHash(model);
  trainer.free();
  model.free();
  return hash;
}

const isMain = import.meta.main ?? (typeof process !== 'undefined' && import.meta.filename !== undefined && import.meta.filename === process.argv[1]);
if (isMain) {
  const simd = await rewardModelHash(await init({ simd: true }));
  const scalar = await rewardModelHash(await init({ simd: false }));
  console.log(`novarl-rlhf-reward-model ${JSON.stringify({ simd, scalar })}`);
}
