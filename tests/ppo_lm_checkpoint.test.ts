// LMPPOTrainer resumes bit for bit: N updates straight equal N/2, save, load in a NEW process,
// N/2 (every parameter of policy, value head or critic and reference, and every metric but the
// wall-clock ones). A reward function that fails leaves the last checkpoint loadable, and a
// checkpoint of another configuration is refused before anything loads.

import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CheckpointError, RewardFunctionError } from '../sdk/index';
import { deterministicMetrics, makeTrainer, trainerHash, type ResumeVariant } from './fixtures/ppo_lm_setup';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./fixtures/ppo_lm_resume_child.ts', import.meta.url));
const N = 4;

describe('LMPPOTrainer checkpoints', () => {
  for (const variant of ['head', 'critic'] as ResumeVariant[]) {
    it(`${N} updates straight = ${N / 2}, save, load in a new process, ${N / 2} (${variant})`, async () => {
      const straight = await makeTrainer(variant);
      const straightMetrics: Record<string, number>[] = [];
      for (let i = 0; i < N; i++) straightMetrics.push(deterministicMetrics(await straight.step()));
      const straightHash = trainerHash(straight);
      const tokens = straight.tokensGenerated;
      straight.free();

      const first = await makeTrainer(variant);
      for (let i = 0; i < N / 2; i++) expect(deterministicMetrics(await first.step())).toEqual(straightMetrics[i]);
      const dir = mkdtempSync(join(tmpdir(), 'novarl-ppo-lm-'));
      await first.save(dir);
      first.free();

      const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, variant, dir, String(N / 2)], { timeout: 120_000 });
      const resumed = JSON.parse(stdout.trim().split('\n').pop()!) as { updates: number; tokens: number; metrics: Record<string, number>[]; hash: string };
      expect(resumed.updates).toBe(N);
      expect(resumed.tokens).toBe(tokens);
      expect(resumed.metrics).toEqual(straightMetrics.slice(N / 2));
      expect(resumed.hash).toBe(straightHash);
    }, 180_000);
  }

  it('a failing reward function rejects the step and the last checkpoint still resumes exactly', async () => {
    let failing = false;
    const flaky = { name: 'flaky', fn: (_p: readonly string[], cs: readonly string[]) => cs.map(() => (failing ? NaN : 0)) };
    const reference = await makeTrainer('head', [flaky]);
    for (let i = 0; i < 2; i++) await reference.step();
    const expectedHash = trainerHash(reference);
    reference.free();

    const trainer = await makeTrainer('head', [flaky]);
    await trainer.step();
    const dir = mkdtempSync(join(tmpdir(), 'novarl-ppo-lm-'));
    await trainer.save(dir);
    failing = true;
    const before = trainerHash(trainer);
    await expect(trainer.step()).rejects.toThrow(RewardFunctionError);
    await expect(trainer.step()).rejects.toThrow(/'flaky'/);
    expect(trainerHash(trainer)).toBe(before);
    trainer.free();

    failing = false;
    const restored = await makeTrainer('head', [flaky]);
    await restored.load(dir);
    expect(restored.updates).toBe(1);
    await restored.step();
    expect(trainerHash(restored)).toBe(expectedHash);
    restored.free();
  }, 60_000);

  it('refuses a checkpoint of another configuration, naming the field, before anything loads', async () => {
    const head = await makeTrainer('head');
    await head.step();
    const dir = mkdtempSync(join(tmpdir(), 'novarl-ppo-lm-'));
    await head.save(dir);
    head.free();
    const critic = await makeTrainer('critic');
    const before = trainerHash(critic);
    const error = await critic.load(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/critic\.|missing|unexpected/);
    expect(trainerHash(critic)).toBe(before);
    critic.free();
  }, 60_000);

  it('refuses a checkpoint saved under another config, naming the field', async () => {
    const saved = await makeTrainer('head');
    await saved.step();
    const dir = mkdtempSync(join(tmpdir(), 'novarl-ppo-lm-'));
    await saved.save(dir);
    saved.free();
    const other = await makeTrainer('head', [], { learningRate: 1e-4 });
    const before = trainerHash(other);
    await expect(other.load(dir)).rejects.toThrow(/config\.learningRate/);
    expect(trainerHash(other)).toBe(before);
    expect(other.updates).toBe(0);
    other.free();
  }, 60_000);
});
