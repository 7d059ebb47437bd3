// One instantiated WebAssembly core: its exports, host views of its memory, and the step
// epoch that tells live scratch tensors from stale ones.

import { CoreInitError, CoreMemoryError } from './errors';
import type { CoreExports } from './exports';

/** Error codes returned by the core in place of an id (assembly/tensor.ts). */
const ERR_OUT_OF_MEMORY = -1;
const ERR_TABLE_FULL = -2;

export class Core {
  /** Incremented by endStep(); a scratch tensor made in an earlier epoch is stale. */
  epoch = 0;
  /** Whether ops record themselves for backward (false inside noGrad). */
  gradEnabled = true;
  private f32View: Float32Array;
  private i32View: Int32Array;

  constructor(
    readonly exports: CoreExports,
    /** Whether this is the SIMD build (false: the scalar fallback). */
    readonly simd: boolean,
  ) {
    this.f32View = new Float32Array(exports.memory.buffer);
    this.i32View = new Int32Array(exports.memory.buffer);
  }

  /** Float32 view of the whole memory, recreated after the memory grows. */
  get f32(): Float32Array {
    if (this.f32View.buffer !== this.exports.memory.buffer) this.refreshViews();
    return this.f32View;
  }

  /** Int32 view of the whole memory, recreated after the memory grows. */
  get i32(): Int32Array {
    if (this.i32View.buffer !== this.exports.memory.buffer) this.refreshViews();
    return this.i32View;
  }

  private refreshViews(): void {
    this.f32View = new Float32Array(this.exports.memory.buffer);
    this.i32View = new Int32Array(this.exports.memory.buffer);
  }

  /** Turns a returned id into a typed error when it is an error code. */
  check(id: number, op: string): number {
    if (id >= 0) return id;
    if (id === ERR_OUT_OF_MEMORY) throw new CoreMemoryError(`${op}: the core ran out of memory (wasm memory is ${this.exports.memoryBytes()} bytes)`);
    if (id === ERR_TABLE_FULL) throw new CoreMemoryError(`${op}: the tensor table is full: call endStep() between steps, or free persistent tensors`);
    throw new CoreMemoryError(`${op}: the core returned error code ${id}`);
  }

  /** Ends a step: scratch tensors and the tape are released all at once. */
  endStep(): void {
    this.exports.endStep();
    this.epoch++;
  }

  setGradEnabled(on: boolean): void {
    this.gradEnabled = on;
    this.exports.setGradEnabled(on ? 1 : 0);
  }
}

// ---- the default core --------------------------------------------------------------------

let current: Core | undefined;

/** The core that tensors and modules are created on by default (set by init()). */
export function defaultCore(): Core {
  if (!current) throw new CoreInitError('the NovaRL core is not loaded: call `await init()` first');
  return current;
}

/** Makes `core` the default (init() does this); returns the previous default. */
export function setDefaultCore(core: Core | undefined): Core | undefined {
  const previous = current;
  current = core;
  return previous;
}
