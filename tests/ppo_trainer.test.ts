// PPOTrainer (sdk/algos/ppo/trainer.ts) on tiny deterministic settings: each update is replayed
// by the float64 reference in tests/reference/ppo.ts from the same starting parameters, Adam state
// and sampled actions, and the new parameters and the reported metrics must agree. Then: the KL
// coefficient as the trainer drives its controller, the three kinds of reference model, and
// refusal of bad input.
//
// Tolerances. The trainer runs in float32, the reference in float64 with finite-difference
// gradients (error ~1e-10). Forward quantities agree to a few float32 ulps (~1e-6 relative).
// Adam's step is lr * m / (sqrt(v) + eps); with adamEps = 0.01 (set below so the step depends on
// the gradient's size, not just its sign) a gradient error dg moves the step by at most
// lr * dg / eps, i.e. ~1e-5 * lr for dg ~ 1e-7: parameter changes are compared to 1e-4 * lr.

import { beforeAll, describe, expect, it } from 'vitest';
import {
  ActorCritic,
  Linear,
  Module,
  NumericError,
  PPOTrainer,
  ShapeError,
  Tensor,
  ValueError,
  WindowKlController,
  ProportionalKlController,
  init,
  setDefaultCore,
  type Core,
  type EnvInfo,
  type Environment,
  type Metrics,
  type PPOConfig,
  type ReferencePolicy,
  type StepResult,
} from '../sdk/index';
import { actorCriticRef, klFullRef, linearRef, ppoUpdateRef, type Params, type PpoRefConfig } from './reference/ppo';
import { expectBitwiseEqual, expectClose, loadCores, randomData } from './util';

beforeAll(async () => {
  await init();
});

// ---- a tiny deterministic world --------------------------------------------------------------

const OBS = [
  [1, 0.5],
  [-0.5, 1],
  [0.25, -1],
  [-1, -0.25],
];
const REWARD = [
  [1, -0.3, 0],
  [0.2, -1, 0.7],
  [-0.5, 0.4, 0.1],
  [0, 0.6, -0.8],
];

/**
 * numEnvs environments, 3 actions. Environment e at step k of its episode shows OBS[(e + k) % 4]
 * and pays REWARD[(e + k) % 4][action]; episodes last `episodeLength` steps. Keeps every reward
 * it returned (to check what the buffer received) and its latest observations.
 */
class TableEnv implements Environment {
  readonly observationSize = 2;
  readonly actionCount = 3;
  rewardLog: number[] = [];
  lastObservations = new Float32Array(0);
  private k: number[] = [];
  private episodeReturn: number[] = [];

  constructor(
    readonly numEnvs: number,
    readonly episodeLength = 1,
  ) {}

  reset(): Float32Array {
    this.k = new Array(this.numEnvs).fill(0);
    this.episodeReturn = new Array(this.numEnvs).fill(0);
    return this.observe();
  }

  step(actions: Int32Array): StepResult {
    const rewards = new Float32Array(this.numEnvs);
    const dones = new Uint8Array(this.numEnvs);
    const infos: EnvInfo[] = [];
    for (let e = 0; e < this.numEnvs; e++) {
      rewards[e] = REWARD[(e + this.k[e]!) % 4]![actions[e]!]!;
      this.rewardLog.push(rewards[e]!);
      this.episodeReturn[e]! += rewards[e]!;
      this.k[e]!++;
      infos.push({});
      if (this.k[e] === this.episodeLength) {
        dones[e] = 1;
        infos[e] = { episodeReturn: this.episodeReturn[e], episodeLength: this.episodeLength };
        this.k[e] = 0;
        this.episodeReturn[e] = 0;
      }
    }
    return { observations: this.observe(), rewards, dones, infos };
  }

  private observe(): Float32Array {
    const out = new Float32Array(this.numEnvs * 2);
    for (let e = 0; e < this.numEnvs; e++) out.set(OBS[(e + this.k[e]!) % 4]!, 2 * e);
    this.lastObservations = out.slice();
    return out;
  }
}

/** A policy with one tanh layer of 3 per trunk and weights drawn here, large enough that the policy is far from uniform. */
function makePolicy(seed = 11): ActorCritic {
  const policy = new ActorCritic({ observationSize: 2, actionCount: 3, hidden: [3] });
  policy.namedParameters().forEach(([, p], k) => p.set(randomData(p.size, seed * 100 + k, -1, 1)));
  return policy;
}

