// Module and Parameter, as in PyTorch: a Module's parameters are the Parameters among its own
// fields and those of its sub-modules (fields holding a Module, or an array of them), in field
// order. Names are dotted paths: "layers.0.weight".

import type { Core } from './core';
import { defaultCore } from './core';
import { NovaRLError, ShapeError, ValueError, formatShape } from './errors';
import { Tensor } from './tensor';
import type { Shape } from './shape';
import { describeValue, sameShape } from './shape';

/** A persistent tensor that requires gradients. */
export class Parameter extends Tensor {
  /** A zero-filled parameter; initialise it with sdk/core/random.ts or set(). */
  static create(shape: Shape, core: Core = defaultCore()): Parameter {
    const t = Tensor.zeros(shape, { persistent: true, requiresGrad: true, core });
    return new Parameter(t.core, t.id, t.shape, t.epoch);
  }
}

/** Named Float32Arrays: a module's or optimizer's state. */
export type StateDict = Record<string, Float32Array>;

/** A state dict that does not fit the module it is loaded into. */
export class StateDictError extends NovaRLError {
  override name = 'StateDictError';
}

export abstract class Module {
  /** [name, parameter] pairs in field order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [key, value] of Object.entries(this)) {
      const name = prefix + key;
      if (value instanceof Parameter) out.push([name, value]);
      else if (value instanceof Module) out.push(...value.namedParameters(`${name}.`));
      else if (Array.isArray(value)) {
        value.forEach((item, i) => {
          if (item instanceof Module) out.push(...item.namedParameters(`${name}.${i}.`));
          else if (item instanceof Parameter) out.push([`${name}.${i}`, item]);
        });
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Number of scalar parameters. */
  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Zeroes every parameter's gradient (one call into the core per core, not per parameter). */
  zeroGrad(): void {
    const byCore = new Map<Core, number[]>();
    for (const p of this.parameters()) {
      p.assertLive('zeroGrad');
      const ids = byCore.get(p.core) ?? [];
      ids.push(p.id);
      byCore.set(p.core, ids);
    }
    for (const [core, ids] of byCore) core.zeroGrads(ids);
  }

  /** Copies of every parameter, by name. */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, p] of this.namedParameters()) setEntry(out, name, p.toArray());
    return out;
  }

  /**
   * Loads parameters by name; every name must be present with the right size, and no other name
   * may be (own properties only: a "__proto__" or "toString" entry is a name like any other).
   */
  loadStateDict(state: StateDict): void {
    if (typeof state !== 'object' || state === null) throw new ValueError(`loadStateDict: needs a state dict (an object of Float32Arrays), got ${describeValue(state)}`);
    const named = this.namedParameters();
    const expected = new Set(named.map(([n]) => n));
    const missing = named.filter(([n]) => !Object.hasOwn(state, n)).map(([n]) => n);
    const unexpected = Object.keys(state).filter((n) => !expected.has(n));
    if (missing.length || unexpected.length) {
      throw new StateDictError(
        `state dict does not match the module: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`,
      );
    }
    for (const [name, p] of named) {
      const data: unknown = state[name];
      if (!(data instanceof Float32Array) && !Array.isArray(data)) {
        throw new ValueError(`loadStateDict: ${name} is ${describeValue(data)}, a state dict holds Float32Arrays`);
      }
      if (data.length !== p.size) {
        throw new ShapeError('loadStateDict', [p.shape], `${name} has ${data.length} values, the parameter ${formatShape(p.shape)} needs ${p.size}`);
      }
    }
    for (const [name, p] of named) p.set(state[name]!);
  }

  /** Copies this module's parameter values into `other`, which must have the same structure. */
  copyInto(other: Module): void {
    if (!(other instanceof Module)) throw new ValueError(`copyInto: needs a Module, got ${describeValue(other)}`);
    const mine = this.namedParameters();
    const theirs = other.namedParameters();
    if (mine.length !== theirs.length || mine.some(([n, p], i) => n !== theirs[i]![0] || !sameShape(p.shape, theirs[i]![1].shape))) {
      throw new StateDictError('copyInto: the two modules have different parameters');
    }
    mine.forEach(([, p], i) => theirs[i]![1].set(p.view()));
  }

  /**
   * Stops gradient tracking for every parameter: forwards through a frozen module record
   * nothing on the tape, and no optimizer step can change it (reference models).
   */
  freeze(): this {
    for (const p of this.parameters()) p.setRequiresGrad(false);
    return this;
  }

  /** Frees every parameter's memory; the module is unusable afterwards. */
  free(): void {
    for (const p of this.parameters()) p.free();
  }
}

/** Sets an own entry, so that a name like "__proto__" is stored and not taken as the prototype. */
function setEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
