import type { Core } from './core';
import { defaultCore } from './core';

/**
 * Runs `fn` with gradient recording off: ops record nothing on the tape and their results
 * do not require gradients (rollouts, evaluation, reference-model forwards).
 */
export function noGrad<T>(fn: () => T, core: Core = defaultCore()): T {
  const previous = core.gradEnabled;
  core.setGradEnabled(false);
  try {
    return fn();
  } finally {
    core.setGradEnabled(previous);
  }
}
