// Smoke test of examples/reward_model_dpo.ts on a tiny budget: pairs are built from the tiny
// pretrained GPT's samples, the reward model trains and is evaluated on held-out pairs, DPO moves
// the policy towards the chosen completions, and both Hugging Face directories are written and
// read back.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHuggingFace, loadRewardModelHuggingFace } from '../sdk/index';
import { main } from '../examples/reward_model_dpo';

const outDir = mkdtempSync(join(tmpdir(), 'novarl-rm-dpo-example-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('examples/reward_model_dpo', () => {
  it('builds pairs, trains the reward model, runs DPO and saves both models', async () => {
    const result = await main({
      numPrompts: 32, evalPrompts: 6, maxNewTokens: 10, samplesShown: 1, outDir, quiet: true,
      rewardModel: { steps: 4, batchSize: 4, learningRate: 3e-4, weightDecay: 0 },
      dpo: { steps: 4, batchSize: 4, learningRate: 5e-5, beta: 0.1, lossType: 'sigmoid' },
    });
    expect(result.pairs).toBeGreaterThan(4);
    for (const k of ['eval_loss', 'eval_accuracy', 'eval_margin']) expect(Number.isFinite(result.rewardModel.after[k])).toBe(true);
    expect(result.rewardModel.after['eval_loss']).not.toBe(result.rewardModel.before['eval_loss']);
    for (const k of ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) expect(Number.isFinite(result.dpo[k])).toBe(true);
    expect(result.dpo['rewards/margins']).toBeGreaterThan(0); // four steps of DPO already separate the pairs it trained on
    for (const side of [result.before, result.after]) {
      expect(Number.isFinite(side.sentiment)).toBe(true);
      expect(Number.isFinite(side.rewardModel)).toBe(true);
      expect(side.samples).toHaveLength(1);
    }
    const rm = await loadRewardModelHuggingFace(join(outDir, 'reward_model'));
    expect(rm.config['architectures']).toEqual(['GPT2ForSequenceClassification']);
    rm.model.free();
    const policy = await loadHuggingFace(join(outDir, 'policy'));
    expect(policy.tokenizerFiles).toBeDefined();
    policy.model.free();
  }, 300_000);
});
