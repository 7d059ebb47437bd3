// The GPU plug-in, published as `novarl/gpu`: the dispatcher, its options and errors, and the raw
// gpu.js kernels. It builds on the SDK's public entry only (sdk/index.ts), and the SDK never
// imports it, so the main entry carries no GPU code (docs/architecture.md, "Layers").
export { GpuDispatcher, requiresGrad, type Device, type GpuOp, type GpuDispatcherOptions, type DispatchOptions, type DispatchChoice } from './dispatcher';
export { GpuUnavailableError, GpuGradError } from './errors';
export { loadGpuJs, detectBackend, backendOf, type GpuBackendInfo, type GpuBackendName, type GpuJsModule } from './gpujs';
export { KernelCache } from './kernel_cache';
export { gpuMatmul, matmulFlops, matmulTransferFloats, type MatmulDims } from './matmul';
export { gpuUnary, UNARY_OPS, type UnaryOp } from './elementwise';
export { gpuSumLast, gpuSoftmax } from './reduce';
export { predict, fitTransfer, minGpuWork, SAFETY_FACTOR, type Calibration, type CalibrationPoint, type TransferModel } from './cost_model';
export { msPerCall } from './timing';
