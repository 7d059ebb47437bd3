// The tfjs peer's setup, shared by every benchmark that runs one: the WebAssembly backend on one
// thread, its .wasm read from node_modules (nothing downloads).

import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';

/** Selects tfjs-backend-wasm with one thread; returns a one-line description of what was loaded. */
export async function initTfjsWasm(): Promise<string> {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(dist + path.sep);
  setThreadsCount(1); // tfjs runs one thread in Node anyway; this makes it explicit
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
  await tf.ready();
  if (tf.getBackend() !== 'wasm') throw new Error(`tfjs: backend is ${tf.getBackend()}, expected wasm`);
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return `tfjs-backend-wasm ${version_wasm} (XNNPACK, ${simd ? 'SIMD' : 'no SIMD'}, ${getThreadsCount()} thread)`;
}
