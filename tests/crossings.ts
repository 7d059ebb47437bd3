// Counts calls from JavaScript into the core (calls of core.exports functions): a Core whose
// exports are wrapped in a counting Proxy, made the default core while `run` runs.

import { Core, setDefaultCore } from '../sdk/index';

export interface CrossingCounter {
  /** The counting core (same memory and instance as the wrapped one). */
  readonly core: Core;
  /** Calls per export name since the last reset(). */
  readonly calls: Map<string, number>;
  /** All calls since the last reset(). */
  total(): number;
  reset(): void;
}

/** Wraps `core`'s exports; every function call through the returned core is counted. */
export function countCrossings(core: Core): CrossingCounter {
  const calls = new Map<string, number>();
  const wrapped = new Map<PropertyKey, unknown>();
  // the instance's exports object is frozen: proxy a plain object that forwards to it
  const exports = new Proxy({ ...core.exports } as typeof core.exports, {
    get(_target, name, receiver) {
      const value = Reflect.get(core.exports, name, receiver);
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(name);
      if (!fn) {
        fn = (...args: unknown[]) => {
          calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown)(...args);
        };
        wrapped.set(name, fn);
      }
      return fn;
    },
  });
  const counting = new Core(exports, core.simd);
  counting.epoch = core.epoch;
  return {
    core: counting,
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    reset: () => calls.clear(),
  };
}

/** Makes the counting core the default for the duration of `run`. */
export async function withCountingCore<T>(counter: CrossingCounter, run: () => T | Promise<T>): Promise<T> {
  const previous = setDefaultCore(counter.core);
  try {
    return await run();
  } finally {
    setDefaultCore(previous);
  }
}
