// Loading the core, the part every runtime shares: pick the SIMD build when the engine
// validates SIMD (else the scalar one) and instantiate it from whatever source was given.
// Only the default source differs per runtime, so each loader passes its own `WasmPlatform`:
//   wasm_node.ts  Node, Bun, Deno: the .wasm next to the module, read with node:fs
//   wasm_web.ts   browsers, bundlers, workerd: fetched next to the module, or given as a Module
// This file imports nothing from node: so that every bundle may include it.

import { Core, setDefaultCore } from './core';
import { CoreInitError } from './errors';
import type { CoreExports } from './exports';

/** Where the .wasm comes from: bytes, a compiled module, a Response, or a URL to fetch (or read). */
export type WasmSource = BufferSource | WebAssembly.Module | Response | URL | string;

export interface InitOptions {
  /** true: SIMD build, false: scalar build, undefined: SIMD when the engine supports it. */
  simd?: boolean;
  /**
   * The .wasm to use. By default it is found next to the SDK (read from disk on Node, Bun and
   * Deno; fetched in browsers). On workerd pass the module: `import wasm from 'novarl/wasm/simd'`.
   */
  source?: WasmSource;
  /** Make this core the default for tensors and modules (default true). */
  setDefault?: boolean;
}

/** What a runtime's loader supplies: how to find the default build and read file: URLs. */
export interface WasmPlatform {
  /** The build of the given flavour that init() uses when no source is given. */
  defaultSource(simd: boolean): Promise<WasmSource>;
  /** Reads a file: URL; absent where there is no file system. */
  readFile?(url: URL): Promise<BufferSource>;
}

// A tiny module using one v128 instruction (i8x16.splat): validates only with SIMD support.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

export function simdSupported(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Loads a core with the given platform's default source and (by default) makes it the default. */
export async function loadCore(platform: WasmPlatform, options: InitOptions = {}): Promise<Core> {
  const simd = options.simd ?? simdSupported();
  const source = options.source ?? (await platform.defaultSource(simd));
  let instance: WebAssembly.Instance;
  try {
    instance = await instantiate(source, platform);
  } catch (error) {
    if (error instanceof CoreInitError) throw error;
    // CompileError (not wasm), LinkError (wants imports), TypeError (not a source at all)...
    throw new CoreInitError(`could not load the NovaRL core from ${describeSource(source)}: ${(error as Error)?.message ?? String(error)}`);
  }
  checkExports(instance.exports, source);
  const core = new Core(instance.exports as unknown as CoreExports, simd);
  if (options.setDefault ?? true) setDefaultCore(core);
  return core;
}

// A few exports every build has: a module without them is some other program.
const REQUIRED_EXPORTS = ['tensorNew', 'tensorData', 'tableBase', 'argBuffer', 'backward', 'endStep'] as const;

function checkExports(exports: WebAssembly.Exports, source: WasmSource): void {
  const missing: string[] = REQUIRED_EXPORTS.filter((name) => typeof exports[name] !== 'function');
  if (!(exports['memory'] instanceof WebAssembly.Memory)) missing.unshift('memory');
  if (missing.length > 0) {
    throw new CoreInitError(`${describeSource(source)} is a WebAssembly module but not the NovaRL core: it lacks ${missing.join(', ')}`);
  }
}

function describeSource(source: WasmSource): string {
  if (typeof source === 'string' || source instanceof URL) return String(source);
  if (source instanceof WebAssembly.Module) return 'the WebAssembly.Module given';
  if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) return `the ${source.byteLength} bytes given`;
  return 'the source given';
}

// The core has no imports, hence the empty import object everywhere.
async function instantiate(source: WasmSource, platform: WasmPlatform): Promise<WebAssembly.Instance> {
  if (source instanceof WebAssembly.Module) return WebAssembly.instantiate(source, {});
  if (typeof Response !== 'undefined' && source instanceof Response) return instantiateResponse(source, String(source.url || 'a Response'));
  if (source instanceof URL || typeof source === 'string') {
    const url = source instanceof URL ? source : new URL(source);
    if (url.protocol === 'file:') {
      if (!platform.readFile) {
        throw new CoreInitError(`cannot read ${url} here (no file system): pass the .wasm as bytes, a Response or a WebAssembly.Module`);
      }
      return (await WebAssembly.instantiate(await platform.readFile(url), {})).instance;
    }
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new CoreInitError(`could not fetch the NovaRL core from ${url}: ${(error as Error).message}`);
    }
    return instantiateResponse(response, String(url));
  }
  return (await WebAssembly.instantiate(source as BufferSource, {})).instance;
}

/** Streams the compile when the server says application/wasm; any other MIME type makes
 *  instantiateStreaming reject, so then the body is read whole instead. */
async function instantiateResponse(response: Response, where: string): Promise<WebAssembly.Instance> {
  if (!response.ok) throw new CoreInitError(`could not fetch the NovaRL core from ${where}: HTTP ${response.status}`);
  const mime = (response.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (mime === 'application/wasm' && typeof WebAssembly.instantiateStreaming === 'function') {
    return (await WebAssembly.instantiateStreaming(response, {})).instance;
  }
  return (await WebAssembly.instantiate(await response.arrayBuffer(), {})).instance;
}
