// The cost model behind device 'auto': predicted milliseconds of a call on the WASM core and on
// the GPU, from a short calibration (a few shapes timed on both).
//
//   wasmMs = work / wasmRate
//   gpuMs  = calls * callMs + floats * msPerFloat + work / gpuRate
//
// `work` is flops for matmul and elements for the elementwise and reduction ops; `floats` is
// what must travel between wasm memory and GPU textures (inputs up, the result back), so the
// transfer is part of every decision. callMs and msPerFloat come from timing a copy kernel at two
// sizes; the rates come from timing each op at its calibration shapes, the GPU's with the
// transfer subtracted. Between and beyond calibration shapes the model leans towards WASM: the
// faster WASM rate and the slower GPU rate of the neighbouring shapes, and GPU only when it
// wins by the safety factor, so auto does not pick a GPU that turns out slower.

/** Cost of moving data between wasm memory and the GPU. */
export interface TransferModel {
  /** Fixed cost of one kernel call: launch, synchronisation, readback latency (ms). */
  callMs: number;
  /** Cost of each float uploaded to or read back from a texture (ms). */
  msPerFloat: number;
}

/** One calibration shape of an op, timed on both sides. */
export interface CalibrationPoint {
  /** The shape, e.g. '256x256x256'. */
  label: string;
  /** Flops (matmul) or elements (elementwise, reductions). */
  work: number;
  /** Floats moved to and from the GPU. */
  floats: number;
  /** GPU kernel calls that each pay callMs. */
  calls: number;
  /** Measured ms per call on the WASM core. */
  wasmMs: number;
  /** Measured ms per call on the GPU, transfers included. */
  gpuMs: number;
}

/** A finished calibration: JSON, so it can be saved and given back to skip timing next time. */
export interface Calibration {
  /** The gpu.js backend it was measured on (a saved one is ignored on another backend). */
  backend: string;
  renderer?: string;
  transfer: TransferModel;
  /** Points per op kind, sorted by work. An op not listed is calibrated on first use. */
  ops: Record<string, CalibrationPoint[]>;
}

export interface Prediction {
  wasmMs: number;
  gpuMs: number;
  /** The GPU is predicted to win by at least the safety factor. */
  gpu: boolean;
}

/** GPU must be predicted this much faster before auto takes it (covers model error). */
export const SAFETY_FACTOR = 1.25;

/** A GPU's compute share of a calibration time is taken as at least this fraction of it. */
const MIN_COMPUTE_SHARE = 0.1;

export function transferMs(transfer: TransferModel, floats: number, calls: number): number {
  return calls * transfer.callMs + floats * transfer.msPerFloat;
}

/** Fits the transfer model to a copy kernel timed at two sizes (moving 2 * size floats each). */
export function fitTransfer(small: { floats: number; ms: number }, large: { floats: number; ms: number }): TransferModel {
  const msPerFloat = Math.max(0, (large.ms - small.ms) / (large.floats - small.floats));
  const callMs = Math.max(0, small.ms - small.floats * msPerFloat);
  return { callMs, msPerFloat };
}

/** Work per ms on each side at one calibration point. */
function rates(point: CalibrationPoint, transfer: TransferModel): { wasm: number; gpu: number } {
  // The transfer model is a fit; where it explains (nearly) all of a GPU time, keep a minimum
  // compute share rather than crediting the GPU with infinite speed.
  const computeMs = Math.max(point.gpuMs - transferMs(transfer, point.floats, point.calls), MIN_COMPUTE_SHARE * point.gpuMs);
  return { wasm: point.work / point.wasmMs, gpu: point.work / computeMs };
}

/** Predicted times of a call; `points` sorted by work and not empty. */
export function predict(
  calibration: Calibration,
  points: readonly CalibrationPoint[],
  call: { work: number; floats: number; calls: number },
): Prediction {
  // The calibration points on either side of this call's work (the same one at the ends).
  let below = points[0]!;
  let above = points[points.length - 1]!;
  for (const p of points) {
    if (p.work <= call.work) below = p;
    if (p.work >= call.work) {
      above = p;
      break;
    }
  }
  const r0 = rates(below, calibration.transfer);
  const r1 = rates(above, calibration.transfer);
  const wasmMs = call.work / Math.max(r0.wasm, r1.wasm);
  const gpuMs = transferMs(calibration.transfer, call.floats, call.calls) + call.work / Math.min(r0.gpu, r1.gpu);
  return { wasmMs, gpuMs, gpu: gpuMs * SAFETY_FACTOR < wasmMs };
}

/**
 * Work below which predict() never chooses the GPU, for a quick reject before the full
 * decision: a GPU call costs at least callMs, and the WASM time is at most work / (the slowest
 * calibrated WASM rate), so below SAFETY_FACTOR * callMs * that rate the GPU cannot win.
 */
export function minGpuWork(calibration: Calibration, points: readonly CalibrationPoint[]): number {
  const slowestWasmRate = Math.min(...points.map((p) => p.work / p.wasmMs));
  return SAFETY_FACTOR * calibration.transfer.callMs * slowestWasmRate;
}
