// Checkpoints of the offline trainers (the reward model, DPO): modules under name prefixes
// (`model.`, `policy.`), extra arrays the run needs (DPO's precomputed reference log-probs),
// the optimizer's moments and counters, and trainer.json (update count, the core's PRNG state,
// the dataset position, config), all through sdk/io/checkpoint.ts (crash-safe). Restoring checks
// every name, shape and field before it loads anything (CheckpointError naming it).

import type { Core } from '../core/core';
import { CheckpointError } from '../core/errors';
import type { Module, StateDict } from '../core/module';
import type { Optimizer } from '../core/optim';
import { getRngState, setRngState } from '../core/random';
import { loadCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../io/checkpoint';
import { checkModelTensors, expectedShapes, failTrainerField as fail, loadModuleTensors, moduleTensors } from './lm/checkpoint_models';
import { checkOptimizerCounters, checkRngState } from './ppo/trainer_state';

export interface OfflineCheckpointParts {
  /** metadata.format, checked on load (e.g. 'novarl-dpo'). */
  format: string;
  /** Modules by prefix: { 'policy.': policy }. */
  modules: Record<string, Module>;
  /** Other named f32 arrays saved beside the parameters (1-D). */
  arrays?: Record<string, Float32Array>;
  optimizer: Optimizer;
  core: Core;
}

/** Saves the parts and `trainer` (plain JSON) to `dir`. */
export async function saveOfflineCheckpoint(dir: string, parts: OfflineCheckpointParts, trainer: Record<string, unknown>, updates: number): Promise<void> {
  const { model, modelShapes } = moduleTensors(Object.entries(parts.modules));
  for (const [name, data] of Object.entries(parts.arrays ?? {})) model[name] = data;
  const optimizer = parts.optimizer.stateDict();
  await saveCheckpoint(dir, {
    model,
    modelShapes,
    optimizer: optimizer.tensors,
    trainer: { ...trainer, rng: getRngState(parts.core), optimizer: { stepCount: optimizer.stepCount, lr: optimizer.lr } },
    metadata: { format: parts.format, updates: String(updates) },
  });
}

/**
 * Loads `dir` into the parts (same architecture), returning trainer.json and the extra arrays
 * (whose names are `arrayNames`, each checked to hold `arrayLength` values). `check` sees trainer.json
 * after the common fields are checked and before anything is loaded: it throws on a bad field.
 */
export async function loadOfflineCheckpoint(dir: string, parts: OfflineCheckpointParts, check: (trainer: Record<string, unknown>) => void, arrayNames: readonly string[] = [], arrayLength = 0): Promise<{ trainer: Record<string, unknown>; arrays: Record<string, Float32Array> }> {
  return restoreOffline(await loadCheckpoint(dir), parts, check, arrayNames, arrayLength);
}

function restoreOffline(checkpoint: LoadedCheckpoint, parts: OfflineCheckpointParts, check: (trainer: Record<string, unknown>) => void, arrayNames: readonly string[], arrayLength: number) {
  if (checkpoint.metadata['format'] !== parts.format) {
    throw new CheckpointError(`not a ${parts.format} checkpoint (metadata format is ${JSON.stringify(checkpoint.metadata['format'])})`, 'mismatch');
  }
  const expected = expectedShapes(Object.entries(parts.modules));
  for (const name of arrayNames) expected.set(name, [arrayLength]);
  checkModelTensors(checkpoint, expected);
  const trainer = checkpoint.trainer;
  checkOptimizerCounters(trainer['optimizer'], fail);
  checkRngState(trainer['rng'], 'rng', fail);
  check(trainer); // the trainer's own fields (dataset position, counts), before anything is loaded
  // everything checked: load
  loadModuleTensors(checkpoint.model, Object.entries(parts.modules));
  const counters = trainer['optimizer'] as { stepCount: number; lr: number };
  parts.optimizer.loadStateDict({ ...counters, tensors: checkpoint.optimizer as StateDict });
  setRngState(trainer['rng'] as number[], parts.core);
  const arrays: Record<string, Float32Array> = {};
  for (const name of arrayNames) arrays[name] = checkpoint.model[name]!;
  return { trainer, arrays };
}

/** trainer.json's `updates`, `pairs` (the dataset size it was trained on) and `order` (checked into a scratch PairOrder). */
export function checkOfflineTrainerState(trainer: Record<string, unknown>, pairs: number, order: { load(value: unknown): void }): void {
  const fail = (what: string): never => {
    throw new CheckpointError(`trainer.json: ${what}`, 'mismatch', 'trainer.json');
  };
  if (!Number.isSafeInteger(trainer['updates']) || (trainer['updates'] as number) < 0) fail(`updates must be an integer >= 0, got ${JSON.stringify(trainer['updates'])}`);
  if (trainer['pairs'] !== pairs) fail(`pairs is ${JSON.stringify(trainer['pairs'])}: the checkpoint was trained on another dataset than this trainer's ${pairs} pairs`);
  order.load(trainer['order']);
}
