import type { Buffer } from './buffer';
import type { Environment } from './environment';

/**
 * Runs a policy in an environment and fills a buffer. The synchronous engine steps the
 * environment and the policy in turn; an engine backed by a remote generator (vLLM) fills
 * the same buffer from its responses.
 *
 * @example
 * const engine = new SyncRolloutEngine(env);
 * const stats = await engine.collect(policy, buffer, 128);
 */
export interface RolloutEngine {
  readonly env: Environment;
  /** Collects `steps` steps of every environment into `buffer` (reset first); resolves when done. */
  collect(policy: ActingPolicy, buffer: Buffer, steps: number): Promise<RolloutStats>;
  /** JSON-serialisable state for checkpoints (observations in flight, environment state). */
  state?(): unknown;
  loadState?(state: unknown): void;
}

/** What a rollout engine needs from a policy: actions for a batch of observations. */
export interface ActingPolicy {
  /** observations: (numEnvs, obsSize). No gradients are recorded. */
  act(observations: Float32Array): ActResult;
  /** Value estimates for observations (to bootstrap the last step). */
  values(observations: Float32Array): Float32Array;
}

export interface ActResult {
  /** (numEnvs) integers in [0, actionCount) */
  actions: Int32Array;
  /** (numEnvs) log-probability of each action under the acting policy */
  logProbs: Float32Array;
  /** (numEnvs) value estimates */
  values: Float32Array;
  /** (numEnvs) log-probability of each action under the reference model, if there is one */
  refLogProbs?: Float32Array;
}

export interface RolloutStats {
  steps: number;
  /** Episodes that ended during the rollout, with their returns and lengths. */
  episodeReturns: number[];
  episodeLengths: number[];
  /** Mean environment reward per step. */
  rewardMean: number;
  /** Observations after the last step, and their done flags, for bootstrapping. */
  lastObservations: Float32Array;
  lastDones: Uint8Array;
  seconds: number;
}
