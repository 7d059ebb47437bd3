// The trainers' weightSync option (issue 12, item 3): called once after every update with the
// updated policy and the update count; a sync that fails rejects step() with its error after
// the update was applied (the trainer counts it), so a caller never goes on unaware that the
// server holds other weights.

import { beforeAll, describe, expect, it } from 'vitest';
import { GRPOTrainer, LMPPOTrainer, WeightSyncError, init, type GPT, type WeightSync } from '../sdk/index';
import { makeTrainer as makeGroupTrainer, parameterHash } from './fixtures/lm_trainers';
import { makeTrainer as makePpoTrainer } from './fixtures/ppo_lm_setup';

beforeAll(async () => {
  await init();
});

/** Records the weights it is shown; fails on the update numbers in `failOn`. */
class RecordingSync implements WeightSync {
  readonly seen: { update: number; hash: string }[] = [];
  staleness = 0;
  constructor(private readonly failOn: number[] = []) {}
  async afterUpdate(policy: GPT, updateIndex: number): Promise<void> {
    this.seen.push({ update: updateIndex, hash: parameterHash(policy) });
    if (this.failOn.includes(updateIndex)) throw new WeightSyncError(`sync of update ${updateIndex} failed`, updateIndex);
  }
}

describe('weightSync', () => {
  it('GRPOTrainer calls it after every update with the updated weights', async () => {
    const { options } = makeGroupTrainer('grpo');
    const sync = new RecordingSync();
    const trainer = new GRPOTrainer({ ...options, weightSync: sync });
    for (let i = 0; i < 2; i++) await trainer.step();
    expect(sync.seen.map((s) => s.update)).toEqual([1, 2]);
    expect(sync.seen[1]!.hash).toBe(parameterHash(trainer.policy)); // the weights after update 2
    expect(sync.seen[0]!.hash).not.toBe(sync.seen[1]!.hash);
    trainer.free();
  });

  it('a failed sync rejects step() with its WeightSyncError, the update counted', async () => {
    const { options } = makeGroupTrainer('grpo');
    const trainer = new GRPOTrainer({ ...options, weightSync: new RecordingSync([1]) });
    await expect(trainer.step()).rejects.toThrow(WeightSyncError);
    expect(trainer.updates).toBe(1);
    trainer.free();
  });

  it('LMPPOTrainer calls it after every update too, and rejects on a failed sync', async () => {
    const base = await makePpoTrainer('head');
    const sync = new RecordingSync([2]);
    const trainer = new LMPPOTrainer({ policy: base.policy, tokenizer: base.tokenizer, dataset: ['the cat', 'a bird'].map((text) => ({ text, ids: base.tokenizer.encode(text), fields: {} })), rewardFuncs: [...base.rewardFuncs], config: base.config, weightSync: sync });
    await trainer.step();
    await expect(trainer.step()).rejects.toThrow('sync of update 2 failed');
    expect(sync.seen.map((s) => s.update)).toEqual([1, 2]);
    expect(trainer.updates).toBe(2);
    trainer.free();
    base.free();
  });
});
