// LMPPOTrainer (sdk/algos/ppo_lm/): TRL's metric names every step, the per-token targets
// against a hand computation, learning a rule reward on a tiny random GPT, the KL options, the
// critic, truncated importance sampling, and refusal of bad reward functions before any
// parameter moves.

import { beforeAll, describe, expect, it } from 'vitest';
import { CompletionsTable, GPT, LMPPOTrainer, RewardFunctionError, Tokenizer, ValueError, init, lmAdvantages, maskedWhiten, resolveLMPPOConfig, seed, type CompletionEngine, type CompletionRequest, type Completions, type CompletionRecord, type NamedRewardFunction, type PromptRow } from '../sdk/index';

const CORPUS = 'the cat sat on the mat. the dog sat on the log. a bird flew over the tree. ';
let tokenizer: Tokenizer;
let prompts: PromptRow[];

beforeAll(async () => {
  await init();
  tokenizer = Tokenizer.train(CORPUS, { vocabSize: 280 });
  prompts = ['the cat', 'the dog', 'a bird', 'the'].map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
});

function tinyPolicy(valueHead = true): GPT {
  seed(11);
  return new GPT({ vocabSize: tokenizer.vocabSize, nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 32 }, { valueHead });
}

/** Reward: the fraction of the completion's characters that are the letter 'a'. */
const letterA: NamedRewardFunction = { name: 'letter_a', fn: (_p, completions) => completions.map((c) => (c.length === 0 ? 0 : [...c].filter((ch) => ch === 'a').length / c.length)) };
const lengthReward: NamedRewardFunction = { name: 'length', fn: (_p, completions) => completions.map((c) => c.length / 40), weight: 0.5 };

const parameterBits = (m: GPT) => m.parameters().map((p) => Array.from(new Uint32Array(p.toArray().buffer)));

describe('lmAdvantages', () => {
  it('puts -beta k on every response token, the score on the last one, and runs GAE with the mask', () => {
    // B = 2, R = 3; row 0 has 3 tokens, row 1 has 2
    const mask = new Float32Array([1, 1, 1, 1, 1, 0]);
    const values = new Float32Array([0.5, 0.25, -0.5, 1, 2, 9]);
    const kl = new Float32Array([0.1, -0.2, 0.3, 0.4, 0.5, 7]);
    const out = lmAdvantages({ rows: 2, responseLength: 3, scores: [1, -1], mask, values, kl, beta: 0.5, gamma: 1, lambda: 0.9, whitenRewards: false });
    const f = Math.fround;
    expect(Array.from(out.nonScoreRewards)).toEqual([f(-0.05), f(0.1), f(-0.15), f(-0.2), f(-0.25), 0]);
    expect(Array.from(out.rewards)).toEqual([f(-0.05), f(0.1), f(f(-0.15) + 1), f(-0.2), f(f(-0.25) - 1), 0]);
    // GAE by hand (gamma 1, lambda 0.9), float64 from the f32 rewards, no bootstrap after the last token
    const r = Array.from(out.rewards);
    const a02 = r[2]! + 0.5;
    const a01 = r[1]! + -0.5 - 0.25 + 0.9 * a02;
    const a00 = r[0]! + 0.25 - 0.5 + 0.9 * a01;
    const a11 = r[4]! - 2;
    const a10 = r[3]! + 2 - 1 + 0.9 * a11;
    const raw = [a00, a01, a02, a10, a11];
    expect(Array.from(out.returns)).toEqual([...raw.map((a, i) => f(a + [0.5, 0.25, -0.5, 1, 2][i]!)), 0]);
    const m = raw.reduce((s, x) => s + x, 0) / 5;
    const sd = Math.sqrt(raw.reduce((s, x) => s + (x - m) ** 2, 0) / 4 + 1e-8);
    const whitened = Array.from(out.advantages);
    raw.forEach((a, i) => expect(whitened[i]).toBeCloseTo((a - m) / sd, 5));
    expect(whitened[5]).toBe(0);
  });

  it('maskedWhiten without shifting keeps the mean and refuses fewer than 2 values', () => {
    const x = new Float32Array([1, 2, 3, 100]);
    const mask = new Float32Array([1, 1, 1, 0]);
    const w = maskedWhiten(x, mask, false);
    expect((w[0]! + w[1]! + w[2]!) / 3).toBeCloseTo(2, 5);
    expect(w[3]).toBe(0);
    expect(() => maskedWhiten(x, new Float32Array([1, 0, 0, 0]), true)).toThrow(ValueError);
  });
});

describe('resolveLMPPOConfig', () => {
  it('names the bad field', () => {
    expect(() => resolveLMPPOConfig({ numGenerations: 0 })).toThrow(/numGenerations/);
    expect(() => resolveLMPPOConfig({ klPenalty: 'both' as never })).toThrow(/klPenalty/);
    expect(() => resolveLMPPOConfig({ promptsPerStep: 3, minibatches: 2 })).toThrow(/minibatches/);
    expect(() => resolveLMPPOConfig({ importanceSamplingCap: 0.5 })).toThrow(/importanceSamplingCap/);
    expect(() => resolveLMPPOConfig({ adaptiveKl: 'window', beta: 0 })).toThrow(/beta/);
    expect(() => resolveLMPPOConfig({ learningrate: 1 } as never)).toThrow(/unknown field 'learningrate'/);
  });
});

