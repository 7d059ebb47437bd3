// SyncRolloutEngine with a tiny deterministic environment and a fixed policy: what lands in
// the buffer, episode statistics, episodes carried across collect() calls, the reward manager,
// and refusal of bad environment outputs and out-of-range actions.

import { describe, expect, it } from 'vitest';
import {
  NumericError,
  RolloutBuffer,
  ShapeError,
  SyncRolloutEngine,
  ValueError,
  type ActingPolicy,
  type ActResult,
  type EnvInfo,
  type Environment,
  type RewardBatch,
  type RewardManager,
  type StepResult,
} from '../sdk/index';

/**
 * Two environments, observations [10 * env + episodes finished, step in episode], 3 actions.
 * Env e's episodes last 2 + e steps; the reward is action + 0.5 * env. It reuses its output
 * arrays on every call, as a careful environment might, so an engine that kept references
 * instead of copies would store the wrong observations.
 */
class CounterEnv implements Environment {
  readonly numEnvs = 2;
  readonly observationSize = 2;
  readonly actionCount = 3;
  readonly resetSeeds: (number | undefined)[] = [];
  stepCount = 0;
  private episodeStep = [0, 0];
  private episodes = [0, 0];
  private episodeReturn = [0, 0];
  private readonly obs = new Float32Array(4);

  reset(seed?: number): Float32Array {
    this.resetSeeds.push(seed);
    this.episodeStep = [0, 0];
    this.episodes = [0, 0];
    this.episodeReturn = [0, 0];
    return this.observe();
  }

  step(actions: Int32Array): StepResult {
    this.stepCount++;
    const rewards = new Float32Array(2);
    const dones = new Uint8Array(2);
    const infos: EnvInfo[] = [{}, {}];
    for (let e = 0; e < 2; e++) {
      rewards[e] = actions[e]! + 0.5 * e;
      this.episodeReturn[e]! += rewards[e]!;
      this.episodeStep[e]!++;
      if (this.episodeStep[e] === 2 + e) {
        dones[e] = 1;
        infos[e] = { episodeReturn: this.episodeReturn[e], episodeLength: this.episodeStep[e] };
        this.episodes[e]!++;
        this.episodeStep[e] = 0;
        this.episodeReturn[e] = 0;
      }
    }
    return { observations: this.observe(), rewards, dones, infos };
  }

  private observe(): Float32Array {
    for (let e = 0; e < 2; e++) {
      this.obs[2 * e] = 10 * e + this.episodes[e]!;
      this.obs[2 * e + 1] = this.episodeStep[e]!;
    }
    return this.obs;
  }
}

/** The observation env e shows before global step t (counted from the first reset). */
function expectedObservation(t: number, e: number): [number, number] {
  const length = 2 + e;
  return [10 * e + Math.floor(t / length), t % length];
}

/** A CounterEnv whose step() output is damaged at `atStep` by `damage`. */
class FaultyEnv extends CounterEnv {
  constructor(
    private readonly atStep: number,
    private readonly damage: (r: StepResult) => StepResult,
  ) {
    super();
  }
  override step(actions: Int32Array): StepResult {
    const result = super.step(actions);
    return this.stepCount - 1 === this.atStep ? this.damage(result) : result;
  }
}

/**
 * Fixed actions; log-prob -(env + 1); value = 0.25 * (step in episode) read from the observation,
 * so the buffer's values show which observation the policy acted on.
 */
class FixedPolicy implements ActingPolicy {
  seen: Float32Array[] = [];
  constructor(
    private readonly actions: number[] = [1, 2],
    private readonly withRef = false,
  ) {}
  act(observations: Float32Array): ActResult {
    this.seen.push(Float32Array.from(observations));
    const result: ActResult = {
      actions: Int32Array.from(this.actions),
      logProbs: Float32Array.from([-1, -2]),
      values: this.values(observations),
    };
    if (this.withRef) result.refLogProbs = Float32Array.from([-1.5, -1]);
    return result;
  }
  values(observations: Float32Array): Float32Array {
    return Float32Array.from([0.25 * observations[1]!, 0.25 * observations[3]!]);
  }
}

