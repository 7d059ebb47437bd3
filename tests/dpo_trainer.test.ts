// DPOTrainer on a tiny random GPT: the first step sits at policy = reference (TRL's metrics say
// so exactly), training raises the chosen completions over the rejected ones for each loss type,
// the reference log-probs are computed once, and bad input is refused before anything changes.

import { beforeAll, describe, expect, it } from 'vitest';
import { DPOTrainer, DPO_LOSS_TYPES, GPTRewardModel, PreferencePairs, RewardModelTrainer, ValueError, encodePairs, frozenReference, init, type Core } from '../sdk/index';
import { tinyGpt, tinyPairs, tinyTokenizer } from './fixtures/preference_pairs';

let core: Core;
const tokenizer = tinyTokenizer();
beforeAll(async () => {
  core = await init();
});

describe('DPOTrainer', () => {
  for (const lossType of DPO_LOSS_TYPES) {
    it(`${lossType}: starts at the reference and learns to prefer the chosen completions`, async () => {
      const policy = tinyGpt(tokenizer, core, 2);
      const trainer = new DPOTrainer({ policy, tokenizer, pairs: tinyPairs(16), config: { lossType, beta: 0.5, learningRate: 3e-3, batchSize: 8, seed: 3 } });
      const first = await trainer.step();
      // policy = reference at the first forward: implicit rewards 0, loss at h = 0
      expect(first['rewards/chosen']).toBe(0);
      expect(first['rewards/rejected']).toBe(0);
      expect(first['rewards/accuracies']).toBe(0);
      const atZero = { sigmoid: Math.LN2, hinge: 1, ipo: 1 }[lossType]; // ipo: (0 - 1/(2 * 0.5))^2
      expect(first['loss']).toBeCloseTo(atZero, 5);
      expect(first['logps/chosen']).toBeLessThan(0);
      let last = first;
      for (let i = 0; i < 15; i++) last = await trainer.step();
      expect(trainer.updates).toBe(16);
      // IPO regresses h onto 1/(2 beta), so its margin beta h heads for 1/2 and stops; the others keep growing
      expect(last['rewards/margins']).toBeGreaterThan(lossType === 'ipo' ? 0.3 : 0.5);
      if (lossType === 'ipo') expect(last['rewards/margins']).toBeLessThan(0.75);
      expect(last['rewards/accuracies']).toBe(1);
      expect(last['loss']).toBeLessThan(first['loss']!);
      trainer.free();
      policy.free();
    });
  }

  it('uses a given reference, and its log-probs are computed once', async () => {
    const policy = tinyGpt(tokenizer, core, 2);
    const reference = frozenReference(policy);
    const trainer = new DPOTrainer({ policy, reference, tokenizer, pairs: tinyPairs(6), config: { batchSize: 4, learningRate: 1e-3 } });
    const ref = trainer.referenceLogProbs();
    expect(ref.chosen).toHaveLength(6);
    await trainer.step();
    await trainer.step();
    expect(trainer.referenceLogProbs()).toBe(ref); // the same arrays: not recomputed per step
    expect(ref.chosen.every((x) => x < 0 && Number.isFinite(x))).toBe(true);
    trainer.free();
    reference.free();
    policy.free();
  });

  it('refuses bad config and pairs with a ValueError naming the field', () => {
    const policy = tinyGpt(tokenizer, core, 2);
    const make = (config: object, pairs = tinyPairs(2)) => () => new DPOTrainer({ policy, tokenizer, pairs, config });
    expect(make({ beta: -1 })).toThrow(/beta/);
    expect(make({ lossType: 'kto' })).toThrow(/lossType/);
    expect(make({ lossType: 'hinge', labelSmoothing: 0.1 })).toThrow(/labelSmoothing/);
    expect(make({ labelSmoothing: 0.5 })).toThrow(/labelSmoothing/);
    expect(make({}, [{ prompt: '', chosen: 'a', rejected: 'b' }])).toThrow(/prompt encodes to no tokens/);
    expect(make({}, [{ prompt: 'x', chosen: 3, rejected: 'b' } as never])).toThrow(ValueError);
    policy.free();
  });
});

describe('pair sources', () => {
  it('a PreferencePairs dataset encodes like its texts, and exact ids are used as given', () => {
    const texts = tinyPairs(4);
    const dataset = new PreferencePairs(texts.map((p) => ({ ...p })), { tokenizer });
    const lengths = { maxPromptLength: 16, maxCompletionLength: 16 };
    expect(encodePairs(tokenizer, dataset, lengths)).toEqual(encodePairs(tokenizer, texts, lengths));
    const withIds = { ...texts[0]!, promptIds: [1, 2, 3], chosenIds: [4, 5], rejectedIds: [6] };
    expect(encodePairs(tokenizer, [withIds], lengths)[0]).toEqual({ promptIds: [1, 2, 3], chosenIds: [4, 5], rejectedIds: [6] });
    // truncation: the prompt keeps its end, a completion its start
    expect(encodePairs(tokenizer, [withIds], { maxPromptLength: 2, maxCompletionLength: 1 })[0]).toEqual({ promptIds: [2, 3], chosenIds: [4], rejectedIds: [6] });
    expect(() => encodePairs(tokenizer, [{ ...withIds, chosenIds: [1.5] }], lengths)).toThrow(/chosenIds/);
    const policy = tinyGpt(tokenizer, core, 2);
    const trainer = new DPOTrainer({ policy, tokenizer, pairs: dataset, config: { batchSize: 2 } });
    expect(trainer.referenceLogProbs().chosen).toHaveLength(4);
    trainer.free();
    policy.free();
  });
});

describe('non-finite losses', () => {
  it('a NaN loss rejects step() with a ValueError before any parameter or counter changes (DPO and the reward model)', async () => {
    const policy = tinyGpt(tokenizer, core, 2);
    const trainer = new DPOTrainer({ policy, tokenizer, pairs: tinyPairs(4), config: { batchSize: 2 } });
    trainer.referenceLogProbs(); // a finite reference
    const w = policy.transformer.ln_f.weight;
    const poisoned = w.toArray();
    poisoned[0] = Number.NaN;
    w.set(poisoned);
    const before = policy.stateDict();
    await expect(trainer.step()).rejects.toThrow(/loss is NaN.*no parameter was changed/);
    expect(trainer.updates).toBe(0);
    for (const [name, value] of Object.entries(policy.stateDict())) expect(value, name).toEqual(before[name]);
    trainer.free();

    const rm = GPTRewardModel.fromPolicy(policy, tokenizer.padTokenId!);
    const rmTrainer = new RewardModelTrainer({ model: rm, tokenizer, pairs: tinyPairs(4), config: { batchSize: 2 } });
    const rmBefore = rm.stateDict();
    await expect(rmTrainer.step()).rejects.toThrow(/loss is NaN/);
    expect(rmTrainer.updates).toBe(0);
    for (const [name, value] of Object.entries(rm.stateDict())) expect(value, name).toEqual(rmBefore[name]);
    rmTrainer.free();
    rm.free();
    policy.free();
  });
});
