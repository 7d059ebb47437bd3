// PPOTrainer: PPO with clipping, an entropy bonus, a value loss, and a KL penalty against a
// reference model (in the reward, InstructGPT-style, or in the loss), with a fixed or adaptive
// KL coefficient. The trainer is wiring: a rollout engine (injected; default the synchronous
// one), a buffer, reward managers, a KL controller and the PPO step (step.ts). update() reads
// top to bottom like CleanRL's ppo.py:
//
//   update():  1. learning rate (annealed)   2. rollout (no grad)   3. GAE
//              4. the rollout enters the core once (RolloutBatch)   5. ppoStep: epochs x minibatches
//              6. KL controller   7. metrics
//
// The reference model ('copy' | 'tie' | a Module):
//   'copy'  a frozen snapshot of the policy taken at construction; kl_to_ref is KL(pi || pi_0).
//   'tie'   no copy: the reference log-probs are the acting policy's own, taken lazily at
//           rollout time. The penalty then measures the KL between the policy being optimised
//           and the policy that collected the rollout (the PPO paper's KL-penalty variant): it
//           is exactly 0 in 'reward' mode; in 'loss' mode it is 0 at the first minibatch of the
//           first epoch and grows during the epochs with k2 and k3 (k1's sample mean can go
//           negative there: the samples come from the rollout policy). kl_to_ref is 0 by construction.
//   Module  any module with logits(obs) (frozen by the trainer).
// An adaptive KL coefficient needs a reference to measure KL against, so 'tie' refuses adaptiveKl.

import type { Core } from '../../core/core';
import { defaultCore } from '../../core/core';
import { NumericError, ShapeError, ValueError } from '../../core/errors';
import { noGrad } from '../../core/grad_mode';
import { entropyFromLogits } from '../../core/losses';
import type { Module } from '../../core/module';
import { Adam } from '../../core/optim';
import { sameShape } from '../../core/shape';
import { getRngState, sampleCategorical, seed as seedCore, setRngState } from '../../core/random';
import { Tensor } from '../../core/tensor';
import { Timer } from '../../observability/timing';
import { RolloutBuffer, explainedVariance } from '../../buffers/rollout_buffer';
import type { TensorRolloutBatch } from '../../buffers/rollout_batch';
import { SyncRolloutEngine } from '../../engines/sync_rollout';
import type { Environment } from '../../interfaces/environment';
import type { RewardManager } from '../../interfaces/reward_manager';
import type { ActingPolicy, ActResult, RolloutEngine } from '../../interfaces/rollout_engine';
import type { Trainer } from '../../interfaces/trainer';
import type { ActorCritic } from '../../nn/heads';
import { CompositeRewardManager } from '../../rewards/composite';
import { KlShapedReward } from '../../rewards/kl_shaped';
import { MAX_ROWS, lossKlWarnings, resolvePPOConfig, type PPOConfig } from './config';
import { FixedKlController, ProportionalKlController, WindowKlController, type KlController } from './kl_controller';
import type { PPOMetrics } from './metrics';
import { ppoStep, type PpoStepStats } from './step';
import { checkTrainerState, type PPOTrainerState } from './trainer_state';

/** A reference model: anything that maps observations to logits. */
export interface ReferencePolicy extends Module {
  logits(obs: Tensor): Tensor;
}

export interface PPOTrainerOptions {
  env: Environment;
  policy: ActorCritic;
  config?: Partial<PPOConfig>;
  /** 'copy' (default), 'tie', or a module with logits(obs). */
  referenceModel?: 'copy' | 'tie' | ReferencePolicy;
  /** Reward managers applied to environment rewards before the KL shaping; their metrics() go into the update's metrics as `rewards/<key>`. */
  rewardManager?: RewardManager;
  /**
   * The rollout engine (default: a SyncRolloutEngine on `env`, seeded with config.seed). It
   * receives the trainer's reward managers through its own options, so pass them there too.
   */
  engine?: RolloutEngine & { state(): unknown; loadState(state: unknown): void };
  /** Where configuration warnings go, once per message: a Logger (sdk/observability/logger.ts) or anything with warn(); default console.warn. */
  logger?: { warn(message: string): void };
}

