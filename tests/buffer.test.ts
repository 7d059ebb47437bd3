// GAE, the rollout buffer, whitening, the move into the core (toBatch) and explained variance, checked against
// independent float64 references: the definition of GAE as a discounted sum of TD errors,
// Monte Carlo returns (lambda = 1), one-step TD errors (lambda = 0), CleanRL's loop restated
// with its own done convention, and hand-computed cases.

import { beforeAll, describe, expect, it } from 'vitest';
import {
  NumericError,
  RolloutBuffer,
  ShapeError,
  TensorRolloutBatch,
  init,
  ValueError,
  computeGae,
  explainedVariance,
  whiten,
  type Transition,
} from '../sdk/index';
import { expectClose, randomData, rng } from './util';

beforeAll(async () => {
  await init(); // toBatch() moves a rollout into the core
});

// ---- references (float64, (T, N) row-major like the buffer) -------------------------------

interface Rollout {
  steps: number;
  numEnvs: number;
  rewards: Float32Array;
  values: Float32Array;
  /** 1 where the episode ended with step t (NovaRL's convention). */
  dones: Uint8Array;
  lastValues: Float32Array;
}

/** Value of the observation after step t of env e (the bootstrap after the last step). */
function nextValue(r: Rollout, t: number, e: number): number {
  return t === r.steps - 1 ? r.lastValues[e]! : r.values[(t + 1) * r.numEnvs + e]!;
}

/** Index of the last step of the episode containing step t: the first done at or after t, else T - 1. */
function episodeEnd(r: Rollout, t: number, e: number): number {
  let k = t;
  while (k < r.steps - 1 && r.dones[k * r.numEnvs + e] === 0) k++;
  return k;
}

/** GAE by definition: A_t = sum_{k=t}^{end} (gamma lambda)^(k-t) delta_k, no recursion. */
function gaeByDefinition(r: Rollout, gamma: number, lambda: number): Float64Array {
  const { steps: T, numEnvs: N } = r;
  const adv = new Float64Array(T * N);
  for (let e = 0; e < N; e++) {
    for (let t = 0; t < T; t++) {
      const end = episodeEnd(r, t, e);
      let sum = 0;
      for (let k = t; k <= end; k++) {
        const i = k * N + e;
        const bootstrap = r.dones[i] ? 0 : gamma * nextValue(r, k, e);
        const delta = r.rewards[i]! + bootstrap - r.values[i]!;
        sum += Math.pow(gamma * lambda, k - t) * delta;
      }
      adv[t * N + e] = sum;
    }
  }
  return adv;
}

/** lambda = 1: discounted return to the episode's end (bootstrapped if cut by the rollout) minus V_t. */
function monteCarloAdvantages(r: Rollout, gamma: number): Float64Array {
  const { steps: T, numEnvs: N } = r;
  const adv = new Float64Array(T * N);
  for (let e = 0; e < N; e++) {
    for (let t = 0; t < T; t++) {
      const end = episodeEnd(r, t, e);
      let ret = 0;
      for (let k = t; k <= end; k++) ret += Math.pow(gamma, k - t) * r.rewards[k * N + e]!;
      if (r.dones[end * N + e] === 0) ret += Math.pow(gamma, end - t + 1) * r.lastValues[e]!;
      adv[t * N + e] = ret - r.values[t * N + e]!;
    }
  }
  return adv;
}

/** lambda = 0: the one-step TD error r_t + gamma V_{t+1} (0 after a done) - V_t. */
function tdErrors(r: Rollout, gamma: number): Float64Array {
  const { steps: T, numEnvs: N } = r;
  const adv = new Float64Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < N; e++) {
      const i = t * N + e;
      adv[i] = r.rewards[i]! + (r.dones[i] ? 0 : gamma * nextValue(r, t, e)) - r.values[i]!;
    }
  }
  return adv;
}

/**
 * CleanRL ppo.py's loop, verbatim, in float32 like torch (Math.fround after every operation),
 * fed CleanRL's own done convention: dones[t] = "obs[t] starts a new episode" = our dones[t-1],
 * next_done = our dones[T-1]. dones[0] (from the previous rollout) is never read; it is set to
 * 1 here so that a loop reading it would give a visibly wrong answer.
 */
