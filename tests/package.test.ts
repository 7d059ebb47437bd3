// The package as a user gets it from npm (docs/architecture.md, "Packaging"): the tarball that
// `npm pack` builds from dist/, linted by publint and @arethetypeswrong/cli, installed into a
// fresh project, and imported by its entry points (main and `novarl/gpu`) from Node, from
// TypeScript and from a bundler. It checks the built files, so `npm test` builds first.
//
// Also the layering the package promises: the GPU plug-in (kernels/) sits on top of the SDK's
// public entry, and nothing of it is in the main bundles.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'node_modules/.bin');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; exports: Record<string, unknown> };
const TIMEOUT_MS = 120_000;

/** Runs a command to completion; the result carries stdout, stderr and the exit status. */
function sh(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  if (result.error) throw result.error;
  return { status: result.status, out: result.stdout, err: result.stderr, all: `${result.stdout}\n${result.stderr}` };
}

let work = ''; // a temp dir outside the repository, so nothing resolves through the repo's node_modules
let tarball = '';
let packed: { files: { path: string; size: number }[]; size: number; unpackedSize: number };

beforeAll(() => {
  for (const file of ['index.js', 'index.browser.js', 'gpu.js', 'gpu.browser.js', 'index.d.ts', 'gpu.d.ts']) {
    if (!existsSync(join(ROOT, 'dist', file))) throw new Error(`dist/${file} is missing: run \`npm run build\` first`);
  }
  work = mkdtempSync(join(tmpdir(), 'novarl-package-'));
  // --ignore-scripts: `prepare` would rebuild dist/, which pretest has just done.
  const pack = sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], ROOT);
  expect(pack.status, pack.all).toBe(0);
  [packed] = JSON.parse(pack.out) as (typeof packed & { filename: string })[];
  tarball = join(work, `${PKG.name}-${PKG.version}.tgz`);
  expect(existsSync(tarball)).toBe(true);
}, TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships dist/, the README and the LICENSE, and nothing from the source tree', () => {
    const paths = packed.files.map((f) => f.path).sort();
    expect(paths).toContain('LICENSE');
    expect(paths).toContain('README.md');
    expect(paths).toContain('package.json');
    for (const file of ['index.js', 'index.browser.js', 'index.d.ts', 'gpu.js', 'gpu.browser.js', 'gpu.d.ts', 'sentiment.js', 'sentiment.browser.js', 'sentiment.d.ts', 'wasm.d.ts', 'novarl.simd.wasm', 'novarl.scalar.wasm']) {
      expect(paths).toContain(`dist/${file}`);
    }
    const outside = paths.filter((p) => !p.startsWith('dist/') && !['LICENSE', 'README.md', 'package.json'].includes(p));
    expect(outside).toEqual([]);
    console.log(`npm pack: ${paths.length} files, ${(packed.size / 1024).toFixed(1)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked`);
  });

  it('passes publint, warnings counted as errors', () => {
    const lint = sh(join(BIN, 'publint'), ['run', tarball, '--strict'], work);
    expect(lint.status, lint.all).toBe(0);
    expect(lint.out).toContain('All good!'); // no suggestions either
  }, TIMEOUT_MS);

  it('passes @arethetypeswrong/cli for every export and subpath', () => {
    // NovaRL is ESM only ("type": "module", no CommonJS build), so the esm-only profile: it
    // skips node10 resolution (pre-exports TypeScript, which cannot see subpaths at all) and
    // CommonJS callers under node16 (they reach the package through import(), as attw says).
    // Everything else, node16 from ESM and bundler resolution, must be clean.
    const attw = sh(join(BIN, 'attw'), [tarball, '--profile', 'esm-only', '--format', 'json', '--no-definitely-typed'], work);
    expect(attw.status, attw.all).toBe(0);
    const report = JSON.parse(attw.out) as {
      analysis: { entrypoints: Record<string, unknown>; problems: { kind: string; entrypoint: string; resolutionKind: string }[] };
    };
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(Object.keys(PKG.exports).sort());
    const counted = report.analysis.problems.filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs');
    expect(counted).toEqual([]);
  }, TIMEOUT_MS);
});

