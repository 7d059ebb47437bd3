// Every RLHF run of the cross-runtime test in one line, against the public API of the built SDK
// only (no node: imports, no files): PPO, GRPO, RLOO, DPO and the reward model each train a tiny
// GPT from a fixed seed on a fresh core, once with the SIMD and once with the scalar build, and
// report the FNV-1a hashes of their initial and final parameters; the data pipeline (host-side
// only, no core) reports its hash once. tests/runtimes.test.ts runs it on Node, Bun, Deno,
// workerd and headless Chromium; every hash must be the same (docs/architecture.md, "Determinism").
//   npm run build:sdk && node examples/determinism/rlhf.mjs
//   npx bun examples/determinism/rlhf.mjs | npx deno run --allow-read examples/determinism/rlhf.mjs

import { init } from 'novarl';
import { rlhfDataHash } from './rlhf_data.mjs';
import { dpoHash } from './rlhf_dpo.mjs';
import { grpoHash } from './rlhf_grpo.mjs';
import { ppoHash } from './rlhf_ppo.mjs';
import { rewardModelHash } from './rlhf_reward_model.mjs';
import { rlooHash } from './rlhf_rloo.mjs';

/** Each algorithm's run: (core) => { initial, final } parameter hashes. */
export const algorithms = { ppo: ppoHash, grpo: grpoHash, rloo: rlooHash, dpo: dpoHash, rewardModel: rewardModelHash };

/**
 * Runs every algorithm on a fresh core of one build.
 * @param {{ simd: boolean, source?: import('novarl').WasmSource }} options
 * @returns {Promise<Record<string, { initial: string, final: string }>>}
 */
export async function rlhfOnce({ simd, source }) {
  const hashes = {};
  for (const [name, hash] of Object.entries(algorithms)) {
    const core = await init({ simd, source });
    if (core.simd !== simd) throw new Error(`asked for simd=${simd}, got simd=${core.simd}`);
    const { initial, final } = await hash(core);
    hashes[name] = { initial, final };
  }
  return hashes;
}

/**
 * Runs both builds and the data pipeline, and returns the line the runtimes test reads.
 * @param {string} runtime the label to print
 * @param {{ simd?: import('novarl').WasmSource, scalar?: import('novarl').WasmSource }} sources the .wasm per build (workerd imports them as modules)
 */
export async function rlhfBoth(runtime, sources = {}) {
  const start = performance.now();
  const data = await rlhfDataHash();
  const simd = await rlhfOnce({ simd: true, source: sources.simd });
  const scalar = await rlhfOnce({ simd: false, source: sources.scalar });
  const seconds = Math.round(performance.now() - start) / 1000; // reported only, never compared
  return `novarl-rlhf ${JSON.stringify({ runtime, data, simd, scalar, seconds })}`;
}

// Run as a script (Bun and Deno set import.meta.main; Node 20 sets import.meta.filename)
const isMain = import.meta.main ?? (typeof process !== 'undefined' && import.meta.filename !== undefined && import.meta.filename === process.argv[1]);
if (isMain) {
  const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';
  console.log(await rlhfBoth(runtime));
}
