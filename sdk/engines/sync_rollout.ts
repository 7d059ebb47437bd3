// SyncRolloutEngine: the rollout loop of CleanRL's ppo.py. The policy acts on the current
// observations, the environment steps, the (optional) reward manager shapes the rewards, and
// the step goes into the buffer. The environment is reset once, lazily, on the first collect;
// after that episodes run on across collect() calls, as in CleanRL (`next_obs` survives the
// update).
//
// Per step t the buffer receives: the observations the policy acted on, its actions,
// log-probs and values, the (shaped) rewards the environment returned for those actions, and
// the environment's dones of that step ("the episode ended with this step"; see gae.ts).
//
// Every environment output is checked where it enters (docs/architecture.md, "Untrusted input"): lengths, finite
// observations and rewards, 0/1 dones; the policy's actions are checked against the action
// space before the environment sees them. The buffer then takes the step as validated (no
// second check), and each step's observations are copied once, out of the environment's
// arrays (which it may reuse); the rollout moves into the core once, as a RolloutBatch.
//
// collect() returns a Promise, as a rollout engine backed by a remote generator does; this one
// resolves as soon as the loop is done.

import { NumericError, ShapeError, ValueError } from '../core/errors';
import type { Buffer } from '../interfaces/buffer';
import type { Environment, StepResult } from '../interfaces/environment';
import type { RewardManager } from '../interfaces/reward_manager';
import type { ActingPolicy, ActResult, RolloutEngine, RolloutStats } from '../interfaces/rollout_engine';

/** JSON-serialisable engine state (checkpoints). */
export interface SyncRolloutEngineState {
  observations: number[] | null;
  lastDones: number[];
  env: unknown;
}

export interface SyncRolloutEngineOptions {
  /** Turns environment rewards into training rewards (e.g. a KL penalty). Default: none. */
  rewardManager?: RewardManager;
  /** Seed for the environment's first reset. */
  seed?: number;
}

/**
 * @example
 * const engine = new SyncRolloutEngine(env, { seed: 1 });
 * const stats = await engine.collect(policy, buffer, buffer.steps);
 * buffer.computeAdvantages(policy.values(stats.lastObservations), stats.lastDones);
 */
export class SyncRolloutEngine implements RolloutEngine {
  readonly env: Environment;
  readonly rewardManager: RewardManager | undefined;
  readonly seed: number | undefined;

  /** (numEnvs, observationSize) observations the policy acts on next; undefined until the first reset. */
  private observations: Float32Array | undefined;
  /** (numEnvs) dones of the last step (all 0 right after a reset). */
  private lastDones: Uint8Array;

  constructor(env: Environment, options: SyncRolloutEngineOptions = {}) {
    this.env = env;
    this.rewardManager = options.rewardManager;
    this.seed = options.seed;
    this.lastDones = new Uint8Array(env.numEnvs);
  }

  /** Makes the next collect() start from a fresh (seeded) environment reset. */
  reset(): void {
    this.observations = undefined;
  }

  /** What a checkpoint needs to continue the rollout stream exactly: observations, dones, env state. */
  state(): SyncRolloutEngineState {
    return {
      observations: this.observations ? Array.from(this.observations) : null,
      lastDones: Array.from(this.lastDones),
      env: this.env.state?.() ?? null,
    };
  }

  /** Restores state(); every field is checked (ValueError naming it) before anything changes. */
  loadState(state: SyncRolloutEngineState): void {
    const { numEnvs, observationSize } = this.env;
    if (state === null || typeof state !== 'object') throw new ValueError(`SyncRolloutEngine.loadState: engine state must be an object, got ${JSON.stringify(state)}`);
    const obs = state.observations;
    if (obs !== null) {
      if (!Array.isArray(obs)) throw new ValueError(`SyncRolloutEngine.loadState: engine.observations must be null or an array of numbers, got ${JSON.stringify(obs)}`);
      if (obs.length !== numEnvs * observationSize) {
        throw new ShapeError('SyncRolloutEngine.loadState', [[obs.length], [numEnvs, observationSize]], `engine.observations has ${obs.length} values; saved observations do not fit this environment`);
      }
      const bad = obs.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
      if (bad >= 0) throw new ValueError(`SyncRolloutEngine.loadState: engine.observations[${bad}] is ${JSON.stringify(obs[bad])}, not a finite number`);
    }
    const dones = state.lastDones;
    if (!Array.isArray(dones) || dones.length !== numEnvs || dones.some((d) => d !== 0 && d !== 1)) {
      throw new ValueError(`SyncRolloutEngine.loadState: engine.lastDones must be ${numEnvs} values of 0 or 1, got ${JSON.stringify(dones)}`);
    }
    if (!('env' in state)) throw new ValueError('SyncRolloutEngine.loadState: engine.env is missing (null when the environment has no state)');
    if (state.env !== null && !this.env.loadState) throw new ValueError('SyncRolloutEngine.loadState: the checkpoint has environment state but this environment has no loadState()');
    this.observations = obs ? Float32Array.from(obs) : undefined;
    this.lastDones = Uint8Array.from(dones);
    if (state.env !== null) {
      if (!this.env.loadState) throw new ValueError('SyncRolloutEngine.loadState: the checkpoint has environment state but this environment has no loadState()');
      this.env.loadState(state.env);
    }
  }

