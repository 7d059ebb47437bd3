// Saving and resuming a GRPO or RLOO trainer with sdk/io/checkpoint.ts (crash-safe: the previous
// checkpoint survives a crash mid-save). The model file holds `policy.*` and, when the trainer has
// one, `reference.*` (a frozen reference cannot be rebuilt from the trained policy); the optimizer
// file Adam's moments; trainer.json the update count, generated tokens, the core's PRNG state,
// the dataset position and the config. Resuming restores all of it, so a run continues bit for
// bit (tests/grpo_rloo_checkpoint.test.ts).

import { CheckpointError } from '../../core/errors';
import { getRngState, setRngState } from '../../core/random';
import { loadCheckpoint, saveCheckpoint, type CheckpointState, type LoadedCheckpoint } from '../../io/checkpoint';
import { checkOptimizerCounters, checkRngState } from '../ppo/trainer_state';
import { checkModelTensors, expectedShapes, failTrainerField as fail, loadModuleTensors, moduleTensors, type PrefixedModules } from './checkpoint_models';
import type { LmTrainerConfig } from './config';
import type { LmGroupTrainer } from './trainer';

/** The models a trainer checkpoints, by prefix: the policy and, when it has one, the reference. */
function models(trainer: LmGroupTrainer<LmTrainerConfig>): PrefixedModules {
  return trainer.reference ? [['policy.', trainer.policy], ['reference.', trainer.reference]] : [['policy.', trainer.policy]];
}

/** The trainer's complete state as checkpoint contents. */
export function lmTrainerCheckpointState(trainer: LmGroupTrainer<LmTrainerConfig>): CheckpointState {
  const { model, modelShapes } = moduleTensors(models(trainer));
  const optimizer = trainer.optimizer.stateDict();
  return {
    model,
    modelShapes,
    optimizer: optimizer.tensors,
    trainer: {
      updates: trainer.updates,
      tokensGenerated: trainer.tokensGenerated,
      rngState: getRngState(trainer.core),
      dataset: trainer.prompts.state?.() ?? null,
      optimizer: { stepCount: optimizer.stepCount, lr: optimizer.lr },
      config: JSON.parse(JSON.stringify(trainer.config)) as object,
    },
    metadata: { format: `novarl-${trainer.algorithm}`, updates: String(trainer.updates) },
  };
}

export async function saveLmTrainer(dir: string, trainer: LmGroupTrainer<LmTrainerConfig>): Promise<void> {
  await saveCheckpoint(dir, lmTrainerCheckpointState(trainer));
}

/**
 * Restores `trainer` (built with the same policy architecture, reference or none, and config)
 * from checkpoint contents. Everything is checked before anything is loaded (CheckpointError
 * naming the field), so a checkpoint that does not fit changes nothing.
 */
export function restoreLmTrainer(trainer: LmGroupTrainer<LmTrainerConfig>, checkpoint: LoadedCheckpoint): void {
  const format = `novarl-${trainer.algorithm}`;
  if (checkpoint.metadata['format'] !== format) {
    throw new CheckpointError(`not a NovaRL ${trainer.algorithm.toUpperCase()} checkpoint (metadata format is ${JSON.stringify(checkpoint.metadata['format'])}, expected "${format}")`, 'mismatch');
  }
  // the model's tensors must be exactly the trainer's, name for name and shape for shape
  checkModelTensors(checkpoint, expectedShapes(models(trainer)), '(another architecture, or saved with a reference where this trainer has none or the other way?)');
  const state = checkpoint.trainer;
  const updates = state['updates'];
  if (!Number.isSafeInteger(updates) || (updates as number) < 0) fail('updates', 'must be a non-negative integer', updates);
  const tokens = state['tokensGenerated'];
  if (!Number.isSafeInteger(tokens) || (tokens as number) < 0) fail('tokensGenerated', 'must be a non-negative integer', tokens);
  checkRngState(state['rngState'], 'rngState', fail);
  checkOptimizerCounters(state['optimizer'], fail);
  const saved = JSON.stringify(state['config']), current = JSON.stringify(trainer.config);
  if (saved !== current) fail('config', `differs from the trainer's ${current}`, state['config']);
  if (state['dataset'] !== null && !trainer.prompts.loadState) fail('dataset', "is saved, but the trainer's dataset has no loadState()", state['dataset']);

  if (state['dataset'] !== null) trainer.prompts.loadState!(state['dataset']); // checks its own fields first
  loadModuleTensors(checkpoint.model, models(trainer));
  trainer.optimizer.loadStateDict({ ...(state['optimizer'] as { stepCount: number; lr: number }), tensors: checkpoint.optimizer as Record<string, Float32Array> });
  setRngState(state['rngState'] as number[], trainer.core);
  trainer.restoreCounters(updates as number, tokens as number);
}

export async function loadLmTrainer(dir: string, trainer: LmGroupTrainer<LmTrainerConfig>): Promise<void> {
  restoreLmTrainer(trainer, await loadCheckpoint(dir));
}

/** `trainer` (just built from the run's options) with `dir` restored into it; freed when the checkpoint does not fit. */
export async function resumeOrFree<T extends LmGroupTrainer<LmTrainerConfig>>(trainer: T, dir: string): Promise<T> {
  try {
    await loadLmTrainer(dir, trainer);
  } catch (error) {
    trainer.free();
    throw error;
  }
  return trainer;
}
