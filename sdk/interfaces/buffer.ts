/**
 * Storage for one rollout: `steps` x `numEnvs` transitions, then advantages and returns
 * (GAE); RolloutBuffer.toBatch() then moves it into the core as a RolloutBatch.
 *
 * @example
 * buffer.reset();
 * for (let t = 0; t < steps; t++) buffer.add({ observations, actions, logProbs, values, rewards, dones });
 * buffer.computeAdvantages(lastValues, lastDones);
 */
export interface Buffer {
  readonly steps: number;
  readonly numEnvs: number;
  /** Transitions stored so far (0..steps). */
  readonly size: number;
  /** Empties the buffer for the next rollout. */
  reset(): void;
  /** Appends one step of every environment; `validated`: the caller (a rollout engine) has checked it. */
  add(step: Transition, options?: { validated?: boolean }): void;
  /**
   * Fills advantages and returns with GAE(gamma, lambda), bootstrapping from the values of
   * the observations after the last step. Whitens advantages when configured.
   */
  computeAdvantages(lastValues: Float32Array, lastDones: Uint8Array): void;
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