  /**
   * Empties `buffer` and fills it with `steps` steps of every environment (`steps` must equal
   * buffer.steps). RolloutStats.steps counts steps per environment.
   */
  async collect(policy: ActingPolicy, buffer: Buffer, steps: number): Promise<RolloutStats> {
    const env = this.env;
    const n = env.numEnvs;
    if (buffer.numEnvs !== n) {
      throw new ShapeError('SyncRolloutEngine.collect', [[buffer.numEnvs], [n]], `the buffer holds ${buffer.numEnvs} environments, the environment has ${n}`);
    }
    if (!Number.isInteger(steps) || steps < 1 || steps !== buffer.steps) {
      throw new ValueError(`SyncRolloutEngine.collect: steps must equal buffer.steps = ${buffer.steps}, got ${steps}`);
    }
    const start = performance.now();
    const episodeReturns: number[] = [];
    const episodeLengths: number[] = [];
    let rewardSum = 0;

    try {
      if (this.observations === undefined) {
        const first = env.reset(this.seed);
        this.checkObservations('reset', first, -1);
        this.observations = Float32Array.from(first);
        this.lastDones = new Uint8Array(n);
      }
      buffer.reset();
      for (let t = 0; t < steps; t++) {
        const observations = this.observations;
        const act = policy.act(observations);
        this.checkActions(act, t);
        const result = env.step(act.actions);
        this.checkStepResult(result, t);

        let rewards = result.rewards;
        for (let e = 0; e < n; e++) rewardSum += rewards[e]!;
        if (this.rewardManager !== undefined) {
          rewards = this.rewardManager.compute({
            rewards: result.rewards,
            logProbs: act.logProbs,
            refLogProbs: act.refLogProbs,
            dones: result.dones,
          });
          this.checkShapedRewards(rewards, t);
        }
        buffer.add(
          {
            observations,
            actions: act.actions,
            logProbs: act.logProbs,
            values: act.values,
            rewards,
            dones: result.dones,
            refLogProbs: act.refLogProbs,
          },
          { validated: true },
        );

        for (let e = 0; e < n; e++) {
          const info = result.infos[e]!;
          if (typeof info.episodeReturn === 'number') episodeReturns.push(info.episodeReturn);
          if (typeof info.episodeLength === 'number') episodeLengths.push(info.episodeLength);
        }
        // Copies: an environment may reuse its output arrays on the next step.
        this.observations = Float32Array.from(result.observations);
        this.lastDones = Uint8Array.from(result.dones);
      }
    } catch (error) {
      // The environment may have stepped past what the buffer holds: start afresh next time.
      this.observations = undefined;
      throw error;
    }

    return {
      steps,
      episodeReturns,
      episodeLengths,
      rewardMean: rewardSum / (steps * n),
      lastObservations: Float32Array.from(this.observations),
      lastDones: Uint8Array.from(this.lastDones),
      seconds: (performance.now() - start) / 1000,
    };
  }

  // ---- checks ------------------------------------------------------------------------------