/** A fixed reference: logits = obs W^T + b, biased towards action 0. */
class PreferFirstAction extends Module implements ReferencePolicy {
  readonly linear = new Linear(2, 3);
  constructor() {
    super();
    this.linear.weight.set(randomData(6, 77, -0.5, 0.5));
    this.linear.bias!.set([1.5, 0, -0.5]);
  }
  logits(obs: Tensor): Tensor {
    return this.linear.forward(obs);
  }
  /** The same in float64, for the reference. */
  logits64 = (obs: ArrayLike<number>, rows: number): Float64Array => linearRef(obs, rows, this.linear.weight.view(), this.linear.bias!.view());
}

// ---- running one update beside the reference -------------------------------------------------

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const paramsOf = (m: Module): Params => m.namedParameters().map(([n, p]) => [n, f64(p.view())]);
const flat = (params: Params) => f64(params.flatMap(([, v]) => Array.from(v)));

function adamOf(trainer: PPOTrainer) {
  const s = trainer.optimizer.stateDict();
  const n = trainer.policy.parameters().length;
  const pick = (name: string) => Array.from({ length: n }, (_, i) => f64(s.tensors[`${name}.${i}`]!));
  return { expAvg: pick('exp_avg'), expAvgSq: pick('exp_avg_sq'), stepCount: s.stepCount };
}

/** A small config that reaches every term of the loss; tests override parts of it. */
const BASE: Partial<PPOConfig> = {
  stepsPerUpdate: 3,
  epochs: 1,
  minibatches: 1,
  learningRate: 0.1,
  adamEps: 0.01,
  maxGradNorm: 0,
  clipRange: 0.2,
  valueClip: 0.2,
  entropyCoef: 0.05,
  valueCoef: 0.5,
  gamma: 0.9,
  gaeLambda: 0.8,
  klCoef: 0,
  seed: 5,
};

interface Setup {
  config?: Partial<PPOConfig>;
  reference?: 'copy' | 'tie' | PreferFirstAction;
  episodeLength?: number;
}

function build(setup: Setup = {}) {
  const env = new TableEnv(2, setup.episodeLength ?? 2);
  const policy = makePolicy();
  const trainer = new PPOTrainer({ env, policy, config: { ...BASE, ...setup.config }, referenceModel: setup.reference ?? 'copy' });
  return { env, policy, trainer };
}

/**
 * One await trainer.update(), and the reference's replay of it from the parameters, Adam state and
 * sampled actions of the same update. `refConfig` overrides what the reference is told (to show
 * that a different rule gives a different answer).
 */
async function updateBeside(trainer: PPOTrainer, env: TableEnv, setup: { reference: 'copy' | 'tie' | PreferFirstAction; lr?: number; klCoef?: number; refConfig?: Partial<PpoRefConfig> }) {
  const c = trainer.config;
  const params = paramsOf(trainer.policy);
  const adam = adamOf(trainer);
  const refParams = setup.reference === 'copy' ? paramsOf(trainer.reference as Module) : null;
  env.rewardLog = [];
  const metrics = await trainer.update();
  const b = trainer.buffer;
  const referenceLogits =
    setup.reference === 'tie'
      ? null
      : setup.reference === 'copy'
        ? (obs: ArrayLike<number>, rows: number) => actorCriticRef(refParams!, obs, rows).logits
        : setup.reference.logits64;
  const config: PpoRefConfig = {
    gamma: c.gamma,
    gaeLambda: c.gaeLambda,
    epochs: c.epochs,
    normalizeAdvantages: c.normalizeAdvantages,
    learningRate: setup.lr ?? c.learningRate,
    adamEps: c.adamEps,
    maxGradNorm: c.maxGradNorm,
    clipRange: c.clipRange,
    valueClip: c.valueClip,
    entropyCoef: c.entropyCoef,
    valueCoef: c.valueCoef,
    klCoef: setup.klCoef ?? c.klCoef,
    klPenalty: c.klPenalty,
    klEstimator: c.klEstimator,
    ...setup.refConfig,
  };
  const expected = ppoUpdateRef({
    params,
    adam,
    rollout: { T: b.steps, N: b.numEnvs, obs: b.observations, actions: b.actions, envRewards: env.rewardLog, dones: b.dones, lastObs: env.lastObservations },
    actionCount: env.actionCount,
    referenceLogits,
    config,
  });
  const change = (after: Params) => flat(after).map((x, i) => x - flat(params)[i]!);
  return { metrics, expected, before: params, actualChange: change(paramsOf(trainer.policy)), expectedChange: change(expected.params) };
}

