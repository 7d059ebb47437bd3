// The messages between the page (main.ts) and the training worker (train_worker.ts).

/** The settings the page exposes; everything else is fixed in setup.ts. */
export interface RunConfig {
  seed: number;
  klCoef: number;
  klTarget: number;
  clipRange: number;
}

export type ToWorker =
  /** Build a fresh run (new core, new policy) with these settings. */
  | { type: 'reset'; config: RunConfig }
  /** Start or resume updates. */
  | { type: 'train' }
  /** Stop after the update in progress. */
  | { type: 'pause' };

/** What one PPO update reports to the charts (the trainer's metric names in comments). */
export interface UpdatePoint {
  update: number;
  reward: number; // reward_mean
  klToRef: number; // kl_to_ref
  klCoef: number; // kl_coef: the beta used during this update
  entropy: number; // entropy
}

export type FromWorker =
  /** The core is loaded; sent once. */
  | { type: 'ready'; simd: boolean; updates: number; prompts: string[]; responses: string[]; rewards: number[][] }
  /** A fresh run was built; probabilities are the initial policy's. */
  | { type: 'reset'; config: RunConfig; probabilities: number[][] }
  | { type: 'update'; point: UpdatePoint; probabilities: number[][]; msPerUpdate: number }
  | { type: 'paused'; update: number }
  /** The run reached its last update. */
  | { type: 'done'; update: number }
  | { type: 'error'; message: string };
