// ppoStep (sdk/algos/ppo/step.ts) on its own: a caller's data through TensorRolloutBatch.fromArrays
// (checked once, there), any PolicyWithValue, the same update as the trainer's learn() on the
// same batch, bit for bit, a padded (B, T) batch whose padding changes nothing, and the counts of
// calls into the core per environment step and per minibatch.

import { beforeAll, describe, expect, it } from 'vitest';
import {
  ActorCritic,
  Adam,
  CartPoleEnvironment,
  Linear,
  Module,
  NumericError,
  PPOTrainer,
  ShapeError,
  Tensor,
  TensorRolloutBatch,
  ValueError,
  getRngState,
  init,
  ppoStep,
  resolvePPOConfig,
  seed,
  setDefaultCore,
  setRngState,
  type Core,
  type PolicyOutput,
  type PolicyWithValue,
} from '../sdk/index';
import { countCrossings } from './crossings';

let core: Core;
beforeAll(async () => {
  core = await init();
});

const ROWS = 8;
function arrays(rows = ROWS) {
  const obs = Float32Array.from({ length: rows * 3 }, (_, i) => Math.sin(i));
  return {
    observations: obs,
    observationSize: 3,
    actions: Float32Array.from({ length: rows }, (_, i) => i % 2),
    oldLogProbs: new Float32Array(rows).fill(Math.log(0.5)),
    values: new Float32Array(rows),
    rewards: Float32Array.from({ length: rows }, (_, i) => (i % 3) - 1),
    advantages: Float32Array.from({ length: rows }, (_, i) => (i % 3) - 1),
    returns: Float32Array.from({ length: rows }, (_, i) => (i % 3) - 1),
  };
}

describe('TensorRolloutBatch.fromArrays: caller data checked once, where it enters', () => {
  it('refuses wrong lengths, non-finite numbers, non-integer actions and a bad mask, naming the field', () => {
    expect(() => TensorRolloutBatch.fromArrays({ ...arrays(), returns: new Float32Array(3) })).toThrow(ShapeError);
    expect(() => TensorRolloutBatch.fromArrays({ ...arrays(), returns: new Float32Array(3) })).toThrow(/returns has 3 values, expected 8/);
    expect(() => TensorRolloutBatch.fromArrays({ ...arrays(), values: new Float32Array(8).fill(NaN) })).toThrow(NumericError);
    expect(() => TensorRolloutBatch.fromArrays({ ...arrays(), actions: new Float32Array(8).fill(0.5) })).toThrow(/actions must be integers in \[0, 2\^24\)/);
    expect(() => TensorRolloutBatch.fromArrays({ ...arrays(), actions: new Float32Array(8).fill(2 ** 24 + 1) })).toThrow(/float32 holds them exactly/);
    expect(() => TensorRolloutBatch.fromArrays({ ...arrays(), mask: new Float32Array(8).fill(0.5) })).toThrow(/mask must hold 0 or 1/);
    expect(() => TensorRolloutBatch.fromArrays({ ...arrays(), mask: new Float32Array(8) })).toThrow(/selects no step/);
    expect(() => TensorRolloutBatch.fromArrays(null as never)).toThrow(ValueError);
  });

  it('holds (B, T) columns, the mask all ones by default (dense), and frees its tensors', () => {
    const batch = TensorRolloutBatch.fromArrays(arrays());
    expect([batch.rows, batch.steps, batch.dense]).toEqual([ROWS, 1, true]);
    expect(batch.advantages.shape).toEqual([ROWS, 1]);
    expect(Array.from(batch.refLogProbs.view())).toEqual(Array.from(batch.oldLogProbs.view())); // no reference: the policy's own
    batch.free();
    expect(() => batch.actions.view()).toThrow(/freed/);
  });
});

/** A PolicyWithValue that is not an ActorCritic: one linear layer for logits, one for the value. */
class TwoLinear extends Module implements PolicyWithValue {
  readonly pi = new Linear(3, 2);
  readonly v = new Linear(3, 1);
  forward(obs: Tensor): PolicyOutput {
    const values = this.v.forward(obs);
    return { logits: this.pi.forward(obs), values: values.reshape([values.shape[0]!]) };
  }
}

