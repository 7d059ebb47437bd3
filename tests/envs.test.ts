// Environments, preference datasets and the host PRNG: shapes, determinism, auto-reset, the
// CartPole dynamics against a float64 restatement of Gymnasium's step, dataset files (good and
// malformed), and the typed errors for bad actions.

import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CartPoleEnvironment,
  CoreInitError,
  DatasetError,
  type DetMath,
  type Environment,
  NovaRLError,
  PreferenceDataset,
  Prng,
  setDefaultCore,
  ShapeError,
  SingleTurnPreferenceEnvironment,
  SyntheticPromptEnvironment,
  ValueError,
} from '../sdk/index';
import { expectClose, loadCores } from './util';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Calls f and returns what it threw (fails the test if it did not throw). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  return expect.fail('expected an error');
}

async function rejected(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  return expect.fail('expected a rejection');
}

/** The errors every environment gives for bad actions. */
function checkActionErrors(make: () => Environment): void {
  const env = make();
  expect(() => env.step(new Int32Array(env.numEnvs))).toThrow(/reset\(\)/); // before reset
  env.reset(0);
  const n = env.numEnvs;
  const outOfRange = new Int32Array(n);
  outOfRange[n - 1] = env.actionCount;
  const e1 = thrown(() => env.step(outOfRange));
  expect(e1).toBeInstanceOf(ValueError);
  expect(e1.message).toContain(`environment ${n - 1}: action ${env.actionCount} is out of range [0, ${env.actionCount})`);
  outOfRange[n - 1] = -1;
  expect(thrown(() => env.step(outOfRange)).message).toContain(`environment ${n - 1}: action -1 is out of range`);
  const e2 = thrown(() => env.step(new Int32Array(n + 1)));
  expect(e2).toBeInstanceOf(ShapeError);
  expect(e2.message).toContain(`one action per environment (${n}), got ${n + 1}`);
  // Plain-JS callers can pass non-integers despite the Int32Array type.
  const fractional = Array.from({ length: n }, (_, i) => (i === n - 1 ? 0.5 : 0));
  const e3 = thrown(() => env.step(fractional as unknown as Int32Array));
  expect(e3).toBeInstanceOf(ValueError);
  expect(e3.message).toContain(`environment ${n - 1}: action 0.5 is not an integer`);
  // The refused calls changed nothing: stepping still works.
  expect(env.step(new Int32Array(n)).rewards.length).toBe(n);
}

describe('Prng (xoshiro128**)', () => {
  it('matches the reference C implementation', () => {
    // Outputs of prng.di.unimi.it/xoshiro128starstar.c compiled with gcc for these states.
    const p = Prng.fromState([1, 2, 3, 4]);
    expect(Array.from({ length: 10 }, () => p.nextUint32())).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
    const q = Prng.fromState([0x9e3779b9, 0xdeadbeef, 0x12345678, 0xcafebabe]);
    for (let i = 0; i < 1000; i++) q.nextUint32();
    expect(Array.from({ length: 5 }, () => q.nextUint32())).toEqual([1063874299, 1974558382, 4036404422, 1467111325, 2895233419]);
  });

  it('is reproducible per seed and stream, and state round-trips', () => {
    const draw = (p: Prng) => Array.from({ length: 8 }, () => p.nextUint32());
    expect(draw(new Prng(42))).toEqual(draw(new Prng(42)));
    expect(draw(new Prng(42))).not.toEqual(draw(new Prng(43)));
    expect(draw(new Prng(42, 1))).not.toEqual(draw(new Prng(42, 0)));
    // Seeds that agree in their low 32 bits are still different seeds.
    expect(draw(new Prng(2 ** 32))).not.toEqual(draw(new Prng(0)));
    expect(draw(new Prng(-1))).not.toEqual(draw(new Prng(2 ** 32 - 1)));
    const p = new Prng(7);
    p.nextDouble();
    const copy = Prng.fromState(p.getState());
    expect(draw(copy)).toEqual(draw(p));
    expect(() => Prng.fromState([0, 0, 0, 0])).toThrow(ValueError);
    expect(() => new Prng(0.5)).toThrow(ValueError);
  });

  it('draws doubles, integers, permutations and near-normals with the right distributions', () => {
    const p = new Prng(1);
    const n = 20000;
    const counts = new Array(10).fill(0);
    let sum = 0, sumSq = 0, lowest = 1, highest = 0;
    for (let i = 0; i < n; i++) {
      const u = p.nextDouble();
      lowest = Math.min(lowest, u);
      highest = Math.max(highest, u);
      counts[p.nextInt(10)]++;
      const z = p.approxNormal();
      sum += z;
      sumSq += z * z;
    }
    expect(lowest).toBeGreaterThanOrEqual(0);
    expect(highest).toBeLessThan(1);
    // Each bucket expects 2000 with std ~42; 250 is ~6 std.
    for (const c of counts) expect(Math.abs(c - n / 10)).toBeLessThan(250);
    // Mean 0 (std error 1/sqrt(n) ~ 0.007) and variance 1 (std error ~ sqrt(2/n) ~ 0.01): 5x margins.
    expect(Math.abs(sum / n)).toBeLessThan(0.035);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.05);
    const perm = p.permutation(50);
    expect(Array.from(perm).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(perm)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(() => p.nextInt(0)).toThrow(ValueError);
  });
});

