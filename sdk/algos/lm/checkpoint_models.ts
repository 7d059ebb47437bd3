// The part every trainer checkpoint shares (GRPO / RLOO, LM PPO, the offline DPO and reward
// model): modules saved under name prefixes ('policy.', 'reference.', ...) as flat tensors with
// their shapes, checked name for name and shape for shape before anything is loaded, and the
// CheckpointError that names a bad trainer.json field.

import { CheckpointError } from '../../core/errors';
import type { Module, StateDict } from '../../core/module';
import type { LoadedCheckpoint } from '../../io/checkpoint';

/** Modules by name prefix, in save order: [['policy.', policy], ['reference.', reference]]. */
export type PrefixedModules = readonly (readonly [string, Module])[];

/** Every parameter of `modules` under its prefixed name, with its shape. */
export function moduleTensors(modules: PrefixedModules): { model: StateDict; modelShapes: Record<string, number[]> } {
  const model: StateDict = {};
  const modelShapes: Record<string, number[]> = {};
  for (const [prefix, module] of modules) {
    for (const [name, p] of module.namedParameters()) {
      model[`${prefix}${name}`] = p.toArray();
      modelShapes[`${prefix}${name}`] = [...p.shape];
    }
  }
  return { model, modelShapes };
}

/** The prefixed names and shapes a checkpoint of `modules` must hold. */
export function expectedShapes(modules: PrefixedModules): Map<string, readonly number[]> {
  const expected = new Map<string, readonly number[]>();
  for (const [prefix, module] of modules) for (const [name, p] of module.namedParameters()) expected.set(`${prefix}${name}`, p.shape);
  return expected;
}

/**
 * Throws a CheckpointError unless the checkpoint's tensors are exactly `expected` (no name
 * missing, none extra, every shape equal) and it has optimizer state. `hint` follows the
 * missing / unexpected lists (e.g. "(another architecture, critic or reference?)").
 */
export function checkModelTensors(checkpoint: LoadedCheckpoint, expected: ReadonlyMap<string, readonly number[]>, hint = ''): void {
  const missing = [...expected.keys()].filter((n) => !Object.hasOwn(checkpoint.model, n));
  const unexpected = Object.keys(checkpoint.model).filter((n) => !expected.has(n));
  if (missing.length || unexpected.length) {
    throw new CheckpointError(`the checkpoint's model does not fit this trainer${hint ? ` ${hint}` : ''}: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`, 'mismatch');
  }
  for (const [name, shape] of expected) {
    const saved = checkpoint.modelShapes[name] ?? [checkpoint.model[name]!.length];
    if (saved.length !== shape.length || saved.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(`the checkpoint's ${name} has shape [${saved.join(', ')}], this trainer's has [${shape.join(', ')}]`, 'mismatch', undefined, name);
    }
  }
  if (!checkpoint.optimizer) throw new CheckpointError('the checkpoint has no optimizer state', 'mismatch');
}

/** Loads each module's parameters from the checkpoint's prefixed tensors (checked by checkModelTensors first). */
export function loadModuleTensors(model: StateDict, modules: PrefixedModules): void {
  for (const [prefix, module] of modules) {
    const state: StateDict = {};
    for (const [name] of module.namedParameters()) state[name] = model[`${prefix}${name}`]!;
    module.loadStateDict(state);
  }
}

/** Throws the CheckpointError for a bad trainer.json field: "trainer.json: <field> <what>, got <value>". */
export function failTrainerField(field: string, what: string, value: unknown): never {
  throw new CheckpointError(`trainer.json: ${field} ${what}, got ${JSON.stringify(value) ?? String(value)}`, 'mismatch', 'trainer.json');
}