/** n updates, one after the other; their metrics. */
async function updates(trainer: PPOTrainer, n: number) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await trainer.update());
  return out;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));

const REPORTED = ['objective', 'objective_unclipped', 'kl_penalty', 'kl', 'approx_kl', 'kl_to_ref', 'kl_coef', 'entropy', 'reward_mean', 'clipfrac', 'policy_loss', 'value_loss', 'explained_variance', 'grad_norm', 'lr'];

/** Every metric the reference computes, to float32 accuracy of the losses (relative 1e-4: sums over a few rows of float32 terms, and second-epoch values sit on parameters that already differ by ~1e-6). */
function expectMetricsMatch(metrics: Metrics, expected: Record<string, number>) {
  for (const key of REPORTED) expectClose([metrics[key]!], [expected[key]!], key, 1e-4, 1e-6);
}

// ---- the PPO step ----------------------------------------------------------------------------

describe('one update against the float64 reference', () => {
  it('clipping on: two epochs with large steps, so the clip binds in the second; value and gradient clipping on', async () => {
    const setup = { reference: 'copy' as const };
    const { env, trainer } = build({ config: { epochs: 2, clipRange: 0.1, maxGradNorm: 0.3 }, ...setup });
    const { metrics, expected, actualChange, expectedChange } = await updateBeside(trainer, env, setup);

    expect(expected.epochs[0]!.clipfrac).toBe(0); // ratio 1 at the start of epoch 1
    expect(expected.epochs[1]!.clipfrac).toBeGreaterThan(0); // the clip binds in epoch 2...
    expect(expected.epochs[1]!.clipfrac).toBeLessThan(1); // ...for some rows, not all
    expect(expected.epochs[0]!.gradNorm).toBeGreaterThan(0.3); // the gradient-norm clip binds too
    expectClose(actualChange, expectedChange, 'parameter change', 0, 1e-4 * 0.1);
    expectMetricsMatch(metrics, expected.metrics);

    // The comparison can tell: the same update without the surrogate clip lands elsewhere.
    const again = build({ config: { epochs: 2, clipRange: 0.1, maxGradNorm: 0.3 }, ...setup });
    const unclipped = await updateBeside(again.trainer, again.env, { ...setup, refConfig: { clipRange: 0 } });
    expect(maxAbsDiff(actualChange, unclipped.expectedChange)).toBeGreaterThan(100 * 1e-4 * 0.1);
  });

  it('clipping off (clipRange 0): the plain surrogate, clipfrac 0; no gradient clipping (maxGradNorm 0)', async () => {
    const setup = { reference: 'copy' as const };
    const { env, trainer } = build({ config: { epochs: 2, clipRange: 0, valueClip: 0 }, ...setup });
    const { metrics, expected, actualChange, expectedChange } = await updateBeside(trainer, env, setup);
    expect(metrics.clipfrac).toBe(0);
    expect(metrics.objective).toBe(-metrics.policy_loss!);
    // without clipping the surrogate is mean(A ratio): the objective is the unclipped one (to float32 rounding of two sums)
    expect(Math.abs(metrics.objective! - metrics.objective_unclipped!)).toBeLessThan(1e-6);
    expectClose(actualChange, expectedChange, 'parameter change', 0, 1e-4 * 0.1);
    expectMetricsMatch(metrics, expected.metrics);
  });

  it('KL in the reward: the buffer receives env reward - beta (logp - logpRef), and the update follows', async () => {
    const reference = new PreferFirstAction();
    const setup = { reference };
    const { env, trainer } = build({ config: { klCoef: 0.4, klPenalty: 'reward' }, ...setup });
    const { metrics, expected, actualChange, expectedChange } = await updateBeside(trainer, env, setup);
    const b = trainer.buffer;

    // from the trainer's own float32 log-probs: exactly what KlShapedReward is documented to add (one f32 rounding)
    const fromBuffer = env.rewardLog.map((r, i) => Math.fround(r - 0.4 * (b.logProbs[i]! - b.refLogProbs![i]!)));
    expect(Array.from(b.rewards)).toEqual(fromBuffer);
    // and from the float64 reference's log-probs of both models (float32 forward error ~1e-6)
    expectClose(b.rewards, expected.rewards, 'shaped rewards', 1e-5, 1e-6);
    expectClose(b.refLogProbs!, expected.refLogp, 'reference log-probs', 1e-5, 1e-6);
    expectClose(b.logProbs, expected.oldLogp, 'rollout log-probs', 1e-5, 1e-6);
    expect(maxAbsDiff(b.rewards, env.rewardLog)).toBeGreaterThan(0.05); // the shaping is not negligible here

    expect(metrics.kl_penalty).toBeLessThan(0); // mean shaping: the policy is further from the reference than not
    expectClose(actualChange, expectedChange, 'parameter change', 0, 1e-4 * 0.1);
    expectMetricsMatch(metrics, expected.metrics);
  });

  for (const estimator of ['k1', 'k2', 'k3'] as const) {
    it(`KL in the loss (${estimator}): the gradient includes beta * d mean(k) / d logp`, async () => {
      const reference = new PreferFirstAction();
      const setup = { reference };
      const config = { klCoef: 0.5, klPenalty: 'loss' as const, klEstimator: estimator };
      const { env, trainer } = build({ config, ...setup });
      const { metrics, expected, actualChange, expectedChange, before } = await updateBeside(trainer, env, setup);
      expect(Array.from(trainer.buffer.rewards)).toEqual(env.rewardLog.map(Math.fround)); // nothing added to the rewards
      expectClose(actualChange, expectedChange, 'parameter change', 0, 1e-4 * 0.1);
      expectMetricsMatch(metrics, expected.metrics);
      expect(metrics.kl_penalty).toBeGreaterThan(0);

      // The KL term moves the update by far more than the tolerance: replay without it.
      const { env: env2, trainer: t2 } = build({ config, ...setup });
      expect(flat(paramsOf(t2.policy))).toEqual(flat(before));
      const withoutKl = await updateBeside(t2, env2, { ...setup, refConfig: { klCoef: 0 } });
      expect(maxAbsDiff(withoutKl.actualChange, withoutKl.expectedChange)).toBeGreaterThan(100 * 1e-4 * 0.1);
    });
  }

  it('reports every documented metric, finite', async () => {
    const { trainer } = build({ config: { klCoef: 0.1 } });
    const metrics = await trainer.update();
    const names = [...REPORTED, 'episodes_per_sec', 'time/rollout', 'time/update', 'sps', 'global_step', 'update', 'episodic_return'];
    for (const name of names) {
      expect(metrics, name).toHaveProperty([name]);
      expect(Number.isFinite(metrics[name]), `${name} = ${metrics[name]}`).toBe(true);
    }
    expect(metrics.update).toBe(1);
    expect(metrics.global_step).toBe(6);
    expect(metrics.episodes_per_sec).toBeGreaterThan(0); // 2 envs x 3 steps of 2-step episodes: 2 episodes finished
    expect(metrics['time/rollout']).toBeGreaterThan(0);
  });

  it('anneals the learning rate linearly, (1 - k / totalUpdates) lr at update k + 1, and Adam uses it', async () => {
    const setup = { reference: 'copy' as const };
    const { env, trainer } = build({ config: { annealLr: true, totalUpdates: 4, learningRate: 0.08 }, ...setup });
    const lrs: number[] = [];
    for (let k = 0; k < 4; k++) {
      const lr = (1 - k / 4) * 0.08;
      const { metrics, expected, actualChange, expectedChange } = await updateBeside(trainer, env, { ...setup, lr });
      lrs.push(metrics.lr!);
      expectClose(actualChange, expectedChange, `update ${k + 1}: parameter change`, 0, 1e-4 * 0.08);
      expectMetricsMatch(metrics, expected.metrics);
    }
    expect(lrs).toEqual([0, 1, 2, 3].map((k) => (1 - k / 4) * 0.08)); // CleanRL: frac = 1 - (update - 1) / total
    expectClose(lrs, [0.08, 0.06, 0.04, 0.02], 'lr', 1e-15); // the same numbers by hand
    await expect(trainer.update()).rejects.toThrow(/update 5 is past totalUpdates \(4\)/);
  });
});

