// The tensor table. A tensor is an i32 id into it; each slot holds:
//
//   offset  0  data ptr   (f32, row-major, 16-byte aligned)
//           4  grad ptr   (f32, same layout; 0 until a gradient exists)
//           8  size       (number of elements)
//          12  rank       (0..4)
//          16  shape[4]   (unused trailing dims are 1)
//          32  flags      (REQUIRES_GRAD | PERSISTENT | LIVE)
//
// Ids [0, PERSISTENT_CAP) are persistent slots, reused after free. Ids from PERSISTENT_CAP up
// are scratch slots handed out in order and all invalidated by endStep(). The host mirrors
// every shape, so none of this is read across the boundary on the hot path; the host may read
// the table directly (tableBase()), as Core.requiresGrad and Core.gradAddress do. The layout,
// flags, capacities and error codes are abi.ts's, shared with the host.
//
// Integer data (actions, token ids, masks) is stored as f32: exact up to 2^24 (the host
// refuses larger indices).

import { persistentAlloc, persistentFree, scratchAlloc, scratchAllocZeroed } from './memory';
import * as abi from './abi';

// The layout and codes are the ABI's (abi.ts), shared with the host.
export const SLOT: usize = <usize>abi.SLOT_BYTES;
export const PERSISTENT_CAP: i32 = abi.PERSISTENT_CAP;
export const SCRATCH_CAP: i32 = abi.SCRATCH_CAP;

export const REQUIRES_GRAD: i32 = abi.FLAG_REQUIRES_GRAD;
export const PERSISTENT: i32 = abi.FLAG_PERSISTENT;
export const LIVE: i32 = abi.FLAG_LIVE;

// Error codes returned instead of an id; the host turns them into typed errors.
export const ERR_OUT_OF_MEMORY: i32 = abi.ERR_OUT_OF_MEMORY;
export const ERR_TABLE_FULL: i32 = abi.ERR_TABLE_FULL;

let table: usize = 0;
let freeSlots: usize = 0; // stack of free persistent slot indices
let freeCount: i32 = 0;
let persistentHigh: i32 = 0; // persistent slots ever used
let scratchCount: i32 = 0;

/** Whether ops record themselves on the tape (false inside noGrad). */
export let gradEnabled: bool = true;
export function setGradEnabled(on: bool): void {
  gradEnabled = on;
}

function ensureTable(): bool {
  if (table != 0) return true;
  // both or neither: a table without its free-slot stack would write through address 0
  const t = persistentAlloc(<usize>(PERSISTENT_CAP + SCRATCH_CAP) * SLOT);
  if (t == 0) return false;
  const f = persistentAlloc(<usize>PERSISTENT_CAP << 2);
  if (f == 0) {
    persistentFree(t);
    return false;
  }
  table = t;
  freeSlots = f;
  return true;
}

export function tableBase(): usize {
  ensureTable();
  return table;
}

@inline export function slot(id: i32): usize {
  return table + <usize>id * SLOT;
}
@inline export function dataOf(id: i32): usize {
  return load<usize>(slot(id), abi.SLOT_DATA);
}
@inline export function gradPtrOf(id: i32): usize {
  return load<usize>(slot(id), abi.SLOT_GRAD);
}
@inline function setGradPtr(id: i32, g: usize): void {
  store<usize>(slot(id), g, abi.SLOT_GRAD);
}
@inline export function sizeOf(id: i32): i32 {
  return load<i32>(slot(id), abi.SLOT_SIZE);
}
@inline export function rankOf(id: i32): i32 {
  return load<i32>(slot(id), abi.SLOT_RANK);
}
/** Dimension d (0-based, from the front) of a tensor; 1 past its rank. */
@inline export function dimOf(id: i32, d: i32): i32 {
  return load<i32>(slot(id) + abi.SLOT_SHAPE + (<usize>d << 2));
}
/** Dimension counted from the back: dimFromEnd(id, 1) is the last one. 1 past the rank. */
@inline export function dimFromEnd(id: i32, k: i32): i32 {
  const r = rankOf(id);
  return k > r ? 1 : dimOf(id, r - k);
}
@inline export function flagsOf(id: i32): i32 {
  return load<i32>(slot(id), abi.SLOT_FLAGS);
}
@inline export function requiresGrad(id: i32): bool {
  return id >= 0 && (flagsOf(id) & REQUIRES_GRAD) != 0;
}
@inline export function isPersistent(id: i32): bool {
  return id < PERSISTENT_CAP;
}

function fill(id: i32, data: usize, rank: i32, s0: i32, s1: i32, s2: i32, s3: i32, flags: i32): void {
  const p = slot(id);
  const size = (rank > 0 ? s0 : 1) * (rank > 1 ? s1 : 1) * (rank > 2 ? s2 : 1) * (rank > 3 ? s3 : 1);
  store<usize>(p, data, abi.SLOT_DATA);
  store<usize>(p, 0, abi.SLOT_GRAD);
  store<i32>(p, size, abi.SLOT_SIZE);
  store<i32>(p, rank, abi.SLOT_RANK);
  store<i32>(p, rank > 0 ? s0 : 1, abi.SLOT_SHAPE);
  store<i32>(p, rank > 1 ? s1 : 1, abi.SLOT_SHAPE + 4);
  store<i32>(p, rank > 2 ? s2 : 1, abi.SLOT_SHAPE + 8);
  store<i32>(p, rank > 3 ? s3 : 1, abi.SLOT_SHAPE + 12);
  store<i32>(p, flags, abi.SLOT_FLAGS);
}