describe('LMPPOTrainer', () => {
  it('reports TRL\'s metrics every step, with the KL in the reward and an adaptive controller', async () => {
    const policy = tinyPolicy();
    const trainer = new LMPPOTrainer({
      policy,
      tokenizer,
      dataset: prompts,
      rewardFuncs: [letterA, lengthReward],
      config: { promptsPerStep: 4, numGenerations: 2, maxNewTokens: 8, learningRate: 1e-3, epochs: 2, minibatches: 2, beta: 0.1, adaptiveKl: 'proportional', targetKl: 0.5, horizon: 100, seed: 3 },
    });
    const before = parameterBits(policy);
    const m1 = await trainer.step();
    const m2 = await trainer.step();
    expect(trainer.updates).toBe(2);
    for (const key of ['reward', 'reward_std', 'rewards/letter_a/mean', 'rewards/length/mean', 'objective/kl', 'objective/entropy', 'objective/non_score_reward', 'objective/rlhf_reward', 'objective/scores', 'policy/approxkl_avg', 'policy/clipfrac_avg', 'loss/policy_avg', 'loss/value_avg', 'val/ratio', 'val/num_eos_tokens', 'eps', 'lr', 'completions/mean_length', 'completions/clipped_ratio', 'timing/generation_s', 'timing/step_s', 'tokens/generated', 'engine/logprob_delta_mean', 'engine/logprob_delta_max', 'engine/ratio_min', 'engine/ratio_max']) {
      expect(Number.isFinite(m2[key]), key).toBe(true);
    }
    // step 1: the policy is the reference, so the KL and the non-score reward are exactly 0
    expect(m1['objective/kl']).toBe(0);
    expect(m1['objective/non_score_reward']).toBe(0);
    expect(m2['objective/kl']).not.toBe(0);
    expect(m2['objective/rlhf_reward']).toBeCloseTo(m2['objective/scores']! + m2['objective/non_score_reward']!, 6);
    expect(m2['tokens/generated']).toBe(m1['tokens/generated']! + 8 * m2['completions/mean_length']!);
    // the local engine's log-probs are the trainer's up to float32 summation order
    expect(m1['engine/logprob_delta_max']).toBeLessThan(1e-4);
    // proportional controller: beta moved by the clipped error after step 1 (KL 0 < target: -0.2 * 8 / 100)
    expect(m2['beta']).toBeCloseTo(0.1 * (1 - 0.2 * 8 / 100), 12);
    expect(parameterBits(policy)).not.toEqual(before);
    trainer.free();
    policy.free();
  });

  it('learns a rule reward', async () => {
    const policy = tinyPolicy();
    const trainer = new LMPPOTrainer({
      policy,
      tokenizer,
      dataset: prompts,
      rewardFuncs: [letterA],
      config: { promptsPerStep: 4, numGenerations: 4, maxNewTokens: 6, learningRate: 1e-2, epochs: 2, minibatches: 2, beta: 0.01, valueCoef: 0.5, seed: 1 },
    });
    const rewards: number[] = [];
    for (let i = 0; i < 26; i++) rewards.push((await trainer.step())['reward']!);
    const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // the random policy writes ~2% 'a'; PPO drives it to (nearly) all 'a' (measured: 1.0 from step 24)
    expect(meanOf(rewards.slice(0, 4))).toBeLessThan(0.1);
    expect(meanOf(rewards.slice(-4))).toBeGreaterThan(0.8);
    trainer.free();
    policy.free();
  }, 120_000);

  it('trains with the KL in the loss (k3) and with a separate critic', async () => {
    const policy = tinyPolicy(false);
    const trainer = new LMPPOTrainer({
      policy,
      tokenizer,
      dataset: prompts,
      rewardFuncs: [letterA],
      config: { promptsPerStep: 2, numGenerations: 2, maxNewTokens: 5, learningRate: 1e-3, klPenalty: 'loss', klEstimator: 'k3', valueModel: 'critic', beta: 0.2, seed: 2 },
    });
    expect(trainer.critic).toBeDefined();
    const criticBefore = parameterBits(trainer.critic!);
    await trainer.step();
    const m = await trainer.step();
    expect(m['objective/non_score_reward']).toBe(0); // the KL is not in the reward
    expect(m['loss/kl_avg']).toBeGreaterThan(0); // k3 >= 0, > 0 once the policy moved
    expect(parameterBits(trainer.critic!)).not.toEqual(criticBefore);
    trainer.free();
    policy.free();
  });

  it('refuses a policy without a value head unless there is a critic', () => {
    const policy = tinyPolicy(false);
    expect(() => new LMPPOTrainer({ policy, tokenizer, dataset: prompts, rewardFuncs: [letterA] })).toThrow(/value head/);
    policy.free();
  });

  it('weights the policy loss by truncated importance ratios against an off-policy engine', async () => {
    const policy = tinyPolicy();
    // an engine whose reported log-probs are off by a constant: ratio exp(0.5) ~ 1.65, capped at 1.2
    const local = new (await import('../sdk/index')).LocalCompletionEngine(policy);
    const shifted: CompletionEngine = {
      async complete(request: CompletionRequest): Promise<Completions> {
        const out = await local.complete(request);
        return { ...out, logProbs: out.logProbs.map((row) => row.map((x) => x - 0.5)) };
      },
    };
    const make = (cap: number) => {
      const p = tinyPolicy();
      return { p, t: new LMPPOTrainer({ policy: p, tokenizer, dataset: prompts, rewardFuncs: [letterA], engine: { complete: (r) => shifted.complete(r) }, config: { promptsPerStep: 2, numGenerations: 2, maxNewTokens: 5, learningRate: 1e-3, epochs: 1, importanceSamplingCap: cap, seed: 4 } }) };
    };
    // both engines sample from `policy` (same seed), so only the loss weights differ
    const a = make(0), b = make(1.2);
    const ma = await a.t.step();
    const mb = await b.t.step();
    expect(ma['engine/ratio_min']).toBeCloseTo(Math.exp(0.5), 3);
    // on the first minibatch ratio = 1, so the loss is -mean(A) (0 after whitening) for both, but
    // the gradients differ by the factor 1.2: different parameters after the step
    expect(parameterBits(a.p)).not.toEqual(parameterBits(b.p));
    expect(mb['loss/policy_avg']).toBeCloseTo(1.2 * ma['loss/policy_avg']!, 4);
    for (const x of [a, b]) {
      x.t.free();
      x.p.free();
    }
    policy.free();
  });

  it('rejects a bad reward function with a RewardFunctionError naming it, before any parameter moves', async () => {
    const policy = tinyPolicy();
    const bad: Record<string, NamedRewardFunction> = {
      nan: { name: 'nan_reward', fn: (_p, c) => c.map(() => NaN) },
      short: { name: 'short_reward', fn: () => [1] },
      throws: {
        name: 'throwing_reward',
        fn: () => {
          throw new Error('scorer offline');
        },
      },
    };
    for (const [kind, fn] of Object.entries(bad)) {
      const trainer = new LMPPOTrainer({ policy, tokenizer, dataset: prompts, rewardFuncs: [letterA, fn], config: { promptsPerStep: 2, numGenerations: 2, maxNewTokens: 4, seed: 1 } });
      const before = parameterBits(policy);
      const error = await trainer.step().catch((e: unknown) => e);
      expect(error, kind).toBeInstanceOf(RewardFunctionError);
      expect((error as Error).message).toContain(fn.name);
      expect(parameterBits(policy)).toEqual(before);
      expect(trainer.updates).toBe(0);
      expect(trainer.tokensGenerated).toBe(0);
      trainer.free();
    }
    policy.free();
  });

  it('subtracts missingEosPenalty from completions cut by length, and fills the completions table', async () => {
    const policy = tinyPolicy();
    const rows: { step: number; rows: readonly CompletionRecord[] }[] = [];
    const zero: NamedRewardFunction = { name: 'zero', fn: (_p, c) => c.map(() => 0) };
    const trainer = new LMPPOTrainer({
      policy,
      tokenizer,
      dataset: prompts,
      rewardFuncs: [zero],
      completionsTable: new CompletionsTable({ consoleRows: 0, onRows: (step, r) => void rows.push({ step, rows: r }) }),
      config: { promptsPerStep: 4, numGenerations: 2, maxNewTokens: 3, missingEosPenalty: 1.5, beta: 0, seed: 8 },
    });
    expect(trainer.reference).toBeUndefined(); // beta 0 and no controller: no reference model
    const m = await trainer.step();
    expect(m['objective/kl']).toBeUndefined();
    expect(m['completions/clipped_ratio']).toBeGreaterThan(0);
    expect(m['objective/scores']).toBeCloseTo(-1.5 * m['completions/clipped_ratio']!, 12);
    expect(m['reward']).toBe(0); // the reward functions' own mean, before the penalty
    expect(rows).toHaveLength(1);
    expect(rows[0]!.step).toBe(1);
    expect(rows[0]!.rows).toHaveLength(8);
    const row = rows[0]!.rows[0]!;
    expect(row.prompt).toBe('the cat');
    expect(row.rewards).toEqual({ zero: 0 });
    expect([0, -1.5]).toContain(row['score']);
    expect(Number.isFinite(row.advantage)).toBe(true);
    trainer.free();
    policy.free();
  });

  it('refuses a second step() while one runs, and step() after free()', async () => {
    const policy = tinyPolicy();
    const trainer = new LMPPOTrainer({ policy, tokenizer, dataset: prompts, rewardFuncs: [letterA], config: { promptsPerStep: 2, numGenerations: 2, maxNewTokens: 3 } });
    const first = trainer.step();
    await expect(trainer.step()).rejects.toThrow(/previous step\(\) has not finished/);
    await first;
    expect(trainer.updates).toBe(1);
    trainer.free();
    await expect(trainer.step()).rejects.toThrow(ValueError);
    policy.free();
  });
});
