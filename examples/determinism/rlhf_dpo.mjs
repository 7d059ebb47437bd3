// One deterministic DPO run for the cross-runtime test, against the built SDK's public API only
// (no node: imports, no files): a tokenizer trained on a few sentences, a tiny random GPT from a
// fixed seed, preference pairs labelled by a rule (the completion with "good" is chosen), three
// DPO steps (shuffled batches, sigmoid loss with label smoothing), and an FNV-1a hash of the
// final parameters' f32 bytes. Every runtime and both builds must print the same hash.
//   npm run build:sdk && node examples/determinism/rlhf_dpo.mjs

import { DPOTrainer, GPT, Tokenizer, init, seed } from 'novarl';
import { hashArrays } from './hash.mjs';

export const config = {
  corpus: 'the day was good. the day was bad. a good cat sat. a bad dog ran. ',
  model: { nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 32 },
  initSeed: 5,
  dpo: { lossType: 'sigmoid', beta: 0.3, labelSmoothing: 0.1, learningRate: 3e-3, batchSize: 3, seed: 7 },
  steps: 3,
};

/** Rule-labelled pairs: a completion that says "good" is preferred to one that says "bad". */
export function rulePairs() {
  const prompts = ['the day', 'a cat', 'a dog', 'the sun', 'it'];
  return prompts.map((prompt, i) => (i % 2 === 0 ? { prompt, chosen: ' was good.', rejected: ' was bad.' } : { prompt, chosen: ' sat, good.', rejected: ' ran, bad.' }));
}

/** Trains on `core` and returns the hex FNV-1a hashes of the policy's initial and final parameters. */
export async function dpoHash(core) {
  const tokenizer = Tokenizer.train(config.corpus.repeat(3), { vocabSize: 280 });
  seed(config.initSeed, core);
  const policy = new GPT({ ...config.model, vocabSize: tokenizer.vocabSize }, { core });
  const initial = parameterHash(policy);
  const trainer = new DPOTrainer({ policy, tokenizer, pairs: rulePairs(), config: config.dpo });
  for (let i = 0; i < config.steps; i++) await trainer.step();
  const final = parameterHash(policy);
  trainer.free();
  policy.free();
  return { initial, final };
}

/** FNV-1a (32 bits) over every parameter's f32 bytes, in name order. */
export function parameterHash(model) {
  return hashArrays(model.namedParameters().sort(([a], [b]) => (a < b ? -1 : 1)).map(([, p]) => p.toArray()));
}

const isMain = import.meta.main ?? (typeof process !== 'undefined' && import.meta.filename !== undefined && import.meta.filename === process.argv[1]);
if (isMain) {
  const simd = await dpoHash(await init({ simd: true }));
  const scalar = await dpoHash(await init({ simd: false }));
  console.log(`novarl-rlhf-dpo ${JSON.stringify({ simd, scalar })}`);
}