function cleanRlGae(r: Rollout, gamma: number, lambda: number): Float32Array {
  const { steps: T, numEnvs: N } = r;
  const f = Math.fround;
  const cleanDones = new Uint8Array(T * N);
  for (let e = 0; e < N; e++) {
    cleanDones[e] = 1;
    for (let t = 1; t < T; t++) cleanDones[t * N + e] = r.dones[(t - 1) * N + e]!;
  }
  const nextDone = r.dones.subarray((T - 1) * N);
  const advantages = new Float32Array(T * N);
  for (let e = 0; e < N; e++) {
    let lastgaelam = 0;
    for (let t = T - 1; t >= 0; t--) {
      let nextnonterminal: number, nextvalues: number;
      if (t === T - 1) {
        nextnonterminal = 1 - nextDone[e]!;
        nextvalues = r.lastValues[e]!;
      } else {
        nextnonterminal = 1 - cleanDones[(t + 1) * N + e]!;
        nextvalues = r.values[(t + 1) * N + e]!;
      }
      const delta = f(f(r.rewards[t * N + e]! + f(f(gamma * nextvalues) * nextnonterminal)) - r.values[t * N + e]!);
      lastgaelam = f(delta + f(f(f(gamma * lambda) * nextnonterminal) * lastgaelam));
      advantages[t * N + e] = lastgaelam;
    }
  }
  return advantages;
}

function randomRollout(steps: number, numEnvs: number, seed: number, doneProbability = 0.3): Rollout {
  const r = rng(seed + 1000);
  const dones = new Uint8Array(steps * numEnvs);
  for (let i = 0; i < dones.length; i++) dones[i] = r() < doneProbability ? 1 : 0;
  return {
    steps,
    numEnvs,
    rewards: Float32Array.from(randomData(steps * numEnvs, seed, -1, 2)),
    values: Float32Array.from(randomData(steps * numEnvs, seed + 1, -3, 3)),
    dones,
    lastValues: Float32Array.from(randomData(numEnvs, seed + 2, -3, 3)),
  };
}

function plusValues(adv: ArrayLike<number>, values: Float32Array): Float64Array {
  return Float64Array.from(values, (v, i) => adv[i]! + v);
}

// Our GAE runs in float64 and rounds each result to float32 once: relative error <= 2^-24
// (6e-8) against a float64 reference; the references' different summation order adds ~1e-16.
const F32_RTOL = 1e-7;
const F32_ATOL = 1e-12;

// ---- GAE -----------------------------------------------------------------------------------