@inline function elements(rank: i32, s0: i32, s1: i32, s2: i32, s3: i32): usize {
  const n: i32 = (rank > 0 ? s0 : 1) * (rank > 1 ? s1 : 1) * (rank > 2 ? s2 : 1) * (rank > 3 ? s3 : 1);
  return <usize>n;
}

/** A scratch tensor whose data is uninitialised; ops write every element. */
export function newScratch(rank: i32, s0: i32, s1: i32, s2: i32, s3: i32, requires: bool): i32 {
  if (!ensureTable()) return ERR_OUT_OF_MEMORY;
  if (scratchCount >= SCRATCH_CAP) return ERR_TABLE_FULL;
  const data = scratchAlloc(elements(rank, s0, s1, s2, s3) << 2);
  if (data == 0) return ERR_OUT_OF_MEMORY;
  const id = PERSISTENT_CAP + scratchCount++;
  fill(id, data, rank, s0, s1, s2, s3, LIVE | (requires ? REQUIRES_GRAD : 0));
  return id;
}

/** A scratch tensor with the shape of `like` (its rank and dims). */
export function newScratchLike(like: i32, requires: bool): i32 {
  return newScratch(rankOf(like), dimOf(like, 0), dimOf(like, 1), dimOf(like, 2), dimOf(like, 3), requires);
}

/** A scratch tensor that views `data` (no copy): reshape. */
export function newScratchView(data: usize, rank: i32, s0: i32, s1: i32, s2: i32, s3: i32, requires: bool): i32 {
  if (!ensureTable()) return ERR_OUT_OF_MEMORY;
  if (scratchCount >= SCRATCH_CAP) return ERR_TABLE_FULL;
  const id = PERSISTENT_CAP + scratchCount++;
  fill(id, data, rank, s0, s1, s2, s3, LIVE | (requires ? REQUIRES_GRAD : 0));
  return id;
}

/** A zeroed persistent tensor; with `requires`, its gradient buffer is allocated too. */
export function newPersistent(rank: i32, s0: i32, s1: i32, s2: i32, s3: i32, requires: bool): i32 {
  if (!ensureTable()) return ERR_OUT_OF_MEMORY;
  let index: i32;
  if (freeCount > 0) {
    index = load<i32>(freeSlots + (<usize>(--freeCount) << 2));
  } else {
    if (persistentHigh >= PERSISTENT_CAP) return ERR_TABLE_FULL;
    index = persistentHigh++;
  }
  const bytes = elements(rank, s0, s1, s2, s3) << 2;
  const data = persistentAlloc(bytes);
  if (data == 0) {
    store<i32>(freeSlots + (<usize>freeCount << 2), index);
    freeCount++;
    return ERR_OUT_OF_MEMORY;
  }
  fill(index, data, rank, s0, s1, s2, s3, LIVE | PERSISTENT);
  if (requires && setRequiresGrad(index, true) < 0) {
    freePersistent(index); // no gradient buffer: give the slot and the data back
    return ERR_OUT_OF_MEMORY;
  }
  return index;
}

/** Turns gradient tracking on or off for a persistent tensor (allocating its grad buffer). */
export function setRequiresGrad(id: i32, on: bool): i32 {
  const p = slot(id);
  let flags = flagsOf(id);
  if (on) {
    if (isPersistent(id) && gradPtrOf(id) == 0) {
      const g = persistentAlloc(<usize>sizeOf(id) << 2);
      if (g == 0) return ERR_OUT_OF_MEMORY;
      setGradPtr(id, g);
    }
    flags |= REQUIRES_GRAD;
  } else {
    flags &= ~REQUIRES_GRAD;
  }
  store<i32>(p, flags, abi.SLOT_FLAGS);
  return 0;
}

/** Frees a persistent tensor and its gradient. */
export function freePersistent(id: i32): void {
  if (!isPersistent(id) || (flagsOf(id) & LIVE) == 0) return;
  persistentFree(dataOf(id));
  persistentFree(gradPtrOf(id));
  store<i32>(slot(id), 0, abi.SLOT_FLAGS);
  store<i32>(freeSlots + (<usize>freeCount << 2), id);
  freeCount++;
}

/** Set when gradFor could not allocate a buffer; backward() reports it (autodiff/tape.ts). */
export let gradAllocFailed: bool = false;
export function clearGradAllocFailed(): void {
  gradAllocFailed = false;
}

/**
 * The gradient buffer of `id` to accumulate into, allocating a zeroed one for a scratch
 * tensor on first use; 0 when `id` does not require a gradient (so backward skips it), or
 * when memory ran out (then gradAllocFailed is set, so the skip is not silent).
 */
export function gradFor(id: i32): usize {
  if (!requiresGrad(id)) return 0;
  let g = gradPtrOf(id);
  if (g == 0) {
    g = scratchAllocZeroed(<usize>sizeOf(id) << 2);
    if (g == 0) gradAllocFailed = true;
    setGradPtr(id, g);
  }
  return g;
}

/** Forgets the gradient of a tensor an op produced (its buffer stays in the scratch arena). */
export function dropGrad(id: i32): void {
  setGradPtr(id, 0);
}

/** Invalidates all scratch tensors. */
export function resetScratchTensors(): void {
  scratchCount = 0;
}

export function scratchTensorCount(): i32 {
  return scratchCount;
}
