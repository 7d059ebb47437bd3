// Smoke test of examples/ppo_sentiment.ts with a tiny budget: a small GPT pretrained for the
// test (so a clean clone needs no cached model), three PPO updates, the before / after
// evaluation, and the saved Hugging Face directory, trainer checkpoint and completions table load back.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, loadHuggingFace, readCompletionsTable } from '../sdk/index';
import { main } from '../examples/ppo_sentiment';
import { TEST_TINY_GPT } from './fixtures/tiny_pretrain';

const root = mkdtempSync(join(tmpdir(), 'novarl-ppo-sentiment-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tinyGptConfig = TEST_TINY_GPT;

describe('examples/ppo_sentiment', () => {
  it('runs three updates, evaluates before and after, and saves what it says', async () => {
    const outDir = join(root, 'hf'), checkpointDir = join(root, 'trainer');
    const result = await main({
      updates: 3,
      trainPrompts: 8,
      evalPrompts: 4,
      quiet: true,
      tinyGptDir: join(root, 'tiny-gpt'),
      tinyGptConfig,
      outDir,
      checkpointDir,
      completionsFile: join(root, 'completions.jsonl'),
      ppo: { promptsPerStep: 4, numGenerations: 2, maxNewTokens: 8, learningRate: 1e-3 },
    });
    expect(result.history).toHaveLength(3);
    expect(result.tokensGenerated).toBe(result.history[2]!['tokens/generated']);
    // before training the policy is its reference: the KL of the evaluation samples is exactly 0
    expect(result.before.kl).toBe(0);
    expect(result.after.kl).not.toBe(0);
    for (const e of [result.before, result.after]) {
      expect(e.samples).toHaveLength(4);
      expect(Number.isFinite(e.reward)).toBe(true);
      expect(e.refLogLikelihood).toBeLessThan(0);
    }
    for (const key of ['reward', 'rewards/sentiment/mean', 'objective/kl', 'objective/rlhf_reward', 'beta', 'loss/value_avg']) {
      expect(Number.isFinite(result.history[2]![key]), key).toBe(true);
    }
    // the Hugging Face directory holds the trained policy with its value head
    const { model } = await loadHuggingFace(outDir);
    expect(model.v_head).toBeDefined();
    model.free();
    const checkpoint = await loadCheckpoint(checkpointDir);
    expect(checkpoint.trainer['updates']).toBe(3);
    // the completions table kept every step's rows: 3 steps x 4 prompts x 2 completions
    const records = readCompletionsTable(readFileSync(join(root, 'completions.jsonl'), 'utf8'));
    expect(records).toHaveLength(24);
    expect(records.map((r) => r.step)).toEqual([...Array(8).fill(1), ...Array(8).fill(2), ...Array(8).fill(3)]);
    expect(Object.keys(records[0]!.rewards)).toEqual(['sentiment']);
  }, 240_000);
});
