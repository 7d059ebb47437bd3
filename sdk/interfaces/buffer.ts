/**
 * Storage for one rollout: `steps` x `numEnvs` transitions, then advantages and returns
 * (GAE), then shuffled minibatches of flat indices for the update epochs.
 *
 * @example
 * buffer.reset();
 * for (let t = 0; t < steps; t++) buffer.add({ observations, actions, logProbs, values, rewards, dones });
 * buffer.computeAdvantages(lastValues, lastDones);
 * for (const idx of buffer.minibatches(4, permutation)) { ... }
 */
export interface Buffer {
  readonly steps: number;
  readonly numEnvs: number;
  /** Transitions stored so far (0..steps). */
  readonly size: number;
  /** Empties the buffer for the next rollout. */
  reset(): void;
  /** Appends one step of every environment. */
  add(step: Transition): void;
  /**
   * Fills advantages and returns with GAE(gamma, lambda), bootstrapping from the values of
   * the observations after the last step. Whitens advantages when configured.
   */
  computeAdvantages(lastValues: Float32Array, lastDones: Uint8Array): void;
  /**
   * Splits a permutation of [0, steps * numEnvs) into `count` minibatches of flat indices
   * (index = t * numEnvs + env).
   */
  minibatches(count: number, permutation: ArrayLike<number>): Int32Array[];
}

/** One step of every environment: arrays of numEnvs entries (observations: numEnvs x obsSize). */
export interface Transition {
  observations: Float32Array;
  actions: Int32Array;
  logProbs: Float32Array;
  values: Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
  refLogProbs?: Float32Array;
}
