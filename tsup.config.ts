// Two bundles with the same API, differing only in how init() obtains the .wasm (docs/architecture.md, "Packaging"):
//   dist/index.js          node, bun, deno: reads dist/novarl.*.wasm with node:fs
//   dist/index.browser.js  browsers, bundlers, workerd, anything else: fetches the .wasm or takes
//                          a WebAssembly.Module; no node: import at all (tests/runtimes.test.ts)
// Each bundle is self-contained (no shared chunks), so an import map or a workerd config names
// one file. dist/index.d.ts types both.
//
// The GPU plug-in (kernels/, the subpath `novarl/gpu`) has the same two flavours, dist/gpu.js and
// dist/gpu.browser.js (NovaRL's GPU code, not the gpu.js library, which stays external), typed by
// dist/gpu.d.ts. They are not self-contained: each imports the main bundle of its own flavour, so
// an app that imports 'novarl' and 'novarl/gpu' holds one SDK (one Core, one Tensor class).
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
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

// kernels/ may import the SDK only through its public entry (docs/architecture.md, "Layers"). In
// the plug-in's bundles that import becomes the main bundle, external; any deeper import into
// sdk/ would bundle a second copy of the SDK, so it fails the build.
function sdkAsExternal(mainBundle: string): Plugin {
  const publicEntry = resolve('sdk/index');
  return {
    name: 'sdk-as-external',
    setup(build) {
      build.onResolve({ filter: /(^|\/)sdk(\/|$)/ }, (args) => {
        const target = resolve(args.resolveDir, args.path).replace(/\.ts$/, '');
        if (target === publicEntry) return { path: mainBundle, external: true };
        return { errors: [{ text: `${args.importer} imports ${args.path}: the GPU plug-in may import only the SDK's public entry, sdk/index.ts` }] };
      });
    },
  };
}

// A module bundled on its own (novarl/sentiment; the server: sdk/serve/, the subpath
// `novarl/serve` and the `novarl` bin) imports the SDK only through its public entry, which
// becomes the main bundle of its flavour, external: one SDK per app (one ValueError class; the GPT
// a user passes to createServeApp is the app's own GPT class). `externals` maps those sources
// to their bundles (the CLI also imports the server's Node bundle); relative imports inside
// `ownDir` are bundled; any other SDK import is a build error naming `what`.
function publicEntriesAsExternal(what: string, externals: Record<string, string>, ownDir?: string): Plugin {
  const mapped = new Map(Object.entries(externals).map(([source, bundle]) => [resolve(source), bundle]));
  const sdkDir = resolve('sdk');
  const ownRoot = ownDir === undefined ? undefined : resolve(ownDir);
  return {
    name: 'public-entries-as-external',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.kind === 'entry-point' || !args.importer.startsWith(sdkDir)) return undefined;
        const target = resolve(args.resolveDir, args.path).replace(/\.ts$/, '');
        const bundle = mapped.get(target);
        if (bundle) return { path: bundle, external: true };
        if (ownRoot !== undefined && target.startsWith(ownRoot)) return undefined;
        return { errors: [{ text: `${args.importer} imports ${args.path}: ${what} may import only the SDK's public entry, sdk/index.ts` }] };
      });
    },
  };
}

// The types of the subpaths novarl/wasm/simd and novarl/wasm/scalar: what workerd (a CompiledWasm
// module rule) and wrangler give for an imported .wasm, the value init({ source }) takes there.
const WASM_DECLARATION = `// The core as a compiled module: what workerd and wrangler give for an imported .wasm.
// Pass it to init({ source }). Other runtimes load dist/*.wasm themselves (init() without source).
declare const core: WebAssembly.Module;
export default core;
`;

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
    // One rollup run for both declaration files, so dist/gpu.d.ts imports the SDK's types from
    // ./index.js instead of declaring a second Tensor class.
    dts: { entry: { index: 'sdk/index.ts', gpu: 'kernels/index.ts', serve: 'sdk/serve/index.ts' } },
    external: ['node:fs/promises', 'node:fs', 'node:path', 'node:url'],
    async onSuccess() {
      mkdirSync('dist', { recursive: true });
      for (const flavour of ['simd', 'scalar']) {
        copyFileSync(`build/novarl.${flavour}.wasm`, `dist/novarl.${flavour}.wasm`);
      }
      writeFileSync('dist/wasm.d.ts', WASM_DECLARATION);
    },
  },
  {
    ...shared,
    entry: { 'index.browser': 'sdk/index.browser.ts' },
    esbuildPlugins: [noNodeBuiltins],
  },
  // The sentiment reward, 'novarl/sentiment', in the same two flavours as the GPU plug-in (each
  // imports its own main bundle, so its ValueError is the SDK's), with the `sentiment` package
  // (MIT, pure JavaScript, no node: import) bundled in: installing NovaRL pulls no runtime dependency.
  ...(['sentiment', 'sentiment.browser'] as const).map((name) => ({
    ...shared,
    entry: { [name]: 'sdk/rewards/sentiment.ts' },
    noExternal: ['sentiment'],
    // Its own declaration file: it only names interfaces (NamedRewardFunction), so a structural copy is the same type.
    ...(name === 'sentiment' ? { dts: { entry: { sentiment: 'sdk/rewards/sentiment.ts' } } } : {}),
    esbuildOptions(options: { mainFields?: string[] }) {
      options.mainFields = ['module', 'main']; // platform 'neutral' reads no main field; sentiment has only "main"
    },
    esbuildPlugins: [publicEntriesAsExternal('a subpath entry', { 'sdk/index': name === 'sentiment' ? './index.js' : './index.browser.js' })],
  })),
  // The GPU plug-in. gpu.js is an optional peer dependency, imported lazily by kernels/gpujs.ts.
  {
    ...shared,
    entry: { gpu: 'kernels/index.ts' },
    external: ['gpu.js'],
    esbuildPlugins: [sdkAsExternal('./index.js')],
  },
  {
    ...shared,
    entry: { 'gpu.browser': 'kernels/index.ts' },
    external: ['gpu.js'],
    esbuildPlugins: [sdkAsExternal('./index.browser.js')],
  },
  // The server: novarl/serve for Node, Bun and Deno (with serveNode), and for browsers and workerd.
  {
    ...shared,
    entry: { serve: 'sdk/serve/index.ts' },
    external: ['hono', '@hono/node-server'],
    esbuildPlugins: [publicEntriesAsExternal('the server', { 'sdk/index': './index.js' }, 'sdk/serve')],
  },
  {
    ...shared,
    entry: { 'serve.browser': 'sdk/serve/index.browser.ts' },
    external: ['hono'],
    esbuildPlugins: [publicEntriesAsExternal('the server', { 'sdk/index': './index.browser.js' }, 'sdk/serve')],
  },
  // `novarl serve <dir>`: package.json "bin"
  {
    ...shared,
    entry: { cli: 'sdk/serve/cli.ts' },
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    external: ['node:process'],
    esbuildPlugins: [publicEntriesAsExternal('the server', { 'sdk/index': './index.js', 'sdk/serve/index': './serve.js' }, 'sdk/serve')],
  },
]);
