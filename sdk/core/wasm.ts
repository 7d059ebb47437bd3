// Loading the core: picks the SIMD build when the engine validates SIMD, else the scalar one,
// and instantiates it from whatever the runtime allows (bytes read from disk, a fetch, or a
// precompiled WebAssembly.Module as on workerd).

import { Core, setDefaultCore } from './core';
import { CoreInitError } from './errors';
import type { CoreExports } from './exports';

/** Where the .wasm comes from. Bytes, a compiled module, a Response or a URL to fetch. */
export type WasmSource = BufferSource | WebAssembly.Module | Response | URL | string;

export interface InitOptions {
  /** true: SIMD build, false: scalar build, undefined: SIMD when the engine supports it. */
  simd?: boolean;
  /** The .wasm to use; by default it is found next to this module. */
  source?: WasmSource;
  /** Make this core the default for tensors and modules (default true). */
  setDefault?: boolean;
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

/** Loads a core and (by default) makes it the default one. */
export async function init(options: InitOptions = {}): Promise<Core> {
  const simd = options.simd ?? simdSupported();
  const source = options.source ?? (await defaultSource(simd));
  const module = await compile(source);
  const instance = await WebAssembly.instantiate(module, {});
  const core = new Core(instance.exports as unknown as CoreExports, simd);
  if (options.setDefault ?? true) setDefaultCore(core);
  return core;
}

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (typeof Response !== 'undefined' && source instanceof Response) {
    return WebAssembly.compile(await source.arrayBuffer());
  }
  if (source instanceof URL || typeof source === 'string') {
    const url = source instanceof URL ? source : new URL(source);
    if (url.protocol === 'file:') return WebAssembly.compile(await readFileBytes(url));
    const response = await fetch(url);
    if (!response.ok) throw new CoreInitError(`could not fetch the NovaRL core from ${url}: HTTP ${response.status}`);
    return WebAssembly.compile(await response.arrayBuffer());
  }
  return WebAssembly.compile(source as BufferSource);
}

/** The build next to this module: dist/ when bundled, build/ when running the sources. */
async function defaultSource(simd: boolean): Promise<URL | BufferSource> {
  const file = `novarl.${simd ? 'simd' : 'scalar'}.wasm`;
  const candidates = [new URL(`./${file}`, import.meta.url), new URL(`../../build/${file}`, import.meta.url)];
  if (candidates[0]!.protocol !== 'file:') return candidates[0]!;
  for (const url of candidates) {
    try {
      return await readFileBytes(url);
    } catch {
      // try the next location
    }
  }
  throw new CoreInitError(`could not find ${file} next to the NovaRL SDK (looked in ${candidates.join(', ')}); run \`npm run build\``);
}

async function readFileBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  const fs = await import('node:fs/promises');
  const bytes = await fs.readFile(url);
  return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}
