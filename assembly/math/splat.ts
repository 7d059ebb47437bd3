// Vector constants read from linear memory.
//
// V8's optimising compiler rebuilds an inline v128.const from immediates at every use, inside
// loops too (movabs + vmovq + vpunpcklqdq: three instructions, two on the shuffle port), and
// Binaryen folds a constant held in a local back into each use. A constant kept in a 4-byte
// memory.data and broadcast on load is one instruction (vbroadcastss from memory) that uses a
// load port, not an arithmetic one: the vector code of math/det.ts ran about 1.4x faster so.
// Zero is the exception: V8 makes f32x4.splat(0) with one xor.

/** The 32-bit constant stored at `at` (a memory.data of one f32 or i32) in all four lanes. */
@inline export function splatAt(at: usize): v128 {
  return v128.load32_splat(at);
}

export const ONE_AT = memory.data<f32>([1]);
export const TWO_AT = memory.data<f32>([2]);
