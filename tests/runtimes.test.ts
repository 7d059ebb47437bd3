// One build on every runtime (docs/architecture.md, "Packaging" and "Determinism"). The same training script
// (examples/determinism/train.mjs: single-turn RLHF PPO at a fixed seed) runs on Node, Bun,
// Deno, headless Chromium (plain ESM with an import map, and an esbuild bundle) and workerd,
// each with the SIMD and the scalar build, and prints an FNV-1a hash of the final parameters.
// All of them must be identical. So must a seeded generation (generate.mjs) and every RLHF
// algorithm's run (rlhf.mjs: PPO, GRPO, RLOO, DPO, the reward model and the data pipeline).
// It runs the built package (dist/), so `npm test` builds first.
//
// A runtime that is not installed is skipped with an install hint; under CI=true it fails.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreInitError, Tensor, type Core, type WasmSource } from '../sdk/index';
import { init as nodeInit } from '../sdk/core/wasm_node';
import { init as webInit } from '../sdk/core/wasm_web';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const EXAMPLE = join(ROOT, 'examples/determinism');
const BIN = join(ROOT, 'node_modules/.bin');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CI = process.env['CI'] === 'true' || process.env['CI'] === '1';
const RUN_TIMEOUT_MS = 60_000;
const run = promisify(execFile);

interface RuntimeResult {
  runtime: string;
  simd: string;
  scalar: string;
  initial: string;
  parameters: number;
  rewardMean: [number, number];
}

const results = new Map<string, RuntimeResult>();
const skipped = new Map<string, string>();

/** The `novarl-determinism {...}` line a run printed. */
function parseResult(output: string, label: string): RuntimeResult {
  const line = output.split('\n').find((l) => l.startsWith('novarl-determinism '));
  if (!line) throw new Error(`${label} printed no result line; its output was:\n${output}`);
  return JSON.parse(line.slice('novarl-determinism '.length)) as RuntimeResult;
}

