// Resume for GRPOTrainer and RLOOTrainer (issue 11 item 8): N steps straight give the same
// parameters (bit for bit, by FNV-1a of their f32 bytes) and the same metrics as N/2 steps, save,
// load in a NEW PROCESS and N/2 more. And a reward function that returns NaN, the wrong length or
// throws rejects step() with a RewardFunctionError naming it, before any parameter changes, leaving the
// last checkpoint loadable and the trainer able to go on exactly as if the step had not happened.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, GRPOTrainer, RLOOTrainer, RewardFunctionError, init, type NamedRewardFunction } from '../sdk/index';
import { countTarget, deterministicMetrics, makeTrainer, parameterHash, type Algo } from './fixtures/lm_trainers';

const CHILD = fileURLToPath(new URL('./fixtures/lm_trainer_resume_child.ts', import.meta.url));
let root: string;
beforeAll(async () => {
  await init();
  root = mkdtempSync(join(tmpdir(), 'novarl-grpo-rloo-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function runChild(algo: Algo, dir: string, steps: number): Promise<{ hash: string; updates: number; metrics: Record<string, number>[] }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, algo, dir, String(steps)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`child exited ${code}: ${err}`));
      else resolve(JSON.parse(line.slice(7)));
    });
  });
}

const N = 4;
for (const algo of ['grpo', 'rloo'] as const) {
  describe(`${algo.toUpperCase()} checkpoints`, () => {
    it(`${N} steps straight equal ${N / 2}, save, load in a new process, ${N / 2}`, async () => {
      const straight = makeTrainer(algo).trainer;
      const metrics: Record<string, number>[] = [];
      for (let i = 0; i < N; i++) metrics.push(deterministicMetrics(await straight.step()));
      const straightHash = parameterHash(straight.policy);
      straight.free();
      // the run learns something, so equal hashes are not two untouched models
      expect(metrics[N - 1]!['grad_norm']).toBeGreaterThan(0);

      const { trainer: first } = makeTrainer(algo);
      for (let i = 0; i < N / 2; i++) await first.step();
      expect(parameterHash(first.policy)).not.toBe(straightHash);
      const dir = join(root, algo);
      await first.save(dir);
      first.free();
      const resumed = await runChild(algo, dir, N / 2);
      expect(resumed.updates).toBe(N);
      expect(resumed.hash).toBe(straightHash);
      expect(resumed.metrics).toEqual(metrics.slice(N / 2));
    }, 120_000);

    it('refuses a checkpoint of the other algorithm, and one saved without a reference, with a CheckpointError', async () => {
      const { trainer, options } = makeTrainer(algo);
      const other = algo === 'grpo' ? 'rloo' : 'grpo';
      await expect(trainer.resume(join(root, other))).rejects.toThrow(CheckpointError);
      const noReference = algo === 'grpo' ? new GRPOTrainer({ ...options, config: { ...options.config, beta: 0 } }) : new RLOOTrainer({ ...options, config: { ...options.config, beta: 0 } } as never);
      await expect(noReference.resume(join(root, algo))).rejects.toThrow(/reference/);
      // another config would not continue the run bit for bit: refused, naming the field, nothing loaded
      const otherConfig = algo === 'grpo' ? new GRPOTrainer({ ...options, config: { ...options.config, learningRate: 1e-2 } }) : new RLOOTrainer({ ...options, config: { ...options.config, learningRate: 1e-2 } } as never);
      await expect(otherConfig.resume(join(root, algo))).rejects.toThrow(/trainer.json: config differs/);
      expect(otherConfig.updates).toBe(0);
      otherConfig.free();
      trainer.free();
      noReference.free();
    });

    const bad: [string, NamedRewardFunction['fn'], RegExp][] = [
      ['nan', (_p, c) => c.map((_, i) => (i === 2 ? NaN : 1)), /gave row 2 the reward NaN/],
      ['short', (_p, c) => c.slice(1).map(() => 1), /returned \d+ rewards for \d+ completions/],
      ['throws', () => { throw new Error('scorer offline'); }, /threw: scorer offline/],
    ];
    for (const [name, fn, message] of bad) {
      it(`a reward function that ${name === 'short' ? 'returns the wrong length' : name === 'nan' ? 'returns NaN' : 'throws'} rejects the step naming it; nothing changes`, async () => {
        let failing = false;
        const flaky: NamedRewardFunction = { name: `flaky_${name}`, fn: (p, c, e) => (failing ? fn(p, c, e) : c.map(() => 0.5)) };
        const { trainer, options } = makeTrainer(algo, [countTarget, flaky]);
        await trainer.step();
        const dir = join(root, `${algo}-${name}`);
        await trainer.save(dir);
        const before = parameterHash(trainer.policy);
        failing = true;
        const error = await trainer.step().then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(RewardFunctionError);
        expect((error as RewardFunctionError).functionName).toBe(`flaky_${name}`);
        expect((error as Error).message).toMatch(message);
        expect(parameterHash(trainer.policy)).toBe(before);
        expect(trainer.updates).toBe(1);
        // the trainer goes on as if the failed step had not happened: same as the checkpoint's continuation
        failing = false;
        const next = deterministicMetrics(await trainer.step());
        const reloaded = algo === 'grpo' ? await GRPOTrainer.load(dir, { ...options, policy: makeTrainer(algo).options.policy }) : await RLOOTrainer.load(dir, { ...options, policy: makeTrainer(algo).options.policy } as never);
        expect(deterministicMetrics(await reloaded.step())).toEqual(next);
        expect(parameterHash(reloaded.policy)).toBe(parameterHash(trainer.policy));
        trainer.free();
        reloaded.free();
      }, 60_000);
    }
  });
}
