// One deterministic RLOO run against the public API of the built SDK only (no node: imports, no
// files), so it runs in a browser and in workerd too: a tiny random GPT from a fixed seed, a
// tokenizer trained on a fixed string, a rule reward, 3 RLOO steps (2 iterations x 2 minibatches,
// clip-higher, k1 to a frozen reference in the reward, the sequence-level clip), then an FNV-1a
// hash of the final parameters' f32 bytes. Every runtime and both builds must print the same hash
// (docs/architecture.md, "Determinism"). The run is rlhf_grpo.mjs's (groupTrainerHash) with RLOOTrainer.
//   npm run build:sdk && node examples/determinism/rlhf_rloo.mjs
//   npx bun examples/determinism/rlhf_rloo.mjs | npx deno run --allow-read examples/determinism/rlhf_rloo.mjs

import { RLOOTrainer, init } from 'novarl';
import { groupTrainerHash } from './rlhf_grpo.mjs';

export const rlooConfig = {
  corpus: 'abc cab bca acb bac cba. aa bb cc. the cat sat on the mat. ',
  model: { nLayer: 1, nHead: 2, nEmbd: 24, nPositions: 32 },
  initSeed: 5,
  steps: 3,
  rloo: { promptsPerStep: 2, numGenerations: 4, maxNewTokens: 8, learningRate: 3e-3, numIterations: 2, minibatches: 2, beta: 0.04, epsilonHigh: 0.28, temperature: 0.9, seed: 11 },
};

/** Trains on `core` (an initialised NovaRL core) and returns the hex FNV-1a hashes of the initial and the final parameters. */
export const rlooHash = (core) => groupTrainerHash(RLOOTrainer, rlooConfig, rlooConfig.rloo, core);

const isMain = import.meta.main ?? (typeof process !== 'undefined' && import.meta.filename !== undefined && import.meta.filename === process.argv[1]);
if (isMain) {
  const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';
  const simd = await rlooHash(await init({ simd: true }));
  const scalar = await rlooHash(await init({ simd: false }));
  console.log(`novarl-rlhf-rloo ${JSON.stringify({ runtime, simd, scalar })}`);
}
