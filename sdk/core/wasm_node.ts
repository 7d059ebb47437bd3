// Loading the core on Node, Bun and Deno (Deno needs --allow-read): the .wasm is read from disk
// next to this module: dist/ when bundled, build/ when running the TypeScript sources.
// node:fs is imported on first use, so this file also loads where there is none (the sources
// served to a browser fall through to fetch); the browser/workerd bundles use wasm_web.ts.

import type { Core } from './core';
import { CoreInitError } from './errors';
import { loadCore, type InitOptions, type WasmPlatform, type WasmSource } from './wasm';

/** Loads a core (the SIMD build where supported) and, by default, makes it the default core. */
export function init(options: InitOptions = {}): Promise<Core> {
  return loadCore(nodePlatform, options);
}

const nodePlatform: WasmPlatform = {
  async defaultSource(simd: boolean): Promise<WasmSource> {
    const file = `novarl.${simd ? 'simd' : 'scalar'}.wasm`;
    const candidates = [new URL(`./${file}`, import.meta.url), new URL(`../../build/${file}`, import.meta.url)];
    if (candidates[0]!.protocol !== 'file:') return candidates[0]!;
    for (const url of candidates) {
      try {
        return await readFileBytes(url);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ENOENT') throw fileError(url, error);
      }
    }
    throw new CoreInitError(`could not find ${file} next to the NovaRL SDK (looked in ${candidates.join(', ')}); run \`npm run build\``);
  },
  readFile: readFileBytes,
};

async function readFileBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  const fs = await import('node:fs/promises');
  const bytes = await fs.readFile(url);
  return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

// Deno without --allow-read lands here (NotCapable / PermissionDenied), not at "not found".
function fileError(url: URL, error: unknown): CoreInitError {
  const hint = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? ' (Deno: run with --allow-read)' : '';
  return new CoreInitError(`could not read ${url}${hint}: ${(error as Error).message}`);
}