/** Skips (locally) or fails (under CI) when a runtime is missing. */
function missing(label: string, why: string, hint: string, skip: (note?: string) => void): void {
  const message = `${label}: ${why}; install it with: ${hint}`;
  if (CI) expect.fail(`CI=true and ${message}`);
  skipped.set(label, message);
  console.warn(`skipped ${message}`);
  skip(message);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function runtimeBinary(name: string): Promise<string | undefined> {
  const path = join(BIN, name);
  if (!existsSync(path)) return undefined;
  try {
    await run(path, ['--version'], { timeout: 20_000 });
    return path;
  } catch {
    return undefined;
  }
}

/** The script runtimes: each runs `script` with its own command line. */
function scriptRuntimes(script: string): [label: string, binary: () => Promise<string | undefined>, args: string[]][] {
  return [
    ['node', async () => process.execPath, [script]],
    ['bun', () => runtimeBinary('bun'), [script]],
    ['deno', () => runtimeBinary('deno'), ['run', '--allow-read', script]],
  ];
}

/** One `it` per script runtime: runs `script` and hands its stdout to `record`. */
function itOnScriptRuntimes(script: string, suffix: string, record: (label: string, stdout: string) => void): void {
  for (const [label, binary, args] of scriptRuntimes(script)) {
    it(label, async ({ skip }) => {
      const bin = await binary();
      if (!bin) return missing(`${label}${suffix}`, `node_modules/.bin/${label} does not run`, `npm install (${label} is a devDependency)`, skip);
      const { stdout } = await run(bin, args, { cwd: ROOT, timeout: RUN_TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });
      record(label, stdout);
    });
  }
}

/** Starts `workerd serve config` on a free port, waits for its first answer, and returns the body. */
async function workerdAnswer(workerd: string, config: string): Promise<string> {
  const address = `127.0.0.1:${await freePort()}`;
  let log = '';
  const child: ChildProcess = spawn(workerd, ['serve', config, '--socket-addr', `http=${address}`], { cwd: ROOT });
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  try {
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`workerd exited with code ${child.exitCode}:\n${log}`);
      const response = await fetch(`http://${address}/`).catch(() => undefined); // undefined: not listening yet
      if (response) {
        const body = await response.text();
        if (!response.ok) throw new Error(`workerd answered ${response.status}: ${body}`);
        return body;
      }
      if (Date.now() > deadline) throw new Error(`workerd did not answer on ${address}:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    child.kill();
  }
}

/** A workerd module line; `embed` is a path relative to the config's directory. */
type WorkerdModule = { name: string; kind: 'esModule' | 'wasm'; embed: string };

/**
 * Writes a one-worker workerd config (and `files`) into a temporary directory, serves it and
 * returns the first answer. `modules(from)` lists the embedded modules after worker.mjs; `from`
 * makes a path relative to the config (embed paths are relative to it).
 */
async function workerdRun(workerd: string, name: string, files: Record<string, string>, modules: (from: (path: string) => string) => WorkerdModule[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `novarl-${name}-workerd-`));
  const from = (path: string) => relative(dir, path);
  try {
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    const lines = [{ name: 'worker.mjs', kind: 'esModule', embed: 'worker.mjs' }, ...modules(from)].map((m) => `    (name = "${m.name}", ${m.kind} = embed "${m.embed}"),`);
    writeFileSync(
      join(dir, 'config.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "${name}", worker = .worker)], sockets = [(name = "http", address = "127.0.0.1:8789", http = (), service = "${name}")]);
const worker :Workerd.Worker = (
  modules = [
${lines.join('\n')}
  ],
  compatibilityDate = "2024-09-23",
);
`,
    );
    return await workerdAnswer(workerd, join(dir, 'config.capnp'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A worker.mjs whose fetch answers `await call('workerd', { simd, scalar })` from `script`. */
function workerdEntry(call: string, script: string): string {
  return `import simd from 'novarl/wasm/simd';\nimport scalar from 'novarl/wasm/scalar';\nimport { ${call} } from '${script}';\nexport default { async fetch() { try { return new Response(await ${call}('workerd', { simd, scalar })); } catch (error) { return new Response(\`error \${error.stack ?? error}\`, { status: 500 }); } } };\n`;
}

/** The SDK's browser build and both .wasm flavours, as workerd modules. */
function workerdSdkModules(from: (path: string) => string): WorkerdModule[] {
  return [
    { name: 'novarl', kind: 'esModule', embed: from(join(DIST, 'index.browser.js')) },
    { name: 'novarl/wasm/simd', kind: 'wasm', embed: from(join(DIST, 'novarl.simd.wasm')) },
    { name: 'novarl/wasm/scalar', kind: 'wasm', embed: from(join(DIST, 'novarl.scalar.wasm')) },
  ];
}

type StaticServer = import('node:http').Server;
async function serveStatic(mounts: Record<string, string>): Promise<StaticServer> {
  const { serve } = (await import(join(EXAMPLE, 'serve.mjs'))) as { serve: (mounts: Record<string, string>) => Promise<StaticServer> };
  return serve(mounts);
}

async function launchChromium(args: string[]): Promise<import('playwright-core').Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args, timeout: RUN_TIMEOUT_MS });
}

/** Opens `url` in a new page and returns the text of #result once it has data-done. */
async function resultText(browser: import('playwright-core').Browser, url: string): Promise<{ text: string; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(url);
    await page.waitForSelector('#result[data-done]', { timeout: RUN_TIMEOUT_MS });
    return { text: (await page.textContent('#result')) ?? '', errors };
  } finally {
    await page.close();
  }
}

/**
 * Serves ROOT and a temporary page (an import map for `imports`, then `moduleBody` in a module
 * script that writes its result to #result), opens it in a fresh headless Chromium and returns
 * the text it wrote.
 */
async function chromiumPage(name: string, imports: Record<string, string>, moduleBody: string): Promise<string> {
  const pageDir = mkdtempSync(join(tmpdir(), `novarl-${name}-`));
  writeFileSync(
    join(pageDir, 'index.html'),
    `<!doctype html><link rel="icon" href="data:,"><script type="importmap">${JSON.stringify({ imports })}</script><pre id="result"></pre>
<script type="module">
const out = document.getElementById('result');
${moduleBody}
out.dataset.done = 'true';
</script>`,
  );
  const server = await serveStatic({ '/': ROOT, [`/${name}/`]: pageDir });
  const browser = await launchChromium(['--no-sandbox', '--disable-gpu', '--no-first-run']);
  try {
    return (await resultText(browser, `http://127.0.0.1:${(server.address() as { port: number }).port}/${name}/index.html`)).text;
  } finally {
    await browser.close();
    await new Promise((r) => server.close(r));
    rmSync(pageDir, { recursive: true, force: true });
  }
}

