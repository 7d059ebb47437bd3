// NovaRL's public API.
export { init, simdSupported, type InitOptions, type WasmSource } from './core/wasm';
export { Core, defaultCore, setDefaultCore } from './core/core';
export { Tensor, type TensorOptions, type MatmulOptions } from './core/tensor';
export { Module, Parameter, StateDictError, type StateDict } from './core/module';
export { noGrad } from './core/grad_mode';
export * from './core/errors';
export { type Shape } from './core/shape';
export { detMath, type DetMath } from './core/det_math';
export { ppoClipLoss, klEstimate, entropyFromLogits, valueLoss, maskedMean, type PpoClipLossInput, type PpoClipLossOutput, type KlEstimator, type ValueLossInput, type ValueLossOutput } from './core/losses';
export { Optimizer, SGD, Adam, AdamW, AdamBase, clipGradNorm, type SGDOptions, type AdamOptions, type OptimizerState } from './core/optim';
export { seed, getRngState, setRngState, uniform_, normal_, orthogonal_, sampleCategorical, randomPermutation } from './core/random';
