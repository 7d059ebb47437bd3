// One deterministic generation run, against the public API of the built SDK only: a tiny GPT
// initialised from a fixed seed samples continuations of three prompts of different lengths
// (left padding, temperature, top-k, top-p, a stop token), and the run prints an FNV-1a hash of
// the completion ids and of the bits of their processed and raw log-probs. tests/runtimes.test.ts
// runs it on Node, Bun, Deno and headless Chromium, with the SIMD and the scalar build; every
// hash must be the same (docs/architecture.md, "Determinism").
//   node examples/determinism/generate.mjs | bun examples/determinism/generate.mjs
//   deno run --allow-read examples/determinism/generate.mjs

import { GPT, generate, init, seed } from 'novarl';
import { hashArrays } from './hash.mjs';

export const config = {
  model: { vocabSize: 64, nLayer: 2, nHead: 2, nEmbd: 32, nPositions: 48 },
  initSeed: 3,
  prompts: [[1, 2, 3, 4, 5, 6, 7], [42], [9, 8, 7]],
  options: { maxNewTokens: 24, seed: 11, temperature: 0.8, topK: 40, topP: 0.95, stopTokenIds: [0] },
};

/**
 * Generates on a fresh core and returns the hashes.
 * @param {{ simd: boolean, source?: import('novarl').WasmSource }} options
 */
export async function generateOnce({ simd, source }) {
  const core = await init({ simd, source });
  if (core.simd !== simd) throw new Error(`asked for simd=${simd}, got simd=${core.simd}`);
  seed(config.initSeed);
  const model = new GPT(config.model);
  const out = generate(model, config.prompts, config.options);
  model.free();
  const ids = new Float32Array(out.completions.flat());
  const logProbs = new Float32Array([...out.logProbs.flat(), ...out.rawLogProbs.flat()]);
  return { ids: hashArrays([ids]), logProbs: hashArrays([logProbs]), tokens: ids.length, finishReasons: out.finishReasons };
}

/** Runs both builds and returns the line the runtimes test reads. */
export async function generateBoth(runtime, sources = {}) {
  const simd = await generateOnce({ simd: true, source: sources.simd });
  const scalar = await generateOnce({ simd: false, source: sources.scalar });
  return `novarl-generation ${JSON.stringify({ runtime, simd: `${simd.ids}-${simd.logProbs}`, scalar: `${scalar.ids}-${scalar.logProbs}`, tokens: simd.tokens, finishReasons: simd.finishReasons })}`;
}

// Run as a script (Bun and Deno set import.meta.main; Node 20 sets import.meta.filename)
const isMain = import.meta.main ?? (typeof process !== 'undefined' && import.meta.filename !== undefined && import.meta.filename === process.argv[1]);
if (isMain) {
  const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';
  console.log(await generateBoth(runtime));
}
