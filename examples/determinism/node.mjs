// Node, Bun and Deno (deno run --allow-read): 'novarl' resolves through package.json's exports
// (a package self-reference) to dist/index.js, which reads the .wasm from disk.
//   node examples/determinism/node.mjs | bun examples/determinism/node.mjs
//   deno run --allow-read examples/determinism/node.mjs
import { runBoth } from './train.mjs';

const runtime = typeof Deno !== 'undefined' ? 'deno' : typeof Bun !== 'undefined' ? 'bun' : 'node';
console.log(await runBoth(runtime));
