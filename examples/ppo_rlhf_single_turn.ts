// Single-turn RLHF with PPO, the original NovaRL example in six steps:
//   1. a four-prompt preference dataset with deterministic per-response rewards
//   2. a SingleTurnPreferenceEnvironment serving the prompts in batches
//   3. PPO with clipping, an entropy bonus and a KL penalty against a frozen reference
//   4. adaptive KL keeping KL(policy || reference) inside the target window
//   5. logs of the objective, KL divergences, entropy and episodes/sec
//   6. model and optimizer checkpoints, and the learned response probabilities per prompt
//
//   npx tsx examples/ppo_rlhf_single_turn.ts        (or: npm run example, bun examples/...)

import {
  ActorCritic,
  ConsoleSink,
  Logger,
  PPOTrainer,
  PreferenceDataset,
  SingleTurnPreferenceEnvironment,
  Tensor,
  init,
  noGrad,
  saveTrainerCheckpoint,
  seed,
  type PPOConfig,
} from '../sdk/index';
import { DATA, RESPONSES, RLHF_PPO } from './rlhf_data';

// ---- configuration -------------------------------------------------------------------------

export const config = {
  seed: 7,
  updates: 60,
  numEnvs: 16, // prompts served per step
  logEvery: 5,
  checkpointDir: 'checkpoints/ppo_rlhf_single_turn',
  quiet: false,
  /** PPO's settings: the task's (rlhf_data.ts RLHF_PPO), then these. */
  ppo: {
    ...RLHF_PPO,
    clipRange: 0.2,
    klCoef: 0.3, // initial beta
    // nats: the window is [klTarget / 1.5, klTarget * 1.5]. With 4 responses and a near-uniform
    // reference, KL(policy || reference) can reach at most ln 4 = 1.386 (a deterministic policy).
    klTarget: 1.0,
  } as Partial<PPOConfig>,
};

export type RlhfConfig = Omit<typeof config, 'ppo'> & { ppo: Partial<PPOConfig> };

// Step 1: four prompts, four candidate responses each, one reward per response (rlhf_data.ts).

export async function main(overrides: Partial<RlhfConfig> = {}) {
  const c = { ...config, ...overrides, ppo: { ...config.ppo, ...overrides.ppo } };
  await init();
  seed(c.seed);
  const start = performance.now();

  // Step 2: the environment serves prompts (one-hot features) in shuffled batches.
  const dataset = PreferenceDataset.fromEntries(DATA);
  const env = new SingleTurnPreferenceEnvironment({ dataset, numEnvs: c.numEnvs, seed: c.seed });

  // Step 3: a small actor-critic; PPO with clipping, entropy bonus, KL penalty in the reward
  // against a frozen copy of the initial policy. Step 4: the window controller adapts beta.
  const policy = new ActorCritic({ observationSize: env.observationSize, actionCount: env.actionCount, hidden: [32] });
  const trainer = new PPOTrainer({
    env,
    policy,
    referenceModel: 'copy',
    config: { seed: c.seed, ...c.ppo },
  });

  // Step 5: one compact line per update.
  const logger = new Logger(
    c.quiet ? [] : [new ConsoleSink({ keys: ['reward_mean', 'objective', 'kl_to_ref', 'kl_coef', 'approx_kl', 'entropy', 'episodes_per_sec'] })],
  );
  const history = [];
  for (let update = 1; update <= c.updates; update++) {
    const metrics = await trainer.update();
    history.push(metrics);
    if (update % c.logEvery === 0 || update === 1) logger.log(update, metrics);
  }

  // Step 6: checkpoint, then the learned response probabilities per prompt.
  await saveTrainerCheckpoint(c.checkpointDir, trainer);
  const probabilities = noGrad(() => {
    const prompts = new Float32Array(dataset.size * env.observationSize);
    for (let i = 0; i < dataset.size; i++) dataset.encode(i, prompts, i * env.observationSize);
    const logits = policy.logits(Tensor.from(prompts, [dataset.size, env.observationSize]));
    return logits.softmax().toArray();
  });
  trainer.core.endStep();

  const seconds = (performance.now() - start) / 1000;
  const final = history[history.length - 1]!;
  const klTarget = trainer.config.klTarget;
  if (!c.quiet) {
    console.log(`\nlearned response probabilities (${RESPONSES.join(' / ')}):`);
    DATA.forEach((d, i) => {
      const p = Array.from(probabilities.subarray(i * RESPONSES.length, (i + 1) * RESPONSES.length));
      const best = d.rewards.indexOf(Math.max(...d.rewards));
      const row = p.map((x) => x.toFixed(3)).join('  ');
      console.log(`  ${d.prompt.padEnd(28)} ${row}   preferred: ${RESPONSES[best]} (${p[best]!.toFixed(3)})`);
    });
    console.log(
      `\nkl_to_ref ${final.kl_to_ref.toFixed(3)} (target window [${(klTarget / 1.5).toFixed(3)}, ${(klTarget * 1.5).toFixed(3)}]), ` +
        `kl_coef ${final.kl_coef.toFixed(4)}, reward_mean ${final.reward_mean.toFixed(3)}`,
    );
    console.log(`checkpoint: ${c.checkpointDir}/   wall time ${seconds.toFixed(1)} s`);
  }
  return { probabilities, history, preferred: DATA.map((d) => d.rewards.indexOf(Math.max(...d.rewards))), seconds, trainer };
}

// Run when executed directly (node/tsx/bun), not when imported by a test.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('ppo_rlhf_single_turn.ts')) {
  await main();
}
