// The arithmetic ceiling the matmul kernel is measured against (bench/matmul.ts): how many
// separate f32x4 multiplies and adds (deterministic builds have no fused multiply-add) one core
// retires per second when nothing else is in the way.
//
// The loop is the gemm microkernel's arithmetic on data that never leaves L1: ten independent
// accumulators, acc += x * y, where the products come from loads of a 4 KiB buffer (the load
// ports are separate from the floating-point ones, so loads cost no arithmetic slots) and do
// not depend on the accumulators; no packing, no stores, no edge tiles. Chains of register-only
// arithmetic (acc = acc * m + c, or separate multiply and add chains) measured lower on the x64
// machines tried: they wait on the multiply's latency, this does not.

/** 4 KiB of zeros: the operands (their value does not change the speed of f32 mul and add). */
const operands: usize = memory.data(4096, 16);

/**
 * Runs `steps` steps of 10 multiplies and 10 adds on f32x4 (80 flops a step) and returns the
 * sum of the accumulators, so that the work cannot be dropped. The scalar build runs 80 f32
 * flops a step one at a time.
 */
export function peakMulAdd(steps: i32): f32 {
  if (ASC_FEATURE_SIMD) {
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0), c4 = f32x4.splat(0);
    let c5 = f32x4.splat(0), c6 = f32x4.splat(0), c7 = f32x4.splat(0), c8 = f32x4.splat(0), c9 = f32x4.splat(0);
    let offset: usize = 0;
    for (let s = 0; s < steps; s++) {
      const p = operands + offset;
      const y0 = v128.load(p), y1 = v128.load(p, 16);
      let x = v128.load32_splat(p, 32);
      c0 = f32x4.add(c0, f32x4.mul(x, y0)); c1 = f32x4.add(c1, f32x4.mul(x, y1));
      x = v128.load32_splat(p, 36);
      c2 = f32x4.add(c2, f32x4.mul(x, y0)); c3 = f32x4.add(c3, f32x4.mul(x, y1));
      x = v128.load32_splat(p, 40);
      c4 = f32x4.add(c4, f32x4.mul(x, y0)); c5 = f32x4.add(c5, f32x4.mul(x, y1));
      x = v128.load32_splat(p, 44);
      c6 = f32x4.add(c6, f32x4.mul(x, y0)); c7 = f32x4.add(c7, f32x4.mul(x, y1));
      x = v128.load32_splat(p, 48);
      c8 = f32x4.add(c8, f32x4.mul(x, y0)); c9 = f32x4.add(c9, f32x4.mul(x, y1));
      offset = (offset + 64) & 4031; // next 64 bytes, wrapping inside the buffer
    }
    const sum = f32x4.add(
      f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7))),
      f32x4.add(c8, c9));
    return f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 2) + f32x4.extract_lane(sum, 3);
  }
  let total: f32 = 0;
  let offset: usize = 0;
  for (let s = 0; s < steps; s++) {
    const p = operands + offset;
    for (let r = 0; r < 5; r++) {
      const x = load<f32>(p + 32 + (<usize>r << 2));
      for (let j = 0; j < 8; j++) total += x * load<f32>(p + (<usize>j << 2));
    }
    offset = (offset + 64) & 4031;
  }
  return total;
}
