// PPO on CartPole-v1 with CleanRL's ppo.py defaults: the check that NovaRL's PPO is PPO.
// CleanRL reaches a return of 490 +- 6 by 500k steps with these settings (docs/architecture.md, "Algorithms");
// this run stops as soon as the mean return of the last 20 finished episodes reaches 475
// (Gymnasium's "solved" threshold for CartPole-v1) and prints the global step and wall time.
//
// Plain PPO, no reference model and no KL penalty (klCoef 0): 4 environments x 128 steps per
// update, 4 epochs of 4 minibatches, Adam (eps 1e-5) at 2.5e-4 annealed linearly to 0,
// clipped surrogate (0.2) and value loss (0.2), entropy bonus 0.01, value coefficient 0.5,
// global gradient norm clipped to 0.5, GAE with gamma 0.99 and lambda 0.95, advantages
// whitened per minibatch, separate 64x64 tanh actor and critic with orthogonal init
// (gain sqrt(2) hidden, 0.01 policy head, 1 value head).
//
//   npx tsx examples/ppo_cartpole.ts            (or: bun examples/ppo_cartpole.ts)
//   npx tsx examples/ppo_cartpole.ts --seed 2   (any config field: --totalTimesteps 100000 ...)

import { ActorCritic, CartPoleEnvironment, PPOTrainer, ProgressBar, defaultPPOConfig, formatMetric, init, seed, type PPOConfig, type StepResult } from '../sdk/index';

// ---- configuration (CleanRL ppo.py's names in brackets) -------------------------------------

export const config = {
  /** Seeds the policy's initial weights, sampling, shuffling and the environments [seed]. */
  seed: 1,
  /** Environment steps in the whole run, all environments together [total_timesteps]. */
  totalTimesteps: 500_000,
  /** Environments stepped together [num_envs]. */
  numEnvs: 4,
  /** Hidden layer widths of the actor and of the critic. */
  hidden: [64, 64],
  /** Stop once the mean return of the last `returnWindow` finished episodes reaches this (0: never). */
  targetReturn: 475,
  returnWindow: 20,
  /** Print a log line every this many updates. */
  logEvery: 10,
  /** No output (tests). */
  quiet: false,
  /** PPO's settings, CleanRL's defaults (PPOConfig documents each; the rest keep NovaRL's defaults). */
  ppo: {
    /** Steps per environment per update [num_steps]. */
    stepsPerUpdate: 128,
    /** Adam learning rate, annealed linearly to 0 over the run [learning_rate, anneal_lr]. */
    learningRate: 2.5e-4,
    /** Passes over each rollout [update_epochs]. */
    epochs: 4,
    /** Minibatches per epoch [num_minibatches]. */
    minibatches: 4,
    /** Discount factor [gamma]. */
    gamma: 0.99,
    /** GAE lambda [gae_lambda]. */
    gaeLambda: 0.95,
    /** Surrogate clipping epsilon [clip_coef]. */
    clipRange: 0.2,
    /** Value clipping around the old values; 0 turns it off [clip_vloss]. */
    valueClip: 0.2,
    /** Entropy bonus coefficient [ent_coef]. */
    entropyCoef: 0.01,
    /** Value loss coefficient [vf_coef]. */
    valueCoef: 0.5,
    /** Global gradient norm clip [max_grad_norm]. */
    maxGradNorm: 0.5,
    /** Adam epsilon [eps in optim.Adam] */
    adamEps: 1e-5,
    normalizeAdvantages: true,
    klCoef: 0,
  } as Partial<PPOConfig>,
};

export type CartPoleConfig = Omit<typeof config, 'ppo'> & { ppo: Partial<PPOConfig> };

/** CartPole that keeps the return of every finished episode (Gymnasium's RecordEpisodeStatistics). */
class RecordedCartPole extends CartPoleEnvironment {
  /** Returns of the episodes finished since the last takeReturns(). */
  private finished: number[] = [];

  override step(actions: Int32Array): StepResult {
    const result = super.step(actions);
    for (const info of result.infos) if (typeof info.episodeReturn === 'number') this.finished.push(info.episodeReturn);
    return result;
  }

  takeReturns(): number[] {
    const returns = this.finished;
    this.finished = [];
    return returns;
  }
}

