// Bundles the serving worker for workerd into examples/serve-worker/dist/: worker.js (the
// worker, the SDK and hono, one ES module), novarl.simd.wasm, and model/ with the files of the
// Hugging Face directory to serve (default checkpoints/tiny-gpt; `--model DIR` for another GPT
// with the same files). Those stay imports of './novarl.simd.wasm' and './model/...', which
// config.capnp declares as a wasm, a data and text modules.
//
//   npm run build:wasm && npx tsx examples/serve-worker/build.ts [--model DIR]
//   node_modules/.bin/workerd serve examples/serve-worker/config.capnp    # http://127.0.0.1:8788

import { copyFile, mkdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const SERVE_WORKER_DIR = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = `${SERVE_WORKER_DIR}dist`;
const WASM = 'novarl.simd.wasm';
/** The model files config.capnp embeds. */
export const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

export async function buildServeWorker(modelDir = `${ROOT}checkpoints/tiny-gpt`): Promise<void> {
  try {
    await stat(`${ROOT}build/${WASM}`);
  } catch {
    throw new Error(`build/${WASM} is missing: run \`npm run build:wasm\` first`);
  }
  await build({
    entryPoints: { worker: `${SERVE_WORKER_DIR}src/worker.ts` },
    outdir: DIST,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    // node:* only appear in SDK functions that touch a file system, never called here
    external: ['node:*'],
    plugins: [
      {
        name: 'workerd-modules',
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, () => ({ path: `./${WASM}`, external: true }));
          b.onResolve({ filter: /^\.\/model\// }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
    logLevel: 'warning',
  });
  await mkdir(`${DIST}/model`, { recursive: true });
  await copyFile(`${ROOT}build/${WASM}`, `${DIST}/${WASM}`);
  for (const file of MODEL_FILES) await copyFile(`${modelDir}/${file}`, `${DIST}/model/${file}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--model');
  await buildServeWorker(at > 0 ? process.argv[at + 1] : undefined);
  console.log(`built ${DIST}`);
}