describe('computeGae', () => {
  it('matches a hand-computed case with an episode boundary and a final done', () => {
    // env 0: dones [0, 1, 0]. gamma = lambda = 0.5.
    //   t=2: delta = 3 + 0.5*2 - 1.5 = 2.5;             A = 2.5
    //   t=1: episode ends here, delta = 2 - 1 = 1;      A = 1
    //   t=0: delta = 1 + 0.5*1 - 0.5 = 1;               A = 1 + 0.25*1 = 1.25
    // env 1: dones [0, 0, 1], values 0, lastValue 100 must be ignored (the episode ended).
    //   t=2: A = 1; t=1: A = 1 + 0.5*0.5*1 = 1.25; t=0: A = 1 + 0.25*1.25 = 1.3125
    const out = computeGae({
      steps: 3,
      numEnvs: 2,
      rewards: Float32Array.from([1, 1, 2, 1, 3, 1]),
      values: Float32Array.from([0.5, 0, 1, 0, 1.5, 0]),
      dones: Uint8Array.from([0, 0, 1, 0, 0, 1]),
      lastValues: Float32Array.from([2, 100]),
      gamma: 0.5,
      gaeLambda: 0.5,
    });
    // All values are exact binary fractions, so equality is exact.
    expect(Array.from(out.advantages)).toEqual([1.25, 1.3125, 1, 1.25, 2.5, 1]);
    expect(Array.from(out.returns)).toEqual([1.75, 1.3125, 2, 1.25, 4, 1]);
  });

  it('matches the definition (sum of discounted TD errors) on random rollouts', () => {
    for (const [T, N, seed] of [[1, 1, 1], [7, 3, 2], [16, 4, 3], [5, 1, 4]] as const) {
      const r = randomRollout(T, N, seed);
      const out = computeGae({ ...r, gamma: 0.9, gaeLambda: 0.8 });
      const expected = gaeByDefinition(r, 0.9, 0.8);
      expectClose(out.advantages, expected, `advantages T=${T} N=${N}`, F32_RTOL, F32_ATOL);
      expectClose(out.returns, plusValues(expected, r.values), `returns T=${T} N=${N}`, F32_RTOL, F32_ATOL);
    }
  });

  it('lambda = 1 gives Monte Carlo returns minus values, lambda = 0 gives TD errors', () => {
    const r = randomRollout(12, 3, 5);
    expectClose(computeGae({ ...r, gamma: 0.95, gaeLambda: 1 }).advantages, monteCarloAdvantages(r, 0.95), 'lambda=1', F32_RTOL, F32_ATOL);
    expectClose(computeGae({ ...r, gamma: 0.95, gaeLambda: 0 }).advantages, tdErrors(r, 0.95), 'lambda=0', F32_RTOL, F32_ATOL);
  });

  it('agrees with CleanRL\'s loop under its own done convention', () => {
    for (const seed of [6, 7, 8]) {
      const r = randomRollout(20, 4, seed, 0.2);
      const ours = computeGae({ ...r, gamma: 0.99, gaeLambda: 0.95 }).advantages;
      // CleanRL rounds to float32 after every operation (torch float32); over 20 steps that
      // drifts by a few float32 ulps of values of order 10.
      expectClose(ours, cleanRlGae(r, 0.99, 0.95), `seed ${seed}`, 1e-5, 1e-5);
    }
  });

  it('refuses wrong lengths and coefficients outside [0, 1]', () => {
    const r = randomRollout(3, 2, 9);
    expect(() => computeGae({ ...r, rewards: new Float32Array(5), gamma: 0.9, gaeLambda: 0.9 })).toThrow(ShapeError);
    expect(() => computeGae({ ...r, rewards: new Float32Array(5), gamma: 0.9, gaeLambda: 0.9 })).toThrow(/rewards has 5 values, expected 6/);
    expect(() => computeGae({ ...r, lastValues: new Float32Array(3), gamma: 0.9, gaeLambda: 0.9 })).toThrow(/lastValues has 3 values/);
    expect(() => computeGae({ ...r, gamma: 1.5, gaeLambda: 0.9 })).toThrow(ValueError);
    expect(() => computeGae({ ...r, gamma: 0.9, gaeLambda: NaN })).toThrow(/gaeLambda/);
  });
});

// ---- the buffer ----------------------------------------------------------------------------

function transition(N: number, obsSize: number, seed: number, overrides: Partial<Transition> = {}): Transition {
  return {
    observations: Float32Array.from(randomData(N * obsSize, seed)),
    actions: Int32Array.from({ length: N }, (_, e) => (seed + e) % 3),
    logProbs: Float32Array.from(randomData(N, seed + 1, -3, 0)),
    values: Float32Array.from(randomData(N, seed + 2)),
    rewards: Float32Array.from(randomData(N, seed + 3)),
    dones: Uint8Array.from({ length: N }, (_, e) => ((seed + e) % 4 === 0 ? 1 : 0)),
    ...overrides,
  };
}

function fill(buffer: RolloutBuffer, seed = 0): Transition[] {
  const added: Transition[] = [];
  for (let t = 0; t < buffer.steps; t++) {
    const step = transition(buffer.numEnvs, buffer.observationSize, seed + 10 * t);
    buffer.add(step);
    added.push(step);
  }
  return added;
}

