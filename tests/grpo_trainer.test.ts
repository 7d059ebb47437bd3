// GRPOTrainer and RLOOTrainer wiring: TRL's metric names, the reference only when beta > 0,
// truncated importance sampling against an engine whose log-probs differ, masked truncated
// completions, the completions table, and refusal of bad options with a ValueError naming them.

import { beforeAll, describe, expect, it } from 'vitest';
import { GRPOTrainer, LocalCompletionEngine, RLOOTrainer, ValueError, init, lmTrainerCheckpointState, type CompletionEngine, type CompletionRecord, type CompletionRequest, CompletionsTable } from '../sdk/index';
import { countTarget, tinySetup } from './fixtures/lm_trainers';

beforeAll(async () => {
  await init();
});

const BASE = { promptsPerStep: 2, numGenerations: 4, maxNewTokens: 6, learningRate: 1e-3, seed: 1, stopTokenIds: [0] };

/** The local engine with every log-prob shifted by `shift` (a stand-in for a remote engine that disagrees). */
function shiftedEngine(local: CompletionEngine, shift: number, usable = true): CompletionEngine {
  return {
    async complete(request: CompletionRequest) {
      const out = await local.complete(request);
      return { ...out, logProbs: out.logProbs.map((row) => row.map((x) => x + shift)), logProbsUsable: usable };
    },
  };
}

