// GPTRewardModel and RewardModelTrainer: transformers' last-non-padding-token rule, padding
// invariance, learning a preference, the held-out metrics, the Hugging Face round trip, and the
// reward-function adapter.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GPTRewardModel, HuggingFaceError, RewardModelTrainer, ValueError, decodeRewardModelHuggingFace, encodeRewardModelHuggingFace, init,
  lastNonPaddingIndex, loadRewardModelHuggingFace, noGrad, rewardModelReward, saveRewardModelHuggingFace, seed, type Core,
} from '../sdk/index';
import { tinyConfig, tinyGpt, tinyPairs, tinyTokenizer } from './fixtures/preference_pairs';

let core: Core;
let dir: string;
const tokenizer = tinyTokenizer();
const PAD = tokenizer.padTokenId!;

beforeAll(async () => {
  core = await init();
  dir = mkdtempSync(join(tmpdir(), 'novarl-rm-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('GPTRewardModel', () => {
  it("reads each row's score at transformers' last non-padding token", () => {
    // rightmost id != pad, for right and left padding; 0 for a row of padding only
    expect(lastNonPaddingIndex([5, 6, 9, 9, 9, 7, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9], 4, 4, 9)).toEqual([1, 1, 0, 0]);
    seed(3, core);
    const model = new GPTRewardModel(tinyConfig(tokenizer), { padTokenId: PAD, core });
    const a = tokenizer.encode('the cat sat'), b = tokenizer.encode('a good day, a great day');
    noGrad(() => {
      const batched = model.rewards([a, b]).toArray(); // a is right-padded here
      const alone = model.rewards([a]).toArray();
      expect(batched[0]).toBeCloseTo(alone[0]!, 5);
      // the score is the head applied to the last token's hidden state
      const hidden = model.hidden([a]).toArray();
      const w = model.score.weight.toArray();
      const C = model.config.nEmbd;
      let dot = 0;
      for (let c = 0; c < C; c++) dot += hidden[(a.length - 1) * C + c]! * w[c]!;
      expect(alone[0]).toBeCloseTo(dot, 5);
    }, core);
    core.endStep();
    model.free();
  });

  it('fromPolicy copies the backbone and draws a fresh score head', () => {
    const policy = tinyGpt(tokenizer, core, 4);
    const rm = GPTRewardModel.fromPolicy(policy, PAD);
    expect(rm.transformer.wte.weight.toArray()).toEqual(policy.transformer.wte.weight.toArray());
    expect(rm.score.weight.toArray().some((x) => x !== 0)).toBe(true);
    expect(() => new GPTRewardModel(tinyConfig(tokenizer), { padTokenId: 10_000, core })).toThrow(ValueError);
    policy.free();
    rm.free();
  });
});

describe('RewardModelTrainer', () => {
  it('learns a cheerful-over-gloomy preference: held-out accuracy and margin rise', async () => {
    const policy = tinyGpt(tokenizer, core, 5);
    const model = GPTRewardModel.fromPolicy(policy, PAD);
    policy.free();
    const trainer = new RewardModelTrainer({ model, tokenizer, pairs: tinyPairs(32), config: { learningRate: 3e-3, batchSize: 8, seed: 1 } });
    const heldOut = tinyPairs(16, 100);
    const before = trainer.evaluate(heldOut);
    let last: Record<string, number> = {};
    for (let i = 0; i < 24; i++) last = await trainer.step();
    const after = trainer.evaluate(heldOut);
    expect(trainer.updates).toBe(24);
    expect(last['epoch']).toBeCloseTo(6, 9); // 24 steps x 8 pairs / 32 pairs
    for (const k of ['loss', 'accuracy', 'margin', 'grad_norm', 'rewards/chosen', 'rewards/rejected']) expect(Number.isFinite(last[k])).toBe(true);
    expect(before['eval_loss']).toBeGreaterThan(0.6); // ~log 2 from a fresh head
    expect(after['eval_accuracy']).toBe(1);
    expect(after['eval_margin']).toBeGreaterThan(before['eval_margin']! + 1);
    expect(after['eval_loss']).toBeLessThan(0.2);

    // the learned reward as a reward function
    const reward = rewardModelReward(model, tokenizer);
    const scores = await reward.fn(['the cat', 'the cat'], [' was happy.', ' was sad.'], { fields: [{}, {}], promptIndex: [0, 1], completionIds: [[], []], finishReasons: ['stop', 'stop'] });
    expect(reward.name).toBe('reward_model');
    expect(scores[0]).toBeGreaterThan(scores[1]!);
    core.endStep();
    trainer.free();
    model.free();
  });

  it('refuses bad pairs and config with a ValueError naming the field', () => {
    const model = new GPTRewardModel(tinyConfig(tokenizer), { padTokenId: PAD, core });
    expect(() => new RewardModelTrainer({ model, tokenizer, pairs: [{ prompt: 'a', chosen: 'b' } as never] })).toThrow(/pairs\[0\]\.rejected/);
    expect(() => new RewardModelTrainer({ model, tokenizer, pairs: tinyPairs(2), config: { batchSize: 0 } })).toThrow(/batchSize/);
    expect(() => new RewardModelTrainer({ model, tokenizer, pairs: tinyPairs(2), config: { maxPromptLength: 30, maxCompletionLength: 30 } })).toThrow(/nPositions/);
    expect(() => new RewardModelTrainer({ model, tokenizer, pairs: [] })).toThrow(/empty/);
    model.free();
  });
});

describe('reward model as a Hugging Face directory', () => {
  it('saves GPT2ForSequenceClassification with one label and loads back the same scores, bit for bit', async () => {
    seed(8, core);
    const model = new GPTRewardModel(tinyConfig(tokenizer), { padTokenId: PAD, core });
    const out = join(dir, 'rm');
    await saveRewardModelHuggingFace(out, model, { tokenizer });
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['GPT2ForSequenceClassification']);
    expect(config).toMatchObject({ num_labels: 1, id2label: { '0': 'LABEL_0' }, label2id: { LABEL_0: 0 }, pad_token_id: PAD, model_type: 'gpt2' });
    const { model: back, tokenizerFiles } = await loadRewardModelHuggingFace(out, { core });
    expect(Object.keys(tokenizerFiles ?? {})).toContain('tokenizer.json');
    expect(back.padTokenId).toBe(PAD);
    const rows = [tokenizer.encode('the cat sat'), tokenizer.encode('a lovely day')];
    noGrad(() => expect(back.rewards(rows).toArray()).toEqual(model.rewards(rows).toArray()), core);
    core.endStep();
    back.free();

    // bad directories are refused with a HuggingFaceError naming the problem
    const files = encodeRewardModelHuggingFace(model);
    const withConfig = (patch: Record<string, unknown>) => ({ ...files, 'config.json': new TextEncoder().encode(JSON.stringify({ ...config, ...patch })) });
    expect(() => decodeRewardModelHuggingFace(withConfig({ architectures: ['GPT2LMHeadModel'] }))).toThrow(/architectures/);
    expect(() => decodeRewardModelHuggingFace(withConfig({ id2label: { '0': 'A', '1': 'B' } }))).toThrow(/labels/);
    expect(() => decodeRewardModelHuggingFace(withConfig({ pad_token_id: null }))).toThrow(HuggingFaceError);
    expect(() => decodeRewardModelHuggingFace(withConfig({ n_embd: 32 }))).toThrow(/shape/);
    model.free();
  });

  it('a save killed between its renames leaves the previous reward model loadable', async () => {
    seed(9, core);
    const old = new GPTRewardModel(tinyConfig(tokenizer), { padTokenId: PAD, core });
    const fresh = new GPTRewardModel(tinyConfig(tokenizer), { padTokenId: PAD, core });
    const out = join(dir, 'rm-crash');
    await saveRewardModelHuggingFace(out, old);
    const crash = new Error('killed');
    await expect(saveRewardModelHuggingFace(out, fresh, { afterEachStep: (step) => { if (step.stage === 'moved-aside') throw crash; } })).rejects.toBe(crash);
    const { model: back } = await loadRewardModelHuggingFace(out, { core });
    expect(back.score.weight.toArray()).toEqual(old.score.weight.toArray());
    back.free();
    await saveRewardModelHuggingFace(out, fresh); // the next save completes and replaces it
    const { model: now } = await loadRewardModelHuggingFace(out, { core });
    expect(now.score.weight.toArray()).toEqual(fresh.score.weight.toArray());
    for (const m of [now, old, fresh]) m.free();
  });
});
