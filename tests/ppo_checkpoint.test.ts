// PPOTrainer checkpoints (sdk/algos/ppo/checkpoint.ts): N updates, save, load into a freshly built
// trainer, M more updates must give bit for bit what N + M updates without stopping give
// (parameters, reference, Adam state, KL coefficient, every metric that does not measure time).
// Then what a damaged or foreign checkpoint does: a CheckpointError naming the check and the file
// or tensor, and a trainer left as it was.

import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActorCritic,
  CheckpointError,
  PPOTrainer,
  PreferenceDataset,
  RunningNormReward,
  SingleTurnPreferenceEnvironment,
  decodeCheckpoint,
  encodeCheckpoint,
  init,
  loadTrainerCheckpoint,
  restoreTrainer,
  saveTrainerCheckpoint,
  seed,
  trainerCheckpointState,
  type Metrics,
  type PPOConfig,
} from '../sdk/index';
import { expectBitwiseEqual } from './util';

const scratch = mkdtempSync(join(tmpdir(), 'novarl-ppo-checkpoint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeAll(async () => {
  await init();
});

const DATA = [
  { prompt: 'a', rewards: [1.0, 0.3, -0.4, -1.0] },
  { prompt: 'b', rewards: [0.2, 1.0, -0.3, -1.0] },
  { prompt: 'c', rewards: [-0.2, 0.1, 1.0, -1.0] },
];

/** Everything that must survive a resume: annealed lr, adaptive KL, a stateful reward manager, shuffled prompts. */
const CONFIG: Partial<PPOConfig> = {
  seed: 3,
  stepsPerUpdate: 2,
  epochs: 2,
  minibatches: 2,
  learningRate: 0.01,
  annealLr: true,
  totalUpdates: 10,
  klCoef: 0.2,
  adaptiveKl: true,
  klTarget: 0.01,
  gamma: 1,
};

/** A trainer as a user would build it; `policySeed` only decides the initial weights. */
function build(options: { hidden?: number[]; shareTrunk?: boolean; policySeed?: number; reference?: 'copy' | 'tie'; config?: Partial<PPOConfig> } = {}) {
  seed(options.policySeed ?? 1);
  const env = new SingleTurnPreferenceEnvironment({ dataset: PreferenceDataset.fromEntries(DATA), numEnvs: 8, seed: 4 });
  const policy = new ActorCritic({ observationSize: env.observationSize, actionCount: env.actionCount, hidden: options.hidden ?? [8], shareTrunk: options.shareTrunk });
  return new PPOTrainer({ env, policy, config: { ...CONFIG, ...options.config }, rewardManager: new RunningNormReward(), referenceModel: options.reference ?? 'copy' });
}

/** Metrics that measure wall-clock time differ between runs by nature; all others must be equal. */
const TIMING = /^time\/|^episodes_per_sec$|^sps$/;

function expectSameTraining(a: PPOTrainer, b: PPOTrainer, label: string) {
  a.policy.namedParameters().forEach(([name, p], i) => expectBitwiseEqual(b.policy.parameters()[i]!.toArray(), p.toArray(), `${label}: policy ${name}`));
  const refA = a.reference as ActorCritic, refB = b.reference as ActorCritic;
  refA.parameters().forEach((p, i) => expectBitwiseEqual(refB.parameters()[i]!.toArray(), p.toArray(), `${label}: reference ${i}`));
  const optA = a.optimizer.stateDict(), optB = b.optimizer.stateDict();
  expect(optB.stepCount).toBe(optA.stepCount);
  for (const [name, t] of Object.entries(optA.tensors)) expectBitwiseEqual(optB.tensors[name]!, t, `${label}: optimizer ${name}`);
  expect(b.klController.value).toBe(a.klController.value);
  expect(b.optimizer.lr).toBe(a.optimizer.lr);
}

function expectSameMetrics(a: Metrics[], b: Metrics[]) {
  expect(b.length).toBe(a.length);
  a.forEach((m, i) => {
    for (const key of Object.keys(m)) {
      if (TIMING.test(key)) continue;
      expect(Object.is(b[i]![key], m[key]), `update ${m.update}: ${key} ${b[i]![key]} vs ${m[key]}`).toBe(true);
    }
  });
}

/** n updates, one after the other; their metrics. */
async function updates(trainer: PPOTrainer, n: number) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await trainer.update());
  return out;
}

describe('save after N updates, resume in a fresh trainer, M more', () => {
  it('is bit-identical to N + M updates without stopping', async () => {
    const N = 3, M = 3;
    const straight = build();
    const straightMetrics = await updates(straight, N + M);

    const first = build();
    const firstMetrics = await updates(first, N);
    expectSameMetrics(straightMetrics.slice(0, N), firstMetrics); // the same seed gives the same first N
    const dir = join(scratch, 'resume');
    await saveTrainerCheckpoint(dir, first);

    // a new environment, a new policy object with other initial weights, a new reward manager
    const resumed = build({ policySeed: 99 });
    expect(resumed.policy.parameters()[0]!.toArray()).not.toEqual(first.policy.parameters()[0]!.toArray());
    await loadTrainerCheckpoint(dir, resumed);
    expectSameTraining(first, resumed, 'right after loading');
    expect(resumed.updateCount).toBe(N);
    expect(resumed.globalStep).toBe(first.globalStep);

    const resumedMetrics = await updates(resumed, M);
    expectSameMetrics(straightMetrics.slice(N), resumedMetrics);
    expectSameTraining(straight, resumed, `after ${N} + ${M} updates`);
    // the run did train, and the state that had to be restored was really in use
    expect(straightMetrics[N + M - 1]!.lr).toBeLessThan(straightMetrics[0]!.lr!);
    expect(new Set(straightMetrics.map((m) => m.kl_coef)).size).toBeGreaterThan(1);
  });
});