describe('GRPOTrainer', () => {
  it("logs TRL's metric names, finite", async () => {
    const { policy, tokenizer, dataset } = tinySetup();
    const trainer = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: { ...BASE, beta: 0.1 } });
    const m = await trainer.step();
    const names = ['reward', 'reward_std', 'frac_reward_zero_std', 'rewards/count_target/mean', 'rewards/count_target/std', 'completions/mean_length', 'completions/min_length', 'completions/max_length', 'completions/clipped_ratio', 'completions/mean_terminated_length', 'kl', 'entropy', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean', 'objective/kl', 'timing/generation_s', 'timing/step_s', 'tokens/generated', 'engine/logprob_delta_mean', 'engine/logprob_delta_max', 'engine/ratio_min', 'engine/ratio_max', 'loss', 'grad_norm'];
    for (const name of names) expect(Number.isFinite(m[name]), name).toBe(true);
    expect(m['tokens/generated']).toBe(m['completions/mean_length']! * 8);
    expect(trainer.updates).toBe(1);
    trainer.free();
  });

  it('builds no reference with beta 0 (and saves none); with beta > 0 it builds and saves one', () => {
    const { policy, tokenizer, dataset } = tinySetup();
    const none = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: BASE });
    expect(none.reference).toBeUndefined();
    expect(Object.keys(lmTrainerCheckpointState(none).model).some((k) => k.startsWith('reference.'))).toBe(false);
    const withRef = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: { ...BASE, beta: 0.04 } });
    expect(withRef.reference).toBeDefined();
    expect(Object.keys(lmTrainerCheckpointState(withRef).model).some((k) => k.startsWith('reference.'))).toBe(true);
    none.free();
    withRef.free();
  });

  it('truncated importance sampling: logs the engine gap and scales the gradient by min(exp(old - engine), cap)', async () => {
    const run = async (shift: number, cap: number) => {
      const { policy, tokenizer, dataset } = tinySetup();
      const engine = shiftedEngine(new LocalCompletionEngine(policy), shift);
      const trainer = new GRPOTrainer({ policy, tokenizer, dataset, engine, rewardFuncs: [countTarget], config: { ...BASE, importanceSamplingCap: cap, maxGradNorm: 0 } });
      const m = await trainer.step();
      trainer.free();
      return m;
    };
    const plain = await run(0, 0);
    // engine log-probs 5 nats lower: every ratio exp(5) is truncated to the cap 2, so the gradient doubles
    const capped = await run(-5, 2);
    expect(capped['engine/logprob_delta_mean']).toBeCloseTo(5, 4);
    expect(capped['engine/ratio_min']).toBeGreaterThan(100);
    expect(capped['grad_norm']! / plain['grad_norm']!).toBeCloseTo(2, 4);
    expect([capped['sampling/importance_sampling_ratio/min'], capped['sampling/importance_sampling_ratio/max']]).toEqual([2, 2]);
    // 0.3 nats higher: weights exp(-0.3), below the cap
    const scaled = await run(0.3, 3);
    expect(scaled['grad_norm']! / plain['grad_norm']!).toBeCloseTo(Math.exp(-0.3), 4);
    // the same rollout either way (the engine's log-probs feed only the weights)
    expect(capped['reward']).toBe(plain['reward']);
  });

  it('refuses importanceSamplingCap with an engine whose log-probs are unusable', async () => {
    const { policy, tokenizer, dataset } = tinySetup();
    const engine = shiftedEngine(new LocalCompletionEngine(policy), 0, false);
    const trainer = new GRPOTrainer({ policy, tokenizer, dataset, engine, rewardFuncs: [countTarget], config: { ...BASE, importanceSamplingCap: 2 } });
    await expect(trainer.step()).rejects.toThrow(/importanceSamplingCap needs the engine's log-probs/);
    expect(trainer.updates).toBe(0);
    trainer.free();
  });

  it('maskTruncatedCompletions: completions that all hit maxNewTokens carry no loss and no gradient', async () => {
    const { policy, tokenizer, dataset } = tinySetup();
    // no stop tokens: every completion runs to maxNewTokens
    const trainer = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: { ...BASE, stopTokenIds: [], maskTruncatedCompletions: true } });
    const m = await trainer.step();
    expect(m['completions/clipped_ratio']).toBe(1);
    expect(m['loss']).toBe(0);
    expect(m['grad_norm']).toBe(0);
    trainer.free();
  });

  it('sends every row to the completions table: prompt, completion, each reward, advantage', async () => {
    const { policy, tokenizer, dataset } = tinySetup();
    const rows: CompletionRecord[] = [];
    const trainer = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: BASE, completionsTable: new CompletionsTable({ consoleRows: 0, onRows: (_step, r) => void rows.push(...r) }) });
    await trainer.step();
    await trainer.step();
    expect(rows).toHaveLength(16);
    expect(rows[0]!.step).toBe(1);
    expect(rows[8]!.step).toBe(2);
    expect(rows[0]!.prompt).toBe(dataset[0]!.text);
    expect(rows[4]!.prompt).toBe(dataset[1]!.text);
    expect(Object.keys(rows[0]!.rewards)).toEqual(['count_target']);
    // group-relative advantages sum to ~0 within each group
    const group = rows.slice(0, 4).reduce((s, r) => s + r.advantage!, 0);
    expect(Math.abs(group)).toBeLessThan(1e-9);
    trainer.free();
  });

  it('numIterations > 1 clips against the generating policy; epsilonHigh (clip-higher) moves only the upper bound', async () => {
    const run = async (epsilonHigh: number) => {
      const { policy, tokenizer, dataset } = tinySetup();
      // a reward that always varies within a group: the completion's length in characters
      const chars = { name: 'chars', fn: (_p: readonly string[], c: readonly string[]) => c.map((x) => x.length) };
      const trainer = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [chars], config: { ...BASE, promptsPerStep: 4, numIterations: 4, learningRate: 2e-2, epsilon: 0.05, epsilonHigh } });
      const m = await trainer.step();
      trainer.free();
      return m;
    };
    const tight = await run(0.05);
    expect(tight['clip_ratio/region_mean']).toBeGreaterThan(0);
    expect(tight['clip_ratio/region_mean']).toBeCloseTo(tight['clip_ratio/low_mean']! + tight['clip_ratio/high_mean']!, 12);
    expect(tight['clip_ratio/high_mean']).toBeGreaterThan(0);
    const loose = await run(100);
    expect(loose['clip_ratio/high_mean']).toBe(0);
  });

  it("lrScheduler 'linear' decays the learning rate to 0 per optimizer step, as transformers' linear schedule", async () => {
    const { policy, tokenizer, dataset } = tinySetup();
    const lr = 1e-3;
    const trainer = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: { ...BASE, learningRate: lr, minibatches: 2, lrScheduler: 'linear', maxSteps: 2 } });
    // 2 steps x 2 minibatches = 4 optimizer steps at lr x 4/4, 3/4 | 2/4, 1/4; the metric is each step's mean
    expect((await trainer.step())['learning_rate']).toBeCloseTo(lr * 0.875, 15);
    expect((await trainer.step())['learning_rate']).toBeCloseTo(lr * 0.375, 15);
    expect((await trainer.step())['learning_rate']).toBe(0); // past maxSteps: 0, as transformers
    expect(trainer.learningRateAt(0)).toBe(lr);
    trainer.free();
    expect(() => new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: { ...BASE, lrScheduler: 'linear' } })).toThrow(/needs maxSteps/);
  });

  it('refuses a second step() while one runs, and step() after free()', async () => {
    const { policy, tokenizer, dataset } = tinySetup();
    const trainer = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: BASE });
    const first = trainer.step();
    await expect(trainer.step()).rejects.toThrow(/previous step\(\) has not finished/);
    await first;
    expect(trainer.updates).toBe(1);
    trainer.free();
    await expect(trainer.step()).rejects.toThrow(/freed/);
  });

  it("scaleRewards 'none' (Dr. GRPO): each completion's advantage is its reward minus its group's mean", async () => {
    const { policy, tokenizer, dataset } = tinySetup();
    const rows: CompletionRecord[] = [];
    const chars = { name: 'chars', fn: (_p: readonly string[], c: readonly string[]) => c.map((x) => x.length) };
    const trainer = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [chars], config: { ...BASE, scaleRewards: 'none' }, completionsTable: new CompletionsTable({ consoleRows: 0, onRows: (_s, r) => void rows.push(...r) }) });
    await trainer.step();
    for (let g = 0; g < 2; g++) {
      const group = rows.slice(4 * g, 4 * g + 4);
      const mean = group.reduce((s, r) => s + r.rewards['chars']!, 0) / 4;
      for (const r of group) expect(r.advantage).toBeCloseTo(r.rewards['chars']! - mean, 12);
    }
    trainer.free();
  });

  it('refuses bad options with a ValueError naming them', () => {
    const { policy, tokenizer, dataset } = tinySetup();
    const make = (over: Record<string, unknown>) => () => new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: BASE, ...over } as never);
    expect(make({ rewardFuncs: [] })).toThrow(/rewardFuncs must be a non-empty array/);
    expect(make({ rewardFuncs: [countTarget, countTarget] })).toThrow(/two reward functions are named 'count_target'/);
    expect(make({ dataset: [] })).toThrow(ValueError);
    expect(make({ config: { ...BASE, maxNewTokens: 40 } })).toThrow(/maxNewTokens \(40\) leaves no room/);
    expect(make({ reference: policy })).toThrow(/reference is the policy itself/);
    expect(make({ policy: {} })).toThrow(/policy must be a GPT/);
  });
});

