// Minimal synchronous PPO: the smallest complete NovaRL training run, in a few seconds.
//
// A SyntheticPromptEnvironment holds 16 "prompts" (random feature vectors) and a hidden linear
// labeler that prefers one of 4 responses per prompt (reward 1 for it, 0 otherwise). Each
// episode is one prompt and one response, as in single-turn RLHF. A tiny actor-critic learns
// the labeler with PPO, a small KL penalty keeping it near a frozen copy of its initial self.
// Every few updates it logs reward, KL (to the reference and between PPO's old and new
// policies), entropy and throughput; at the end it prints the learned accuracy: the fraction
// of prompts whose most likely response is the preferred one.
//
//   npx tsx examples/minimal_ppo_sync.ts        (or: bun examples/minimal_ppo_sync.ts)

import { ActorCritic, ConsoleSink, Logger, PPOTrainer, SyntheticPromptEnvironment, Tensor, init, noGrad, seed, type PPOConfig } from '../sdk/index';

// ---- configuration -------------------------------------------------------------------------

export const config = {
  /** Seeds the task, the policy's initial weights, sampling and shuffling. */
  seed: 1,
  /** PPO updates (one rollout + optimisation each). */
  updates: 40,
  /** Prompts in the task. */
  numPrompts: 16,
  /** Features per prompt (observation size). */
  observationSize: 8,
  /** Candidate responses per prompt. */
  actionCount: 4,
  /** Prompts answered in parallel per step. */
  numEnvs: 16,
  /** Hidden layer widths of the actor and of the critic. */
  hidden: [16],
  /** Print a log line every this many updates. */
  logEvery: 5,
  /** No output (tests). */
  quiet: false,
  /** PPO's settings (PPOConfig documents each; the rest keep their defaults). */
  ppo: {
    /** Steps per environment per update: numEnvs x stepsPerUpdate = 64 episodes per update. */
    stepsPerUpdate: 4,
    learningRate: 1e-2,
    epochs: 4,
    minibatches: 2,
    clipRange: 0.2,
    entropyCoef: 0.01,
    /** KL penalty coefficient (per-step, in the reward) against the frozen initial policy. */
    klCoef: 0.02,
    klPenalty: 'reward',
    gamma: 1, // one-step episodes: the return is the reward
  } satisfies Partial<PPOConfig> as Partial<PPOConfig>,
};

export type MinimalConfig = Omit<typeof config, 'ppo'> & { ppo: Partial<PPOConfig> };

export async function main(overrides: Partial<MinimalConfig> = {}) {
  const c = { ...config, ...overrides, ppo: { ...config.ppo, ...overrides.ppo } };
  await init();
  seed(c.seed); // the policy's initial weights come from the core's PRNG
  const start = performance.now();

  const env = new SyntheticPromptEnvironment({
    numEnvs: c.numEnvs,
    numPrompts: c.numPrompts,
    observationSize: c.observationSize,
    actionCount: c.actionCount,
    seed: c.seed,
  });
  const policy = new ActorCritic({ observationSize: env.observationSize, actionCount: env.actionCount, hidden: c.hidden });
  const trainer = new PPOTrainer({
    env,
    policy,
    referenceModel: 'copy', // a frozen snapshot of the initial policy: kl_to_ref = KL(pi || pi_0)
    config: { seed: c.seed, ...c.ppo },
  });

  const logger = new Logger(
    c.quiet ? [] : [new ConsoleSink({ keys: ['reward_mean', 'kl_to_ref', 'approx_kl', 'entropy', 'episodes_per_sec', 'sps'] })],
  );
  const history = [];
  for (let update = 1; update <= c.updates; update++) {
    const metrics = await trainer.update();
    history.push(metrics);
    if (update === 1 || update % c.logEvery === 0) logger.log(update, metrics);
  }

  // Accuracy: prompts whose most likely response (argmax of the logits) is the preferred one.
  const logits = noGrad(() => {
    const prompts = new Float32Array(env.numPrompts * env.observationSize);
    for (let p = 0; p < env.numPrompts; p++) prompts.set(env.promptFeatures(p), p * env.observationSize);
    return policy.logits(Tensor.from(prompts, [env.numPrompts, env.observationSize])).toArray(); // (P, A)
  });
  trainer.core.endStep();
  let correct = 0;
  for (let p = 0; p < env.numPrompts; p++) {
    const row = logits.subarray(p * env.actionCount, (p + 1) * env.actionCount);
    if (argmax(row) === env.preferredAction(p)) correct++;
  }
  const accuracy = correct / env.numPrompts;
  const seconds = (performance.now() - start) / 1000;
  if (!c.quiet) {
    const last = history[history.length - 1]!;
    console.log(
      `accuracy ${correct}/${env.numPrompts} = ${accuracy.toFixed(3)} (chance ${(1 / env.actionCount).toFixed(3)}), ` +
        `final reward_mean ${last.reward_mean.toFixed(3)}, wall time ${seconds.toFixed(1)} s`,
    );
  }
  return { accuracy, history, seconds, trainer };
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

// Run when executed directly (node/tsx/bun), not when imported by a test.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('minimal_ppo_sync.ts')) {
  await main();
}
