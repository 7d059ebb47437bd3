/**
 * A batch of `numEnvs` independent environments with discrete actions, stepped together
 * (Gymnasium's vector API, auto-resetting). Observations are flat rows of `observationSize`
 * floats: a (numEnvs, observationSize) row-major Float32Array.
 *
 * @example
 * const env = new SyntheticPromptEnvironment({ numEnvs: 8, seed: 1 });
 * let obs = env.reset(1);                        // (8, obsSize)
 * const { rewards, dones } = env.step(new Int32Array(8).fill(0));
 */
export interface Environment {
  readonly numEnvs: number;
  readonly observationSize: number;
  /** Actions are integers in [0, actionCount). */
  readonly actionCount: number;
  /** Starts every environment afresh; the same seed gives the same episodes. */
  reset(seed?: number): Float32Array;
  /**
   * Applies one action per environment. An environment whose episode ends resets itself: the
   * returned observation row is the first of its next episode, and its info carries the
   * finished episode's return and length.
   */
  step(actions: Int32Array): StepResult;
  /** JSON-serialisable state (PRNG, episode progress) so a checkpoint resumes bit-identically. */
  state?(): unknown;
  loadState?(state: unknown): void;
}

export interface StepResult {
  /** (numEnvs, observationSize) */
  observations: Float32Array;
  /** (numEnvs) */
  rewards: Float32Array;
  /** (numEnvs) 1 where the episode ended (terminated or truncated) with this step */
  dones: Uint8Array;
  /** (numEnvs) one per environment */
  infos: EnvInfo[];
}

export interface EnvInfo {
  /** Set on the step that ends an episode: its undiscounted return. */
  episodeReturn?: number;
  /** Set on the step that ends an episode: its number of steps. */
  episodeLength?: number;
  /** The episode hit a time limit rather than a terminal state. */
  truncated?: boolean;
  /** Anything environment-specific (prompt id, preferred action...). */
  [key: string]: unknown;
}
