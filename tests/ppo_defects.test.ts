// Defects found by a review of the trainer's public API (issue 8), one test each: a bad
// trainer.json on restore, a trainer without an environment, an environment whose step()
// returns nothing, a rollout too large for the core, zero environments, trainers that cannot
// release their core tensors, the loss-side KL configurations that do not do what they seem to,
// reward managers' metrics that never reached the logs, and CleanRL's targetKl early stop.

import { beforeAll, describe, expect, it } from 'vitest';
import {
  ActorCritic,
  CheckpointError,
  PPOTrainer,
  RunningNormReward,
  SyntheticPromptEnvironment,
  ValueError,
  decodeCheckpoint,
  encodeCheckpoint,
  init,
  restoreTrainer,
  seed,
  trainerCheckpointState,
  type PPOConfig,
} from '../sdk/index';

beforeAll(async () => {
  await init();
});

const SMALL: Partial<PPOConfig> = { stepsPerUpdate: 2, epochs: 1, minibatches: 1, seed: 3 };
const quiet = { warn() {} };

function build(config: Partial<PPOConfig> = SMALL, numEnvs = 2) {
  seed(5); // the policy's initial weights
  const env = new SyntheticPromptEnvironment({ numEnvs, numPrompts: 4, observationSize: 3, actionCount: 2, seed: 1 });
  const policy = new ActorCritic({ observationSize: 3, actionCount: 2, hidden: [4] });
  return { env, policy, trainer: new PPOTrainer({ env, policy, config, logger: quiet } as never) };
}

/** The error `fn` throws or rejects with (sync or async). */
async function errorOf(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('trainer.json is validated on restore, every field, before anything is loaded', () => {
  const cases: [string, (t: Record<string, unknown>) => void, RegExp][] = [
    ['a missing engine', (t) => delete t['engine'], /trainer\.json: engine is missing/],
    ['a string updateCount', (t) => (t['updateCount'] = '3'), /trainer\.json: updateCount must be an integer >= 0, got "3"/],
    ['a negative globalStep', (t) => (t['globalStep'] = -4), /trainer\.json: globalStep must be an integer >= 0, got -4/],
    ['a negative episodesSeen', (t) => (t['episodesSeen'] = -1), /trainer\.json: episodesSeen must be an integer >= 0/],
    ['lastDones [7, 7]', (t) => ((t['engine'] as Record<string, unknown>)['lastDones'] = [7, 7]), /trainer\.json: engine\.lastDones must be 2 values of 0 or 1, got \[7,7\]/],
    ['observations with a NaN', (t) => ((t['engine'] as Record<string, unknown>)['observations'] = [null, 0, 0, 0, 0, 0]), /trainer\.json: engine\.observations must be null or 2 x 3 finite numbers/],
    ['a klController without value', (t) => (t['klController'] = {}), /trainer\.json: klController must be \{ value/],
    ['an lr of Infinity', (t) => (t['lr'] = 'Infinity'), /trainer\.json: lr must be a finite number >= 0/],
    ['an all-zero rngState', (t) => (t['rngState'] = [0, 0, 0, 0]), /trainer\.json: rngState must be four integers in \[0, 2\^32\), not all zero/],
    ['optimizer counters with a string stepCount', (t) => (t['optimizer'] = { stepCount: '1', lr: 0.1 }), /trainer\.json: optimizer\.stepCount must be an integer >= 0/],
    ['rewards that are not numbers', (t) => (t['rewards'] = { mean: 'x' }), /trainer\.json: rewards must be null or an object of numbers/],
  ];
  for (const [what, corrupt, message] of cases) {
    it(`${what}: CheckpointError naming the field, and the trainer unchanged`, async () => {
      const saved = build();
      await saved.trainer.update();
      const state = trainerCheckpointState(saved.trainer);
      const trainer = JSON.parse(JSON.stringify(state.trainer)) as Record<string, unknown>;
      corrupt(trainer);
      const checkpoint = decodeCheckpoint(encodeCheckpoint({ ...state, trainer }));
      const target = build();
      const before = target.policy.parameters().map((p) => p.toArray());
      const e = await errorOf(() => restoreTrainer(target.trainer, checkpoint));
      expect(e).toBeInstanceOf(CheckpointError);
      expect(e.message).toMatch(message);
      target.policy.parameters().forEach((p, i) => expect(p.toArray()).toEqual(before[i]));
      expect(target.trainer.updateCount).toBe(0);
    });
  }
});

describe('typed errors at the trainer, naming the field', () => {
  it('a trainer without env: ValueError naming options.env', async () => {
    const policy = new ActorCritic({ observationSize: 3, actionCount: 2, hidden: [4] });
    const e = await errorOf(() => new PPOTrainer({ policy } as never));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/options\.env must be an Environment/);
  });

  it('numEnvs 0: ValueError naming env.numEnvs, not normalizeAdvantages', async () => {
    const env = { numEnvs: 0, observationSize: 3, actionCount: 2, reset: () => new Float32Array(0), step: () => undefined };
    const policy = new ActorCritic({ observationSize: 3, actionCount: 2, hidden: [4] });
    const e = await errorOf(() => new PPOTrainer({ env, policy } as never));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/env\.numEnvs must be a positive integer, got 0/);
  });

  it('stepsPerUpdate 1e12: ValueError naming stepsPerUpdate (not a RangeError from an allocation)', async () => {
    const e = await errorOf(() => build({ stepsPerUpdate: 1e12 }));
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/stepsPerUpdate must be at most 2\^24/);
    // and a product over the limit with a legal stepsPerUpdate
    const e2 = await errorOf(() => build({ stepsPerUpdate: 2 ** 23, minibatches: 1 }, 4));
    expect(e2).toBeInstanceOf(ValueError);
    expect(e2.message).toMatch(/stepsPerUpdate x numEnvs .* must be at most 2\^24 rows/);
  });

  it('env.step returning undefined: ValueError naming Environment.step', async () => {
    const { env, trainer } = build();
    (env as { step: unknown }).step = () => undefined;
    const e = await errorOf(() => trainer.update());
    expect(e).toBeInstanceOf(ValueError);
    expect(e.message).toMatch(/Environment\.step returned undefined at step 0/);
  });
});