export class PPOTrainer implements Trainer<PPOMetrics> {
  readonly config: PPOConfig;
  readonly core: Core;
  readonly env: Environment;
  readonly policy: ActorCritic;
  readonly reference: ReferencePolicy | 'tie';
  readonly optimizer: Adam;
  readonly klController: KlController;
  readonly buffer: RolloutBuffer;
  readonly engine: RolloutEngine & { state(): unknown; loadState(state: unknown): void };
  readonly timer = new Timer();
  updateCount = 0;
  /** Environment steps taken so far (all environments). */
  globalStep = 0;
  private readonly klReward?: KlShapedReward;
  private readonly userRewards?: RewardManager;
  private batch?: TensorRolloutBatch;
  private freed = false;
  private readonly referenceKind: 'copy' | 'tie' | 'module';
  private readonly startTime = performance.now();
  private episodesSeen = 0;
  // since this trainer was built (not restored from checkpoints), for the per-second rates
  private episodesThisRun = 0;
  private stepsThisRun = 0;
  // accumulated while acting: exact KL to the reference and entropy, per observation
  private rolloutKlSum = 0;
  private rolloutEntropySum = 0;
  private rolloutRows = 0;

  constructor(options: PPOTrainerOptions) {
    if (options === null || typeof options !== 'object') throw new ValueError(`PPOTrainer: needs options { env, policy, config? }, got ${String(options)}`);
    this.config = resolvePPOConfig(options.config ?? {});
    this.core = defaultCore();
    checkEnvironment(options.env);
    checkPolicy(options.policy);
    this.env = options.env;
    this.policy = options.policy;
    const c = this.config;
    checkPolicyFitsEnvironment(this.policy, this.env);
    const ref = options.referenceModel ?? 'copy';
    checkReference(ref, this.policy, c);
    this.referenceKind = ref === 'copy' || ref === 'tie' ? ref : 'module';
    const batchSize = c.stepsPerUpdate * this.env.numEnvs;
    if (batchSize > MAX_ROWS) {
      throw new ValueError(`PPOTrainer: stepsPerUpdate x numEnvs (${c.stepsPerUpdate} x ${this.env.numEnvs}) must be at most 2^24 rows; lower stepsPerUpdate`);
    }
    if (batchSize % c.minibatches !== 0) {
      throw new ValueError(`stepsPerUpdate x numEnvs (${batchSize}) must be divisible by minibatches (${c.minibatches})`);
    }
    if (c.normalizeAdvantages && batchSize / c.minibatches < 2) {
      throw new ValueError(`normalizeAdvantages whitens each minibatch, which needs >= 2 rows: stepsPerUpdate x numEnvs / minibatches is ${batchSize / c.minibatches}`);
    }
    const logger = options.logger ?? consoleLogger;
    for (const warning of lossKlWarnings(c)) warnOnce(logger, warning);
    seedCore(c.seed + 0x9e3779b9); // a stream apart from the one that initialised the policy

    // Reference model: frozen copy, tied, or user-given (frozen here too).
    if (ref === 'copy') this.reference = this.policy.clone();
    else this.reference = ref;
    if (this.reference !== 'tie') this.reference.freeze();

    this.optimizer = new Adam(this.policy.parameters(), { lr: c.learningRate, eps: c.adamEps });

    const controller = c.klController === 'window' ? WindowKlController : ProportionalKlController;
    this.klController = !c.adaptiveKl
      ? new FixedKlController(c.klCoef)
      : new controller(c.klCoef, c.klTarget, c.klController === 'window' ? c.klFactor : c.klHorizon);

    // Rewards: the user's managers, then per-step KL shaping when the penalty goes in the reward.
    this.userRewards = options.rewardManager;
    const managers: RewardManager[] = options.rewardManager ? [options.rewardManager] : [];
    if (c.klPenalty === 'reward') {
      this.klReward = new KlShapedReward({ coef: () => this.klController.value });
      managers.push(this.klReward);
    }
    this.buffer = new RolloutBuffer({
      steps: c.stepsPerUpdate,
      numEnvs: this.env.numEnvs,
      observationSize: this.env.observationSize,
      gamma: c.gamma,
      gaeLambda: c.gaeLambda,
      normalizeAdvantages: false, // whitened per minibatch below, as CleanRL
    });
    this.rewards = managers.length ? new CompositeRewardManager(managers) : undefined;
    this.engine = options.engine ?? new SyncRolloutEngine(this.env, { rewardManager: this.rewards, seed: c.seed });
    if (this.engine.env !== this.env) throw new ValueError('PPOTrainer: the engine steps another environment than options.env');
  }

