// One deterministic LMPPOTrainer run, against the public API of the built SDK only (no node:
// imports, no files, so it runs in a browser and in workerd too): a tokenizer trained on a fixed
// text, a tiny GPT with a value head from a fixed seed, a rule reward (the share of the letter
// 'a'), three PPO updates with the per-token KL in the reward and the proportional controller.
// Returns an FNV-1a hash of the final parameters' f32 bytes (policy and value head); every
// runtime and both builds (SIMD, scalar) must give the same one (docs/architecture.md, "Determinism").
//   node examples/determinism/rlhf_ppo.mjs | bun examples/determinism/rlhf_ppo.mjs
//   deno run --allow-read examples/determinism/rlhf_ppo.mjs

import { GPT, LMPPOTrainer, Tokenizer, init, seed } from 'novarl';
import { hashArrays } from './hash.mjs';

export const config = {
  corpus: 'the cat sat on the mat. a bat saw a rat. the dog ran far. ',
  vocabSize: 280,
  model: { nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 32 },
  initSeed: 5,
  prompts: ['the cat', 'a bat', 'the dog', 'a'],
  updates: 3,
  ppo: { promptsPerStep: 2, numGenerations: 2, maxNewTokens: 6, learningRate: 3e-3, epochs: 2, minibatches: 2, beta: 0.1, adaptiveKl: 'proportional', targetKl: 0.5, horizon: 100, seed: 9 },
};

const letterA = { name: 'letter_a', fn: (_prompts, completions) => completions.map((c) => (c.length === 0 ? 0 : [...c].filter((ch) => ch === 'a').length / c.length)) };

/**
 * Trains on `core` (from init()) and returns the hashes of the initial and the final parameters,
 * and the last reward.
 * @param {import('novarl').Core} core
 */
export async function ppoHash(core) {
  const tokenizer = Tokenizer.train(config.corpus, { vocabSize: config.vocabSize });
  seed(config.initSeed, core);
  const policy = new GPT({ vocabSize: tokenizer.vocabSize, ...config.model }, { valueHead: true, core });
  const prompts = config.prompts.map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
  const initial = parameterHash(policy);
  const trainer = new LMPPOTrainer({ policy, tokenizer, dataset: prompts, rewardFuncs: [letterA], config: config.ppo });
  let reward = 0;
  for (let i = 0; i < config.updates; i++) reward = (await trainer.step())['reward'];
  const final = parameterHash(policy);
  trainer.free();
  policy.free();
  return { initial, final, reward };
}

/** FNV-1a (32 bits) over every parameter's f32 bytes (policy, then value head). */
function parameterHash(model) {
  return hashArrays(model.parameters().map((p) => p.toArray()));
}

// Run as a script (Bun and Deno set import.meta.main; Node 20 sets import.meta.filename)
const isMain = import.meta.main ?? (typeof process !== 'undefined' && import.meta.filename !== undefined && import.meta.filename === process.argv[1]);
if (isMain) {
  const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';
  const simd = await ppoHash(await init({ simd: true }));
  const scalar = await ppoHash(await init({ simd: false }));
  console.log(`novarl-rlhf-ppo ${JSON.stringify({ runtime, simd, scalar })}`);
}
