// The public API for browsers, bundlers, workerd and other runtimes without node:fs: the same
// as index.ts, with an `init` that fetches the .wasm (or takes it as a WebAssembly.Module).
export * from './index';
export { init } from './core/wasm_web';
