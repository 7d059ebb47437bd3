// The numbers the core (assembly/) and the host (sdk/, kernels/) must agree on, in one place.
// This file is AssemblyScript and TypeScript at once: only `export const NAME = integer;` lines
// (AssemblyScript infers i32), no imports, no types. Both sides import it; tests/abi.test.ts
// checks that no other file keeps a copy and reads the layout back from a real core.

// ---- error codes, returned by the core in place of a tensor id ---------------------------------
export const ERR_OUT_OF_MEMORY = -1;
export const ERR_TABLE_FULL = -2;
/** initOrthogonal: the random matrix was numerically rank-deficient. */
export const ERR_RANK_DEFICIENT = -3;

// ---- the tensor table (assembly/tensor.ts): one SLOT_BYTES slot per tensor id ------------------
export const SLOT_BYTES = 48;
/** Byte offsets of a slot's fields: u32 data and grad addresses, i32 size, rank, shape[4], flags. */
export const SLOT_DATA = 0;
export const SLOT_GRAD = 4;
export const SLOT_SIZE = 8;
export const SLOT_RANK = 12;
export const SLOT_SHAPE = 16;
export const SLOT_FLAGS = 32;
/** Bits of a slot's flags. */
export const FLAG_REQUIRES_GRAD = 1;
export const FLAG_PERSISTENT = 2;
export const FLAG_LIVE = 4;
/** Ids below are persistent slots; scratch slots follow, SCRATCH_CAP of them per step. */
export const PERSISTENT_CAP = 8192;
export const SCRATCH_CAP = 65536;
/** Largest tensor rank (shape[4] in a slot). */
export const MAX_RANK = 4;

// ---- the optimizers' i32 argument buffer (assembly/optim/args.ts) --------------------------------
export const ARG_CAPACITY = 4096;

// ---- lossStat() slots (assembly/losses/ppo.ts and value.ts) ----------------------------------------
export const STAT_SLOTS = 8;
export const STAT_PPO_LOSS = 0;
export const STAT_OBJECTIVE_UNCLIPPED = 1;
export const STAT_CLIPFRAC = 2;
export const STAT_APPROX_KL = 3;
export const STAT_OLD_APPROX_KL = 4;
export const STAT_VALUE_LOSS = 5;
export const STAT_VALUE_CLIPFRAC = 6;
