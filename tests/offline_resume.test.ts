// Resume, bit for bit, for RewardModelTrainer and DPOTrainer: N steps straight give the same
// parameters (FNV-1a of every f32) and metrics as N/2 steps, save, then load in a NEW process
// and N/2 more. The runs cross epoch boundaries (12 pairs in batches of 5), so the shuffled
// order, the PRNG, AdamW's moments and DPO's stored reference log-probs all have to come back.
// A checkpoint of the other trainer, or of another dataset, is refused before anything loads.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, DPOTrainer, init, type Core } from '../sdk/index';
import { buildRun, deterministicMetrics, parameterHash, type OfflineAlgo } from './fixtures/offline_resume';
import { tinyGpt, tinyPairs, tinyTokenizer } from './fixtures/preference_pairs';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./fixtures/offline_resume.ts', import.meta.url));
const N = 6;

let core: Core;
let dir: string;
beforeAll(async () => {
  core = await init();
  dir = mkdtempSync(join(tmpdir(), 'novarl-offline-resume-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['reward_model', 'dpo'] as OfflineAlgo[])('%s resume', (algo) => {
  it(`${N} steps straight = ${N / 2}, save, load in a new process, ${N / 2}`, async () => {
    const straight = buildRun(algo, core);
    const straightMetrics: Record<string, number>[] = [];
    for (let i = 0; i < N; i++) straightMetrics.push(deterministicMetrics(await straight.step()));
    const straightHash = parameterHash(straight.model);
    straight.free();

    const first = buildRun(algo, core);
    for (let i = 0; i < N / 2; i++) expect(deterministicMetrics(await first.step())).toEqual(straightMetrics[i]);
    const checkpoint = join(dir, algo);
    await first.save(checkpoint);
    first.free();

    const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, algo, checkpoint, String(N / 2)], { timeout: 120_000 });
    const resumed = JSON.parse(stdout) as { metrics: Record<string, number>[]; hash: string };
    expect(resumed.metrics).toEqual(straightMetrics.slice(N / 2));
    expect(resumed.hash).toBe(straightHash);
    // and the run did move: the second half changed the parameters
    expect(resumed.metrics[0]!['loss']).not.toBe(resumed.metrics[N / 2 - 1]!['loss']);
  }, 180_000);
});

describe('offline checkpoints refuse what does not fit', () => {
  it("a reward model's checkpoint into DPO, or a checkpoint of other pairs, is a CheckpointError and changes nothing", async () => {
    const tokenizer = tinyTokenizer();
    const policy = tinyGpt(tokenizer, core, 9);
    const trainer = new DPOTrainer({ policy, tokenizer, pairs: tinyPairs(7), config: { batchSize: 5 } });
    const before = parameterHash(policy);
    await expect(trainer.load(join(dir, 'reward_model'))).rejects.toThrow(/not a novarl-dpo checkpoint/);
    await expect(trainer.load(join(dir, 'dpo'))).rejects.toThrow(CheckpointError);
    expect(parameterHash(policy)).toBe(before);
    expect(trainer.updates).toBe(0);
    trainer.free();
    policy.free();
  });
});
