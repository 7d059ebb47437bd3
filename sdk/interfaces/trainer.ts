/**
 * A trainer owns a policy, its optimizer and a rollout engine; each update collects a rollout
 * and improves the policy on it, returning that update's metrics.
 *
 * @example
 * for (let i = 0; i < 100; i++) {
 *   const metrics = trainer.update();
 *   if (i % 10 === 0) console.log(metrics.reward_mean, metrics.kl_to_ref);
 * }
 */
export interface Trainer {
  /** Updates done so far. */
  readonly updateCount: number;
  /** One rollout plus one optimisation phase. */
  update(): Metrics;
}

/** Named scalars logged per update (see the README's metric glossary). */
export type Metrics = Record<string, number>;
