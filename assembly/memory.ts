// Memory: two arenas over one linear memory (docs/architecture.md, "Memory").
//
//   persistent  parameters, gradients, optimizer state, input buffers: a first-fit free list,
//               blocks live until freed.
//   scratch     activations, temporaries, gradients of temporaries: a bump pointer over a list
//               of chunks that is rewound by resetScratch() at the end of every step. Chunks are
//               kept, so once a step's shape is known the memory never grows again.
//
// Both take their space from `grab`, which only ever moves `top` up (memory.grow). Every
// pointer handed out is 16-byte aligned so SIMD loads never straddle a line needlessly.
// Allocation failure returns 0; the caller turns that into an error code for the host.
//
// wasm32 addresses are u32 and memory ends at 4 GiB, so `top + bytes` is computed in u64: in
// u32 it wraps past 4 GiB to a small address that passes every size check, and the next
// allocations would overlap live tensors.

export const ALIGN: usize = 16;
const PAGE: u64 = 65536;
/** The end of wasm32 memory (65536 pages). `top` stays below it, so it fits a u32. */
const MEMORY_END: u64 = 1 << 32;
/** Largest single request; anything larger cannot fit and would wrap alignUp or a header. */
const MAX_REQUEST: usize = 0xffff0000;

@inline export function alignUp(x: usize): usize {
  return (x + ALIGN - 1) & ~(ALIGN - 1);
}

let top: usize = 0; // first byte never handed out; memory from here up has never been written

/** Raw space at the top of memory, zeroed (never handed out before); never returned. 0 when memory cannot grow. */
function grab(bytes: usize): usize {
  if (top == 0) top = alignUp(__heap_base);
  if (bytes > MAX_REQUEST) return 0;
  const end: u64 = <u64>top + <u64>alignUp(bytes);
  if (end >= MEMORY_END) return 0;
  const have: u64 = <u64>memory.size() * PAGE;
  if (end > have) {
    const pages = <i32>((end - have + PAGE - 1) / PAGE);
    if (memory.grow(pages) < 0) return 0;
  }
  const ptr = top;
  top = <usize>end;
  return ptr;
}

// ---------------------------------------------------------------------------------------------
// Persistent arena: first-fit free list, sorted by address, coalescing neighbours on free.
// A block is [header: 16 bytes][payload]; header word 0 = block size in bytes (header included),
// word 1 = next free block (only while free).

const HEADER: usize = 16;
let freeList: usize = 0;
let persistentInUse: usize = 0;

/** Takes a block of at least `need` bytes (header included) off the free list; 0 when none fits. */
function takeFree(need: usize): usize {
  let prev: usize = 0;
  let block = freeList;
  while (block != 0) {
    const size = load<usize>(block);
    const next = load<usize>(block, sizeof<usize>());
    if (size >= need) {
      if (size - need >= HEADER + ALIGN) {
        // split: the tail stays free
        const rest = block + need;
        store<usize>(rest, size - need);
        store<usize>(rest, next, sizeof<usize>());
        if (prev == 0) freeList = rest; else store<usize>(prev, rest, sizeof<usize>());
        store<usize>(block, need);
      } else {
        if (prev == 0) freeList = next; else store<usize>(prev, next, sizeof<usize>());
      }
      return block;
    }
    prev = block;
    block = next;
  }
  return 0;
}

/** Allocates `bytes` of zeroed persistent memory. 0 when out of memory. */
export function persistentAlloc(bytes: usize): usize {
  if (bytes > MAX_REQUEST) return 0;
  const need = alignUp(bytes) + HEADER;
  let block = takeFree(need);
  if (block != 0) {
    memory.fill(block + HEADER, 0, load<usize>(block) - HEADER);
  } else {
    block = grab(need); // already zero: no fill, so untouched pages stay uncommitted
    if (block == 0) return 0;
    store<usize>(block, need);
  }
  persistentInUse += load<usize>(block);
  return block + HEADER;
}

