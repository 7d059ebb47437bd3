// Saving and resuming a GRPO or RLOO trainer with sdk/io/checkpoint.ts (crash-safe: the previous
// checkpoint survives a crash mid-save). The model file holds `policy.*` and, when the trainer has
// one, `reference.*` (a frozen reference cannot be rebuilt from the trained policy); the optimizer
// file Adam's moments; trainer.json the update count, generated tokens, the core's PRNG state,
// the dataset position and the config. Resuming restores all of it, so a run continues bit for
// bit (tests/grpo_rloo_checkpoint.test.ts).

import { CheckpointError } from '../../core/errors';
import type { StateDict } from '../../core/module';
import { getRngState, setRngState } from '../../core/random';
import { loadCheckpoint, saveCheckpoint, type CheckpointState, type LoadedCheckpoint } from '../../io/checkpoint';
import { checkOptimizerCounters, checkRngState } from '../ppo/trainer_state';
import type { LmTrainerConfig } from './config';
import type { LmGroupTrainer } from './trainer';

/** The trainer's complete state as checkpoint contents. */
export function lmTrainerCheckpointState(trainer: LmGroupTrainer<LmTrainerConfig>): CheckpointState {
  const model: StateDict = {};
  const modelShapes: Record<string, number[]> = {};
  const addModule = (prefix: string, module: { namedParameters(): [string, { shape: readonly number[]; toArray(): Float32Array }][] }) => {
    for (const [name, p] of module.namedParameters()) {
      model[`${prefix}${name}`] = p.toArray();
      modelShapes[`${prefix}${name}`] = [...p.shape];
    }
  };
  addModule('policy.', trainer.policy);
  if (trainer.reference) addModule('reference.', trainer.reference);
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
  const fail = (field: string, what: string, value: unknown): never => {
    throw new CheckpointError(`trainer.json: ${field} ${what}, got ${JSON.stringify(value) ?? String(value)}`, 'mismatch', 'trainer.json');
  };
  // the model's tensors must be exactly the trainer's, name for name and shape for shape
  const expected = lmTrainerCheckpointState(trainer).modelShapes!;
  for (const [name, shape] of Object.entries(expected)) {
    const got = checkpoint.modelShapes[name];
    if (!got) throw new CheckpointError(`the checkpoint has no tensor ${name}${name.startsWith('reference.') ? ' (it was saved without a reference model)' : ''}`, 'mismatch', undefined, name);
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) throw new CheckpointError(`tensor ${name} has shape [${got}], the trainer's is [${shape}]`, 'mismatch', undefined, name);
  }
  for (const name of Object.keys(checkpoint.modelShapes)) {
    if (!(name in expected)) throw new CheckpointError(`the checkpoint holds ${name}, which this trainer does not have${name.startsWith('reference.') ? ' (build the trainer with a reference)' : ''}`, 'mismatch', undefined, name);
  }
  if (!checkpoint.optimizer) throw new CheckpointError('the checkpoint has no optimizer state', 'mismatch');
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
  const unprefixed = (prefix: string): StateDict =>
    Object.fromEntries(Object.entries(checkpoint.model).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v])) as StateDict;
  trainer.policy.loadStateDict(unprefixed('policy.'));
  trainer.reference?.loadStateDict(unprefixed('reference.'));
  trainer.optimizer.loadStateDict({ ...(state['optimizer'] as { stepCount: number; lr: number }), tensors: checkpoint.optimizer as Record<string, Float32Array> });
  setRngState(state['rngState'] as number[], trainer.core);
  trainer.restoreCounters(updates as number, tokens as number);
}

export async function loadLmTrainer(dir: string, trainer: LmGroupTrainer<LmTrainerConfig>): Promise<void> {
  restoreLmTrainer(trainer, await loadCheckpoint(dir));
}
