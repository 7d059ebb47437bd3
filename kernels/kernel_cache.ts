// Compiled gpu.js kernels, one per (kernel, shape). Shapes are baked in as constants so loop
// bounds are compile-time constants in the shader (WebGL1 requires it; it also lets the driver
// optimise). A training loop uses a handful of shapes, so the cache stays small; the least
// recently used kernel is destroyed past `capacity`.

import type { GpuJsInstance, GpuJsKernel, GpuJsKernelSettings } from './gpujs';

export class KernelCache {
  private readonly kernels = new Map<string, GpuJsKernel>();

  constructor(
    readonly gpu: GpuJsInstance,
    readonly capacity = 48,
  ) {}

  /** The kernel for `source` compiled with `settings`, built on first use. */
  get(source: string, settings: GpuJsKernelSettings): GpuJsKernel {
    const key = `${source}\u0000${JSON.stringify(settings)}`;
    const hit = this.kernels.get(key);
    if (hit) {
      // Map keeps insertion order: re-inserting marks it most recently used.
      this.kernels.delete(key);
      this.kernels.set(key, hit);
      return hit;
    }
    const kernel = this.gpu.createKernel(source, { precision: 'single', tactic: 'precision', ...settings });
    this.kernels.set(key, kernel);
    if (this.kernels.size > this.capacity) {
      const [oldestKey, oldest] = this.kernels.entries().next().value as [string, GpuJsKernel];
      this.kernels.delete(oldestKey);
      oldest.destroy?.();
    }
    return kernel;
  }

  /** Every kernel that has been built and is still cached. */
  all(): IterableIterator<GpuJsKernel> {
    return this.kernels.values();
  }

  clear(): void {
    for (const kernel of this.kernels.values()) kernel.destroy?.();
    this.kernels.clear();
  }
}

/**
 * Copies a gpu.js result into `dst` at `offset`: a 2D result comes back as an Array of
 * Float32Array rows, a 1D result as one Float32Array (only the first `length` values count).
 */
export function copyResult(result: unknown, dst: Float32Array, offset: number, length: number): void {
  if (result instanceof Float32Array) {
    dst.set(result.length === length ? result : result.subarray(0, length), offset);
    return;
  }
  const rows = result as ArrayLike<ArrayLike<number>>;
  let at = offset;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    dst.set(row, at);
    at += row.length;
  }
}