  /** The reward managers the default engine applies (the user's, then the KL shaping). */
  private readonly rewards?: CompositeRewardManager;

  /** Releases the core tensors this trainer made (rollout batch, Adam moments, the 'copy' reference); the trainer cannot be used afterwards. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.batch?.free();
    this.batch = undefined;
    this.optimizer.free();
    if (this.ownsReference && this.reference !== 'tie') this.reference.free();
  }

  private get ownsReference(): boolean {
    return this.referenceKind === 'copy';
  }

  /** The acting side of the policy, as the rollout engine sees it. */
  readonly actingPolicy: ActingPolicy = {
    act: (observations) => this.act(observations),
    values: (observations) => this.valuesOf(observations),
  };

  // ---- rollout ---------------------------------------------------------------------------

  private act(observations: Float32Array): ActResult {
    const n = this.env.numEnvs;
    const result = noGrad(() => {
      const obs = Tensor.from(observations, [n, this.env.observationSize]);
      const { logits, values } = this.policy.forward(obs);
      const actions = sampleCategorical(logits);
      const logP = logits.logSoftmax(); // (n, A): the taken actions' log-probs and the exact KL share it
      const logProbs = logP.gather(actions).toArray();
      this.rolloutEntropySum += sumOf(entropyFromLogits(logits).view());
      let refLogProbs: Float32Array;
      if (this.reference === 'tie') {
        refLogProbs = logProbs; // the acting policy is its own reference
      } else {
        const refLogits = this.reference.logits(obs);
        if (!sameShape(refLogits.shape, logits.shape)) {
          throw new ShapeError('PPOTrainer: reference.logits', [refLogits.shape, logits.shape], "the reference model must give the policy's logits shape, one logit per action");
        }
        const logRef = refLogits.logSoftmax();
        refLogProbs = logRef.gather(actions).toArray();
        // exact KL(pi || ref) of each row's full action distribution: never negative
        const kl = logP.exp().mul(logP.sub(logRef)).sum(-1);
        this.rolloutKlSum += sumOf(kl.view());
      }
      this.rolloutRows += n;
      return { actions: Int32Array.from(actions.view()), logProbs, values: values.toArray(), refLogProbs };
    });
    this.core.endStep();
    return result;
  }

  private valuesOf(observations: Float32Array): Float32Array {
    const values = noGrad(() => this.policy.values(Tensor.from(observations, [this.env.numEnvs, this.env.observationSize])).toArray());
    this.core.endStep();
    return values;
  }

  // ---- one update ------------------------------------------------------------------------

