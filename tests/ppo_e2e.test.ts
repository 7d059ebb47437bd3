// The RLHF example end to end (examples/ppo_rlhf_single_turn.ts): a short run learns the
// preferred response of every prompt, its reward climbs, KL(policy || reference) ends inside
// the controller's window, the checkpoint it writes loads back, and a seed fixes every bit.
//
// Budget: measured over seeds 1-10 with the example's settings, 20 updates (0.1-0.3 s each run)
// already give min preferred probability 0.980, first-update reward_mean -0.23..0.11, last
// reward_mean >= 0.97, and kl_to_ref of the last 5 updates in [1.25, 1.33] (window [0.667, 1.5]).
// The thresholds below leave wide margins on all of these.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { config as exampleConfig, main } from '../examples/ppo_rlhf_single_turn';
import { ActorCritic, PPOTrainer, SingleTurnPreferenceEnvironment, loadTrainerCheckpoint } from '../sdk/index';
import { expectBitwiseEqual } from './util';

const scratch = mkdtempSync(join(tmpdir(), 'novarl-ppo-e2e-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const UPDATES = 20;
const ACTIONS = 4;

describe('examples/ppo_rlhf_single_turn.ts', () => {
  for (const seed of [7, 8]) {
    it(`learns the preferred responses within ${UPDATES} updates (seed ${seed})`, async () => {
      const checkpointDir = join(scratch, `run-${seed}`);
      const { probabilities, history, preferred, trainer } = await main({ quiet: true, updates: UPDATES, seed, checkpointDir });
      expect(history.length).toBe(UPDATES);

      // every prompt's preferred response ends with probability > 0.9 (measured: >= 0.98)
      preferred.forEach((action, prompt) => {
        const p = probabilities[prompt * ACTIONS + action]!;
        expect(p, `prompt ${prompt}: P(preferred response ${action})`).toBeGreaterThan(0.9);
      });

      // reward climbs well above the first update's (a uniform policy averages about -0.1 here)
      const first = history[0]!.reward_mean!;
      const last5 = history.slice(-5).map((m) => m.reward_mean!);
      const lastMean = last5.reduce((a, b) => a + b, 0) / last5.length;
      expect(lastMean).toBeGreaterThan(first + 0.5);
      expect(lastMean).toBeGreaterThan(0.9);

      // the adaptive controller's window holds KL(policy || reference) at the end
      const { klTarget } = exampleConfig.ppo as { klTarget: number };
      for (const m of history.slice(-5)) {
        expect(m.kl_to_ref, `update ${m.update}: kl_to_ref`).toBeGreaterThanOrEqual(klTarget / 1.5);
        expect(m.kl_to_ref, `update ${m.update}: kl_to_ref`).toBeLessThanOrEqual(klTarget * 1.5);
      }

      // the checkpoint was written and loads into a freshly built trainer of the same shape
      expect(readdirSync(checkpointDir)).toContain('manifest.json');
      const env = trainer.env as SingleTurnPreferenceEnvironment;
      const fresh = new PPOTrainer({
        env: new SingleTurnPreferenceEnvironment({ dataset: env.dataset, numEnvs: env.numEnvs, seed: 0 }),
        policy: new ActorCritic(trainer.policy.options),
        config: trainer.config,
      });
      await loadTrainerCheckpoint(checkpointDir, fresh);
      expect(fresh.updateCount).toBe(UPDATES);
      trainer.policy.parameters().forEach((p, i) => expectBitwiseEqual(fresh.policy.parameters()[i]!.toArray(), p.toArray(), `loaded parameter ${i}`));
      expect(fresh.klController.value).toBe(trainer.klController.value);
    });
  }

  it('the same seed twice gives bit-identical probabilities and metrics', async () => {
    const run = () => main({ quiet: true, updates: 10, seed: 5, checkpointDir: join(scratch, 'repeat') });
    const a = await run();
    const b = await run();
    expectBitwiseEqual(b.probabilities, a.probabilities, 'final probabilities');
    a.history.forEach((m, i) => {
      for (const key of ['reward_mean', 'kl_to_ref', 'kl_coef', 'objective', 'entropy', 'value_loss', 'grad_norm']) {
        expect(Object.is(b.history[i]![key], m[key]), `update ${i + 1}: ${key}`).toBe(true);
      }
    });
    // and another seed gives another run
    const c = await main({ quiet: true, updates: 10, seed: 6, checkpointDir: join(scratch, 'other') });
    expect(Array.from(c.probabilities)).not.toEqual(Array.from(a.probabilities));
  });
});
