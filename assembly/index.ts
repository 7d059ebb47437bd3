// The exported ABI of the NovaRL core, and nothing else. Every function takes and returns
// i32 tensor ids and plain scalars; a negative id is an error code (tensor.ts). The host
// (sdk/core/) checks shapes before calling, so no export validates its arguments again.

import * as mem from './memory';
import * as t from './tensor';
import * as tape from './autodiff/tape';

// ---- memory and tensors ------------------------------------------------------------------

/** Bytes of linear memory (f64: up to 4 GiB). */
export function memoryBytes(): f64 { return mem.memoryBytes(); }
/** Bytes held by live persistent allocations. */
export function persistentBytes(): f64 { return mem.persistentBytes(); }
/** High-water mark of the scratch arena within one step. */
export function scratchBytes(): f64 { return mem.scratchBytes(); }
/** Address of the tensor table (SLOT-byte slots; see tensor.ts). */
export function tableBase(): usize { return t.tableBase(); }
/** First scratch id; ids below are persistent. */
export function persistentCapacity(): i32 { return t.PERSISTENT_CAP; }

/** A new tensor (zeroed). persistent: lives until freed; otherwise until endStep(). */
export function tensorNew(rank: i32, s0: i32, s1: i32, s2: i32, s3: i32, persistent: bool, requiresGrad: bool): i32 {
  if (persistent) return t.newPersistent(rank, s0, s1, s2, s3, requiresGrad);
  const id = t.newScratch(rank, s0, s1, s2, s3, requiresGrad);
  if (id >= 0) memory.fill(t.dataOf(id), 0, <usize>t.sizeOf(id) << 2);
  return id;
}
/** Frees a persistent tensor. */
export function tensorFree(id: i32): void { t.freePersistent(id); }
/** Address of a tensor's f32 data. */
export function tensorData(id: i32): usize { return t.dataOf(id); }
/** Address of a tensor's gradient, 0 when it has none. */
export function tensorGrad(id: i32): usize { return t.gradPtrOf(id); }
/** Turns gradient tracking on or off (persistent tensors get a gradient buffer). */
export function tensorSetRequiresGrad(id: i32, on: bool): i32 { return t.setRequiresGrad(id, on); }
/** Zeroes a tensor's gradient, if it has one. */
export function tensorZeroGrad(id: i32): void {
  const g = t.gradPtrOf(id);
  if (g != 0) memory.fill(g, 0, <usize>t.sizeOf(id) << 2);
}

// ---- steps and autodiff ------------------------------------------------------------------

/** Ends a step: every scratch tensor and the tape become invalid, the scratch arena rewinds. */
export function endStep(): void {
  tape.clearTape();
  t.resetScratchTensors();
  mem.resetScratch();
}
/** Gradient recording on or off (off inside noGrad). */
export function setGradEnabled(on: bool): void { t.setGradEnabled(on); }
/** Runs the tape backward from `loss`; returns 0 or an error code. */
export function backward(loss: i32): i32 { return tape.backward(loss); }
/** Records on the tape (for tests of the no-grad mode). */
export function tapeLength(): i32 { return tape.tapeLength(); }
/** Scratch tensors alive in this step. */
export function scratchTensorCount(): i32 { return t.scratchTensorCount(); }

// ---- ops (one file per family, forward and backward side by side) ------------------------
// Each family file exports only its ABI functions; shared internals live in broadcast.ts,
// kernels.ts, gemm.ts, autodiff/ and memory.ts.

export * from './ops/binary';
export * from './ops/where';
export * from './ops/unary';
export * from './ops/reduce';
export * from './ops/softmax';
export * from './ops/index_ops';
export * from './ops/norm';
export * from './ops/shape';
export * from './ops/matmul';

// ---- losses (fused forward and backward) ---------------------------------------------------

export * from './losses/ppo';
export * from './losses/kl';
export * from './losses/entropy';
export * from './losses/value';
export * from './losses/masked';

// ---- optimizers ------------------------------------------------------------------------------

export * from './optim/sgd';
export * from './optim/adam';
export * from './optim/clip';
export * from './optim/zero_grad';

// ---- randomness, and deterministic math for the host -------------------------------------------

export * from './random';
export * from './host_math';

// ---- transformer ops: narrow / writeInto, fused attention, cross-entropy, sampling --------------

export * from './ops/slice';
export * from './ops/attention';
export * from './losses/cross_entropy';
export * from './sampling';
// ---- the arithmetic ceiling matmul is benchmarked against (bench/matmul.ts) ------------------

export * from './peak';
