// What the two online trainers (online_ppo.ts, online_lm.ts) share about their state: checking a
// decoded checkpoint's optimizer tensors and weights before anything is loaded, and running a
// change all-or-nothing (snapshot first, restore if it throws).

import type { Adam, Core, LoadedCheckpoint, StateDict } from '../../../sdk/index';

/**
 * The checkpoint's optimizer tensors, after checking that they are F32 and that they and the
 * model's weights are all finite: NaN or infinite weights would pass every structural check and
 * poison every later answer. `fail` throws the caller's CheckpointError.
 */
export function checkedTensors(checkpoint: LoadedCheckpoint, fail: (message: string) => never): StateDict {
  const optimizerTensors: StateDict = {};
  for (const [name, data] of Object.entries(checkpoint.optimizer ?? {})) {
    if (!(data instanceof Float32Array)) fail(`optimizer tensor ${name} is not F32`);
    optimizerTensors[name] = data as Float32Array;
  }
  for (const [name, data] of [...Object.entries(checkpoint.model), ...Object.entries(optimizerTensors)]) {
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) fail(`tensor ${name} holds ${data[i]} at index ${i}`);
  }
  return optimizerTensors;
}

/**
 * Runs `change`; if it throws, drops the step's tensors and gradients, puts the state `snapshot`
 * took back with `restore`, and rethrows.
 */
export function allOrNothing<S, T>(core: Core, optimizer: Adam, snapshot: () => S, restore: (state: S) => void, change: () => T): T {
  const before = snapshot();
  try {
    return change();
  } catch (error) {
    core.endStep();
    optimizer.zeroGrad();
    restore(before);
    throw error;
  }
}