describe('RLOOTrainer', () => {
  it('builds a reference by default (TRL beta 0.05), logs kl and the leave-one-out advantages', async () => {
    const { policy, tokenizer, dataset } = tinySetup();
    const rows: CompletionRecord[] = [];
    const trainer = new RLOOTrainer({ policy, tokenizer, dataset, rewardFuncs: [countTarget], config: BASE, completionsTable: new CompletionsTable({ consoleRows: 0, onRows: (_step, r) => void rows.push(...r) }) });
    expect(trainer.reference).toBeDefined();
    const m = await trainer.step();
    for (const name of ['reward', 'reward_std', 'frac_reward_zero_std', 'kl', 'objective/kl', 'entropy', 'clip_ratio/region_mean', 'completions/mean_length', 'tokens/generated']) expect(Number.isFinite(m[name]), name).toBe(true);
    // at the first step the policy is the reference: the KL penalty is 0, so the advantages are the scores' leave-one-out ones
    expect(m['kl']).toBe(0);
    const scores = rows.slice(0, 4).map((r) => r.rewards['count_target']!);
    const sum = scores.reduce((s, x) => s + x, 0);
    rows.slice(0, 4).forEach((r, i) => expect(r.advantage).toBeCloseTo(scores[i]! - (sum - scores[i]!) / 3, 12));
    trainer.free();
  });
});