describe('determinism', () => {
  it('the SIMD and scalar builds of the core train bit-identically (docs/architecture.md, "Determinism")', async () => {
    const { simd, scalar } = await loadCores();
    const runOn = async (core: Core) => {
      const previous = setDefaultCore(core);
      try {
        const { trainer, policy } = build({ config: { epochs: 2, minibatches: 2, klCoef: 0.1 }, reference: new PreferFirstAction() });
        expect(trainer.core).toBe(core);
        expect(policy.parameters()[0]!.core).toBe(core);
        const history = await updates(trainer, 3);
        return { params: policy.parameters().map((p) => p.toArray()), history };
      } finally {
        setDefaultCore(previous);
      }
    };
    const a = await runOn(simd), b = await runOn(scalar);
    expect(simd.simd && !scalar.simd).toBe(true);
    a.params.forEach((p, i) => expectBitwiseEqual(b.params[i]!, p, `parameter ${i}`));
    for (const key of REPORTED) a.history.forEach((m, i) => expect(Object.is(b.history[i]![key], m[key]), `update ${i + 1}: ${key}`).toBe(true));
  });
});

// ---- the KL coefficient ----------------------------------------------------------------------

describe('the KL controller inside the trainer', () => {
  it('window: kl_coef of update k + 1 is the rule applied to kl_coef and kl_to_ref of update k', async () => {
    // a reference far from the policy raises beta; the policy's own copy (KL 0 at first) lowers it
    for (const [reference, klTarget] of [[new PreferFirstAction(), 0.05] as const, ['copy', 0.5] as const]) {
      const { trainer } = build({ config: { klCoef: 0.2, adaptiveKl: true, klTarget, klFactor: 1.7, epochs: 2 }, reference });
      const history = await updates(trainer, 4);
      const rule = new WindowKlController(0.2, klTarget, 1.7);
      for (const m of history) {
        expect(m.kl_coef).toBe(rule.value);
        rule.update(m.kl_to_ref!);
      }
      expect(trainer.klController.value).toBe(rule.value);
      expect(new Set(history.map((m) => m.kl_coef)).size).toBeGreaterThan(1); // it did move
    }
  });

  it('proportional: the same with nSteps = stepsPerUpdate x numEnvs', async () => {
    const { trainer } = build({ config: { klCoef: 0.2, adaptiveKl: true, klController: 'proportional', klTarget: 0.05, klHorizon: 50 }, reference: new PreferFirstAction() });
    const history = await updates(trainer, 3);
    const rule = new ProportionalKlController(0.2, 0.05, 50);
    for (const m of history) {
      expect(m.kl_coef).toBe(rule.value);
      rule.update(m.kl_to_ref!, 3 * 2);
    }
    expect(trainer.klController.value).toBe(rule.value);
    expect(history[1]!.kl_coef).not.toBe(history[0]!.kl_coef);
  });
});

