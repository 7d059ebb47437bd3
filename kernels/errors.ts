// Typed errors of the GPU path. Both extend NovaRLError, so `catch (e) { if (e instanceof
// NovaRLError) ... }` covers them like every other error the SDK throws on purpose.

import { NovaRLError } from '../sdk/index';

/**
 * `device: 'gpu'` was asked for where no real GPU backend exists: gpu.js is not installed, or it
 * would run in its CPU or WebAssembly modes (Node without headless-gl), which are slower than
 * the WASM core. `backend` names what gpu.js offered ('none' when it could not be loaded).
 */
export class GpuUnavailableError extends NovaRLError {
  override name = 'GpuUnavailableError';
  constructor(
    message: string,
    readonly backend: string,
  ) {
    super(message);
  }
}

/**
 * A forced GPU op on operands that record gradients. GPU results carry no tape record, so the
 * gradient would silently stop there; run it under noGrad(), or use device 'auto' (which sends
 * such calls to the WASM core) or 'wasm'.
 */
export class GpuGradError extends NovaRLError {
  override name = 'GpuGradError';
}