describe('SyntheticPromptEnvironment', () => {
  const options = { numEnvs: 5, numPrompts: 6, observationSize: 3, actionCount: 4, seed: 11 };

  it('serves prompt features and rewards the preferred action', () => {
    const env = new SyntheticPromptEnvironment(options);
    let obs = env.reset();
    expect(obs.length).toBe(5 * 3);
    for (let t = 0; t < 20; t++) {
      const actions = Int32Array.from({ length: 5 }, (_, i) => (t + i) % 4);
      const { observations, rewards, dones, infos } = env.step(actions);
      expect(observations.length).toBe(15);
      expect(Array.from(dones)).toEqual([1, 1, 1, 1, 1]);
      for (let i = 0; i < 5; i++) {
        const info = infos[i]!;
        const p = info.promptIndex as number;
        // The row this env showed is the features of the prompt it was scored on.
        expect(Array.from(obs.subarray(i * 3, i * 3 + 3))).toEqual(Array.from(env.promptFeatures(p)));
        expect(info.preferredAction).toBe(env.preferredAction(p));
        expect(rewards[i]).toBe(actions[i] === env.preferredAction(p) ? 1 : 0);
        expect(info.episodeReturn).toBe(rewards[i]);
        expect(info.episodeLength).toBe(1);
      }
      obs = observations;
    }
  });

  it('grades rewards by distance to the preferred action', () => {
    const env = new SyntheticPromptEnvironment({ ...options, rewardShape: 'graded' });
    for (let p = 0; p < 6; p++) {
      const best = env.preferredAction(p);
      for (let a = 0; a < 4; a++) expect(env.expectedReward(p, a)).toBe(Math.fround(1 - Math.abs(a - best) / 3));
    }
  });

  it('is deterministic per seed; reset(seed) changes episodes but not the task', () => {
    const run = (env: SyntheticPromptEnvironment, seed: number) => {
      const out: number[] = Array.from(env.reset(seed));
      for (let t = 0; t < 5; t++) {
        const r = env.step(Int32Array.from({ length: 5 }, (_, i) => (i * t) % 4));
        out.push(...r.observations, ...r.rewards);
      }
      return out;
    };
    const a = new SyntheticPromptEnvironment({ ...options, rewardNoise: 0.1 });
    const b = new SyntheticPromptEnvironment({ ...options, rewardNoise: 0.1 });
    expect(run(a, 3)).toEqual(run(b, 3));
    expect(run(a, 3)).toEqual(run(b, 3)); // reset(seed) restarts the same stream
    expect(run(a, 4)).not.toEqual(run(b, 3));
    const features = (env: SyntheticPromptEnvironment) => Array.from({ length: 6 }, (_, p) => Array.from(env.promptFeatures(p)));
    expect(features(a)).toEqual(features(new SyntheticPromptEnvironment(options)));
    expect(features(a)).not.toEqual(features(new SyntheticPromptEnvironment({ ...options, seed: 12 })));
    // The first reset without a seed uses the constructor's seed.
    expect(Array.from(new SyntheticPromptEnvironment(options).reset())).toEqual(Array.from(new SyntheticPromptEnvironment(options).reset(11)));
  });

  it('adds zero-mean noise of the requested size', () => {
    const env = new SyntheticPromptEnvironment({ ...options, numEnvs: 50, rewardNoise: 0.5 });
    env.reset();
    let sum = 0, sumSq = 0, n = 0;
    for (let t = 0; t < 40; t++) {
      const { rewards, infos } = env.step(new Int32Array(50));
      for (let i = 0; i < 50; i++) {
        const noise = rewards[i]! - env.expectedReward(infos[i]!.promptIndex as number, 0);
        sum += noise;
        sumSq += noise * noise;
        n++;
      }
    }
    // 2000 samples: mean std error 0.5/sqrt(2000) ~ 0.011, std estimate error ~ 0.008; 5x margins.
    expect(Math.abs(sum / n)).toBeLessThan(0.055);
    expect(Math.abs(Math.sqrt(sumSq / n) - 0.5)).toBeLessThan(0.04);
  });

  it('refuses bad actions and options', () => {
    checkActionErrors(() => new SyntheticPromptEnvironment(options));
    expect(() => new SyntheticPromptEnvironment({ numEnvs: 0 })).toThrow(/numEnvs must be an integer >= 1, got 0/);
    expect(() => new SyntheticPromptEnvironment({ rewardNoise: -1 })).toThrow(ValueError);
    expect(() => new SyntheticPromptEnvironment({ rewardShape: 'linear' as 'graded' })).toThrow(/rewardShape/);
  });
});