// ---- reference models ------------------------------------------------------------------------

describe('reference models', () => {
  it("'copy' stays frozen: bitwise equal after several updates while the policy moved; no gradient, not optimised", async () => {
    const { trainer, policy } = build({ config: { klCoef: 0.1, epochs: 2 } });
    const reference = trainer.reference as ActorCritic;
    const initial = reference.parameters().map((p) => p.toArray());
    const policyInitial = policy.parameters().map((p) => p.toArray());
    expect(initial).toEqual(policyInitial); // a copy of the policy as built
    for (let i = 0; i < 4; i++) await trainer.update();
    reference.parameters().forEach((p, i) => expect(new Uint32Array(p.toArray().buffer), `reference parameter ${i}`).toEqual(new Uint32Array(initial[i]!.buffer)));
    expect(maxAbsDiff(flat(paramsOf(policy)), flat(paramsOf(reference)))).toBeGreaterThan(0.1); // the policy did move

    // frozen: a forward with gradients on records nothing, its gradient buffers never filled
    const core = trainer.core;
    const tapeBefore = core.exports.tapeLength();
    const logits = reference.logits(Tensor.from([1, 0.5], [1, 2]));
    expect(core.exports.tapeLength()).toBe(tapeBefore);
    expect(logits.view().length).toBe(3);
    core.endStep();
    for (const p of reference.parameters()) {
      const grad = p.grad(); // null, or the buffer from before freeze(), never written since
      expect(grad === null || grad.every((g) => g === 0)).toBe(true);
    }
    expect(reference.parameters().every((p) => !core.requiresGrad(p.id))).toBe(true); // frozen
    // not in the optimizer: it holds exactly the policy's parameters
    const optimised = new Set(trainer.optimizer.params.map((p) => p.id));
    expect(optimised).toEqual(new Set(policy.parameters().map((p) => p.id)));
    for (const p of reference.parameters()) expect(optimised.has(p.id)).toBe(false);
  });

  it("'tie': the reference log-probs are the rollout's, kl_to_ref is 0, the reward penalty is exactly 0", async () => {
    const { env, trainer } = build({ config: { klCoef: 0.5, klPenalty: 'reward' }, reference: 'tie' });
    for (let i = 0; i < 2; i++) {
      env.rewardLog = [];
      const m = await trainer.update();
      const b = trainer.buffer;
      expect(new Uint32Array(b.refLogProbs!.slice().buffer)).toEqual(new Uint32Array(b.logProbs.slice().buffer));
      expect(m.kl_to_ref).toBe(0);
      expect(m.kl_penalty).toBe(0);
      expect(Array.from(b.rewards)).toEqual(env.rewardLog.map(Math.fround)); // untouched by the shaping
    }
  });

  it("'tie' in the loss: the penalty is 0 at the first minibatch of the first epoch and positive later", async () => {
    // one epoch of one minibatch: the policy being optimised is still the one that acted
    const once = build({ config: { klCoef: 0.5, klPenalty: 'loss', klEstimator: 'k3', epochs: 1 }, reference: 'tie' });
    const m1 = await once.trainer.update();
    expect(m1.kl_penalty).toBe(0);
    expect(m1.kl_to_ref).toBe(0);
    // two epochs: kl_penalty averages epoch 1 (0) with epoch 2, after the policy moved; the
    // whole update is replayed with the rollout's own log-probs as the reference
    const setup = { reference: 'tie' as const };
    const twice = build({ config: { klCoef: 0.5, klPenalty: 'loss', klEstimator: 'k3', epochs: 2 }, ...setup });
    const { metrics, expected, actualChange, expectedChange } = await updateBeside(twice.trainer, twice.env, setup);
    expect(expected.epochs[0]!.klLoss).toBe(0);
    expect(expected.epochs[1]!.klLoss).toBeGreaterThan(1e-3);
    expect(metrics.kl_penalty).toBeGreaterThan(0);
    expect(metrics.kl_to_ref).toBe(0);
    expectClose(actualChange, expectedChange, 'parameter change', 0, 1e-4 * 0.1);
    expectMetricsMatch(metrics, expected.metrics);
  });

  it('a custom Module: kl_to_ref is the float64 KL of the two softmaxes over the visited observations', async () => {
    const reference = new PreferFirstAction();
    const { trainer, policy } = build({ reference, config: { klCoef: 0.1 } });
    for (let i = 0; i < 3; i++) {
      const params = paramsOf(policy); // the policy that will act in this update's rollout
      const m = await trainer.update();
      const b = trainer.buffer;
      const rows = b.steps * b.numEnvs;
      const kl = klFullRef(actorCriticRef(params, b.observations, rows).logits, reference.logits64(b.observations, rows), 3);
      const expected = kl.reduce((s, x) => s + x, 0) / rows;
      expect(expected).toBeGreaterThan(0.05);
      expectClose([m.kl_to_ref!], [expected], `update ${i + 1}: kl_to_ref`, 1e-5, 1e-7); // float32 log-softmax, ~1e-7 per term
    }
  });

  it("kl_to_ref is the exact KL of the full distributions ('copy', after the policy moved), not a sampled estimate", async () => {
    const { trainer, policy } = build({ config: { klCoef: 0.05, epochs: 3, learningRate: 0.2 } });
    const reference = paramsOf(trainer.reference as Module);
    const first = await trainer.update();
    expect(first.kl_to_ref).toBe(0); // the first rollout is taken by the copy itself
    for (let i = 0; i < 2; i++) {
      const params = paramsOf(policy);
      const m = await trainer.update();
      const b = trainer.buffer;
      const rows = b.steps * b.numEnvs;
      const exact = klFullRef(actorCriticRef(params, b.observations, rows).logits, actorCriticRef(reference, b.observations, rows).logits, 3);
      const expected = exact.reduce((s, x) => s + x, 0) / rows;
      expectClose([m.kl_to_ref!], [expected], 'kl_to_ref', 1e-5, 1e-7);
      // the sampled k1 estimate over the same rollout is a different number
      let k1 = 0;
      for (let r = 0; r < rows; r++) k1 += (b.logProbs[r]! - b.refLogProbs![r]!) / rows;
      expect(Math.abs(k1 - expected)).toBeGreaterThan(1e-4);
    }
  });
});