export async function main(overrides: Partial<CartPoleConfig> = {}) {
  const c = { ...config, ...overrides, ppo: { ...config.ppo, ...overrides.ppo } };
  const stepsPerUpdate = c.ppo.stepsPerUpdate ?? defaultPPOConfig.stepsPerUpdate;
  await init();
  seed(c.seed); // the policy's initial weights come from the core's PRNG
  const start = performance.now();
  const batchSize = c.numEnvs * stepsPerUpdate;
  const totalUpdates = Math.floor(c.totalTimesteps / batchSize); // CleanRL num_iterations

  const env = new RecordedCartPole({ numEnvs: c.numEnvs, seed: c.seed });
  const policy = new ActorCritic({ observationSize: env.observationSize, actionCount: env.actionCount, hidden: c.hidden, activation: 'tanh', init: 'orthogonal' });
  const trainer = new PPOTrainer({
    env,
    policy,
    // Plain PPO: no reference model. 'tie' makes the (unused) reference the acting policy
    // itself, so no frozen copy is kept and no extra forward pass runs per step.
    referenceModel: 'tie',
    config: { seed: c.seed, annealLr: true, totalUpdates, ...c.ppo },
  });

  const progress = new ProgressBar({
    total: totalUpdates,
    every: c.logEvery,
    keys: ['global_step', 'charts/episodic_return', 'charts/SPS', 'losses/approx_kl', 'losses/clipfrac', 'losses/explained_variance'],
    print: c.quiet ? () => {} : undefined,
    write: c.quiet ? () => {} : undefined,
  });

  // Returns of the last `returnWindow` finished episodes, oldest first.
  const recentReturns: number[] = [];
  let solvedAt: { update: number; globalStep: number; seconds: number; meanReturn: number } | undefined;
  let meanReturn = NaN;
  let update = 0;
  const history = [];

  while (update < totalUpdates) {
    const metrics = await trainer.update();
    update++;
    history.push(metrics);
    for (const r of env.takeReturns()) {
      recentReturns.push(r);
      if (recentReturns.length > c.returnWindow) recentReturns.shift();
    }
    if (recentReturns.length > 0) meanReturn = recentReturns.reduce((a, b) => a + b, 0) / recentReturns.length;

    // CleanRL's metric names
    progress.update(update, {
      global_step: metrics.global_step,
      'charts/episodic_return': meanReturn,
      'charts/SPS': metrics.sps,
      'losses/approx_kl': metrics.approx_kl,
      'losses/clipfrac': metrics.clipfrac,
      'losses/explained_variance': metrics.explained_variance,
    });

    if (c.targetReturn > 0 && recentReturns.length >= c.returnWindow && meanReturn >= c.targetReturn) {
      solvedAt = { update, globalStep: trainer.globalStep, seconds: (performance.now() - start) / 1000, meanReturn };
      break;
    }
  }
  progress.finish();

  const seconds = (performance.now() - start) / 1000;
  const sps = trainer.globalStep / seconds;
  if (!c.quiet) {
    if (solvedAt) {
      console.log(
        `solved: mean return of the last ${c.returnWindow} episodes ${formatMetric(solvedAt.meanReturn)} >= ${c.targetReturn} ` +
          `at global step ${solvedAt.globalStep} (update ${solvedAt.update}), wall time ${solvedAt.seconds.toFixed(1)} s, SPS ${Math.round(sps)}`,
      );
    } else {
      const missed = c.targetReturn > 0 ? ` without reaching ${c.targetReturn}` : '';
      console.log(
        `finished ${trainer.globalStep} steps${missed}: mean return of the last ${c.returnWindow} episodes ` +
          `${formatMetric(meanReturn)}, wall time ${seconds.toFixed(1)} s, SPS ${Math.round(sps)}`,
      );
    }
  }
  return { solvedAt, meanReturn, globalStep: trainer.globalStep, seconds, sps, history, trainer };
}

/** `--seed 2 --totalTimesteps 100000 --learningRate 1e-3`: numeric fields of config or of PPOConfig from the command line. */
function parseArgs(argv: string[]): Partial<CartPoleConfig> {
  const overrides: Record<string, number> = {};
  const ppo: Record<string, number> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '');
    const value = Number(argv[i + 1]);
    const own = key !== 'ppo' && typeof (config as Record<string, unknown>)[key] === 'number';
    const ppoField = typeof (defaultPPOConfig as unknown as Record<string, unknown>)[key] === 'number';
    if ((!own && !ppoField) || !Number.isFinite(value)) {
      throw new Error(`unknown option or bad value: ${argv[i]} ${argv[i + 1]} (numeric fields of config or PPOConfig: --seed 2, --totalTimesteps 100000, --learningRate 1e-3, ...)`);
    }
    if (own) overrides[key] = value;
    else ppo[key] = value;
  }
  return { ...overrides, ppo } as Partial<CartPoleConfig>;
}

// Run when executed directly (node/tsx/bun), not when imported by a test.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('ppo_cartpole.ts')) {
  await main(parseArgs(process.argv.slice(2)));
}
