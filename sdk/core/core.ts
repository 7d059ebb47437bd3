// One instantiated WebAssembly core: its exports, host views of its memory, and the step
// epoch that tells live scratch tensors from stale ones.

import { ERR_OUT_OF_MEMORY, ERR_TABLE_FULL, FLAG_REQUIRES_GRAD, SLOT_BYTES, SLOT_FLAGS, SLOT_GRAD } from '../../assembly/abi';
import { CoreInitError, CoreMemoryError, ValueError } from './errors';
import type { CoreExports } from './exports';

export class Core {
  /** Incremented by endStep(); a scratch tensor made in an earlier epoch is stale. */
  epoch = 0;
  /** Whether ops record themselves for backward (false inside noGrad). */
  gradEnabled = true;
  /** Ids of the losses backward() ran from in this step (each may run once per step). */
  readonly differentiated = new Set<number>();
  private f32View: Float32Array;
  private i32View: Int32Array;
  // Addresses that never change for an instance, read once so hot paths need no call for them.
  private tableAddress = 0;
  private argIndex = -1;
  private argSlots = 0;

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
    this.differentiated.clear();
  }

  // ---- the tensor table, read from the host (no call into the core) -----------------------

  /** Byte address of a slot field of tensor `id` (assembly/abi.ts layout). */
  private slotField(id: number, offset: number): number {
    if (this.tableAddress === 0) this.tableAddress = this.exports.tableBase() >>> 0;
    return this.tableAddress + id * SLOT_BYTES + offset;
  }

  /** Address of a tensor's gradient buffer, 0 when it has none. */
  gradAddress(id: number): number {
    return this.i32[this.slotField(id, SLOT_GRAD) >>> 2]! >>> 0;
  }

  /** Whether a tensor records gradients (its REQUIRES_GRAD flag). */
  requiresGrad(id: number): boolean {
    return (this.i32[this.slotField(id, SLOT_FLAGS) >>> 2]! & FLAG_REQUIRES_GRAD) !== 0;
  }

  // ---- the i32 argument buffer of the many-tensor calls (assembly/optim/args.ts) ---------------

  /** Slots in the argument buffer. */
  get argCapacity(): number {
    if (this.argIndex < 0) this.readArgBuffer();
    return this.argSlots;
  }

  /** Writes tensor ids into the argument buffer from slot `at`; refuses more than it holds. */
  writeArgs(op: string, ids: readonly number[], at = 0): void {
    if (this.argIndex < 0) this.readArgBuffer();
    if (at + ids.length > this.argSlots) {
      throw new ValueError(`${op}: needs ${at + ids.length} argument slots for its tensors, the core has ${this.argSlots}; use fewer (larger) parameter tensors`);
    }
    this.i32.set(ids, this.argIndex + at);
  }

  /** Zeroes the gradients of these tensors, one call into the core per argument buffer's worth. */
  zeroGrads(ids: readonly number[]): void {
    const capacity = this.argCapacity;
    for (let start = 0; start < ids.length; start += capacity) {
      const chunk = ids.slice(start, start + capacity);
      this.writeArgs('zeroGrad', chunk);
      this.exports.zeroGrads(chunk.length);
    }
  }

  private readArgBuffer(): void {
    this.argIndex = this.exports.argBuffer() >>> 2;
    this.argSlots = this.exports.argCapacity();
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
