export type { Environment, StepResult, EnvInfo } from './environment';
export type { RewardManager, RewardBatch } from './reward_manager';
export type { Buffer, Transition } from './buffer';
export type { RolloutEngine, ActingPolicy, ActResult, RolloutStats } from './rollout_engine';
export type { Trainer, Metrics } from './trainer';
export type { RolloutBatch } from './batch';
export type { PolicyWithValue, PolicyOutput, ScoredTokens } from './policy';
export type { TrainerMetrics } from './trainer';