function newBuffer(steps: number): RolloutBuffer {
  return new RolloutBuffer({ steps, numEnvs: 2, observationSize: 2, gamma: 0.9, gaeLambda: 0.95, normalizeAdvantages: false });
}

describe('SyncRolloutEngine', () => {
  it('fills the buffer step by step and reports finished episodes', async () => {
    const env = new CounterEnv();
    const engine = new SyncRolloutEngine(env, { seed: 7 });
    const buffer = newBuffer(6);
    const stats = await engine.collect(new FixedPolicy(), buffer, 6);

    expect(env.resetSeeds).toEqual([7]);
    const expectedObs: number[] = [];
    for (let t = 0; t < 6; t++) for (let e = 0; e < 2; e++) expectedObs.push(...expectedObservation(t, e));
    expect(Array.from(buffer.observations)).toEqual(expectedObs);
    expect(Array.from(buffer.actions)).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    expect(Array.from(buffer.rewards)).toEqual([1, 2.5, 1, 2.5, 1, 2.5, 1, 2.5, 1, 2.5, 1, 2.5]);
    // Env 0 ends an episode with steps 1, 3, 5; env 1 with steps 2, 5.
    expect(Array.from(buffer.dones)).toEqual([0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1]);
    expect(Array.from(buffer.values)).toEqual(expectedObs.filter((_, i) => i % 2 === 1).map((s) => 0.25 * s));
    expect(Array.from(buffer.logProbs)).toEqual([-1, -2, -1, -2, -1, -2, -1, -2, -1, -2, -1, -2]);
    expect(buffer.refLogProbs).toBeUndefined();

    // Episodes in the order they ended (step, then env).
    expect(stats.episodeReturns).toEqual([2, 7.5, 2, 2, 7.5]);
    expect(stats.episodeLengths).toEqual([2, 3, 2, 2, 3]);
    expect(stats.steps).toBe(6);
    expect(stats.rewardMean).toBe(1.75); // (6 * 1 + 6 * 2.5) / 12
    expect(Array.from(stats.lastObservations)).toEqual([...expectedObservation(6, 0), ...expectedObservation(6, 1)]);
    expect(Array.from(stats.lastDones)).toEqual([1, 1]);
    expect(stats.seconds).toBeGreaterThanOrEqual(0);
  });

  it('continues episodes across collect() calls without resetting', async () => {
    const env = new CounterEnv();
    const engine = new SyncRolloutEngine(env, { seed: 3 });
    const buffer = newBuffer(3);
    const policy = new FixedPolicy();
    const first = await engine.collect(policy, buffer, 3);
    expect(first.episodeReturns).toEqual([2, 7.5]);
    expect(Array.from(first.lastDones)).toEqual([0, 1]);

    const second = await engine.collect(policy, buffer, 3);
    expect(env.resetSeeds).toEqual([3]);
    expect(buffer.size).toBe(3);
    expect(Array.from(buffer.observations.subarray(0, 4))).toEqual(Array.from(first.lastObservations));
    const expectedObs: number[] = [];
    for (let t = 3; t < 6; t++) for (let e = 0; e < 2; e++) expectedObs.push(...expectedObservation(t, e));
    expect(Array.from(buffer.observations)).toEqual(expectedObs);
    expect(second.episodeReturns).toEqual([2, 2, 7.5]);
    expect(second.episodeLengths).toEqual([2, 2, 3]);
  });

  it('hands the buffer what computeAdvantages needs to bootstrap', async () => {
    const buffer = newBuffer(4);
    const policy = new FixedPolicy();
    const stats = await new SyncRolloutEngine(new CounterEnv()).collect(policy, buffer, 4);
    // Last step: env 0 just ended an episode (no bootstrap), env 1 is mid-episode.
    expect(Array.from(stats.lastDones)).toEqual([1, 0]);
    buffer.computeAdvantages(policy.values(stats.lastObservations), stats.lastDones);
    // Env 1, step 3 (its step 0 of episode 2, value 0): r = 2.5, bootstrap from V(next obs,
    // episode step 1) = 0.25: A = 2.5 + 0.9 * 0.25 - 0 = 2.725.
    expect(buffer.advantages[7]).toBe(Math.fround(2.725));
    // Env 0, step 3 ends an episode (value 0.25): A = 1 - 0.25 = 0.75, no bootstrap.
    expect(buffer.advantages[6]).toBe(0.75);
  });

  it('applies the reward manager to what the buffer stores, but reports raw rewards', async () => {
    const batches: RewardBatch[] = [];
    const klPenalty: RewardManager = {
      compute(batch) {
        batches.push({ ...batch });
        return Float32Array.from(batch.rewards, (r, e) => r - 0.5 * (batch.logProbs[e]! - batch.refLogProbs![e]!));
      },
    };
    const buffer = newBuffer(3);
    const stats = await new SyncRolloutEngine(new CounterEnv(), { rewardManager: klPenalty }).collect(new FixedPolicy([1, 2], true), buffer, 3);
    // env 0: 1 - 0.5 * (-1 + 1.5) = 0.75; env 1: 2.5 - 0.5 * (-2 + 1) = 3
    expect(Array.from(buffer.rewards)).toEqual([0.75, 3, 0.75, 3, 0.75, 3]);
    expect(stats.rewardMean).toBe(1.75);
    expect(Array.from(buffer.refLogProbs!)).toEqual([-1.5, -1, -1.5, -1, -1.5, -1]);
    expect(batches.map((b) => Array.from(b.dones))).toEqual([[0, 0], [1, 0], [0, 1]]);
    expect(Array.from(batches[0]!.rewards)).toEqual([1, 2.5]);
  });

  it('refuses a reward manager that returns the wrong number of rewards or NaN', async () => {
    const short: RewardManager = { compute: () => new Float32Array(1) };
    await expect(new SyncRolloutEngine(new CounterEnv(), { rewardManager: short }).collect(new FixedPolicy(), newBuffer(2), 2)).rejects.toThrow(
      /RewardManager.compute: returned 1 rewards, expected numEnvs = 2/,
    );
    const nan: RewardManager = { compute: () => Float32Array.from([0, NaN]) };
    await expect(new SyncRolloutEngine(new CounterEnv(), { rewardManager: nan }).collect(new FixedPolicy(), newBuffer(2), 2)).rejects.toThrow(NumericError);
  });

  it('refuses bad environment outputs, naming the field', async () => {
    const cases: [string, (r: StepResult) => StepResult, new (...args: never[]) => Error, RegExp][] = [
      ['short observations', (r) => ({ ...r, observations: r.observations.subarray(0, 3) }), ShapeError, /Environment.step: observations has 3 values, expected numEnvs x observationSize = 2 x 2 = 4 \(step 1\)/],
      ['NaN observation', (r) => ({ ...r, observations: Float32Array.from([0, 0, NaN, 0]) }), NumericError, /observations has a non-finite value NaN at env 1, element 0/],
      ['NaN reward', (r) => ({ ...r, rewards: Float32Array.from([1, NaN]) }), NumericError, /Environment.step: rewards has a non-finite value NaN at env 1 \(step 1\)/],
      ['infinite reward', (r) => ({ ...r, rewards: Float32Array.from([-Infinity, 0]) }), NumericError, /rewards has a non-finite value -Infinity at env 0/],
      ['short rewards', (r) => ({ ...r, rewards: new Float32Array(1) }), ShapeError, /rewards has 1 values, expected numEnvs = 2/],
      ['long dones', (r) => ({ ...r, dones: new Uint8Array(3) }), ShapeError, /Environment.step: dones has 3 values, expected numEnvs = 2/],
      ['dones = 2', (r) => ({ ...r, dones: Uint8Array.from([0, 2]) }), ValueError, /dones must be 0 or 1, got 2 at env 1/],
      ['missing info', (r) => ({ ...r, infos: [{}] }), ShapeError, /infos has 1 entries, expected numEnvs = 2/],
    ];
    for (const [label, damage, type, message] of cases) {
      const env = new FaultyEnv(1, damage);
      const engine = new SyncRolloutEngine(env);
      const buffer = newBuffer(3);
      let error: unknown;
      try {
        await engine.collect(new FixedPolicy(), buffer, 3);
      } catch (e) {
        error = e;
      }
      expect(error, label).toBeInstanceOf(type);
      expect((error as Error).message, label).toMatch(message);
      // The damaged step never reaches the buffer.
      expect(buffer.size, label).toBe(1);
    }
  });

  it('refuses a bad reset() and resets again after an error', async () => {
    const env = new CounterEnv();
    const badReset = Object.assign(Object.create(env) as CounterEnv, { reset: () => new Float32Array(5) });
    await expect(new SyncRolloutEngine(badReset).collect(new FixedPolicy(), newBuffer(2), 2)).rejects.toThrow(/Environment.reset: observations has 5 values/);

    const faulty = new FaultyEnv(2, (r) => ({ ...r, rewards: Float32Array.from([NaN, 0]) }));
    const engine = new SyncRolloutEngine(faulty, { seed: 11 });
    await expect(engine.collect(new FixedPolicy(), newBuffer(4), 4)).rejects.toThrow(NumericError);
    // The environment stepped past what the buffer holds, so the next collect starts afresh.
    const buffer = newBuffer(2);
    await engine.collect(new FixedPolicy(), buffer, 2);
    expect(faulty.resetSeeds).toEqual([11, 11]);
    expect(Array.from(buffer.observations.subarray(0, 4))).toEqual([...expectedObservation(0, 0), ...expectedObservation(0, 1)]);
  });

  it('refuses actions outside [0, actionCount) before the environment sees them', async () => {
    for (const [actions, shown] of [[[0, 3], '3'], [[-1, 0], '-1'], [[0, 1.5], '1.5']] as const) {
      const env = new CounterEnv();
      const policy: ActingPolicy = {
        act: () => ({ actions: Float64Array.from(actions) as unknown as Int32Array, logProbs: new Float32Array(2), values: new Float32Array(2) }),
        values: () => new Float32Array(2),
      };
      await expect(new SyncRolloutEngine(env).collect(policy, newBuffer(2), 2)).rejects.toThrow(ValueError);
      await expect(new SyncRolloutEngine(env).collect(policy, newBuffer(2), 2)).rejects.toThrow(
        new RegExp(`returned action ${shown.replace('.', '\\.')} at step 0, env \\d; actions must be integers in \\[0, 3\\)`),
      );
      expect(env.stepCount).toBe(0);
    }
    const wrongCount: ActingPolicy = {
      act: () => ({ actions: new Int32Array(3), logProbs: new Float32Array(2), values: new Float32Array(2) }),
      values: () => new Float32Array(2),
    };
    await expect(new SyncRolloutEngine(new CounterEnv()).collect(wrongCount, newBuffer(2), 2)).rejects.toThrow(/policy.act: actions has 3 values/);
  });

  it('refuses a buffer that does not fit the environment or the step count', async () => {
    const engine = new SyncRolloutEngine(new CounterEnv());
    const threeEnvs = new RolloutBuffer({ steps: 2, numEnvs: 3, observationSize: 2, gamma: 0.9, gaeLambda: 0.9 });
    await expect(engine.collect(new FixedPolicy(), threeEnvs, 2)).rejects.toThrow(ShapeError);
    await expect(engine.collect(new FixedPolicy(), newBuffer(2), 3)).rejects.toThrow(/steps must equal buffer.steps = 2, got 3/);
  });
});
