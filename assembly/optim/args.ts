// The i32 argument buffer of the optimizers (internal; its two ABI functions are re-exported
// by sgd.ts). An optimizer step takes a variable number of tensors, more than fit in a wasm
// call's arguments, so the host writes their ids here (at argBuffer(), argCapacity() slots)
// and passes only their count: for sgdStep, n parameter ids then n momentum-buffer ids.

import { ARG_CAPACITY } from '../abi';
const args = memory.data(ARG_CAPACITY << 2, 16);

/** Address of the i32 argument buffer the host writes tensor ids into. */
export function argBuffer(): usize {
  return args;
}
/** Number of i32 slots in the argument buffer. */
export function argCapacity(): i32 {
  return ARG_CAPACITY;
}

/** The tensor id in slot i. */
@inline export function argId(i: i32): i32 {
  return load<i32>(args + (<usize>i << 2));
}