/** Returns a persistent block to the free list. */
export function persistentFree(ptr: usize): void {
  if (ptr == 0) return;
  const block = ptr - HEADER;
  let size = load<usize>(block);
  persistentInUse -= size;
  let prev: usize = 0;
  let next = freeList;
  while (next != 0 && next < block) {
    prev = next;
    next = load<usize>(next, sizeof<usize>());
  }
  // merge with the following block
  if (next != 0 && block + size == next) {
    size += load<usize>(next);
    next = load<usize>(next, sizeof<usize>());
  }
  store<usize>(block, size);
  store<usize>(block, next, sizeof<usize>());
  if (prev == 0) {
    freeList = block;
  } else if (prev + load<usize>(prev) == block) {
    // merge with the preceding block
    store<usize>(prev, load<usize>(prev) + size);
    store<usize>(prev, next, sizeof<usize>());
  } else {
    store<usize>(prev, block, sizeof<usize>());
  }
}

// ---------------------------------------------------------------------------------------------
// Scratch arena: chunks of at least CHUNK bytes, kept across steps.

const CHUNK: usize = 1 << 20;
const MAX_CHUNKS: i32 = 256;
let chunkTable: usize = 0; // (ptr: usize, size: usize) x MAX_CHUNKS
let chunkCount: i32 = 0;
let chunkIndex: i32 = 0; // chunk being filled
let chunkOffset: usize = 0; // bytes used in it
let scratchInUse: usize = 0;
let scratchHighWater: usize = 0;

@inline function chunkPtr(i: i32): usize {
  return load<usize>(chunkTable + (<usize>i << 3));
}
@inline function chunkSize(i: i32): usize {
  return load<usize>(chunkTable + (<usize>i << 3) + 4);
}

/**
 * Memory for a new chunk: from the top of memory, or, once that is exhausted, a block of the
 * persistent free list (kept as a chunk for good, like every chunk).
 */
function chunkMemory(bytes: usize): usize {
  const fresh = grab(bytes);
  if (fresh != 0) return fresh;
  const block = takeFree(bytes + HEADER);
  return block == 0 ? 0 : block + HEADER;
}

/** Allocates `bytes` of scratch memory (not zeroed), valid until resetScratch(). */
export function scratchAlloc(bytes: usize): usize {
  if (bytes > MAX_REQUEST) return 0;
  const need = alignUp(bytes == 0 ? ALIGN : bytes);
  if (chunkTable == 0) {
    chunkTable = persistentAlloc(<usize>MAX_CHUNKS << 3);
    if (chunkTable == 0) return 0;
  }
  while (chunkIndex < chunkCount) {
    if (chunkOffset + need <= chunkSize(chunkIndex)) {
      const ptr = chunkPtr(chunkIndex) + chunkOffset;
      chunkOffset += need;
      scratchInUse += need;
      if (scratchInUse > scratchHighWater) scratchHighWater = scratchInUse;
      return ptr;
    }
    chunkIndex++;
    chunkOffset = 0;
  }
  if (chunkCount == MAX_CHUNKS) return 0;
  let size = need > CHUNK ? need : CHUNK;
  let fresh = chunkMemory(size);
  if (fresh == 0 && size > need) {
    size = need; // memory is nearly full: a chunk of just this request may still fit
    fresh = chunkMemory(size);
  }
  if (fresh == 0) return 0;
  store<usize>(chunkTable + (<usize>chunkCount << 3), fresh);
  store<usize>(chunkTable + (<usize>chunkCount << 3) + 4, size);
  chunkIndex = chunkCount;
  chunkCount++;
  chunkOffset = need;
  scratchInUse += need;
  if (scratchInUse > scratchHighWater) scratchHighWater = scratchInUse;
  return fresh;
}

/** Zeroed scratch memory. */
export function scratchAllocZeroed(bytes: usize): usize {
  const ptr = scratchAlloc(bytes);
  if (ptr != 0) memory.fill(ptr, 0, bytes);
  return ptr;
}

/** Invalidates every scratch allocation at once. */
export function resetScratch(): void {
  chunkIndex = 0;
  chunkOffset = 0;
  scratchInUse = 0;
}

// Byte counts as f64: they reach 4 GiB, which neither an i32 (what the host sees of a u32)
// nor a u32 (4 GiB itself) holds.
export function memoryBytes(): f64 {
  return <f64>memory.size() * <f64>PAGE;
}
export function persistentBytes(): f64 {
  return <f64>persistentInUse;
}
export function scratchBytes(): f64 {
  return <f64>scratchHighWater;
}
