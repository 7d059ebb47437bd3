// Two bundles with the same API, differing only in how init() obtains the .wasm (docs/architecture.md, "Packaging"):
//   dist/index.js          node, bun, deno: reads dist/novarl.*.wasm with node:fs
//   dist/index.browser.js  browsers, bundlers, workerd, anything else: fetches the .wasm or takes
//                          a WebAssembly.Module; no node: import at all (tests/runtimes.test.ts)
// Each bundle is self-contained (no shared chunks), so an import map or a workerd config names
// one file. One .d.ts serves both.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';
import type { Plugin } from 'esbuild';

// The two configs below build in parallel, so dist/ is emptied once, here, not by each.
rmSync('dist', { recursive: true, force: true });

// A few file-system helpers (saveCheckpoint, JsonlSink.open, PreferenceDataset.load) import
// node:fs on first use and turn a failed import into a typed error. In the browser bundle those
// imports resolve to a module that throws, so bundlers (which refuse node: specifiers when
// targeting browsers) and workerd never see a node: import, and the helpers report "needs a
// file system" exactly as before.
const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'no-node-builtins' }));
    build.onLoad({ filter: /.*/, namespace: 'no-node-builtins' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not available in NovaRL's browser/workerd build`)});`,
      loader: 'js',
    }));
  },
};

const shared: Options = {
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  removeNodeProtocol: false,
  splitting: false,
  treeshake: true,
  sourcemap: true,
  clean: false,
};

export default defineConfig([
  {
    ...shared,
    entry: { index: 'sdk/index.ts' },
    dts: true,
    // gpu.js is an optional peer dependency, imported lazily by kernels/gpujs.ts
    external: ['node:fs/promises', 'node:fs', 'node:path', 'node:url', 'gpu.js'],
    async onSuccess() {
      mkdirSync('dist', { recursive: true });
      for (const flavour of ['simd', 'scalar']) {
        copyFileSync(`build/novarl.${flavour}.wasm`, `dist/novarl.${flavour}.wasm`);
      }
    },
  },
  {
    ...shared,
    entry: { 'index.browser': 'sdk/index.browser.ts' },
    external: ['gpu.js'],
    esbuildPlugins: [noNodeBuiltins],
  },
]);
