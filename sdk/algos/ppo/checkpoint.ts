// Saving and resuming a PPOTrainer. The model file holds the policy as `policy.*` and the
// frozen reference as `reference.*` (as a PyTorch wrapper module's state dict would); the
// optimizer file holds Adam's moments and step; trainer.json holds the rest (update count,
// KL coefficient, the core's PRNG state, the environment's and engine's state, config).
// Resuming restores all of it, so training continues bit-identically (tests/ppo_checkpoint.test.ts).

import { loadCheckpoint, saveCheckpoint, type CheckpointState, type LoadedCheckpoint } from '../../io/checkpoint';
import { CheckpointError } from '../../core/errors';
import type { StateDict } from '../../core/module';
import type { PPOTrainer } from './trainer';
import { checkOptimizerCounters, checkTrainerState } from './trainer_state';

function prefixed(prefix: string, state: StateDict): StateDict {
  const out: StateDict = {};
  for (const [k, v] of Object.entries(state)) out[`${prefix}${k}`] = v;
  return out;
}

function unprefixed(prefix: string, state: StateDict): StateDict {
  const out: StateDict = {};
  for (const [k, v] of Object.entries(state)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

/** The trainer's complete state as checkpoint contents. */
export function trainerCheckpointState(trainer: PPOTrainer): CheckpointState {
  const optimizer = trainer.optimizer.stateDict();
  const model = prefixed('policy.', trainer.policy.stateDict());
  const modelShapes: Record<string, number[]> = {};
  for (const [name, p] of trainer.policy.namedParameters()) modelShapes[`policy.${name}`] = [...p.shape];
  if (trainer.reference !== 'tie') {
    Object.assign(model, prefixed('reference.', trainer.reference.stateDict()));
    for (const [name, p] of trainer.reference.namedParameters()) modelShapes[`reference.${name}`] = [...p.shape];
  }
  return {
    model,
    modelShapes,
    optimizer: optimizer.tensors,
    trainer: { ...trainer.trainerState(), optimizer: { stepCount: optimizer.stepCount, lr: optimizer.lr }, config: trainer.config },
    metadata: { format: 'novarl-ppo', updates: String(trainer.updateCount) },
  };
}

/** Writes the trainer's state to `dir` atomically (see sdk/io/checkpoint.ts). */
export async function saveTrainerCheckpoint(dir: string, trainer: PPOTrainer): Promise<void> {
  await saveCheckpoint(dir, trainerCheckpointState(trainer));
}

/**
 * Restores a trainer (built with the same environment, policy architecture and config) from
 * checkpoint contents. Everything is checked before anything is loaded: the model's tensor
 * names and shapes, and every field of trainer.json (CheckpointError naming it).
 */
export function restoreTrainer(trainer: PPOTrainer, checkpoint: LoadedCheckpoint): void {
  if (checkpoint.metadata['format'] !== 'novarl-ppo') {
    throw new CheckpointError(`not a NovaRL PPO checkpoint (metadata format is ${JSON.stringify(checkpoint.metadata['format'])})`, 'mismatch');
  }
  checkArchitecture(trainer, checkpoint);
  if (!checkpoint.optimizer) throw new CheckpointError('the checkpoint has no optimizer state', 'mismatch');
  const fail = (field: string, what: string, value: unknown): never => {
    throw new CheckpointError(`trainer.json: ${field} ${what}, got ${JSON.stringify(value) ?? String(value)}`, 'mismatch', 'trainer.json');
  };
  const state = checkpoint.trainer;
  if (!('optimizer' in state)) fail('optimizer', 'is missing (no optimizer counters)', undefined);
  const counters = state['optimizer'];
  checkOptimizerCounters(counters, fail);
  checkTrainerState(state, { numEnvs: trainer.env.numEnvs, observationSize: trainer.env.observationSize });
  trainer.policy.loadStateDict(unprefixed('policy.', checkpoint.model));
  if (trainer.reference !== 'tie') trainer.reference.loadStateDict(unprefixed('reference.', checkpoint.model));
  trainer.optimizer.loadStateDict({ ...counters, tensors: checkpoint.optimizer as Record<string, Float32Array> });
  trainer.loadTrainerState(state);
}

/**
 * The checkpoint's model tensors must be exactly the trainer's, name for name and shape for
 * shape, before anything is loaded (loadStateDict alone checks sizes, so a transposed weight
 * would slip through).
 */
function checkArchitecture(trainer: PPOTrainer, checkpoint: LoadedCheckpoint): void {
  const expected = new Map<string, readonly number[]>();
  for (const [name, p] of trainer.policy.namedParameters()) expected.set(`policy.${name}`, p.shape);
  if (trainer.reference !== 'tie') for (const [name, p] of trainer.reference.namedParameters()) expected.set(`reference.${name}`, p.shape);
  const saved = Object.keys(checkpoint.model);
  const missing = [...expected.keys()].filter((name) => !(name in checkpoint.model));
  const unexpected = saved.filter((name) => !expected.has(name));
  if (missing.length || unexpected.length) {
    throw new CheckpointError(
      `the checkpoint's model does not fit this trainer (another architecture or reference model?): missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`,
      'mismatch',
    );
  }
  for (const [name, shape] of expected) {
    const savedShape = checkpoint.modelShapes[name] ?? [checkpoint.model[name]!.length];
    if (savedShape.length !== shape.length || savedShape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(`the checkpoint's ${name} has shape [${savedShape.join(', ')}], this trainer's has [${shape.join(', ')}]`, 'mismatch', undefined, name);
    }
  }
}

/** Loads `dir` into a trainer built with the same environment, policy architecture and config. */
export async function loadTrainerCheckpoint(dir: string, trainer: PPOTrainer): Promise<void> {
  restoreTrainer(trainer, await loadCheckpoint(dir));
}
