// Saving and resuming an LMPPOTrainer through sdk/io/checkpoint.ts (crash-safe directory swap).
// The model file holds `policy.*` (with its value head), `critic.*` (a separate value model)
// and `reference.*` (stored, since a trained policy cannot give it back); the optimizer file
// holds Adam's moments; trainer.json the update and token counts, the KL coefficient, the
// core's PRNG state, the dataset's position and the config. Everything is checked before
// anything is loaded, so a bad or foreign checkpoint changes nothing (CheckpointError).

import { CheckpointError } from '../../core/errors';
import { noGrad } from '../../core/grad_mode';
import { getRngState, setRngState } from '../../core/random';
import { loadCheckpoint, saveCheckpoint, type CheckpointState, type LoadedCheckpoint } from '../../io/checkpoint';
import type { GPT } from '../../nn/gpt';
import { checkModelTensors, expectedShapes, failTrainerField as fail, loadModuleTensors, moduleTensors } from '../lm/checkpoint_models';
import { checkOptimizerCounters, checkRngState } from '../ppo/trainer_state';
import type { LMPPOTrainer, LMPPOTrainerState } from './trainer';

const FORMAT = 'novarl-ppo-lm';

/** The models a trainer checkpoints, by prefix. */
function models(trainer: LMPPOTrainer): [string, GPT][] {
  const out: [string, GPT][] = [['policy.', trainer.policy]];
  if (trainer.critic) out.push(['critic.', trainer.critic]);
  if (trainer.reference) out.push(['reference.', trainer.reference]);
  return out;
}

/** The trainer's complete state as checkpoint contents. */
export function lmPpoCheckpointState(trainer: LMPPOTrainer): CheckpointState {
  const { model, modelShapes } = moduleTensors(models(trainer));
  const optimizer = trainer.optimizer.stateDict();
  return {
    model,
    modelShapes,
    optimizer: optimizer.tensors,
    trainer: {
      ...trainer.trainerState(),
      rngState: getRngState(trainer.policy.core),
      optimizer: { stepCount: optimizer.stepCount, lr: optimizer.lr },
      config: trainer.config,
    },
    metadata: { format: FORMAT, updates: String(trainer.updates) },
  };
}

export async function saveLmPpoCheckpoint(dir: string, trainer: LMPPOTrainer): Promise<void> {
  await saveCheckpoint(dir, lmPpoCheckpointState(trainer));
}

/** Loads checkpoint contents into a trainer built with the same models, dataset and config. */
export function restoreLmPpoTrainer(trainer: LMPPOTrainer, checkpoint: LoadedCheckpoint): void {
  if (checkpoint.metadata['format'] !== FORMAT) {
    throw new CheckpointError(`not a NovaRL LM PPO checkpoint (metadata format is ${JSON.stringify(checkpoint.metadata['format'])})`, 'mismatch');
  }
  // 1. the model tensors: exactly this trainer's, name for name and shape for shape
  checkModelTensors(checkpoint, expectedShapes(models(trainer)), '(another architecture, critic or reference?)');
  // 2. trainer.json, field by field
  const s = checkpoint.trainer;
  for (const field of ['updates', 'tokensGenerated', 'episodes'] as const) {
    if (!Number.isSafeInteger(s[field]) || (s[field] as number) < 0) fail(field, 'must be an integer >= 0', s[field]);
  }
  if (typeof s['klCoef'] !== 'number' || !Number.isFinite(s['klCoef']) || s['klCoef'] < 0) fail('klCoef', 'must be a finite number >= 0', s['klCoef']);
  if (!('dataset' in s)) fail('dataset', 'is missing (null when the dataset has no position)', undefined);
  checkRngState(s['rngState'], 'rngState', fail);
  checkOptimizerCounters(s['optimizer'], fail);
  const config = s['config'] as Record<string, unknown> | null;
  if (config === null || typeof config !== 'object') fail('config', 'must be an object', config);
  for (const [key, value] of Object.entries(trainer.config)) {
    if (config![key] !== value) fail(`config.${key}`, `differs from this trainer's (${JSON.stringify(value)})`, config![key]);
  }
  // 3. load
  noGrad(() => loadModuleTensors(checkpoint.model, models(trainer)), trainer.policy.core);
  const counters = s['optimizer'] as { stepCount: number; lr: number };
  trainer.optimizer.loadStateDict({ ...counters, tensors: checkpoint.optimizer as Record<string, Float32Array> });
  trainer.loadTrainerState(s as unknown as LMPPOTrainerState);
  setRngState(s['rngState'] as number[], trainer.policy.core);
}

export async function loadLmPpoCheckpoint(dir: string, trainer: LMPPOTrainer): Promise<void> {
  restoreLmPpoTrainer(trainer, await loadCheckpoint(dir));
}