describe('PreferenceDataset', () => {
  const expectPrefs = (d: PreferenceDataset) => {
    expect(d.size).toBe(3);
    expect(d.actionCount).toBe(3);
    expect(d.featureSize).toBe(3);
    expect(d.observationSize).toBe(3);
    expect(d.prompts).toEqual(['Greet the user', 'Summarise the text', 'Refuse politely']);
    expect(Array.from(d.rewardTable)).toEqual([1, 0, -0.5, 0.25, 0.75, 0, -1, 0.5, 2]);
    const out = new Float32Array(5);
    d.encode(1, out, 1);
    expect(Array.from(out)).toEqual([0, 0, 1, -0.5, 0]);
  };

  it('loads JSON and JSONL files with features', async () => {
    expectPrefs(await PreferenceDataset.load(fixture('prefs.json')));
    expectPrefs(await PreferenceDataset.load(fixture('prefs.jsonl')));
  });

  it('loads {"prompts": [...]} and encodes prompts without features one-hot', async () => {
    const d = await PreferenceDataset.load(fixture('prefs_prompts.json'));
    expect(d.featureSize).toBeNull();
    expect(d.observationSize).toBe(4);
    expect(d.reward(3, 1)).toBe(Math.fround(-0.2));
    const out = new Float32Array(8).fill(9);
    d.encode(2, out, 4);
    expect(Array.from(out)).toEqual([9, 9, 9, 9, 0, 0, 1, 0]);
  });

  const cases: [file: string, location: { line?: number; entry?: number; field?: string }, message: RegExp][] = [
    ['bad_json.json', { line: 2 }, /invalid JSON/],
    ['bad_line.jsonl', { line: 3, entry: 2 }, /line 3, entry 2: invalid JSON/],
    ['missing_prompt.jsonl', { line: 3, entry: 1, field: 'prompt' }, /line 3, entry 1, field "prompt": is missing/],
    ['bad_rewards.json', { entry: 1, field: 'rewards' }, /entry 1, field "rewards": must be an array of finite numbers, but element 1 is "high"/],
    ['inconsistent_actions.jsonl', { line: 3, entry: 2, field: 'rewards' }, /has 3 rewards, but entry 0 has 2/],
    ['bad_features.json', { entry: 1, field: 'features' }, /entry 1, field "features": has length 3, but entry 0 has 2/],
    ['empty.json', {}, /the dataset is empty/],
    ['empty.jsonl', {}, /the dataset is empty/],
    ['wrong_shape.json', {}, /expected an array of entries or an object \{"prompts": \[...\]\}, got \{"data":\[\]\}/],
  ];
  for (const [file, location, message] of cases) {
    it(`refuses ${file}`, async () => {
      const e = await rejected(PreferenceDataset.load(fixture(file)));
      expect(e).toBeInstanceOf(DatasetError);
      expect(e).toBeInstanceOf(NovaRLError);
      expect(e.message).toMatch(message);
      expect(e.message.startsWith(fixture(file))).toBe(true); // names the file
      const d = e as DatasetError;
      const expected = { line: undefined as number | undefined, entry: undefined, field: undefined, ...location };
      // JSON files get a line only where the engine's parse error gives a position (V8 does).
      if (file === 'bad_json.json' && !/position/.test(e.message)) expected.line = undefined;
      expect({ line: d.line, entry: d.entry, field: d.field }).toEqual(expected);
    });
  }

  it('refuses unknown extensions and missing files', async () => {
    expect((await rejected(PreferenceDataset.load('prefs.csv'))).message).toMatch(/prefs\.csv: unknown file type/);
    const e = await rejected(PreferenceDataset.load(fixture('no_such_file.jsonl')));
    expect(e).toBeInstanceOf(DatasetError);
    expect(e.message).toMatch(/no_such_file\.jsonl: cannot read the file/);
  });

  it('checks entries built in code', () => {
    const ok = PreferenceDataset.fromEntries([{ prompt: 'a', rewards: [1, 2] }]);
    expect(ok.observationSize).toBe(1);
    const bad = (entries: unknown[]) => thrown(() => new PreferenceDataset(entries as never)).message;
    expect(bad([{ prompt: 'a', rewards: [1, NaN] }])).toMatch(/<entries>, entry 0, field "rewards": .* element 1 is NaN/);
    expect(bad([{ prompt: 'a', rewards: 3 }])).toMatch(/field "rewards": must be an array of finite numbers, got 3/);
    expect(bad([{ prompt: 'a', rewards: [] }])).toMatch(/field "rewards": is empty/);
    expect(bad([{ prompt: 7, rewards: [1] }])).toMatch(/field "prompt": must be a string, got 7/);
    expect(bad(['a'])).toMatch(/entry 0: an entry must be an object/);
    expect(bad([{ prompt: 'a', rewards: [1] }, { prompt: 'b', rewards: [1], features: [1] }])).toMatch(/entry 1, field "features": is given, but entry 0 has no features/);
    expect(bad([{ prompt: 'a', rewards: [1], features: [1] }, { prompt: 'b', rewards: [1] }])).toMatch(/entry 1, field "features": is missing/);
    expect(bad([{ prompt: 'a', rewards: [1], features: [Infinity] }])).toMatch(/field "features": .* element 0 is Infinity/);
    expect(bad([])).toMatch(/empty/);
    expect(bad([{ prompt: 'a', rewards: [1e39] }])).toMatch(/field "rewards": element 0 is 1e\+39, beyond the float32 range/);
    expect(thrown(() => PreferenceDataset.fromJSON('{"prompts": 3}')).message).toMatch(/<json>, field "prompts": must be an array/);
  });
});

