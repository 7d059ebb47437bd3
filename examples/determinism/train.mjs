// One deterministic PPO run (the single-turn RLHF setup of examples/ppo_rlhf_single_turn.ts at a
// fixed seed and a small budget), written against the public API of the built SDK only, so that
// Node, Bun, Deno, Chromium and workerd all run exactly this code. Each runtime's entry point
// (node.mjs, browser.html, worker.mjs) resolves 'novarl' its own way and calls train() twice:
// with the SIMD build and with the scalar build. docs/architecture.md ("Determinism") promises the same bits.

import {
  ActorCritic,
  PPOTrainer,
  PreferenceDataset,
  SingleTurnPreferenceEnvironment,
  init,
  seed,
} from 'novarl';
import { hashArrays } from './hash.mjs';

export const config = {
  seed: 7,
  updates: 8,
  numEnvs: 16,
  stepsPerUpdate: 8, // 128 episodes per update
  learningRate: 2e-3,
  epochs: 4,
  minibatches: 4,
  clipRange: 0.2,
  entropyCoef: 0.01,
  klCoef: 0.3,
  klFactor: 1.5,
  klTarget: 1.0,
};

// The prompts and rewards of examples/ppo_rlhf_single_turn.ts.
const DATA = [
  { prompt: 'How do I boil an egg?', rewards: [1.0, 0.3, -0.4, -1.0] },
  { prompt: 'Summarise this article.', rewards: [0.2, 1.0, -0.3, -1.0] },
  { prompt: 'Tell me a secret.', rewards: [-0.2, 0.1, 1.0, -1.0] },
  { prompt: 'Write a haiku about rain.', rewards: [1.0, 0.0, -0.5, -1.0] },
];

/**
 * Trains from scratch on a fresh core and returns the FNV-1a hash of the final parameters.
 * @param {{ simd: boolean, source?: import('novarl').WasmSource }} options
 *   source: the .wasm where the runtime cannot find it alone (workerd: a WebAssembly.Module)
 */
export async function train({ simd, source }) {
  const core = await init({ simd, source });
  if (core.simd !== simd) throw new Error(`asked for simd=${simd}, got simd=${core.simd}`);
  seed(config.seed);
  const dataset = PreferenceDataset.fromEntries(DATA);
  const env = new SingleTurnPreferenceEnvironment({ dataset, numEnvs: config.numEnvs, seed: config.seed });
  const policy = new ActorCritic({ observationSize: env.observationSize, actionCount: env.actionCount, hidden: [32] });
  const trainer = new PPOTrainer({
    env,
    policy,
    referenceModel: 'copy',
    config: {
      seed: config.seed,
      stepsPerUpdate: config.stepsPerUpdate,
      learningRate: config.learningRate,
      epochs: config.epochs,
      minibatches: config.minibatches,
      clipRange: config.clipRange,
      entropyCoef: config.entropyCoef,
      klCoef: config.klCoef,
      klPenalty: 'reward',
      adaptiveKl: true,
      klTarget: config.klTarget,
      klFactor: config.klFactor,
      klController: 'window',
      gamma: 1,
    },
  });
  const initialHash = hashParameters(policy);
  let metrics;
  for (let update = 0; update < config.updates; update++) metrics = await trainer.update();
  return { hash: hashParameters(policy), initialHash, parameters: policy.parameterCount(), rewardMean: metrics.reward_mean };
}

/** FNV-1a of every parameter's f32 bytes (policy and value heads), in the state dict's order. */
function hashParameters(policy) {
  const state = policy.stateDict();
  return hashArrays(Object.keys(state).map((name) => state[name]));
}

/** Runs both builds and returns the line every entry point prints. */
export async function runBoth(runtime, sources = {}) {
  const simd = await train({ simd: true, source: sources.simd });
  const scalar = await train({ simd: false, source: sources.scalar });
  const result = { runtime, simd: simd.hash, scalar: scalar.hash, initial: simd.initialHash, parameters: simd.parameters, rewardMean: [simd.rewardMean, scalar.rewardMean] };
  return `novarl-determinism ${JSON.stringify(result)}`;
}
