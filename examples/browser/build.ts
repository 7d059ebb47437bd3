// Bundles the playground into examples/browser/dist/: main.js (the page), train_worker.js (the
// Web Worker, with the SDK), the GPT page's gpt_main.js and gpt_worker.js, and the two .wasm
// builds of the core, copied from build/. The GPT page's corpus (gpt_corpus.ts) is read here and
// baked into the bundles as the constant GPT_CORPUS, so that page fetches no text at run time.
// The RLHF page's model (examples/data/tiny_gpt_files.ts: checkpoints/tiny-gpt when present, else
// a small fallback pretrained here) goes to dist/tiny-gpt/ with a files.json listing its files.
// node:* modules stay external: the SDK imports them only inside functions that touch the file
// system (checkpoint saving, file datasets), which the playground never calls.

import { copyFile, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { readTinyGptFiles } from '../data/tiny_gpt_files';
import { readGptCorpus } from './gpt_corpus';

export const PLAYGROUND_DIR = fileURLToPath(new URL('.', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = `${PLAYGROUND_DIR}dist`;

export async function buildPlayground(): Promise<void> {
  const wasm = ['simd', 'scalar'].map((flavour) => `novarl.${flavour}.wasm`);
  for (const file of wasm) {
    try {
      await stat(`${ROOT}build/${file}`);
    } catch {
      throw new Error(`build/${file} is missing: run \`npm run build:wasm\` first`);
    }
  }
  await build({
    entryPoints: {
      main: `${PLAYGROUND_DIR}src/main.ts`,
      train_worker: `${PLAYGROUND_DIR}src/train_worker.ts`,
      gpt_main: `${PLAYGROUND_DIR}src/gpt_main.ts`,
      gpt_worker: `${PLAYGROUND_DIR}src/gpt_worker.ts`,
      rlhf_main: `${PLAYGROUND_DIR}src/rlhf_main.ts`,
      rlhf_worker: `${PLAYGROUND_DIR}src/rlhf_worker.ts`,
    },
    define: { GPT_CORPUS: JSON.stringify(await readGptCorpus()) },
    outdir: DIST,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    external: ['node:*'],
    logLevel: 'warning',
    // the sentiment package's require('../languages/' + code) for languages other than English,
    // which it loads statically and which is the only one the RLHF page uses
    logOverride: { 'empty-glob': 'silent' },
  });
  await mkdir(DIST, { recursive: true });
  for (const file of wasm) await copyFile(`${ROOT}build/${file}`, `${DIST}/${file}`);
  const model = await readTinyGptFiles();
  await mkdir(`${DIST}/tiny-gpt`, { recursive: true });
  const files = { ...model.files, 'files.json': new TextEncoder().encode(`${JSON.stringify({ source: model.source, files: Object.keys(model.files) })}\n`) };
  // each file written beside and renamed into place: a page already served (another test's
  // build running meanwhile) never reads a half-written model
  for (const [name, bytes] of Object.entries(files)) {
    const temporary = `${DIST}/tiny-gpt/.${name}.${process.pid}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, `${DIST}/tiny-gpt/${name}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildPlayground();
  console.log(`built ${DIST}`);
}