describe('ppoStep', () => {
  it('trains any PolicyWithValue and reports the statistics of every minibatch', () => {
    seed(3);
    const policy = new TwoLinear();
    const before = policy.parameters().map((p) => p.toArray());
    const batch = TensorRolloutBatch.fromArrays(arrays());
    const stats = ppoStep(policy, batch, resolvePPOConfig({ epochs: 2, minibatches: 2 }), new Adam(policy.parameters(), { lr: 0.01 }));
    batch.free();
    expect([stats.epochs, stats.minibatches]).toEqual([2, 4]);
    for (const key of ['policyLoss', 'valueLoss', 'approxKl', 'clipfrac', 'gradNorm'] as const) expect(Number.isFinite(stats[key])).toBe(true);
    expect(stats.gradNorm).toBeGreaterThan(0);
    policy.parameters().forEach((p, i) => expect(Array.from(p.toArray())).not.toEqual(Array.from(before[i]!)));
  });

  it("is the trainer's learn(): the same rollout, Adam state and PRNG state give the same parameters, bit for bit", async () => {
    const config = { stepsPerUpdate: 16, epochs: 2, minibatches: 4, seed: 4, klCoef: 0.05, klPenalty: 'loss' as const, klEstimator: 'k2' as const, normalizeAdvantages: false };
    seed(9);
    const env = new CartPoleEnvironment({ numEnvs: 2, seed: 1 });
    const policy = new ActorCritic({ observationSize: 4, actionCount: 2, hidden: [8] });
    const trainer = new PPOTrainer({ env, policy, config });
    await trainer.update(); // fills the buffer; now replay its learn() by hand from the same state
    const twin = policy.clone();
    const adam = new Adam(twin.parameters(), { lr: trainer.optimizer.lr, eps: trainer.config.adamEps });
    adam.loadStateDict(trainer.optimizer.stateDict());
    const rng = getRngState();
    const stats = trainer.learn();
    setRngState(rng);
    const batch = trainer.buffer.toBatch();
    const replay = ppoStep(twin, batch, trainer.config, adam, { klCoef: trainer.klController.value });
    batch.free();
    expect(replay.policyLoss).toBe(stats.policyLoss);
    expect(replay.klLoss).toBe(stats.klLoss);
    twin.parameters().forEach((p, i) => expect(p.toArray()).toEqual(policy.parameters()[i]!.toArray()));
    trainer.free();
  });

  it('a padded (B, T) batch: padding steps change nothing (masked means)', () => {
    // token-style policy: logits (B, T, V) and values (B, T) from an embedding of the token ids
    class Tokens extends Module implements PolicyWithValue {
      readonly table = new Linear(1, 3); // logits of a token: table(id)
      readonly value = new Linear(1, 1);
      forward(ids: Tensor): PolicyOutput {
        const x = ids.reshape([ids.shape[0]!, ids.shape[1]!, 1]);
        const v = this.value.forward(x);
        return { logits: this.table.forward(x), values: v.reshape([ids.shape[0]!, ids.shape[1]!]) };
      }
    }
    const run = (padValue: number) => {
      seed(11);
      const policy = new Tokens();
      // 2 sequences of 3 tokens; the last token of sequence 1 is padding
      const pad = (x: number) => [1, 2, 1, 2, 0, padValue].map((v, i) => (i === 5 ? padValue : v * x));
      const batch = TensorRolloutBatch.fromArrays({
        steps: 3,
        observations: [1, 2, 1, 2, 0, padValue === 0 ? 0 : 1],
        actions: [0, 1, 2, 1, 0, padValue === 0 ? 0 : 2],
        oldLogProbs: new Float32Array(6).fill(Math.log(1 / 3)),
        values: new Float32Array(6),
        rewards: pad(1),
        advantages: pad(0.5),
        returns: pad(1),
        mask: [1, 1, 1, 1, 1, 0],
      });
      expect(batch.dense).toBe(false);
      const stats = ppoStep(policy, batch, resolvePPOConfig({ epochs: 1, minibatches: 1, normalizeAdvantages: false, valueClip: 0 }), new Adam(policy.parameters(), { lr: 0.1 }));
      batch.free();
      return { stats, params: policy.parameters().map((p) => Array.from(p.toArray())) };
    };
    const a = run(0), b = run(5);
    expect(b.params).toEqual(a.params);
    expect(b.stats.policyLoss).toBe(a.stats.policyLoss);
  });
});

describe('calls into the core (JS -> WASM crossings)', () => {
  it('per environment step and per minibatch, counted through a Proxy on the exports', async () => {
    const counter = countCrossings(core);
    const previous = setDefaultCore(counter.core);
    try {
      const env = new CartPoleEnvironment({ numEnvs: 4, seed: 1 });
      const policy = new ActorCritic({ observationSize: 4, actionCount: 2 });
      const trainer = new PPOTrainer({ env, policy, config: { stepsPerUpdate: 32, epochs: 2, minibatches: 4, klCoef: 0.1, seed: 3 } });
      await trainer.update();
      counter.reset();
      await trainer.engine.collect(trainer.actingPolicy, trainer.buffer, 32);
      const envOwn = (counter.calls.get('mathCos') ?? 0) + (counter.calls.get('mathSin') ?? 0); // CartPole's own det-math
      const perStep = (counter.total() - envOwn) / 32;
      const values = trainer.actingPolicy.values(new Float32Array(16));
      trainer.buffer.computeAdvantages(values, trainer.buffer.dones.slice(-4));
      counter.reset();
      trainer.learn();
      const perMinibatch = counter.total() / 8;
      console.log(`crossings: ${perStep} per environment step (policy + reference forward, sampling), ${perMinibatch} per minibatch`);
      console.log(`  per minibatch: ${[...counter.calls].map(([k, v]) => `${k} ${v / 8}`).join(', ')}`);
      // before issue 8: 51 per step (59 with CartPole's own 8) and 94.6 per minibatch
      expect(perStep).toBeLessThanOrEqual(49); // one log-softmax per model per step, not two
      expect(perMinibatch).toBeLessThan(94);
      trainer.free();
    } finally {
      setDefaultCore(previous);
    }
  });
});