  async update(): Promise<PPOMetrics> {
    const c = this.config;
    if (this.freed) throw new ValueError('PPOTrainer.update: the trainer was freed');
    this.timer.reset();

    // 1. learning rate, annealed linearly to 0 over totalUpdates (CleanRL: frac = 1 - (update - 1) / total)
    if (c.annealLr) {
      if (this.updateCount >= c.totalUpdates) {
        throw new ValueError(`annealLr: update ${this.updateCount + 1} is past totalUpdates (${c.totalUpdates}), where the learning rate reaches 0; raise totalUpdates`);
      }
      this.optimizer.lr = (1 - this.updateCount / c.totalUpdates) * c.learningRate;
    }

    // 2. rollout with the current policy (no gradients)
    this.rolloutKlSum = this.rolloutEntropySum = this.rolloutRows = 0;
    const rollout = await this.timer.timeAsync('rollout', () => this.engine.collect(this.actingPolicy, this.buffer, c.stepsPerUpdate));
    this.globalStep += c.stepsPerUpdate * this.env.numEnvs;
    this.stepsThisRun += c.stepsPerUpdate * this.env.numEnvs;
    this.episodesSeen += rollout.episodeReturns.length;
    this.episodesThisRun += rollout.episodeReturns.length;

    // 3. advantages and returns by GAE, bootstrapped from the values after the last step
    const lastValues = this.valuesOf(rollout.lastObservations);
    this.buffer.computeAdvantages(lastValues, rollout.lastDones);

    // 4-5. the rollout enters the core once; epochs x minibatches of the PPO step
    const losses = this.timer.time('update', () => this.learn());

    // 6. KL controller, from the exact KL to the reference over this rollout
    const klToRef = this.rolloutRows ? this.rolloutKlSum / this.rolloutRows : 0;
    const klCoefUsed = this.klController.value;
    this.klController.update(klToRef, c.stepsPerUpdate * this.env.numEnvs);
    this.updateCount++;

    // 7. metrics (glossary in README.md)
    const seconds = (performance.now() - this.startTime) / 1000;
    const times = this.timer.summary();
    const metrics: PPOMetrics = {
      update: this.updateCount,
      global_step: this.globalStep,
      objective: -losses.policyLoss,
      objective_unclipped: losses.objectiveUnclipped,
      kl_penalty: c.klPenalty === 'reward' ? this.rewardKlPenalty(klCoefUsed) : losses.klLoss,
      kl: losses.oldApproxKl,
      approx_kl: losses.approxKl,
      kl_to_ref: klToRef,
      kl_coef: klCoefUsed,
      entropy: this.rolloutRows ? this.rolloutEntropySum / this.rolloutRows : 0,
      reward_mean: rollout.rewardMean,
      clipfrac: losses.clipfrac,
      policy_loss: losses.policyLoss,
      value_loss: losses.valueLoss,
      explained_variance: explainedVariance(this.buffer.values, this.buffer.returns),
      grad_norm: losses.gradNorm,
      lr: this.optimizer.lr,
      episodes_per_sec: this.episodesThisRun / seconds,
      episodic_return: mean(rollout.episodeReturns),
      sps: this.stepsThisRun / seconds,
      epochs_run: losses.epochs,
      ...this.rewardMetrics(),
      ...times,
    };
    for (const [key, value] of Object.entries(metrics)) {
      if (Number.isNaN(value) && key !== 'explained_variance' && key !== 'episodic_return') {
        throw new NumericError(`PPO update ${this.updateCount}: metric ${key} is NaN (check rewards and learning rate)`);
      }
    }
    return metrics;
  }

  /** Mean per-step reward shaping of this rollout: -beta * (logp - logpRef), as KlShapedReward added it. */
  private rewardKlPenalty(beta: number): number {
    const logp = this.buffer.logProbs, ref = this.buffer.refLogProbs;
    if (!ref || beta === 0) return 0;
    let sum = 0;
    for (let i = 0; i < logp.length; i++) sum += -beta * (logp[i]! - ref[i]!);
    return sum / logp.length;
  }

  /** The reward managers' metrics() of the last rollout step, as `rewards/<key>`. */
  private rewardMetrics(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, value] of Object.entries(this.rewards?.metrics() ?? {})) out[`rewards/${key}`] = value;
    return out;
  }

  /**
   * One optimisation phase on the rollout in the buffer (steps 4-5 of update()): the rollout
   * moves into the core once, then ppoStep runs epochs x minibatches of forward, loss, backward,
   * gradient clipping and Adam. Returns the losses and statistics averaged over every
   * minibatch. Public for benchmarks and tests.
   */
  learn(): PpoStepStats {
    if (this.freed) throw new ValueError('PPOTrainer.learn: the trainer was freed');
    this.batch = this.buffer.toBatch(this.batch, this.core);
    return ppoStep(this.policy, this.batch, this.config, this.optimizer, {
      klCoef: this.config.klPenalty === 'loss' ? this.klController.value : 0,
      label: `update ${this.updateCount + 1}`,
    });
  }

  // ---- state for checkpoints -------------------------------------------------------------

  /** Everything besides the weights that a bit-identical resume needs. */
  trainerState(): PPOTrainerState {
    return {
      updateCount: this.updateCount,
      globalStep: this.globalStep,
      episodesSeen: this.episodesSeen,
      klController: this.klController.state(),
      lr: this.optimizer.lr,
      rngState: getRngState(),
      engine: this.engine.state(),
      rewards: this.userRewards?.state?.() ?? null,
    };
  }

  /** Restores trainerState(); every field is checked first (CheckpointError naming it), so a bad state changes nothing. */
  loadTrainerState(state: PPOTrainerState): void {
    checkTrainerState(state, { numEnvs: this.env.numEnvs, observationSize: this.env.observationSize });
    this.engine.loadState(state.engine); // checks its own fields before changing anything
    this.updateCount = state.updateCount;
    this.globalStep = state.globalStep;
    this.episodesSeen = state.episodesSeen;
    this.klController.loadState(state.klController);
    this.optimizer.lr = state.lr;
    setRngState(state.rngState);
    if (state.rewards && this.userRewards?.loadState) this.userRewards.loadState(state.rewards);
  }
}

