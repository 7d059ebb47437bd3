// examples/grpo_verifiable.ts with a small budget, through its exported main(): the exact-match
// rate rises (the run is deterministic: fixed seeds, bit-identical arithmetic), TRL's metrics are
// there and finite, and the saved Hugging Face directory loads back.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main as grpoVerifiable } from '../examples/grpo_verifiable';
import { loadHuggingFace, readCompletionsTable } from '../sdk/index';

const dir = mkdtempSync(join(tmpdir(), 'novarl-grpo-example-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('examples/grpo_verifiable', () => {
  it('raises the exact-match rate in 25 steps and saves a loadable Hugging Face directory', async () => {
    const result = await grpoVerifiable({ steps: 25, evalSamples: 32, outDir: join(dir, 'model'), completionsPath: join(dir, 'completions'), quiet: true, lossType: 'bnpo' });
    expect(result.history).toHaveLength(25);
    expect(result.after.exactMatch).toBeGreaterThan(result.before.exactMatch + 0.1);
    const last = result.history[24]!;
    for (const key of ['reward', 'reward_std', 'frac_reward_zero_std', 'rewards/exact_name/mean', 'completions/mean_length', 'completions/clipped_ratio', 'entropy', 'clip_ratio/region_mean', 'tokens/generated', 'timing/step_s', 'engine/logprob_delta_max']) {
      expect(Number.isFinite(last[key]), key).toBe(true);
    }
    // the local engine's log-probs are the trainer's own, up to float32 rounding of a cached forward
    expect(last['engine/logprob_delta_max']).toBeLessThan(1e-4);
    // the completions table kept every row of every step: 4 prompts x 8 completions
    const records = readCompletionsTable(readFileSync(join(dir, 'completions-bnpo.jsonl'), 'utf8'));
    expect(records).toHaveLength(25 * 32);
    expect(new Set(records.map((r) => r.step)).size).toBe(25);
    expect(Object.keys(records[0]!.rewards)).toEqual(['exact_name']);
    const loaded = await loadHuggingFace(result.outDir);
    expect(loaded.model.config.vocabSize).toBe(1024);
    loaded.model.free();
  }, 180_000);
});