beforeAll(() => {
  for (const file of ['index.js', 'index.browser.js', 'novarl.simd.wasm', 'novarl.scalar.wasm']) {
    if (!existsSync(join(DIST, file))) throw new Error(`dist/${file} is missing: run \`npm run build\` (npm test does it in pretest)`);
  }
});

describe('packaging', () => {
  it('resolves the exports map per runtime, and the browser bundle has no node: import', async () => {
    const { build } = await import('esbuild');
    // A user's app importing the package by name, bundled the way each kind of tool does it.
    const targets = {
      browser: { platform: 'browser', conditions: [] as string[], expected: 'dist/index.browser.js' },
      workerd: { platform: 'browser', conditions: ['workerd', 'worker', 'browser'], expected: 'dist/index.browser.js' },
      node: { platform: 'node', conditions: [], expected: 'dist/index.js' },
    } as const;
    for (const [name, target] of Object.entries(targets)) {
      const result = await build({
        stdin: { contents: "export { init, PPOTrainer } from 'novarl';", resolveDir: EXAMPLE, loader: 'js' },
        bundle: true,
        format: 'esm',
        platform: target.platform,
        conditions: [...target.conditions],
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      const inputs = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('dist/'));
      expect(inputs, name).toEqual([target.expected]);
    }
    // Static, dynamic or require: none may name a node: module (bundlers targeting browsers and
    // workerd without nodejs_compat refuse them).
    const browserBundle = readFileSync(join(DIST, 'index.browser.js'), 'utf8');
    expect(browserBundle).not.toMatch(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']node:/);
    expect(readFileSync(join(DIST, 'index.js'), 'utf8')).toMatch(/import\(["']node:fs\/promises["']\)/);
  });
});

describe('init({ source }) accepts every documented kind of source', () => {
  const simdBytes = () => new Uint8Array(readFileSync(join(DIST, 'novarl.simd.wasm')));
  const works = (core: Core) => {
    const m = Tensor.from([1, 2, 3, 4], [2, 2], { core }).matmul(Tensor.from([5, 6, 7, 8], [2, 2], { core }));
    expect(Array.from(m.toArray())).toEqual([19, 22, 43, 50]);
    core.endStep();
  };
  const sources: Record<string, () => WasmSource | Promise<WasmSource>> = {
    bytes: simdBytes,
    'an ArrayBuffer': () => simdBytes().buffer,
    'a WebAssembly.Module (as on workerd)': () => WebAssembly.compile(simdBytes()),
    'a Response with application/wasm (streamed)': () => new Response(simdBytes(), { headers: { 'Content-Type': 'application/wasm' } }),
    'a Response with a wrong MIME type (read whole)': () => new Response(simdBytes(), { headers: { 'Content-Type': 'application/octet-stream' } }),
    'a file: URL': () => new URL('../dist/novarl.simd.wasm', import.meta.url),
    'a file: URL string': () => new URL('../dist/novarl.simd.wasm', import.meta.url).href,
  };
  for (const [kind, make] of Object.entries(sources)) {
    it(kind, async () => works(await nodeInit({ simd: true, source: await make(), setDefault: false })));
  }

  it('fetches an http URL (the browser path), and turns a 404 into a CoreInitError', async () => {
    const server = await serveStatic({ '/': ROOT });
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/dist/`;
      works(await webInit({ simd: true, source: `${base}novarl.simd.wasm`, setDefault: false }));
      works(await webInit({ simd: false, source: new URL(`${base}novarl.scalar.wasm`), setDefault: false })); // served as octet-stream
      await expect(webInit({ source: `${base}missing.wasm`, setDefault: false })).rejects.toThrow(/HTTP 404/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('the web loader cannot read file: URLs, and on workerd asks for the module', async () => {
    await expect(webInit({ source: new URL('../dist/novarl.simd.wasm', import.meta.url), setDefault: false })).rejects.toThrow(CoreInitError);
    const navigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'Cloudflare-Workers' }, configurable: true });
    try {
      await expect(webInit({ setDefault: false })).rejects.toThrow(/import wasm from 'novarl\/wasm\/simd'/);
    } finally {
      if (navigator) Object.defineProperty(globalThis, 'navigator', navigator);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });
});

describe('the same training run on every runtime', () => {
  itOnScriptRuntimes(join(EXAMPLE, 'node.mjs'), '', (label, stdout) => results.set(label, parseResult(stdout, label)));

  it('workerd (the .wasm imported as a module)', async ({ skip }) => {
    const workerd = await runtimeBinary('workerd');
    if (!workerd) return missing('workerd', 'node_modules/.bin/workerd does not run', 'npm install (workerd is a devDependency)', skip);
    results.set('workerd', parseResult(await workerdAnswer(workerd, join(EXAMPLE, 'workerd.capnp')), 'workerd'));
  });

  describe('chromium (headless, playwright-core)', () => {
    let server: StaticServer | undefined;
    let browser: import('playwright-core').Browser | undefined;
    let bundleDir: string | undefined;
    let unavailable: string | undefined;

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) {
        unavailable = `${CHROMIUM} not found`;
        return;
      }
      // The bundled variant: browser.mjs and the package as an app's bundler would ship them,
      // with the .wasm files next to the bundle (where its `new URL(..., import.meta.url)` looks).
      const { build } = await import('esbuild');
      bundleDir = mkdtempSync(join(tmpdir(), 'novarl-bundle-'));
      await build({ entryPoints: [join(EXAMPLE, 'browser.mjs')], bundle: true, format: 'esm', platform: 'browser', outfile: join(bundleDir, 'app.js'), logLevel: 'silent' });
      for (const flavour of ['simd', 'scalar']) copyFileSync(join(DIST, `novarl.${flavour}.wasm`), join(bundleDir, `novarl.${flavour}.wasm`));
      writeFileSync(join(bundleDir, 'index.html'), '<!doctype html><link rel="icon" href="data:,"><pre id="result"></pre><script type="module" src="app.js"></script>');

      server = await serveStatic({ '/': ROOT, '/bundle/': bundleDir });
      // playwright adds --headless itself and refuses --user-data-dir (launch() uses a fresh profile)
      browser = await launchChromium(['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']);
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => (server ? server.close(r) : r(undefined)));
      if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
    });

    async function runPage(path: string): Promise<RuntimeResult> {
      const port = (server!.address() as { port: number }).port;
      const { text, errors } = await resultText(browser!, `http://127.0.0.1:${port}${path}`);
      return parseResult(text, `chromium ${path}` + (errors.length ? ` (page errors: ${errors.join('; ')})` : ''));
    }

    it('plain ESM with an import map', async ({ skip }) => {
      if (unavailable) return missing('chromium', unavailable, 'apt-get install chromium (Debian), or set CHROMIUM_PATH', skip);
      results.set('chromium', await runPage('/examples/determinism/browser.html'));
    });

    it('an esbuild bundle', async ({ skip }) => {
      if (unavailable) return missing('chromium (bundled)', unavailable, 'apt-get install chromium (Debian), or set CHROMIUM_PATH', skip);
      results.set('chromium (bundled)', await runPage('/bundle/index.html'));
    });
  });

  it('every runtime and both builds end with the same parameters', () => {
    const rows = [...results.entries()];
    console.log(
      ['final-parameter hashes (FNV-1a over f32 bytes):', ...rows.map(([label, r]) => `  ${label.padEnd(20)} simd ${r.simd}  scalar ${r.scalar}`), ...[...skipped.values()].map((s) => `  skipped ${s}`)].join('\n'),
    );
    expect(results.has('node')).toBe(true);
    if (CI) expect(skipped.size, [...skipped.values()].join('\n')).toBe(0);
    const reference = results.get('node')!;
    // Training really moved the parameters, so equal hashes are not just equal initialisations.
    expect(reference.simd).not.toBe(reference.initial);
    for (const [label, r] of rows) {
      expect(r.scalar, `${label}: scalar build vs SIMD build`).toBe(r.simd);
      expect(r.simd, `${label} vs node`).toBe(reference.simd);
      expect(r.initial, `${label} initial parameters vs node`).toBe(reference.initial);
      expect(r.parameters, label).toBe(reference.parameters);
      // The host side (reward sums in JS) is deterministic too: the same doubles everywhere.
      expect(r.rewardMean, label).toEqual(reference.rewardMean);
    }
  });
});

// Generation (examples/determinism/generate.mjs): a tiny GPT samples with a seed, and the hash of
// its ids and log-prob bits must be the same on every runtime and both builds.
describe('the same generation on every runtime', () => {
  const GENERATE = join(EXAMPLE, 'generate.mjs');
  const generations = new Map<string, { simd: string; scalar: string; tokens: number }>();
  const parseGeneration = (output: string, label: string) => {
    const line = output.split('\n').find((l) => l.startsWith('novarl-generation '));
    if (!line) throw new Error(`${label} printed no generation line; its output was:\n${output}`);
    return JSON.parse(line.slice('novarl-generation '.length)) as { simd: string; scalar: string; tokens: number };
  };
  itOnScriptRuntimes(GENERATE, ' (generation)', (label, stdout) => generations.set(label, parseGeneration(stdout, label)));

  it('workerd (the .wasm imported as a module)', async ({ skip }) => {
    const workerd = await runtimeBinary('workerd');
    if (!workerd) return missing('workerd (generation)', 'node_modules/.bin/workerd does not run', 'npm install (workerd is a devDependency)', skip);
    const body = await workerdRun(workerd, 'generate', { 'worker.mjs': workerdEntry('generateBoth', 'generate.mjs') }, (from) => [
      { name: 'generate.mjs', kind: 'esModule', embed: from(GENERATE) },
      { name: 'hash.mjs', kind: 'esModule', embed: from(join(EXAMPLE, 'hash.mjs')) },
      ...workerdSdkModules(from),
    ]);
    generations.set('workerd', parseGeneration(body, 'workerd'));
  });

  it('chromium (plain ESM with an import map)', async ({ skip }) => {
    if (!existsSync(CHROMIUM)) return missing('chromium (generation)', `${CHROMIUM} not found`, 'apt-get install chromium (Debian), or set CHROMIUM_PATH', skip);
    const text = await chromiumPage(
      'generate',
      { novarl: '/dist/index.browser.js' },
      "try { const { generateBoth } = await import('/examples/determinism/generate.mjs'); out.textContent = await generateBoth('chromium'); } catch (error) { out.textContent = 'error ' + (error.stack ?? error); }",
    );
    generations.set('chromium', parseGeneration(text, 'chromium'));
  });

  it('every runtime and both builds generate the same ids and log-prob bits', () => {
    const rows = [...generations.entries()];
    console.log(['generation hashes (FNV-1a of ids - of log-prob bits):', ...rows.map(([label, r]) => `  ${label.padEnd(20)} simd ${r.simd}  scalar ${r.scalar}`)].join('\n'));
    expect(generations.has('node')).toBe(true);
    const reference = generations.get('node')!;
    expect(reference.tokens).toBeGreaterThan(20); // it really generated
    for (const [label, r] of rows) {
      expect(r.scalar, `${label}: scalar build vs SIMD build`).toBe(r.simd);
      expect(r.simd, `${label} vs node`).toBe(reference.simd);
    }
  });
});

// RLHF (examples/determinism/rlhf.mjs): PPO, GRPO, RLOO, DPO and the reward model each train a tiny
// GPT for a few steps from a fixed seed, on both builds, and the data pipeline hashes its output.
// Every algorithm's final parameters must hash the same on every runtime and build, and differ
// from its initial ones (training really moved them).
describe('the same RLHF runs on every runtime', () => {
  const RLHF = join(EXAMPLE, 'rlhf.mjs');
  const ALGORITHMS = ['ppo', 'grpo', 'rloo', 'dpo', 'rewardModel'];
  type Hashes = Record<string, { initial: string; final: string }>;
  interface RlhfResult {
    runtime: string;
    data: { hash: string; order: string; total: number[] };
    simd: Hashes;
    scalar: Hashes;
    seconds: number;
  }
  const rlhf = new Map<string, RlhfResult>();
  const parseRlhf = (output: string, label: string): RlhfResult => {
    const line = output.split('\n').find((l) => l.startsWith('novarl-rlhf '));
    if (!line) throw new Error(`${label} printed no novarl-rlhf line; its output was:\n${output}`);
    return JSON.parse(line.slice('novarl-rlhf '.length)) as RlhfResult;
  };
  itOnScriptRuntimes(RLHF, ' (rlhf)', (label, stdout) => rlhf.set(label, parseRlhf(stdout, label)));

  it('workerd (every module embedded, the .wasm imported as modules)', async ({ skip }) => {
    const workerd = await runtimeBinary('workerd');
    if (!workerd) return missing('workerd (rlhf)', 'node_modules/.bin/workerd does not run', 'npm install (workerd is a devDependency)', skip);
    // dist/sentiment.browser.js imports './index.browser.js', which workerd resolves against the
    // module's name to 'novarl/index.browser.js': that name re-exports the 'novarl' module, so the
    // SDK is one module instance (one default core, one set of error classes), as under a bundler.
    // workerd resolves every specifier against the importer's name, so from 'novarl/...' the SDK
    // is '../novarl' ('novarl' would be 'novarl/novarl').
    const files = { 'worker.mjs': workerdEntry('rlhfBoth', 'rlhf.mjs'), 'sdk_alias.mjs': "export * from '../novarl';\n" };
    const scripts = ['hash', 'rlhf', 'rlhf_data', 'rlhf_ppo', 'rlhf_grpo', 'rlhf_rloo', 'rlhf_dpo', 'rlhf_reward_model'];
    const body = await workerdRun(workerd, 'rlhf', files, (from) => [
      ...scripts.map((name): WorkerdModule => ({ name: `${name}.mjs`, kind: 'esModule', embed: from(join(EXAMPLE, `${name}.mjs`)) })),
      ...workerdSdkModules(from),
      { name: 'novarl/index.browser.js', kind: 'esModule', embed: 'sdk_alias.mjs' },
      { name: 'novarl/sentiment', kind: 'esModule', embed: from(join(DIST, 'sentiment.browser.js')) },
    ]);
    rlhf.set('workerd', parseRlhf(body, 'workerd'));
  });

  it('chromium (plain ESM with an import map)', async ({ skip }) => {
    if (!existsSync(CHROMIUM)) return missing('chromium (rlhf)', `${CHROMIUM} not found`, 'apt-get install chromium (Debian), or set CHROMIUM_PATH', skip);
    // sentiment.browser.js's './index.browser.js' resolves to /dist/index.browser.js: the same URL
    // as 'novarl', so one module instance.
    const text = await chromiumPage(
      'rlhf',
      { novarl: '/dist/index.browser.js', 'novarl/sentiment': '/dist/sentiment.browser.js' },
      "try { const { rlhfBoth } = await import('/examples/determinism/rlhf.mjs'); out.textContent = await rlhfBoth('chromium'); } catch (error) { out.textContent = 'error ' + (error.stack ?? error); }",
    );
    rlhf.set('chromium', parseRlhf(text, 'chromium'));
  });

  it('every runtime and both builds end every algorithm with the same parameters', () => {
    const rows = [...rlhf.entries()];
    console.log(
      [
        'RLHF final-parameter hashes (FNV-1a over f32 bytes), simd/scalar per algorithm:',
        `  ${'runtime'.padEnd(10)} ${'data'.padEnd(9)} ${ALGORITHMS.map((a) => a.padEnd(17)).join(' ')} seconds`,
        ...rows.map(([label, r]) => `  ${label.padEnd(10)} ${r.data.hash.padEnd(9)} ${ALGORITHMS.map((a) => `${r.simd[a]?.final}/${r.scalar[a]?.final}`.padEnd(17)).join(' ')} ${r.seconds}`),
      ].join('\n'),
    );
    expect(rlhf.has('node')).toBe(true);
    const reference = rlhf.get('node')!;
    for (const algorithm of ALGORITHMS) {
      // Training really moved the parameters, so equal hashes are not just equal initialisations.
      expect(reference.simd[algorithm]!.final, `${algorithm}: final vs initial parameters`).not.toBe(reference.simd[algorithm]!.initial);
    }
    for (const [label, r] of rows) {
      expect(Object.keys(r.simd).sort(), `${label}: algorithms run`).toEqual([...ALGORITHMS].sort());
      expect(Object.keys(r.scalar).sort(), `${label}: algorithms run (scalar)`).toEqual([...ALGORITHMS].sort());
      for (const algorithm of ALGORITHMS) {
        expect(r.scalar[algorithm], `${label} ${algorithm}: scalar build vs SIMD build`).toEqual(r.simd[algorithm]);
        expect(r.simd[algorithm], `${label} ${algorithm} vs node`).toEqual(reference.simd[algorithm]);
      }
      // The host-side pipeline (tokenizer, shuffles, reward sums in float64) is the same everywhere.
      expect(r.data, `${label} data pipeline vs node`).toEqual(reference.data);
    }
  });
});
