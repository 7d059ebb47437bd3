/**
 * A trainer owns a policy, its optimizer and a rollout engine; each update collects a rollout
 * and improves the policy on it, returning that update's metrics. update() returns a Promise:
 * a rollout engine may wait on a remote generator (the synchronous one simply resolves).
 *
 * @example
 * for (let i = 0; i < 100; i++) {
 *   const metrics = await trainer.update();
 *   if (i % 10 === 0) console.log(metrics.reward_mean, metrics.kl_to_ref);
 * }
 */
export interface Trainer<M extends TrainerMetrics = TrainerMetrics> {
  /** Updates done so far. */
  readonly updateCount: number;
  /** One rollout plus one optimisation phase. */
  update(): Promise<M>;
}

/** Named scalars logged per update (see the README's metric glossary). */
export type Metrics = Record<string, number>;

/** The keys every trainer reports, typed; algorithms extend it with theirs (PPOMetrics). */
export interface TrainerMetrics extends Metrics {
  /** Updates done, this one included. */
  update: number;
  /** Environment steps taken so far (all environments). */
  global_step: number;
}
