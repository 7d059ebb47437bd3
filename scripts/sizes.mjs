// Prints the sizes the README reports: each .wasm flavour, each SDK bundle and each bundle of the
// GPU plug-in (novarl/gpu), the sentiment reward (novarl/sentiment, with the sentiment package's
// word list) and the server (novarl/serve, and the novarl bin; all import the SDK bundle rather than containing it) in dist/, raw
// and gzipped (zlib level 9, as `gzip -9`), plus the browser bundle minified (esbuild) and
// gzipped, which is about what an app's bundler ships before tree-shaking. Run after `npm run build`:
//   npm run sizes

import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const files = ['novarl.simd.wasm', 'novarl.scalar.wasm', 'index.js', 'index.browser.js', 'gpu.js', 'gpu.browser.js', 'sentiment.js', 'sentiment.browser.js', 'serve.js', 'serve.browser.js', 'cli.js'];

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;

const rows = [];
for (const file of files) {
  const path = dist + file;
  if (!existsSync(path)) {
    console.error(`dist/${file} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
  const bytes = readFileSync(path);
  rows.push([`dist/${file}`, bytes.length, gzip(bytes)]);
}

const { transform } = await import('esbuild');
const minified = await transform(readFileSync(dist + 'index.browser.js', 'utf8'), { minify: true, format: 'esm', target: 'es2022' });
rows.push(['dist/index.browser.js, minified', minified.code.length, gzip(Buffer.from(minified.code))]);

const width = Math.max(...rows.map(([name]) => name.length));
console.log(`${'file'.padEnd(width)}  ${'raw'.padStart(10)}  ${'gzip -9'.padStart(10)}`);
for (const [name, raw, gz] of rows) console.log(`${name.padEnd(width)}  ${kb(raw).padStart(10)}  ${kb(gz).padStart(10)}`);