describe('damaged or foreign checkpoints', () => {
  let dir = '';
  let saved: PPOTrainer;
  beforeAll(async () => {
    saved = build();
    await saved.update();
    dir = join(scratch, 'good');
    await saveTrainerCheckpoint(dir, saved);
  });

  const fileOf = (d: string, prefix: string) => readdirSync(d).find((f) => f.startsWith(prefix))!;

  /** A second save of the same trainer, to damage. */
  async function copyToDamage(name: string): Promise<string> {
    const d = join(scratch, name);
    await saveTrainerCheckpoint(d, saved);
    return d;
  }

  async function loadError(d: string, trainer = build({ policySeed: 7 })): Promise<CheckpointError> {
    const before = trainer.policy.parameters().map((p) => p.toArray());
    const error = await loadTrainerCheckpoint(d, trainer).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    // refused before anything was loaded: the trainer is as it was
    trainer.policy.parameters().forEach((p, i) => expectBitwiseEqual(p.toArray(), before[i]!, 'policy after a refused load'));
    expect(trainer.updateCount).toBe(0);
    return error as CheckpointError;
  }

  it('the good checkpoint loads', async () => {
    const fresh = build({ policySeed: 7 });
    await loadTrainerCheckpoint(dir, fresh);
    expectSameTraining(saved, fresh, 'loaded');
  });

  it('a truncated model file: check "size", naming the file', async () => {
    const d = await copyToDamage('truncated');
    const model = fileOf(d, 'model.');
    truncateSync(join(d, model), readFileSync(join(d, model)).length - 10);
    const e = await loadError(d);
    expect(e.check).toBe('size');
    expect(e.file).toBe(model);
    expect(e.message).toMatch(/is truncated/);
  });

  it('a flipped byte: check "checksum", naming the file', async () => {
    const d = await copyToDamage('flipped');
    const model = fileOf(d, 'model.');
    const bytes = readFileSync(join(d, model));
    bytes[bytes.length - 3]! ^= 0x10; // inside a parameter's float data
    writeFileSync(join(d, model), bytes);
    const e = await loadError(d);
    expect(e.check).toBe('checksum');
    expect(e.file).toBe(model);
    expect(e.message).toMatch(/corrupt: CRC-32/);
  });

  it('a missing file or directory: check "missing"', async () => {
    const d = await copyToDamage('missing');
    const optimizer = fileOf(d, 'optimizer.');
    rmSync(join(d, optimizer));
    const e = await loadError(d);
    expect(e.check).toBe('missing');
    expect(e.message).toContain(optimizer);
    expect((await loadError(join(scratch, 'never-saved'))).check).toBe('missing');
  });

  it('another architecture (other widths): check "mismatch", naming the tensor and both shapes', async () => {
    const e = await loadError(dir, build({ hidden: [6] }));
    expect(e.check).toBe('mismatch');
    expect(e.tensor).toBe('policy.actorTrunk.layers.0.weight');
    expect(e.message).toMatch(/policy\.actorTrunk\.layers\.0\.weight has shape \[8, 3\], this trainer's has \[6, 3\]/);
  });

  it('another architecture (other parameters): check "mismatch", listing missing and unexpected names', async () => {
    const e = await loadError(dir, build({ shareTrunk: true }));
    expect(e.check).toBe('mismatch');
    expect(e.message).toMatch(/missing \[\], unexpected \[policy\.criticTrunk\.layers\.0\.bias, policy\.criticTrunk\.layers\.0\.weight, reference\.criticTrunk/);
  });

  it("a 'copy' checkpoint loaded into a 'tie' trainer: the reference tensors are unexpected", async () => {
    const e = await loadError(dir, build({ reference: 'tie', config: { adaptiveKl: false } }));
    expect(e.check).toBe('mismatch');
    expect(e.message).toMatch(/missing \[\], unexpected \[reference\./);
  });

  it('the same sizes in another shape (a transposed weight) are refused too', async () => {
    const state = trainerCheckpointState(saved);
    state.modelShapes!['policy.valueHead.linear.weight'] = [8, 1]; // the trainer's is [1, 8]: same size
    const loaded = decodeCheckpoint(encodeCheckpoint(state));
    const fresh = build({ policySeed: 7 });
    const error = (() => {
      try {
        restoreTrainer(fresh, loaded);
      } catch (e) {
        return e as CheckpointError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error!.check).toBe('mismatch');
    expect(error!.message).toMatch(/valueHead\.linear\.weight has shape \[8, 1\], this trainer's has \[1, 8\]/);
  });

  it('a checkpoint that is not a PPO trainer checkpoint: check "mismatch"', async () => {
    const state = trainerCheckpointState(saved);
    state.metadata = { format: 'something-else' };
    expect(() => restoreTrainer(build(), decodeCheckpoint(encodeCheckpoint(state)))).toThrow(/not a NovaRL PPO checkpoint/);
  });
});