/** The (T, N) concatenation of one field of the added transitions. */
function stack<K extends 'rewards' | 'values' | 'logProbs' | 'observations'>(steps: Transition[], key: K): Float32Array {
  const parts = steps.map((s) => s[key]);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const OPTIONS = { steps: 6, numEnvs: 4, observationSize: 3, gamma: 0.99, gaeLambda: 0.95 };

describe('RolloutBuffer', () => {
  it('stores transitions at t * numEnvs + env and exposes them as flat arrays', () => {
    const buffer = new RolloutBuffer(OPTIONS);
    const added = fill(buffer, 3);
    expect(buffer.size).toBe(6);
    expect(Array.from(buffer.observations)).toEqual(Array.from(stack(added, 'observations')));
    expect(Array.from(buffer.rewards)).toEqual(Array.from(stack(added, 'rewards')));
    expect(Array.from(buffer.values)).toEqual(Array.from(stack(added, 'values')));
    expect(Array.from(buffer.logProbs)).toEqual(Array.from(stack(added, 'logProbs')));
    expect(Array.from(buffer.actions)).toEqual(added.flatMap((s) => Array.from(s.actions)));
    expect(Array.from(buffer.dones)).toEqual(added.flatMap((s) => Array.from(s.dones)));
    expect(buffer.refLogProbs).toBeUndefined();
  });

  it('keeps refLogProbs when the rollout has them', () => {
    const buffer = new RolloutBuffer({ ...OPTIONS, steps: 2 });
    const steps = [0, 1].map((t) => transition(4, 3, t, { refLogProbs: Float32Array.from([t, t + 0.5, -t, 2]) }));
    steps.forEach((s) => buffer.add(s));
    expect(Array.from(buffer.refLogProbs!)).toEqual([0, 0.5, -0, 2, 1, 1.5, -1, 2]);
  });

  it('computes GAE over its contents, with returns from the raw advantages', () => {
    const buffer = new RolloutBuffer({ ...OPTIONS, normalizeAdvantages: false });
    fill(buffer, 5);
    const lastValues = Float32Array.from([0.5, -1, 2, 0.25]);
    const lastDones = buffer.dones.slice(-4);
    buffer.computeAdvantages(lastValues, lastDones);
    const r: Rollout = { steps: 6, numEnvs: 4, rewards: buffer.rewards, values: buffer.values, dones: buffer.dones, lastValues };
    const expected = gaeByDefinition(r, 0.99, 0.95);
    expectClose(buffer.advantages, expected, 'advantages', F32_RTOL, F32_ATOL);
    expectClose(buffer.returns, plusValues(expected, buffer.values), 'returns', F32_RTOL, F32_ATOL);
  });

  it("'batch' whitens all advantages once; returns stay raw", () => {
    const raw = new RolloutBuffer({ ...OPTIONS, normalizeAdvantages: false });
    const batch = new RolloutBuffer({ ...OPTIONS, normalizeAdvantages: 'batch' });
    fill(raw, 8);
    fill(batch, 8);
    const lastValues = Float32Array.from([1, 2, 3, 4]);
    raw.computeAdvantages(lastValues, raw.dones.slice(-4));
    batch.computeAdvantages(lastValues, batch.dones.slice(-4));
    expect(Array.from(batch.returns)).toEqual(Array.from(raw.returns));
    expect(Array.from(batch.advantages)).toEqual(Array.from(whiten(raw.advantages)));
    expectMeanStd(batch.advantages);
  });

  it("'minibatch' is no longer a buffer mode: per-minibatch whitening is the PPO step's", () => {
    expect(() => new RolloutBuffer({ ...OPTIONS, normalizeAdvantages: 'minibatch' as never })).toThrow(/'batch' or false/);
  });

  it('toBatch moves the rollout into the core once: (T * N) rows of one step, every column as stored, mask all ones', () => {
    const buffer = new RolloutBuffer(OPTIONS);
    fill(buffer, 9);
    buffer.computeAdvantages(Float32Array.from([0.5, 0, -1, 2]), buffer.dones.slice(-4));
    const batch = buffer.toBatch();
    try {
      expect([batch.rows, batch.steps, batch.dense]).toEqual([24, 1, true]);
      expect(batch.observations.shape).toEqual([24, OPTIONS.observationSize]);
      expect(batch.actions.shape).toEqual([24, 1]);
      expect(Array.from(batch.observations.view())).toEqual(Array.from(buffer.observations));
      expect(Array.from(batch.actions.view())).toEqual(Array.from(buffer.actions));
      expect(Array.from(batch.oldLogProbs.view())).toEqual(Array.from(buffer.logProbs));
      expect(Array.from(batch.refLogProbs.view())).toEqual(Array.from(buffer.refLogProbs ?? buffer.logProbs));
      expect(Array.from(batch.values.view())).toEqual(Array.from(buffer.values));
      expect(Array.from(batch.rewards.view())).toEqual(Array.from(buffer.rewards));
      expect(Array.from(batch.advantages.view())).toEqual(Array.from(buffer.advantages));
      expect(Array.from(batch.returns.view())).toEqual(Array.from(buffer.returns));
      expect(Array.from(batch.mask.view())).toEqual(new Array(24).fill(1));
      // refilled in place on the next rollout, not reallocated
      expect(buffer.toBatch(batch)).toBe(batch);
    } finally {
      batch.free();
    }
  });

  it('toBatch before computeAdvantages, or into a batch of another size: refused', () => {
    const buffer = new RolloutBuffer(OPTIONS);
    fill(buffer, 9);
    expect(() => buffer.toBatch()).toThrow(/call computeAdvantages\(\)/);
    buffer.computeAdvantages(Float32Array.from([0, 0, 0, 0]), buffer.dones.slice(-4));
    const other = new TensorRolloutBatch(12, 1, OPTIONS.observationSize);
    expect(() => buffer.toBatch(other)).toThrow(ShapeError);
    other.free();
  });

  it('refuses wrong lengths, naming the field and the expected length', () => {
    const buffer = new RolloutBuffer(OPTIONS);
    const bad = transition(4, 3, 1, { observations: new Float32Array(11) });
    expect(() => buffer.add(bad)).toThrow(ShapeError);
    expect(() => buffer.add(bad)).toThrow(/observations has 11 values, expected numEnvs x observationSize = 4 x 3 = 12/);
    expect(() => buffer.add(transition(4, 3, 1, { values: new Float32Array(3) }))).toThrow(/values has 3 values, expected numEnvs = 4/);
    expect(() => buffer.add(transition(4, 3, 1, { dones: new Uint8Array(5) }))).toThrow(/dones has 5 values/);
    expect(() => buffer.add(transition(4, 3, 1, { refLogProbs: new Float32Array(2) }))).toThrow(/refLogProbs has 2 values/);
    expect(buffer.size).toBe(0);
  });

  it('refuses NaN and infinite numbers, naming the field, step and env', () => {
    const buffer = new RolloutBuffer(OPTIONS);
    buffer.add(transition(4, 3, 1));
    buffer.add(transition(4, 3, 2));
    const rewards = Float32Array.from([0, NaN, 0, 0]);
    expect(() => buffer.add(transition(4, 3, 3, { rewards }))).toThrow(NumericError);
    expect(() => buffer.add(transition(4, 3, 3, { rewards }))).toThrow(/rewards has a non-finite value NaN at step 2, env 1/);
    const values = Float32Array.from([0, 0, 0, -Infinity]);
    expect(() => buffer.add(transition(4, 3, 3, { values }))).toThrow(/values has a non-finite value -Infinity at step 2, env 3/);
    const observations = new Float32Array(12);
    observations[7] = Infinity;
    expect(() => buffer.add(transition(4, 3, 3, { observations }))).toThrow(/observations has a non-finite value Infinity at step 2, env 2, element 1/);
    expect(buffer.size).toBe(2);
  });

  it('refuses non-integer actions, dones other than 0/1, mixed refLogProbs and overflow', () => {
    const buffer = new RolloutBuffer({ ...OPTIONS, steps: 2 });
    // A JavaScript caller can pass a float array where Int32Array is declared.
    const actions = Float32Array.from([0, 1.5, 2, 0]) as unknown as Int32Array;
    expect(() => buffer.add(transition(4, 3, 1, { actions }))).toThrow(ValueError);
    expect(() => buffer.add(transition(4, 3, 1, { actions }))).toThrow(/actions must be non-negative integers, got 1.5 at step 0, env 1/);
    expect(() => buffer.add(transition(4, 3, 1, { actions: Int32Array.from([0, -1, 0, 0]) }))).toThrow(/got -1/);
    expect(() => buffer.add(transition(4, 3, 1, { dones: Uint8Array.from([0, 2, 0, 0]) }))).toThrow(/dones must be 0 or 1, got 2/);
    buffer.add(transition(4, 3, 1));
    expect(() => buffer.add(transition(4, 3, 2, { refLogProbs: new Float32Array(4) }))).toThrow(/refLogProbs/);
    buffer.add(transition(4, 3, 2));
    expect(() => buffer.add(transition(4, 3, 3))).toThrow(ValueError);
    expect(() => buffer.add(transition(4, 3, 3))).toThrow(/full \(2 steps\); call reset\(\)/);
    buffer.reset();
    expect(buffer.size).toBe(0);
    buffer.add(transition(4, 3, 3));
    expect(buffer.size).toBe(1);
  });

  it('refuses advantages before the rollout is full, and lastDones that contradict the last step', () => {
    const buffer = new RolloutBuffer({ ...OPTIONS, steps: 2 });
    buffer.add(transition(4, 3, 1));
    expect(() => buffer.computeAdvantages(new Float32Array(4), new Uint8Array(4))).toThrow(/holds 1 of 2 steps/);
    expect(() => buffer.advantages).toThrow(/call computeAdvantages/);
    buffer.add(transition(4, 3, 2)); // dones [0, 0, 1, 0]
    expect(() => buffer.computeAdvantages(new Float32Array(3), Uint8Array.from([0, 0, 1, 0]))).toThrow(ShapeError);
    expect(() => buffer.computeAdvantages(Float32Array.from([0, NaN, 0, 0]), Uint8Array.from([0, 0, 1, 0]))).toThrow(NumericError);
    expect(() => buffer.computeAdvantages(new Float32Array(4), new Uint8Array(4))).toThrow(/lastDones\[2\] is 0 but the last step stored dones = 1/);
    buffer.computeAdvantages(new Float32Array(4), Uint8Array.from([0, 0, 1, 0]));
    expect(buffer.advantages.length).toBe(8);
  });

  it('refuses bad options', () => {
    expect(() => new RolloutBuffer({ ...OPTIONS, steps: 0 })).toThrow(/steps must be a positive integer/);
    expect(() => new RolloutBuffer({ ...OPTIONS, numEnvs: 2.5 })).toThrow(/numEnvs/);
    expect(() => new RolloutBuffer({ ...OPTIONS, gamma: -0.1 })).toThrow(/gamma/);
    expect(() => new RolloutBuffer({ ...OPTIONS, normalizeAdvantages: 'epoch' as never })).toThrow(/normalizeAdvantages/);
  });
});

// ---- helpers -------------------------------------------------------------------------------

describe('whiten', () => {
  it('gives mean 0 and sample std 1', () => {
    const x = randomData(101, 11, -5, 20);
    const w = whiten(x);
    expectMeanStd(w);
    // Against the formula in float64 (torch: (x - x.mean()) / (x.std() + 1e-8)).
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const std = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / (x.length - 1));
    // Outputs are float32-rounded float64 results: relative error <= 2^-24.
    expectClose(w, Array.from(x, (v) => (v - mean) / (std + 1e-8)), 'whiten', F32_RTOL, 1e-12);
  });

  it('maps constant input to zeros and refuses fewer than 2 values', () => {
    expect(Array.from(whiten([3, 3, 3]))).toEqual([0, 0, 0]);
    expect(() => whiten([1])).toThrow(ValueError);
  });
});

