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

export const ALIGN: usize = 16;
const PAGE: usize = 65536;

@inline export function alignUp(x: usize): usize {
  return (x + ALIGN - 1) & ~(ALIGN - 1);
}

let top: usize = 0; // first byte never handed out

/** Raw space at the top of memory; never returned. 0 when memory cannot grow. */
function grab(bytes: usize): usize {
  if (top == 0) top = alignUp(__heap_base);
  const ptr = top;
  const end = ptr + alignUp(bytes);
  const have = (<usize>memory.size()) * PAGE;
  if (end > have) {
    const pages = <i32>((end - have + PAGE - 1) / PAGE);
    if (memory.grow(pages) < 0) return 0;
  }
  top = end;
  return ptr;
}

// ---------------------------------------------------------------------------------------------
// Persistent arena: first-fit free list, sorted by address, coalescing neighbours on free.
// A block is [header: 16 bytes][payload]; header word 0 = block size in bytes (header included),
// word 1 = next free block (only while free).

const HEADER: usize = 16;
let freeList: usize = 0;
let persistentInUse: usize = 0;

/** Allocates `bytes` of zeroed persistent memory. 0 when out of memory. */
export function persistentAlloc(bytes: usize): usize {
  const need = alignUp(bytes) + HEADER;
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
      persistentInUse += load<usize>(block);
      memory.fill(block + HEADER, 0, load<usize>(block) - HEADER);
      return block + HEADER;
    }
    prev = block;
    block = next;
  }
  const fresh = grab(need);
  if (fresh == 0) return 0;
  store<usize>(fresh, need);
  persistentInUse += need;
  memory.fill(fresh + HEADER, 0, need - HEADER);
  return fresh + HEADER;
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

/** Allocates `bytes` of scratch memory (not zeroed), valid until resetScratch(). */
export function scratchAlloc(bytes: usize): usize {
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
  const size = need > CHUNK ? need : CHUNK;
  const fresh = grab(size);
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

export function memoryBytes(): usize {
  return (<usize>memory.size()) * PAGE;
}
export function persistentBytes(): usize {
  return persistentInUse;
}
export function scratchBytes(): usize {
  return scratchHighWater;
}
