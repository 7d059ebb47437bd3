// The messages between the RLHF page (rlhf_main.ts) and its worker (rlhf_worker.ts).

/** The rewards the page offers (rlhf_setup.ts REWARDS). */
export type RewardName = 'sentiment' | 'length' | 'one-line';

/** One completion of a step, as the completions table shows it. */
export interface CompletionRow {
  prompt: string;
  completion: string;
  reward: number;
  advantage: number;
}

/** One GRPO step: GRPOTrainer.step()'s metrics (TRL's names) and its completions. */
export interface RlhfStep {
  step: number;
  /** The reward the step scored with. */
  rewardName: RewardName;
  /** reward, reward_std, objective/kl, timing/step_s, ... */
  metrics: Record<string, number>;
  rows: CompletionRow[];
}

export type ToRlhfWorker =
  /** Start or resume training. */
  | { type: 'train' }
  /** Stop after the step in progress. */
  | { type: 'pause' }
  /** Score completions with this reward from the next step on. */
  | { type: 'reward'; reward: RewardName };

export type FromRlhfWorker =
  /** Core and model loaded; sent once. */
  | { type: 'ready'; simd: boolean; steps: number; model: string; vocabSize: number; parameters: number; settings: string }
  | ({ type: 'step' } & RlhfStep)
  | { type: 'paused'; step: number }
  | { type: 'done'; step: number }
  | { type: 'error'; message: string };
