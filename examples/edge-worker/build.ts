// Bundles the edge worker for workerd into examples/edge-worker/dist/: worker.js (the worker and
// the SDK, one ES module) and novarl.simd.wasm beside it. The worker's `import ... from
// '.../novarl.simd.wasm'` stays an import of './novarl.simd.wasm', which config.capnp declares
// as a wasm module: workerd compiles it at startup and hands the worker a WebAssembly.Module
// (it refuses WebAssembly.instantiate on bytes at run time). The tiny GPT's Hugging Face files
// (examples/data/tiny_gpt_files.ts: checkpoints/tiny-gpt, or a small fallback pretrained here)
// are packed into tiny-gpt.bin (src/model_files.ts), which config.capnp embeds as a data module.

import { copyFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { readTinyGptFiles, type TinyGptFiles } from '../data/tiny_gpt_files';
import { packModelFiles } from './src/model_files';

export const EDGE_WORKER_DIR = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = `${EDGE_WORKER_DIR}dist`;
const WASM = 'novarl.simd.wasm';
const MODEL = 'tiny-gpt.bin';

/** Builds dist/; returns where the embedded model came from. */
export async function buildEdgeWorker(): Promise<TinyGptFiles['source']> {
  try {
    await stat(`${ROOT}build/${WASM}`);
  } catch {
    throw new Error(`build/${WASM} is missing: run \`npm run build:wasm\` first`);
  }
  await build({
    entryPoints: { worker: `${EDGE_WORKER_DIR}src/worker.ts` },
    outdir: DIST,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    // node:* only appear in SDK functions that touch a file system, never called here
    external: ['node:*'],
    plugins: [
      {
        name: 'wasm-module-import',
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, () => ({ path: `./${WASM}`, external: true }));
          b.onResolve({ filter: /\.bin$/ }, () => ({ path: `./${MODEL}`, external: true }));
        },
      },
    ],
    logLevel: 'warning',
  });
  await mkdir(DIST, { recursive: true });
  await copyFile(`${ROOT}build/${WASM}`, `${DIST}/${WASM}`);
  const model = await readTinyGptFiles();
  await writeFile(`${DIST}/${MODEL}`, packModelFiles(model.files));
  return model.source;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const source = await buildEdgeWorker();
  console.log(`built ${DIST} (model: ${source})`);
}