  /** Actions: numEnvs integers in [0, actionCount), checked before the environment sees them. */
  private checkActions(act: ActResult, step: number): void {
    const n = this.env.numEnvs;
    const actions = act.actions;
    if (actions?.length !== n) {
      throw new ShapeError('SyncRolloutEngine: policy.act', [[actions?.length ?? 0], [n]], `actions has ${actions?.length ?? 'no'} values, expected numEnvs = ${n}`);
    }
    const count = this.env.actionCount;
    for (let e = 0; e < n; e++) {
      const a = actions[e]!;
      if (!Number.isInteger(a) || a < 0 || a >= count) {
        throw new ValueError(`SyncRolloutEngine: policy.act returned action ${a} at step ${step}, env ${e}; actions must be integers in [0, ${count})`);
      }
    }
    const columns = [['logProbs', act.logProbs], ['values', act.values], ['refLogProbs', act.refLogProbs]] as const;
    for (const [name, values] of columns) {
      if (values === undefined && name === 'refLogProbs') continue;
      if (values?.length !== n) {
        throw new ShapeError('SyncRolloutEngine: policy.act', [[values?.length ?? 0], [n]], `${name} has ${values?.length ?? 'no'} values, expected numEnvs = ${n}`);
      }
      for (let e = 0; e < n; e++) {
        if (!Number.isFinite(values[e]!)) throw new NumericError(`SyncRolloutEngine: policy.act returned a non-finite ${name} value ${values[e]} at step ${step}, env ${e}`);
      }
    }
  }

  private checkStepResult(result: StepResult, step: number): void {
    const n = this.env.numEnvs;
    if (result === null || typeof result !== 'object') {
      throw new ValueError(`Environment.step returned ${String(result)} at step ${step}; it must return { observations, rewards, dones, infos }`);
    }
    this.checkObservations('step', result.observations, step);
    const { rewards, dones, infos } = result;
    if (rewards?.length !== n) {
      throw new ShapeError('Environment.step', [[rewards?.length ?? 0], [n]], `rewards has ${rewards?.length ?? 'no'} values, expected numEnvs = ${n} (step ${step})`);
    }
    if (dones?.length !== n) {
      throw new ShapeError('Environment.step', [[dones?.length ?? 0], [n]], `dones has ${dones?.length ?? 'no'} values, expected numEnvs = ${n} (step ${step})`);
    }
    if (!Array.isArray(infos) || infos.length !== n) {
      const length = Array.isArray(infos) ? infos.length : 0;
      throw new ShapeError('Environment.step', [[length], [n]], `infos has ${Array.isArray(infos) ? length : 'no'} entries, expected numEnvs = ${n} (step ${step})`);
    }
    for (let e = 0; e < n; e++) {
      if (!Number.isFinite(rewards[e]!)) {
        throw new NumericError(`Environment.step: rewards has a non-finite value ${rewards[e]} at env ${e} (step ${step})`);
      }
      if (dones[e] !== 0 && dones[e] !== 1) {
        throw new ValueError(`Environment.step: dones must be 0 or 1, got ${dones[e]} at env ${e} (step ${step})`);
      }
    }
  }

  /** (numEnvs, observationSize) finite floats; `step` -1 means reset(). */
  private checkObservations(method: 'reset' | 'step', observations: Float32Array, step: number): void {
    const { numEnvs, observationSize } = this.env;
    const expected = numEnvs * observationSize;
    const when = step < 0 ? '' : ` (step ${step})`;
    if (observations?.length !== expected) {
      throw new ShapeError(
        `Environment.${method}`,
        [[observations?.length ?? 0], [numEnvs, observationSize]],
        `observations has ${observations?.length ?? 'no'} values, expected numEnvs x observationSize = ${numEnvs} x ${observationSize} = ${expected}${when}`,
      );
    }
    for (let i = 0; i < expected; i++) {
      if (!Number.isFinite(observations[i]!)) {
        const e = Math.floor(i / observationSize);
        throw new NumericError(`Environment.${method}: observations has a non-finite value ${observations[i]} at env ${e}, element ${i - e * observationSize}${when}`);
      }
    }
  }

  private checkShapedRewards(rewards: Float32Array, step: number): void {
    const n = this.env.numEnvs;
    if (rewards?.length !== n) {
      throw new ShapeError('RewardManager.compute', [[rewards?.length ?? 0], [n]], `returned ${rewards?.length ?? 'no'} rewards, expected numEnvs = ${n} (step ${step})`);
    }
    for (let e = 0; e < n; e++) {
      if (!Number.isFinite(rewards[e]!)) {
        throw new NumericError(`RewardManager.compute: returned a non-finite reward ${rewards[e]} at env ${e} (step ${step})`);
      }
    }
  }
}