// ---- refused input ---------------------------------------------------------------------------

/** A TableEnv whose step() output is broken in one way. */
class BrokenEnv extends TableEnv {
  constructor(private readonly breakStep: (r: StepResult) => StepResult) {
    super(2, 1);
  }
  override step(actions: Int32Array): StepResult {
    return this.breakStep(super.step(actions));
  }
}

async function errorOf(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('refused input', () => {
  it('a NaN or infinite reward from the environment: NumericError naming rewards', async () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const env = new BrokenEnv((r) => ({ ...r, rewards: Float32Array.from(r.rewards, (x, e) => (e === 1 ? bad : x)) }));
      const trainer = new PPOTrainer({ env, policy: makePolicy(), config: BASE });
      const e = await errorOf(() => trainer.update());
      expect(e).toBeInstanceOf(NumericError);
      expect(e.message).toMatch(new RegExp(`rewards has a non-finite value ${bad} at env 1`));
    }
  });

  it('an environment returning observations of the wrong shape: ShapeError', async () => {
    const env = new BrokenEnv((r) => ({ ...r, observations: r.observations.subarray(0, 3) }));
    const e = await errorOf(() => new PPOTrainer({ env, policy: makePolicy(), config: BASE }).update());
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/observations has 3 values, expected numEnvs x observationSize = 2 x 2 = 4/);
  });

  it('a policy whose actions or inputs do not fit the environment (actions out of its range): refused when the trainer is built', async () => {
    const env = new TableEnv(2);
    const fourActions = new ActorCritic({ observationSize: 2, actionCount: 4, hidden: [3] });
    const e = await errorOf(() => new PPOTrainer({ env, policy: fourActions }));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/policy has 4 actions \(actionCount\), the environment has 3/);
    const wide = new ActorCritic({ observationSize: 5, actionCount: 3, hidden: [3] });
    expect(() => new PPOTrainer({ env, policy: wide })).toThrow(ShapeError);
  });

  it('an environment that shrinks its action space after the trainer was built: the engine refuses the out-of-range action', async () => {
    const env = new TableEnv(2);
    const policy = makePolicy();
    policy.policyHead.linear.bias!.set([-20, -20, 20]); // always action 2
    const trainer = new PPOTrainer({ env, policy, config: BASE });
    (env as { actionCount: number }).actionCount = 2; // broken: the actions it accepts changed under the trainer
    const e = await errorOf(() => trainer.update());
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/policy\.act returned action 2 at step 0, env 0; actions must be integers in \[0, 2\)/);
  });

  it('a reference model with the wrong number of logits: a typed error at the first rollout, naming the shapes', async () => {
    class TwoLogits extends Module implements ReferencePolicy {
      readonly linear = new Linear(2, 2);
      logits(obs: Tensor): Tensor {
        return this.linear.forward(obs);
      }
    }
    const trainer = new PPOTrainer({ env: new TableEnv(2), policy: makePolicy(), referenceModel: new TwoLogits(), config: BASE });
    const e = await errorOf(() => trainer.update());
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toMatch(/reference\.logits: the reference model must give the policy's logits shape.*\(shapes \[2, 2\] and \[2, 3\]\)/);
  });

  it('a batch that does not split into minibatches, or minibatches too small to whiten: ValueError', async () => {
    const env = new TableEnv(2);
    expect(() => new PPOTrainer({ env, policy: makePolicy(), config: { stepsPerUpdate: 3, minibatches: 4 } })).toThrow(
      /stepsPerUpdate x numEnvs \(6\) must be divisible by minibatches \(4\)/,
    );
    expect(() => new PPOTrainer({ env, policy: makePolicy(), config: { stepsPerUpdate: 3, minibatches: 6 } })).toThrow(/normalizeAdvantages.*needs >= 2 rows/);
    expect(() => new PPOTrainer({ env, policy: makePolicy(), config: { stepsPerUpdate: 3, minibatches: 6, normalizeAdvantages: false } })).not.toThrow();
  });

  it("a reference sharing the policy's parameters, and 'tie' with an adaptive coefficient: ValueError", async () => {
    const policy = makePolicy();
    const e = await errorOf(() => new PPOTrainer({ env: new TableEnv(2), policy, referenceModel: policy }));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/shares parameters with the policy \(actorTrunk\.layers\.0\.weight/);
    expect(policy.parameters().every((p) => p.core.requiresGrad(p.id))).toBe(true); // refused before anything was frozen
    expect(() => new PPOTrainer({ env: new TableEnv(2), policy, referenceModel: 'tie', config: { adaptiveKl: true } })).toThrow(/adaptiveKl needs a reference model/);
  });

  const badConfigs: [Partial<PPOConfig> | Record<string, unknown>, RegExp][] = [
    [{ learningRate: -1 }, /PPOConfig\.learningRate must be a finite number >= 0 \(got -1\)/],
    [{ learningRate: NaN }, /PPOConfig\.learningRate/],
    [{ epochs: 0 }, /PPOConfig\.epochs must be a positive integer \(got 0\)/],
    [{ minibatches: 1.5 }, /PPOConfig\.minibatches must be a positive integer/],
    [{ stepsPerUpdate: -3 }, /PPOConfig\.stepsPerUpdate/],
    [{ gamma: 1.5 }, /PPOConfig\.gamma must be in \[0, 1\] \(got 1\.5\)/],
    [{ gaeLambda: -0.1 }, /PPOConfig\.gaeLambda/],
    [{ clipRange: Infinity }, /PPOConfig\.clipRange/],
    [{ valueClip: -0.2 }, /PPOConfig\.valueClip/],
    [{ entropyCoef: -0.01 }, /PPOConfig\.entropyCoef/],
    [{ maxGradNorm: NaN }, /PPOConfig\.maxGradNorm/],
    [{ klCoef: -0.1 }, /PPOConfig\.klCoef/],
    [{ adamEps: -1 }, /PPOConfig\.adamEps/],
    [{ klEstimator: 'k4' }, /PPOConfig\.klEstimator must be 'k1', 'k2' or 'k3' \(got k4\)/],
    [{ klPenalty: 'advantage' }, /PPOConfig\.klPenalty/],
    [{ klController: 'pid' }, /PPOConfig\.klController/],
    [{ klTarget: 0 }, /PPOConfig\.klTarget must be a finite number > 0/],
    [{ klFactor: 1 }, /PPOConfig\.klFactor must be a finite number > 1/],
    [{ klHorizon: 0 }, /PPOConfig\.klHorizon/],
    [{ annealLr: true }, /PPOConfig\.annealLr needs totalUpdates >= 1/],
    [{ annealLr: 'yes' }, /PPOConfig\.annealLr must be true or false/],
    [{ totalUpdates: 2.5 }, /PPOConfig\.totalUpdates must be an integer/],
    [{ seed: -1 }, /PPOConfig\.seed must be an integer/],
    [{ seed: 0.5 }, /PPOConfig\.seed/],
    [{ learningrate: 1e-3 }, /PPOConfig has no field 'learningrate'/],
  ];
  for (const [config, message] of badConfigs) {
    it(`config ${JSON.stringify(config)}: ValueError naming the field`, async () => {
      const e = await errorOf(() => new PPOTrainer({ env: new TableEnv(2), policy: makePolicy(), config: config as Partial<PPOConfig> }));
      expect(e).toBeInstanceOf(ValueError);
      expect(e.message).toMatch(message);
    });
  }
});