/** An Environment: positive integer sizes and reset/step methods (else a TypeError deep inside). */
function checkEnvironment(env: Environment | undefined): void {
  if (env === null || typeof env !== 'object') throw new ValueError(`PPOTrainer: options.env must be an Environment (numEnvs, observationSize, actionCount, reset, step), got ${String(env)}`);
  for (const field of ['numEnvs', 'observationSize', 'actionCount'] as const) {
    const v = env[field];
    if (!Number.isSafeInteger(v) || v < 1) throw new ValueError(`PPOTrainer: env.${field} must be a positive integer, got ${String(v)}`);
  }
  for (const method of ['reset', 'step'] as const) {
    if (typeof env[method] !== 'function') throw new ValueError(`PPOTrainer: env.${method} must be a function, got ${typeof env[method]}`);
  }
}

function checkPolicy(policy: ActorCritic | undefined): void {
  if (policy === null || typeof policy !== 'object' || typeof policy.forward !== 'function' || typeof policy.parameters !== 'function') {
    throw new ValueError(`PPOTrainer: options.policy must be an ActorCritic, got ${String(policy)}`);
  }
}

/** The policy's input and output sizes must be the environment's (else the first rollout fails deep inside). */
function checkPolicyFitsEnvironment(policy: ActorCritic, env: Environment): void {
  const { observationSize, actionCount } = policy.options;
  if (observationSize !== env.observationSize) {
    throw new ShapeError('PPOTrainer', [[observationSize], [env.observationSize]], `the policy takes observations of ${observationSize} values, the environment gives ${env.observationSize}`);
  }
  if (actionCount !== env.actionCount) {
    throw new ValueError(`PPOTrainer: the policy has ${actionCount} actions (actionCount), the environment has ${env.actionCount}`);
  }
}

/** A reference must not share parameters with the policy (freezing it would freeze the policy); 'tie' has no KL to adapt to. */
function checkReference(ref: 'copy' | 'tie' | ReferencePolicy, policy: ActorCritic, c: PPOConfig): void {
  if (ref === 'tie') {
    if (c.adaptiveKl) throw new ValueError("PPOTrainer: adaptiveKl needs a reference model; with referenceModel 'tie' kl_to_ref is 0 and the controller would only shrink beta");
    return;
  }
  if (ref === 'copy') return;
  if (typeof ref?.logits !== 'function' || typeof ref.parameters !== 'function') {
    throw new ValueError(`PPOTrainer: referenceModel must be 'copy', 'tie' or a Module with logits(obs) (got ${String(ref)})`);
  }
  const policyIds = new Set(policy.parameters().map((p) => p.id));
  const shared = ref.namedParameters().filter(([, p]) => policyIds.has(p.id));
  if (shared.length) {
    throw new ValueError(`PPOTrainer: the reference model shares parameters with the policy (${shared.map(([n]) => n).join(', ')}); pass 'copy' for a frozen snapshot or 'tie' to use the acting policy`);
  }
}

function sumOf(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

const consoleLogger = { warn: (message: string) => console.warn(message) };
const warned = new WeakMap<object, Set<string>>();

/** Each message once per logger (a process building trainers in a loop warns once). */
function warnOnce(logger: { warn(message: string): void }, message: string): void {
  const seen = warned.get(logger) ?? new Set<string>();
  warned.set(logger, seen);
  if (seen.has(message)) return;
  seen.add(message);
  logger.warn(message);
}