describe('explainedVariance', () => {
  it('matches hand-computed values', () => {
    // residual [0, 0, 0, -1]: var 0.1875; var(returns) 1.25; 1 - 0.15 = 0.85
    expect(explainedVariance([1, 2, 3, 5], [1, 2, 3, 4])).toBeCloseTo(0.85, 14);
    expect(explainedVariance([1, 2, 3, 4], [1, 2, 3, 4])).toBe(1);
    // Constant predictions explain nothing (float64 rounding of the two means: ~1e-16).
    expect(explainedVariance([7, 7, 7, 7], [1, 2, 3, 4])).toBeCloseTo(0, 14);
  });

  it('is NaN when the returns do not vary, as in CleanRL', () => {
    expect(explainedVariance([1, 2, 3], [2, 2, 2])).toBeNaN();
  });
});

function expectMeanStd(x: ArrayLike<number>): void {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]!;
  const mean = sum / x.length;
  let squares = 0;
  for (let i = 0; i < x.length; i++) squares += (x[i]! - mean) ** 2;
  const std = Math.sqrt(squares / (x.length - 1));
  // Whitened values of order 1 are float32-rounded (error <= 6e-8 each); 1e-8 in the
  // denominator moves the std by ~1e-8.
  expect(Math.abs(mean)).toBeLessThan(1e-6);
  expect(Math.abs(std - 1)).toBeLessThan(1e-6);
}

