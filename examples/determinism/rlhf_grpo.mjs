// One deterministic GRPO run against the public API of the built SDK only (no node: imports, no
// files), so it runs in a browser and in workerd too: a tiny random GPT from a fixed seed, a
// tokenizer trained on a fixed string, a rule reward, 3 GRPO steps (2 iterations x 2 minibatches,
// clip-higher, k3 to a frozen reference, the 'grpo' loss type), then an FNV-1a hash of the final
// parameters' f32 bytes. Every runtime and both builds must print the same hash
// (docs/architecture.md, "Determinism").
//   npm run build:sdk && node examples/determinism/rlhf_grpo.mjs
//   npx bun examples/determinism/rlhf_grpo.mjs | npx deno run --allow-read examples/determinism/rlhf_grpo.mjs

import { GPT, GRPOTrainer, Tokenizer, init, seed } from 'novarl';
import { hashArrays } from './hash.mjs';

export const grpoConfig = {
  corpus: 'abc cab bca acb bac cba. aa bb cc. the cat sat on the mat. ',
  model: { nLayer: 1, nHead: 2, nEmbd: 24, nPositions: 32 },
  initSeed: 5,
  steps: 3,
  grpo: { promptsPerStep: 2, numGenerations: 4, maxNewTokens: 8, learningRate: 3e-3, numIterations: 2, minibatches: 2, beta: 0.04, epsilonHigh: 0.28, lossType: 'grpo', temperature: 0.9, seed: 11 },
};

/** Reward: how often the completion repeats its prompt's first character. */
const repeatFirst = { name: 'repeat_first', fn: (prompts, completions) => completions.map((c, i) => [...c].filter((ch) => ch === prompts[i][0]).length) };

/** Trains on `core` (an initialised NovaRL core) and returns the hex FNV-1a hashes of the initial and the final parameters. */
export const grpoHash = (core) => groupTrainerHash(GRPOTrainer, grpoConfig, grpoConfig.grpo, core);

/**
 * The run of grpoHash with another group-baseline trainer (GRPOTrainer or RLOOTrainer), its
 * config `c` (corpus, model, initSeed, steps) and `trainerConfig`.
 */
export async function groupTrainerHash(Trainer, c, trainerConfig, core) {
  const tokenizer = Tokenizer.train(c.corpus, { vocabSize: 280 });
  seed(c.initSeed, core);
  const policy = new GPT({ ...c.model, vocabSize: tokenizer.vocabSize }, { core });
  const dataset = ['a', 'b', 'ca', 'the'].map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
  const initial = parameterHash(policy);
  const trainer = new Trainer({ policy, tokenizer, dataset, rewardFuncs: [repeatFirst], config: { ...trainerConfig, stopTokenIds: [0] } });
  for (let i = 0; i < c.steps; i++) await trainer.step();
  const final = parameterHash(policy);
  trainer.free();
  policy.free();
  return { initial, final };
}

/** FNV-1a (32 bits) over every parameter's f32 bytes, in parameter order. */
export function parameterHash(model) {
  return hashArrays(model.namedParameters().map(([, p]) => p.toArray()));
}

const isMain = import.meta.main ?? (typeof process !== 'undefined' && import.meta.filename !== undefined && import.meta.filename === process.argv[1]);
if (isMain) {
  const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';
  const simd = await grpoHash(await init({ simd: true }));
  const scalar = await grpoHash(await init({ simd: false }));
  console.log(`novarl-rlhf-grpo ${JSON.stringify({ runtime, simd, scalar })}`);
}
