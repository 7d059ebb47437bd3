// Node-only helper for the GPU tests and benchmark (tests/gpu_browser.test.ts, bench/gpu.ts; not
// part of the package): bundles the SDK and the GPU plug-in for a browser page, opens it in
// headless Chromium through playwright-core, and serves the bundle, the core's .wasm and gpu.js
// from memory (no server, no files written). In the page, `window.novarl` holds every export of
// sdk/index.ts and kernels/index.ts (what `novarl` and `novarl/gpu` export), and the SIMD core is
// loaded and made the default.
//
// Chromium runs with WebGL on SwiftShader (software) even with --disable-gpu; playwright adds
// --headless and --enable-unsafe-swiftshader itself. --disable-software-rasterizer would remove
// WebGL, so it is not passed (docs/architecture.md, "Toolchain facts").

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The flags used: CHROMIUM_ARGS, without --disable-gpu when NOVARL_CHROMIUM_GPU=1 (to try a hardware GPU). */
function chromiumArgs(): string[] {
  return process.env.NOVARL_CHROMIUM_GPU === '1' ? CHROMIUM_ARGS.filter((a) => a !== '--disable-gpu') : CHROMIUM_ARGS;
}

const ORIGIN = 'http://novarl.test';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** $CHROMIUM_PATH when set (null if nothing is there), else the Debian/Ubuntu locations; null when there is none. */
export function findChromium(): string | null {
  const given = process.env.CHROMIUM_PATH;
  const candidates = given ? [given] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((path) => existsSync(path)) ?? null;
}

export interface GpuPage {
  page: Page;
  browserVersion: string;
  close(): Promise<void>;
}

/** The SDK and the GPU plug-in as one classic script defining `window.novarl` (one copy of the SDK: kernels/ imports sdk/index). */
async function bundle(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    stdin: { contents: "export * from './sdk/index';\nexport * from './kernels/index';\n", resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    format: 'iife',
    globalName: 'novarl',
    platform: 'browser',
    target: 'es2022',
    // The SDK reads files only in Node, through dynamic imports that never run in the page.
    external: ['node:*'],
    write: false,
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}

/**
 * Opens a page with the bundle loaded and the SIMD core initialised. gpu.js comes in through
 * the bundle: kernels/gpujs.ts's `import('gpu.js')` resolves to gpu.js's browser build.
 */
export async function openGpuPage(executablePath: string): Promise<GpuPage> {
  const script = await bundle();
  const wasm = readFileSync(new URL('../build/novarl.simd.wasm', import.meta.url));
  const { chromium } = await import('playwright-core');
  const browser: Browser = await chromium.launch({ executablePath, args: chromiumArgs() });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.route(`${ORIGIN}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === '/') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>NovaRL GPU</title>' });
      if (path === '/novarl.js') return route.fulfill({ contentType: 'text/javascript', body: script });
      if (path === '/novarl.simd.wasm') return route.fulfill({ contentType: 'application/wasm', body: wasm });
      return route.fulfill({ status: 404, body: 'not found' });
    });
    // Functions handed to page.evaluate travel as source text; tsx compiles them with esbuild's
    // keepNames, which wraps named functions in __name(fn, "name") calls the page lacks.
    await page.addInitScript('globalThis.__name = (target) => target;');
    await page.goto(`${ORIGIN}/`);
    await page.addScriptTag({ url: `${ORIGIN}/novarl.js` });
    await page.evaluate(async () => {
      const novarl = (window as unknown as { novarl: typeof import('../sdk/index') }).novarl;
      await novarl.init({ simd: true, source: new URL('/novarl.simd.wasm', location.href) });
    });
    if (errors.length > 0) throw new Error(`the page reported errors: ${errors.join('; ')}`);
    return { page, browserVersion: browser.version(), close: () => browser.close() };
  } catch (error) {
    await browser.close();
    throw error;
  }
}
