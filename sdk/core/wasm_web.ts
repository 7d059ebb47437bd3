// Loading the core in browsers (plain ESM or a bundler) and on workerd, with no node: imports.
// Browsers fetch the .wasm next to this module (compiled while streaming when the server sends
// application/wasm). The two `new URL('./novarl.*.wasm', import.meta.url)` are written out in
// full because bundlers (Vite, webpack, esbuild) recognise exactly that form and ship the file.
// workerd refuses to compile bytes (WebAssembly.instantiate(bytes) throws there), so a worker
// imports the .wasm as a module and passes it: `await init({ source: wasm })`.

import type { Core } from './core';
import { CoreInitError } from './errors';
import { loadCore, type InitOptions, type WasmPlatform, type WasmSource } from './wasm';

/** Loads a core (the SIMD build where supported) and, by default, makes it the default core. */
export function init(options: InitOptions = {}): Promise<Core> {
  return loadCore(webPlatform, options);
}

const webPlatform: WasmPlatform = {
  async defaultSource(simd: boolean): Promise<WasmSource> {
    if (onWorkerd()) {
      throw new CoreInitError(
        "on workerd the core must be passed as a module: `import wasm from 'novarl/wasm/simd'` (a CompiledWasm module rule) then `await init({ source: wasm })`",
      );
    }
    if (typeof import.meta.url !== 'string') {
      throw new CoreInitError('this runtime gives the SDK no URL to find novarl.*.wasm next to it: pass it with `await init({ source })`');
    }
    return simd ? new URL('./novarl.simd.wasm', import.meta.url) : new URL('./novarl.scalar.wasm', import.meta.url);
  },
};

function onWorkerd(): boolean {
  return (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers';
}
