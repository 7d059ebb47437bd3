// Smoke tests of the runnable examples: they run end to end through their exported main(), and
// the minimal one really learns. (The full CartPole run takes minutes and is not a unit test;
// see examples/ppo_cartpole.ts.)

import { describe, expect, it } from 'vitest';
import { main as minimalPpo } from '../examples/minimal_ppo_sync';
import { main as ppoCartPole } from '../examples/ppo_cartpole';

describe('examples/minimal_ppo_sync', () => {
  it('learns the hidden labeler in a few updates', async () => {
    const { accuracy, history } = await minimalPpo({ updates: 15, quiet: true });
    expect(history).toHaveLength(15);
    // 4 responses: a policy that learned nothing is right on ~1/4 of the prompts and earns
    // ~0.25 reward per episode. The first rollout comes from the near-uniform initial policy.
    expect(history[0]!['reward_mean']).toBeLessThan(0.5);
    expect(history[14]!['reward_mean']).toBeGreaterThan(0.8);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    // The logged metrics the example shows are there and finite; the policy moved away from
    // its frozen reference (kl_to_ref is the exact KL, so > 0 once the policy changed).
    for (const key of ['kl_to_ref', 'approx_kl', 'entropy', 'episodes_per_sec', 'sps']) {
      expect(Number.isFinite(history[14]![key])).toBe(true);
    }
    expect(history[14]!['kl_to_ref']).toBeGreaterThan(0);
    expect(history[14]!['entropy']).toBeLessThan(history[0]!['entropy']!);
  });
});

describe('examples/ppo_cartpole', () => {
  it('runs two updates with the CleanRL settings', async () => {
    const result = await ppoCartPole({ totalTimesteps: 1024, quiet: true });
    expect(result.history).toHaveLength(2); // 1024 steps / (4 envs x 128 steps)
    expect(result.globalStep).toBe(1024);
    expect(result.solvedAt).toBeUndefined();
    // a random CartPole policy lasts ~10-60 steps per episode
    expect(result.meanReturn).toBeGreaterThan(5);
    expect(result.meanReturn).toBeLessThan(100);
    const last = result.history[1]!;
    for (const key of ['approx_kl', 'clipfrac', 'policy_loss', 'value_loss', 'explained_variance', 'sps']) {
      expect(Number.isFinite(last[key])).toBe(true);
    }
    // lr annealed over the 2 planned updates: the second uses (1 - 1/2) * 2.5e-4
    expect(last['lr']).toBeCloseTo(1.25e-4, 12);
  });

  it('stops as soon as the recent mean return reaches the target', async () => {
    // a target a random policy already meets: the run stops after the first update
    const result = await ppoCartPole({ totalTimesteps: 5120, targetReturn: 5, returnWindow: 10, quiet: true });
    expect(result.solvedAt?.update).toBe(1);
    expect(result.solvedAt?.globalStep).toBe(512);
    expect(result.history).toHaveLength(1);
  });
});