describe('PPOTrainer.free()', () => {
  it('releases its core tensors: 1,200 trainers built, updated and freed do not fill the tensor table', async () => {
    const env = new SyntheticPromptEnvironment({ numEnvs: 2, numPrompts: 4, observationSize: 3, actionCount: 2, seed: 1 });
    const policy = new ActorCritic({ observationSize: 3, actionCount: 2, hidden: [4] });
    // per trainer: 9 batch tensors, 2 Adam moments per parameter, an 8-parameter reference copy:
    // the 8192 persistent slots would be gone after ~250 trainers without free()
    for (let i = 0; i < 1200; i++) {
      const trainer = new PPOTrainer({ env, policy, config: SMALL });
      await trainer.update();
      trainer.free();
    }
    const after = new PPOTrainer({ env, policy, config: SMALL });
    await after.update();
    after.free();
    await expect(after.update()).rejects.toThrow(/the trainer was freed/);
  });
});

describe('the loss-side KL configurations that do not do what they seem to', () => {
  it("klPenalty 'loss' with k1, and with normalizeAdvantages: one warning each through the logger, once", async () => {
    const warnings: string[] = [];
    const logger = { warn: (m: string) => warnings.push(m) };
    const env = new SyntheticPromptEnvironment({ numEnvs: 2, numPrompts: 4, observationSize: 3, actionCount: 2, seed: 1 });
    const policy = new ActorCritic({ observationSize: 3, actionCount: 2, hidden: [4] });
    const config: Partial<PPOConfig> = { ...SMALL, klPenalty: 'loss', klEstimator: 'k1', klCoef: 0.1, normalizeAdvantages: true, stepsPerUpdate: 2 };
    for (let i = 0; i < 3; i++) new PPOTrainer({ env, policy, config, logger } as never);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/klEstimator 'k1' has almost no expected gradient .* drives the policy to greedy; use klEstimator 'k2'/);
    expect(warnings[1]).toMatch(/normalizeAdvantages true: the whitened advantages .* swamp the KL term/);
    // k2 without whitening, or the KL in the reward: nothing to warn about
    new PPOTrainer({ env, policy, config: { ...config, klEstimator: 'k2', normalizeAdvantages: false }, logger } as never);
    new PPOTrainer({ env, policy, config: { ...config, klPenalty: 'reward' }, logger } as never);
    expect(warnings).toHaveLength(2);
  });
});

describe('metrics', () => {
  it("the reward managers' metrics() reach the update's metrics", async () => {
    const env = new SyntheticPromptEnvironment({ numEnvs: 2, numPrompts: 4, observationSize: 3, actionCount: 2, seed: 1 });
    const policy = new ActorCritic({ observationSize: 3, actionCount: 2, hidden: [4] });
    const norm = new RunningNormReward();
    const trainer = new PPOTrainer({ env, policy, config: SMALL, rewardManager: norm });
    const m = (await trainer.update()) as Record<string, number>;
    expect(m['rewards/0.reward_running_mean']).toBe(norm.metrics()['reward_running_mean']);
    expect(m['rewards/0.reward_running_std']).toBe(norm.metrics()['reward_running_std']);
  });

  it('targetKl stops the epochs once approx_kl exceeds it (CleanRL target_kl), exactly as fewer epochs would', async () => {
    // one minibatch: epoch 1 starts at ratio 1 (approx_kl 0), so the stop comes after epoch 2
    const config = { ...SMALL, epochs: 6, targetKl: 1e-12, learningRate: 0.05 };
    const stopped = build(config);
    const m = await stopped.trainer.update();
    expect(m['epochs_run']).toBe(2);
    const two = build({ ...config, epochs: 2, targetKl: 0 });
    await two.trainer.update();
    stopped.policy.parameters().forEach((p, i) => expect(p.toArray()).toEqual(two.policy.parameters()[i]!.toArray()));
  });
});