describe('SingleTurnPreferenceEnvironment', () => {
  it('serves every prompt once per epoch, reshuffled, with dataset rewards', async () => {
    const dataset = await PreferenceDataset.load(fixture('prefs_prompts.json'));
    const env = new SingleTurnPreferenceEnvironment({ dataset, numEnvs: 3, seed: 5 });
    expect(env.observationSize).toBe(4);
    expect(env.actionCount).toBe(2);
    let obs = env.reset();
    const served: number[] = [];
    for (let t = 0; t < 8; t++) {
      const actions = Int32Array.from([t % 2, 1, 0]);
      const { observations, rewards, dones, infos } = env.step(actions);
      expect(Array.from(dones)).toEqual([1, 1, 1]);
      for (let i = 0; i < 3; i++) {
        const p = infos[i]!.promptIndex as number;
        const oneHot = new Array(4).fill(0);
        oneHot[p] = 1;
        expect(Array.from(obs.subarray(i * 4, i * 4 + 4))).toEqual(oneHot);
        expect(rewards[i]).toBe(dataset.reward(p, actions[i]!));
        expect(infos[i]).toEqual({ promptIndex: p, prompt: 'abcd'[p], episodeReturn: rewards[i], episodeLength: 1 });
        served.push(p);
      }
      obs = observations;
    }
    // 24 prompts served = 6 epochs of 4, each a permutation; the order changes between epochs.
    const epochs = Array.from({ length: 6 }, (_, k) => served.slice(4 * k, 4 * k + 4));
    for (const e of epochs) expect([...e].sort()).toEqual([0, 1, 2, 3]);
    expect(new Set(epochs.map((e) => e.join())).size).toBeGreaterThan(1);
    // 27 prompts taken from the order (including the batch now shown): 6 full epochs done.
    expect(env.epoch).toBe(6);
  });

  it('is deterministic per seed and uses features when the dataset has them', async () => {
    const dataset = await PreferenceDataset.load(fixture('prefs.jsonl'));
    const run = (seed: number) => {
      const env = new SingleTurnPreferenceEnvironment({ dataset, numEnvs: 2, seed });
      const out = Array.from(env.reset());
      for (let t = 0; t < 6; t++) {
        const r = env.step(Int32Array.from([t % 3, 2]));
        out.push(...r.observations, ...r.rewards);
      }
      return out;
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
    const env = new SingleTurnPreferenceEnvironment({ dataset, numEnvs: 2 });
    const obs = env.reset(9);
    const p = env.currentPrompts();
    const expected = new Float32Array(6);
    dataset.encode(p[0]!, expected, 0);
    dataset.encode(p[1]!, expected, 3);
    expect(Array.from(obs)).toEqual(Array.from(expected));
  });

  it('refuses bad actions', () => {
    const dataset = PreferenceDataset.fromEntries([{ prompt: 'a', rewards: [0, 1, 2] }, { prompt: 'b', rewards: [2, 1, 0] }]);
    checkActionErrors(() => new SingleTurnPreferenceEnvironment({ dataset, numEnvs: 3 }));
    expect(() => new SingleTurnPreferenceEnvironment({ dataset: [] as never })).toThrow(/dataset must be a PreferenceDataset/);
  });
});

// ---- CartPole ----------------------------------------------------------------------------

/** Gymnasium's CartPoleEnv.step restated in float64 (cartpole.py, v1.0), with Math.cos/sin. */
function gymCartPoleStep(state: number[], action: number): { state: number[]; terminated: boolean } {
  const gravity = 9.8, masscart = 1.0, masspole = 0.1, length = 0.5, forceMag = 10.0, tau = 0.02;
  const totalMass = masspole + masscart;
  const polemassLength = masspole * length;
  const thetaThresholdRadians = (12 * 2 * Math.PI) / 360;
  const xThreshold = 2.4;
  let [x, xDot, theta, thetaDot] = state as [number, number, number, number];
  const force = action === 1 ? forceMag : -forceMag;
  const costheta = Math.cos(theta);
  const sintheta = Math.sin(theta);
  const temp = (force + polemassLength * (thetaDot * thetaDot) * sintheta) / totalMass;
  const thetaacc = (gravity * sintheta - costheta * temp) / (length * (4.0 / 3.0 - (masspole * (costheta * costheta)) / totalMass));
  const xacc = temp - (polemassLength * thetaacc * costheta) / totalMass;
  x = x + tau * xDot;
  xDot = xDot + tau * xacc;
  theta = theta + tau * thetaDot;
  thetaDot = thetaDot + tau * thetaacc;
  const terminated = x < -xThreshold || x > xThreshold || theta < -thetaThresholdRadians || theta > thetaThresholdRadians;
  return { state: [x, xDot, theta, thetaDot], terminated };
}

/** Gymnasium's reset: each state variable uniform in [-0.05, 0.05), here from env i's stream. */
function initialState(rng: Prng): number[] {
  return [0, 1, 2, 3].map(() => rng.uniform(-0.05, 0.05));
}

/** JavaScript's own Math, to run the environment with exactly the reference's cos and sin. */
const jsMath: DetMath = { exp: Math.exp, log: Math.log, sin: Math.sin, cos: Math.cos, tanh: Math.tanh, pow: Math.pow };

// A scripted sequence: wobble for a while, then push right until the pole falls.
const SCRIPT = [1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, ...new Array(40).fill(1)];

describe('CartPoleEnvironment', () => {
  beforeAll(async () => {
    await loadCores();
  });

  it('follows Gymnasium dynamics exactly with the same cos/sin, and auto-resets on termination', () => {
    const env = new CartPoleEnvironment({ numEnvs: 2, seed: 17, math: jsMath });
    const rngs = [new Prng(17, 0), new Prng(17, 1)];
    let ref = rngs.map(initialState);
    let obs = env.reset();
    expect(Array.from(obs)).toEqual(ref.flat().map(Math.fround));
    const lengths = [0, 0];
    let episodesEnded = 0;
    for (const [t, a0] of SCRIPT.entries()) {
      const actions = Int32Array.from([a0, 1 - a0]); // env 1 mirrors env 0's pushes
      const { observations, rewards, dones, infos } = env.step(actions);
      expect(Array.from(rewards)).toEqual([1, 1]); // 1 per step, the terminating one included
      for (let i = 0; i < 2; i++) {
        const next = gymCartPoleStep(ref[i]!, actions[i]!);
        lengths[i]!++;
        expect(dones[i], `step ${t} env ${i}`).toBe(next.terminated ? 1 : 0);
        if (next.terminated) {
          episodesEnded++;
          expect(infos[i]).toMatchObject({ episodeReturn: lengths[i], episodeLength: lengths[i], terminated: true, truncated: false });
          expect(Array.from(infos[i]!.finalObservation as Float32Array)).toEqual(next.state.map(Math.fround));
          ref[i] = initialState(rngs[i]!);
          lengths[i] = 0;
        } else {
          expect(infos[i]).toEqual({});
          ref[i] = next.state;
        }
      }
      // Exact: the same float64 operations in the same order; observations are its float32 rounding.
      expect(Array.from(env.physicalState()), `step ${t}`).toEqual(ref.flat());
      expect(Array.from(observations), `step ${t}`).toEqual(ref.flat().map(Math.fround));
      obs = observations;
    }
    expect(episodesEnded).toBeGreaterThanOrEqual(2); // the script really exercised termination
    expect(obs.length).toBe(8);
  });

  it('with the core deterministic math stays within rounding of the reference', () => {
    const env = new CartPoleEnvironment({ seed: 4 }); // default math: detMath() of the loaded core
    let ref = initialState(new Prng(4, 0));
    env.reset();
    for (const a of SCRIPT.slice(0, 14)) {
      const { observations, dones } = env.step(Int32Array.of(a));
      const next = gymCartPoleStep(ref, a);
      expect(dones[0]).toBe(next.terminated ? 1 : 0);
      ref = next.state;
      // The core's cos/sin and V8's may differ by an ulp (~1e-16); over 14 steps that stays far
      // below float32 resolution of the observations (~1e-8 at these magnitudes).
      expectClose(observations, ref.map(Math.fround), 'cartpole state', 0, 1e-6);
    }
  });

  it('truncates at maxEpisodeSteps (500 by default) under a balancing controller', () => {
    for (const maxEpisodeSteps of [undefined, 30]) {
      const limit = maxEpisodeSteps ?? 500;
      const env = new CartPoleEnvironment({ numEnvs: 3, seed: 3, maxEpisodeSteps });
      let obs = env.reset();
      for (let t = 1; t <= limit + 1; t++) {
        // Pushes toward where the pole leans (PD on the angle, weak PD on the position).
        const actions = Int32Array.from({ length: 3 }, (_, i) => {
          const [x, xDot, theta, thetaDot] = obs.subarray(i * 4, i * 4 + 4) as unknown as number[];
          return 10 * theta! + thetaDot! + 0.1 * x! + 0.5 * xDot! > 0 ? 1 : 0;
        });
        const { observations, dones, infos } = env.step(actions);
        for (let i = 0; i < 3; i++) {
          expect(dones[i], `step ${t} env ${i}`).toBe(t === limit ? 1 : 0);
          if (t === limit) expect(infos[i]).toMatchObject({ episodeReturn: limit, episodeLength: limit, truncated: true, terminated: false });
        }
        obs = observations;
      }
    }
  });

  it('is deterministic per seed; environment i runs stream i', () => {
    const run = (numEnvs: number, seed: number) => {
      const env = new CartPoleEnvironment({ numEnvs, seed });
      const rows = [Array.from(env.reset())];
      for (const a of SCRIPT) rows.push(Array.from(env.step(new Int32Array(numEnvs).fill(a)).observations));
      return rows;
    };
    expect(run(3, 8)).toEqual(run(3, 8));
    expect(run(3, 8)).not.toEqual(run(3, 9));
    // Environment 0 of a vector behaves like a lone environment with the same seed.
    expect(run(3, 8).map((row) => row.slice(0, 4))).toEqual(run(1, 8));
    const env = new CartPoleEnvironment({ numEnvs: 2, seed: 8 });
    const first = Array.from(env.reset());
    env.step(Int32Array.of(1, 0));
    expect(Array.from(env.reset(8))).toEqual(first);
  });

  it('refuses bad actions, and needs a loaded core for its default math', () => {
    checkActionErrors(() => new CartPoleEnvironment({ numEnvs: 4 }));
    const previous = setDefaultCore(undefined);
    try {
      expect(() => new CartPoleEnvironment()).toThrow(CoreInitError);
    } finally {
      setDefaultCore(previous);
    }
  });
});
