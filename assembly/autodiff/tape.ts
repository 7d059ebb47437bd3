// The tape: every op that produces a tensor requiring a gradient appends one record; backward()
// walks the records in reverse and calls each record's backward function, which lives beside
// its forward in assembly/ops/ or assembly/losses/ (micrograd's layout, with a tape instead of
// closures). Gradients accumulate with += into buffers that gradFor() hands out.
//
// Record layout (48 bytes):
//   0 backward fn (table index)   4 out id   8 a id   12 b id   16 c id   20 int aux
//  24 f0  28 f1  32 f2  36 f3 (f32 saved scalars)  40 ptr aux (a scratch buffer saved by forward)

import { persistentAlloc, persistentFree } from '../memory';
import { gradPtrOf, sizeOf, requiresGrad, gradEnabled, gradFor, dropGrad, gradAllocFailed, clearGradAllocFailed, ERR_OUT_OF_MEMORY } from '../tensor';

export type BackwardFn = (record: usize) => void;

const RECORD: usize = 48;
let records: usize = 0;
let capacity: i32 = 0;
let count: i32 = 0;

/** Set when a gradient buffer could not be allocated during backward. */
let backwardError: i32 = 0;
/** Whether backward() has run since the tape was last cleared (then the next one resets first). */
let differentiated: bool = false;

function ensureCapacity(): bool {
  if (count < capacity) return true;
  const next = capacity == 0 ? 4096 : capacity * 2;
  const fresh = persistentAlloc(<usize>next * RECORD);
  if (fresh == 0) return false;
  if (records != 0) {
    memory.copy(fresh, records, <usize>count * RECORD);
    persistentFree(records);
  }
  records = fresh;
  capacity = next;
  return true;
}

/** Whether an op with these inputs must record itself (and its output must require grad). */
@inline export function tracks(a: i32, b: i32 = -1, c: i32 = -1): bool {
  return gradEnabled && (requiresGrad(a) || requiresGrad(b) || requiresGrad(c));
}

/** Appends a record; returns its address so the op can fill the saved fields, 0 on failure. */
export function record(fn: BackwardFn, out: i32, a: i32, b: i32 = -1, c: i32 = -1): usize {
  if (!ensureCapacity()) return 0;
  const r = records + <usize>count * RECORD;
  count++;
  store<u32>(r, <u32>changetype<usize>(fn));
  store<i32>(r, out, 4);
  store<i32>(r, a, 8);
  store<i32>(r, b, 12);
  store<i32>(r, c, 16);
  store<i32>(r, 0, 20);
  store<f32>(r, 0, 24);
  store<f32>(r, 0, 28);
  store<f32>(r, 0, 32);
  store<f32>(r, 0, 36);
  store<usize>(r, 0, 40);
  return r;
}

// Accessors used by backward functions.
@inline export function recOut(r: usize): i32 { return load<i32>(r, 4); }
@inline export function recA(r: usize): i32 { return load<i32>(r, 8); }
@inline export function recB(r: usize): i32 { return load<i32>(r, 12); }
@inline export function recC(r: usize): i32 { return load<i32>(r, 16); }
@inline export function recInt(r: usize): i32 { return load<i32>(r, 20); }
@inline export function recF0(r: usize): f32 { return load<f32>(r, 24); }
@inline export function recF1(r: usize): f32 { return load<f32>(r, 28); }
@inline export function recF2(r: usize): f32 { return load<f32>(r, 32); }
@inline export function recF3(r: usize): f32 { return load<f32>(r, 36); }
@inline export function recPtr(r: usize): usize { return load<usize>(r, 40); }
@inline export function setRecInt(r: usize, v: i32): void { store<i32>(r, v, 20); }
@inline export function setRecF0(r: usize, v: f32): void { store<f32>(r, v, 24); }
@inline export function setRecF1(r: usize, v: f32): void { store<f32>(r, v, 28); }
@inline export function setRecF2(r: usize, v: f32): void { store<f32>(r, v, 32); }
@inline export function setRecF3(r: usize, v: f32): void { store<f32>(r, v, 36); }
@inline export function setRecPtr(r: usize, v: usize): void { store<usize>(r, v, 40); }

/** Notes an allocation failure inside a backward function (reported by backward()). */
export function failBackward(): void {
  backwardError = ERR_OUT_OF_MEMORY;
}

/**
 * Adds d(loss)/d(loss) = 1 to the loss's gradient (every element; the host only passes a
 * one-element loss) and runs the tape in reverse. Returns 0 or an error code.
 *
 * The tape is kept until clearTape() (endStep), so several backward() calls in one step add
 * up, as PyTorch's do: leaves (parameters, tensors made by the host) accumulate, and the
 * gradients of op results, which hold the previous call's contributions, are dropped first
 * so that nothing is propagated twice. A record whose output received no gradient from this
 * loss is skipped, so each call runs only the part of the tape the loss depends on.
 */
export function backward(loss: i32): i32 {
  backwardError = 0;
  clearGradAllocFailed();
  if (!requiresGrad(loss)) return 0;
  if (differentiated) {
    for (let i = 0; i < count; i++) dropGrad(recOut(records + <usize>i * RECORD));
  }
  differentiated = true;
  const g = gradFor(loss);
  if (g == 0) return ERR_OUT_OF_MEMORY;
  const n = sizeOf(loss);
  for (let i = 0; i < n; i++) {
    const p = g + (<usize>i << 2);
    store<f32>(p, load<f32>(p) + 1.0);
  }
  for (let i = count - 1; i >= 0; i--) {
    const r = records + <usize>i * RECORD;
    // Records whose output received no gradient contribute nothing: skip them.
    if (gradPtrOf(recOut(r)) == 0) continue;
    const fn = changetype<BackwardFn>(<usize>load<u32>(r));
    fn(r);
  }
  if (gradAllocFailed) backwardError = ERR_OUT_OF_MEMORY;
  return backwardError;
}

/** Drops the tape without running it (endStep, or a forward that will not be differentiated). */
export function clearTape(): void {
  count = 0;
  differentiated = false;
}

export function tapeLength(): i32 {
  return count;
}