describe('installed into a fresh project', () => {
  let project = '';

  beforeAll(() => {
    project = join(work, 'app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // The dependencies (hono, @hono/node-server: the server's) come from npm's cache, so this
    // needs no registry; gpu.js is an optional peer.
    const install = sh('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], project);
    expect(install.status, install.all).toBe(0);
    expect(existsSync(join(project, 'node_modules/novarl/dist/gpu.js'))).toBe(true);
    expect(existsSync(join(project, 'node_modules/gpu.js'))).toBe(false); // an optional peer: not installed
    // What each runtime runs: both entries, one matmul through the plug-in, a forced GPU without gpu.js.
    writeFileSync(
      join(project, 'check.mjs'),
      `import * as novarl from 'novarl';
import * as gpu from 'novarl/gpu';
await novarl.init();
const a = novarl.Tensor.from([1, 2, 3, 4], [2, 2]);
const b = novarl.Tensor.from([5, 6, 7, 8], [2, 2]);
const dispatcher = await gpu.GpuDispatcher.create({ device: 'auto' });
const product = dispatcher.matmul(a, b);
let forced = null;
try {
  await gpu.GpuDispatcher.create({ device: 'gpu' });
} catch (error) {
  forced = { name: error.name, backend: error.backend, isNovaRLError: error instanceof novarl.NovaRLError };
}
console.log(JSON.stringify({
  resolved: [import.meta.resolve('novarl'), import.meta.resolve('novarl/gpu')],
  shared: Object.keys(gpu).filter((name) => name in novarl),
  mainHasDispatcher: 'GpuDispatcher' in novarl,
  product: Array.from(product.toArray()),
  productIsMainTensor: product instanceof novarl.Tensor,
  usesDefaultCore: dispatcher.core === novarl.defaultCore(),
  backend: dispatcher.backend.name,
  forced,
}));
`,
    );
  }, TIMEOUT_MS);

  it("imports 'novarl' and 'novarl/gpu' under Node: one SDK, gpu.js loaded only when asked for", () => {
    expectOneSdk(sh(process.execPath, ['check.mjs'], project));
  }, TIMEOUT_MS);

  // The same script under Bun and Deno (devDependencies; skipped where the binary does not run).
  for (const runtime of ['bun', 'deno'] as const) {
    it(`the same under ${runtime}`, ({ skip }) => {
      const binary = join(BIN, runtime);
      if (sh(binary, ['--version'], project).status !== 0) return skip(`${runtime} does not run here`);
      expectOneSdk(sh(binary, runtime === 'deno' ? ['run', '--allow-read', 'check.mjs'] : ['check.mjs'], project));
    }, TIMEOUT_MS);
  }

  it("serves with 'novarl/serve' on the app's own SDK, and installs the novarl bin", () => {
    writeFileSync(
      join(project, 'serve.mjs'),
      `import * as novarl from 'novarl';
import { createServeApp } from 'novarl/serve';
const core = await novarl.init({ setDefault: false });
const tokenizer = novarl.Tokenizer.train('the cat sat on the mat. the dog sat on the log.', { vocabSize: 270 });
const model = new novarl.GPT({ vocabSize: tokenizer.vocabSize, nPositions: 16, nLayer: 1, nHead: 1, nEmbd: 8 }, { core });
const app = createServeApp({ model, tokenizer, modelName: 'm' });
const post = (body) => app.fetch(new Request('http://local/v1/completions', { method: 'POST', body: JSON.stringify(body) }));
const ok = await (await post({ prompt: 'the cat', max_tokens: 3, seed: 1, return_token_ids: true })).json();
const bad = await post({ prompt: 'the cat', max_tokens: 0 });
console.log(JSON.stringify({ resolved: import.meta.resolve('novarl/serve'), health: await (await app.fetch(new Request('http://local/health'))).json(), tokens: ok.choices[0].token_ids.length, bad: bad.status }));
app.close();
`,
    );
    const run = sh(process.execPath, ['serve.mjs'], project);
    expect(run.status, run.all).toBe(0);
    const seen = JSON.parse(run.out.trim().split('\n').pop()!);
    expect(relative(project, fileURLToPath(seen.resolved))).toBe('node_modules/novarl/dist/serve.js');
    expect(seen).toMatchObject({ health: { status: 'ok', model: 'm', weights_version: 0 }, tokens: 3, bad: 400 });
    const bin = sh(join(project, 'node_modules/.bin/novarl'), ['serve'], project);
    expect(bin.status, bin.all).toBe(2);
    expect(bin.err).toMatch(/usage: novarl serve <hf-dir>/);
  }, TIMEOUT_MS);

  /** What check.mjs printed: both entries resolved in the installed package, sharing one SDK. */
  function expectOneSdk(run: ReturnType<typeof sh>): void {
    expect(run.status, run.all).toBe(0);
    const seen = JSON.parse(run.out.trim().split('\n').pop()!);
    expect(seen.resolved.map((url: string) => relative(project, fileURLToPath(url)))).toEqual(['node_modules/novarl/dist/index.js', 'node_modules/novarl/dist/gpu.js']);
    expect(seen.shared).toEqual([]); // the plug-in re-exports nothing of the SDK
    expect(seen.mainHasDispatcher).toBe(false);
    expect(seen.product).toEqual([19, 22, 43, 50]);
    // The plug-in imports the main bundle, so its results are the app's Tensor class on the app's core.
    expect(seen.productIsMainTensor).toBe(true);
    expect(seen.usesDefaultCore).toBe(true);
    expect(seen.backend).toBe('none'); // gpu.js is absent: auto stays on the core
    expect(seen.forced).toEqual({ name: 'GpuUnavailableError', backend: 'none', isNovaRLError: true });
  }

  it('type-checks a TypeScript consumer under node16 and bundler resolution', () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { init, Tensor, NovaRLError } from 'novarl';
import { GpuDispatcher, GpuUnavailableError, type Device } from 'novarl/gpu';
import simd from 'novarl/wasm/simd';
// @ts-expect-error the main entry carries no GPU code
import { GpuDispatcher as NotInMain } from 'novarl';

export async function main(device: Device): Promise<number> {
  await init({ source: simd satisfies WebAssembly.Module });
  const dispatcher = await GpuDispatcher.create({ device });
  // The plug-in's Tensor is the main entry's: one declaration, not two look-alike classes.
  const product: Tensor = dispatcher.matmul(Tensor.from([2], [1, 1]), Tensor.from([3], [1, 1]));
  const error: NovaRLError = new GpuUnavailableError('no GPU here', 'none');
  return product.toArray()[0]! + error.message.length + (NotInMain === undefined ? 0 : 1);
}
`,
    );
    for (const [module, resolution] of [
      ['node16', 'node16'],
      ['esnext', 'bundler'],
    ]) {
      const tsc = sh(process.execPath, [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        'consumer.ts', '--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2022,dom',
        '--module', module, '--moduleResolution', resolution, '--skipLibCheck', 'false',
      ], project);
      expect(tsc.status, `${resolution}: ${tsc.all}`).toBe(0);
    }
  }, TIMEOUT_MS);

  it('bundles the flavour of each platform, the plug-in with the same SDK bundle as the app', async () => {
    const { build } = await import('esbuild');
    writeFileSync(join(project, 'app.mjs'), "export { init } from 'novarl';\nexport { GpuDispatcher } from 'novarl/gpu';\n");
    const bundled = async (platform: 'browser' | 'node') => {
      const result = await build({
        entryPoints: [join(project, 'app.mjs')],
        absWorkingDir: project,
        bundle: true,
        format: 'esm',
        platform,
        write: false,
        metafile: true,
        external: ['gpu.js'], // the optional peer stays the app's choice
        logLevel: 'silent',
      });
      return Object.keys(result.metafile.inputs).filter((path) => path.startsWith('node_modules/novarl/')).sort();
    };
    expect(await bundled('browser')).toEqual(['node_modules/novarl/dist/gpu.browser.js', 'node_modules/novarl/dist/index.browser.js']);
    expect(await bundled('node')).toEqual(['node_modules/novarl/dist/gpu.js', 'node_modules/novarl/dist/index.js']);
  }, TIMEOUT_MS);

  // The sentiment reward subpath: the `sentiment` package bundled into it (nothing to install),
  // importing the app's own SDK bundle, so its errors are the SDK's.
  it("imports 'novarl/sentiment' under Node, Bun and Deno with the sentiment package bundled in", () => {
    expect(existsSync(join(project, 'node_modules/sentiment'))).toBe(false);
    writeFileSync(
      join(project, 'sentiment.mjs'),
      `import { ValueError } from 'novarl';
import { sentimentReward, sentimentScore } from 'novarl/sentiment';
let sameError = false;
try { sentimentReward({ measure: 'mean' }); } catch (error) { sameError = error instanceof ValueError; }
console.log(JSON.stringify({ resolved: import.meta.resolve('novarl/sentiment'), score: sentimentScore('Cats are stupid.', 'score'), rewards: sentimentReward().fn(['p', 'p'], ['I love cats, but I am allergic to them.', '']), sameError }));
`,
    );
    for (const runtime of ['node', 'bun', 'deno'] as const) {
      const binary = runtime === 'node' ? process.execPath : join(BIN, runtime);
      if (runtime !== 'node' && sh(binary, ['--version'], project).status !== 0) continue; // that runtime does not run here
      const run = sh(binary, runtime === 'deno' ? ['run', '--allow-read', 'sentiment.mjs'] : ['sentiment.mjs'], project);
      expect(run.status, `${runtime}: ${run.all}`).toBe(0);
      const seen = JSON.parse(run.out.trim().split('\n').pop()!);
      expect(relative(project, fileURLToPath(seen.resolved)), runtime).toBe('node_modules/novarl/dist/sentiment.js');
      expect([seen.score, seen.rewards, seen.sameError], runtime).toEqual([-2, [1 / 9, 0], true]);
    }
  }, TIMEOUT_MS);

  it("bundles 'novarl/sentiment' in the flavour of each platform, beside the same SDK bundle", async () => {
    const { build } = await import('esbuild');
    writeFileSync(join(project, 'sentiment_app.mjs'), "export { init } from 'novarl';\nexport { sentimentReward } from 'novarl/sentiment';\n");
    const bundled = async (platform: 'browser' | 'node') => {
      const result = await build({ entryPoints: [join(project, 'sentiment_app.mjs')], absWorkingDir: project, bundle: true, format: 'esm', platform, write: false, metafile: true, logLevel: 'silent' });
      return Object.keys(result.metafile.inputs).filter((path) => path.startsWith('node_modules/novarl/')).sort();
    };
    expect(await bundled('browser')).toEqual(['node_modules/novarl/dist/index.browser.js', 'node_modules/novarl/dist/sentiment.browser.js']);
    expect(await bundled('node')).toEqual(['node_modules/novarl/dist/index.js', 'node_modules/novarl/dist/sentiment.js']);
  }, TIMEOUT_MS);
});

describe('layers: the GPU plug-in on top of the SDK (docs/architecture.md, "Layers")', () => {
  const sources = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => join(dir, file));
  const importsOf = (file: string): string[] =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);

  it('nothing in sdk/ imports kernels/, and kernels/ imports only the SDK public entry', () => {
    const upward = sources('sdk').flatMap((file) => importsOf(file).filter((spec) => spec.includes('kernels')).map((spec) => `${file}: ${spec}`));
    expect(upward).toEqual([]);
    const outside = sources('kernels').flatMap((file) =>
      importsOf(file)
        .filter((spec) => !spec.startsWith('./') && spec !== '../sdk/index' && spec !== 'gpu.js')
        .map((spec) => `${file}: ${spec}`),
    );
    expect(outside).toEqual([]);
  });

  it('the main bundles and their types hold no GPU code; the plug-in bundles import them', () => {
    for (const file of ['index.js', 'index.browser.js', 'index.d.ts']) {
      const text = readFileSync(join(ROOT, 'dist', file), 'utf8');
      for (const word of ['GpuDispatcher', 'createKernel', 'gpu.js']) expect(text.includes(word), `${word} in dist/${file}`).toBe(false);
    }
    expect(readFileSync(join(ROOT, 'dist/gpu.js'), 'utf8')).toMatch(/^import \{[^}]+\} from '\.\/index\.js';/m);
    expect(readFileSync(join(ROOT, 'dist/gpu.browser.js'), 'utf8')).toMatch(/^import \{[^}]+\} from '\.\/index\.browser\.js';/m);
  });

  it('the sentiment word list is only in novarl/sentiment, which imports its own flavour of the main bundle', () => {
    // 'abhorrent' is an AFINN-165 entry (-3): the word list is bundled into the subpath only.
    for (const file of ['index.js', 'index.browser.js']) expect(readFileSync(join(ROOT, 'dist', file), 'utf8').includes('abhorrent'), `the word list in dist/${file}`).toBe(false);
    expect(readFileSync(join(ROOT, 'dist/sentiment.js'), 'utf8')).toMatch(/abhorrent/);
    expect(readFileSync(join(ROOT, 'dist/sentiment.js'), 'utf8')).toMatch(/^import \{[^}]+\} from '\.\/index\.js';/m);
    expect(readFileSync(join(ROOT, 'dist/sentiment.browser.js'), 'utf8')).toMatch(/^import \{[^}]+\} from '\.\/index\.browser\.js';/m);
    for (const file of ['sentiment.js', 'sentiment.browser.js']) expect(readFileSync(join(ROOT, 'dist', file), 'utf8')).not.toMatch(/from ['"]node:|import\(['"]node:/);
  });

  // The server (novarl/serve, sdk/serve/): the core entry imports nothing of it nor of hono;
  // its bundles import the main bundle of their flavour, and its browser/workerd one no node:.
  it('the main bundles hold nothing of the server; the server bundles import them', () => {
    const outside = sources('sdk')
      .filter((file) => !file.startsWith('sdk/serve/'))
      .flatMap((file) => importsOf(file).filter((spec) => spec.includes('serve') || spec.includes('hono')).map((spec) => `${file}: ${spec}`));
    expect(outside).toEqual([]);
    for (const file of ['index.js', 'index.browser.js', 'index.d.ts']) {
      const text = readFileSync(join(ROOT, 'dist', file), 'utf8');
      for (const word of ['createServeApp', "'hono", '"hono', '@hono/']) expect(text.includes(word), `${word} in dist/${file}`).toBe(false);
    }
    expect(readFileSync(join(ROOT, 'dist/serve.js'), 'utf8')).toMatch(/^import \{[^}]+\} from '\.\/index\.js';/m);
    const browser = readFileSync(join(ROOT, 'dist/serve.browser.js'), 'utf8');
    expect(browser).toMatch(/^import \{[^}]+\} from '\.\/index\.browser\.js';/m);
    expect(browser).not.toMatch(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']node:/);
    expect(browser.includes('@hono/node-server')).toBe(false);
    expect(readFileSync(join(ROOT, 'dist/cli.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\nimport \{[^}]+\} from '\.\/serve\.js';/);
  });
});
