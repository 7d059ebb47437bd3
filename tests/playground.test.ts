// The browser playground (examples/browser/) in headless Chromium: it loads the core in a Web
// Worker, trains the single-turn RLHF example when Train is clicked, the reward read from the
// page rises, Pause stops training between updates, the final numbers equal the Node example's
// bit for bit (same seed, same core), Reset starts over, and a screenshot goes to
// docs/playground.png for the README.
//
// Needs Debian's chromium (apt-get install chromium); without it the tests report themselves
// skipped, except under CI=true, where a missing browser is a failure.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Playground } from '../examples/browser/serve';
import { HAVE_CHROMIUM, openPlaygroundPage, requireChromium } from './fixtures/playground_page';
import { main as runNodeExample } from '../examples/ppo_rlhf_single_turn';

// The README's picture is refreshed with PLAYGROUND_SCREENSHOT=docs/playground.png; by default
// the screenshot goes to build/ so that test runs leave the tree clean.
const SCREENSHOT = process.env['PLAYGROUND_SCREENSHOT'] ?? 'build/playground.png';

/** A numeric data attribute, or NaN when absent. */
async function dataNumber(page: Page, selector: string, attribute: string): Promise<number> {
  return Number((await page.locator(selector).getAttribute(attribute)) ?? NaN);
}
const updateCount = (page: Page) => dataNumber(page, '#update-count', 'data-update');

/** Every probability bar's full-precision value, prompt by prompt: (prompts, responses) flattened. */
async function barProbabilities(page: Page): Promise<number[]> {
  return page.$$eval('.probability', (spans) =>
    spans
      .map((s) => s as HTMLElement)
      .sort((a, b) => Number(a.dataset['prompt']) - Number(b.dataset['prompt']) || Number(a.dataset['action']) - Number(b.dataset['action']))
      .map((s) => Number(s.dataset['p'])),
  );
}

describe('browser playground', () => {
  let playground: Playground | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) return;
    ({ playground, browser, page } = await openPlaygroundPage({ path: '', height: 900, errors: pageErrors }));
  });

  afterAll(async () => {
    await browser?.close();
    await playground?.close();
  });

  it('serves the page, the bundles and the core with the right MIME types, and nothing outside examples/browser/', async (ctx) => {
    requireChromium(ctx);
    const types = await Promise.all(
      ['', 'style.css', 'dist/main.js', 'dist/train_worker.js', 'dist/novarl.simd.wasm'].map(async (path) => (await fetch(playground!.url + path)).headers.get('content-type')),
    );
    expect(types).toEqual(['text/html; charset=utf-8', 'text/css; charset=utf-8', 'text/javascript; charset=utf-8', 'text/javascript; charset=utf-8', 'application/wasm']);
    for (const path of ['src/main.ts', '..%2F..%2Fpackage.json', '../../package.json']) expect((await fetch(playground!.url + path)).status).toBe(404);
  });

  it('loads the core in a worker and shows the initial, near-uniform policy', async (ctx) => {
    requireChromium(ctx);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 15_000 });
    expect(await page.locator('#train').isEnabled()).toBe(true);
    expect(await page.locator('#pause').isEnabled()).toBe(false);
    const p = await barProbabilities(page);
    expect(p).toHaveLength(16);
    // the policy head starts with gain 0.01 (CleanRL), so every row is within 0.02 of 1/4
    for (const x of p) expect(Math.abs(x - 0.25)).toBeLessThan(0.02);
  });

  it('trains when Train is clicked: the reward rises, and Pause stops training between updates', async (ctx) => {
    requireChromium(ctx);
    await page.click('#train');
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('#update-count')?.dataset['update']) >= 3, null, { timeout: 15_000 });

    // Pause: the worker stops between two updates, well before the end, and stays stopped.
    await page.click('#pause');
    await page.waitForSelector('body[data-state="paused"]', { timeout: 5_000 });
    const paused = await updateCount(page);
    expect(paused).toBeLessThan(60);
    await page.waitForTimeout(400); // eight of the worker's 50 ms pauses between updates
    expect(await updateCount(page)).toBe(paused);
    expect(await page.locator('#train').textContent()).toBe('Resume');

    // Resume, and wait for the mean reward shown in the page to rise well above the first update's
    // (a uniform policy earns about -0.2 on this dataset; always picking the preferred response, 1).
    await page.click('#train');
    await page.waitForFunction(
      () => {
        const first = JSON.parse(document.getElementById('chart-reward')!.dataset['series'] ?? '[]')[0];
        const now = Number(document.getElementById('reward-value')!.dataset['value']);
        return first !== undefined && now > first + 0.5;
      },
      null,
      { timeout: 30_000, polling: 100 },
    );
    await page.waitForSelector('body[data-state="done"]', { timeout: 30_000 });
    expect(await updateCount(page)).toBe(60);
  });

  it('ends with the numbers of the Node example, bit for bit, and the preferred responses learned', async (ctx) => {
    requireChromium(ctx);
    const series = async (key: string): Promise<number[]> => JSON.parse((await page.locator(`#chart-${key}`).getAttribute('data-series')) ?? '[]');
    const inPage = { reward: await series('reward'), kl: await series('kl'), klcoef: await series('klcoef'), entropy: await series('entropy') };
    const probabilities = await barProbabilities(page);

    // The same run in Node (examples/ppo_rlhf_single_turn.ts with the page's default settings).
    const dir = await mkdtemp(join(tmpdir(), 'novarl-playground-'));
    try {
      const node = await runNodeExample({ quiet: true, checkpointDir: dir, seed: 7, ppo: { klCoef: 0.3, klTarget: 1.0, clipRange: 0.2 }, updates: 60 });
      expect(inPage.reward).toEqual(node.history.map((m) => m['reward_mean']));
      expect(inPage.kl).toEqual(node.history.map((m) => m['kl_to_ref']));
      expect(inPage.klcoef).toEqual(node.history.map((m) => m['kl_coef']));
      expect(inPage.entropy).toEqual(node.history.map((m) => m['entropy']));
      expect(probabilities).toEqual(Array.from(node.probabilities));
      node.trainer.core.endStep();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    // each prompt's preferred response (marked in the page) is now the most likely one
    const preferredRows = await page.$$eval('.bar', (rows) => rows.map((r) => r.classList.contains('preferred')));
    for (let prompt = 0; prompt < 4; prompt++) {
      const row = probabilities.slice(prompt * 4, prompt * 4 + 4);
      expect(preferredRows[prompt * 4 + row.indexOf(Math.max(...row))]).toBe(true);
    }

    await mkdir('docs', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it('Reset starts a fresh run with the changed settings', async (ctx) => {
    requireChromium(ctx);
    await page.fill('#seed', '8');
    expect(await page.locator('#pending').isVisible()).toBe(true); // done: new settings wait for Reset
    await page.click('#reset');
    await page.waitForSelector('body[data-state="ready"]', { timeout: 10_000 });
    expect(await updateCount(page)).toBe(0);
    expect(await page.locator('#chart-reward').getAttribute('data-series')).toBe('[]');
    expect(await page.locator('#pending').isVisible()).toBe(false);
    for (const x of await barProbabilities(page)) expect(Math.abs(x - 0.25)).toBeLessThan(0.02); // gain 0.01 head, as above
    expect(pageErrors).toEqual([]);
  });
});
