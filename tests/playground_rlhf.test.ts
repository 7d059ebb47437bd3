// The playground's RLHF page (examples/browser/rlhf.html) in headless Chromium: the worker loads
// the core and the tiny GPT's Hugging Face files that serve.ts serves from dist/tiny-gpt/, Start
// runs the SDK's GRPOTrainer (examples/browser/src/rlhf_setup.ts), the reward and KL charts get a point per step,
// the completions table a row per completion (prompt, completion, reward, advantage), Pause stops
// between steps, a reward chosen in the page applies from the next step, and every charted value
// equals a Node run of the same code on the same files bit for bit.
//
// Needs Debian's chromium (apt-get install chromium); without it the tests report themselves
// skipped, except under CI=true, where a missing browser is a failure.

import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Playground } from '../examples/browser/serve';
import { HAVE_CHROMIUM, openPlaygroundPage, requireChromium } from './fixtures/playground_page';
import { readTinyGptFiles } from '../examples/data/tiny_gpt_files';
import { PROMPTS, RLHF, createRlhfRun, rlhfStep } from '../examples/browser/src/rlhf_setup';
import { init } from '../sdk/index';

const SCREENSHOT = process.env['PLAYGROUND_RLHF_SCREENSHOT'] ?? 'build/playground_rlhf.png';

const series = async (page: Page, key: string): Promise<number[]> => JSON.parse((await page.locator(`#chart-${key}`).getAttribute('data-series')) ?? '[]');
const stepCount = async (page: Page): Promise<number> => Number((await page.locator('#update-count').getAttribute('data-step')) ?? NaN);

interface TableRow {
  step: number;
  prompt: string;
  completion: string;
  reward: number;
  advantage: number;
  title: string;
}

async function tableRows(page: Page): Promise<TableRow[]> {
  return page.$$eval('#completions-body tr', (trs) =>
    trs.map((tr) => {
      const td = Array.from(tr.querySelectorAll('td'), (c) => c.textContent ?? '');
      return { step: Number(td[0]), prompt: td[1]!, completion: td[2]!, reward: Number(td[3]), advantage: Number(td[4]), title: tr.getAttribute('title') ?? '' };
    }),
  );
}

describe('browser playground: RLHF page', () => {
  let playground: Playground | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) return;
    ({ playground, browser, page } = await openPlaygroundPage({ path: 'rlhf.html', height: 1000, errors: pageErrors, onlyOwnRequests: true }));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await playground?.close();
  });

  it('serves its page, style, bundles and the model files', async (ctx) => {
    requireChromium(ctx);
    const type = async (path: string) => (await fetch(playground!.url + path)).headers.get('content-type');
    expect(await type('rlhf.html')).toBe('text/html; charset=utf-8');
    expect(await type('rlhf.css')).toBe('text/css; charset=utf-8');
    expect(await type('dist/rlhf_worker.js')).toBe('text/javascript; charset=utf-8');
    const manifest = await (await fetch(`${playground!.url}dist/tiny-gpt/files.json`)).json();
    expect(manifest.files).toContain('model.safetensors');
    expect(manifest.files).toContain('tokenizer.json');
    expect(await type('dist/tiny-gpt/model.safetensors')).toBe('application/octet-stream');
    expect((await fetch(`${playground!.url}src/rlhf_setup.ts`)).status).toBe(404);
    for (const other of ['', 'gpt.html']) expect(await (await fetch(playground!.url + other)).text()).toContain('href="rlhf.html"');
  });

  it('loads the core and the model in the worker and is ready to start', async (ctx) => {
    requireChromium(ctx);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
    expect(await page.locator('#train').isEnabled()).toBe(true);
    expect(await page.locator('#facts').textContent()).toMatch(/parameters/);
    expect(await series(page, 'reward')).toEqual([]);
    expect(await tableRows(page)).toEqual([]);
  });

  it('trains: the charts get a point and the table a row per completion each step; Pause stops; the reward choice applies; Node gives the same numbers', async (ctx) => {
    requireChromium(ctx);
    await page.click('#train');
    await page.waitForFunction(() => JSON.parse(document.getElementById('chart-kl')?.dataset['series'] ?? '[]').length >= 4, null, { timeout: 60_000, polling: 100 });
    await page.click('#pause');
    await page.waitForSelector('body[data-state="paused"]', { timeout: 10_000 });
    const paused = await stepCount(page);
    await page.waitForTimeout(300);
    expect(await stepCount(page)).toBe(paused);

    const rewards = await series(page, 'reward');
    const kls = await series(page, 'kl');
    expect(rewards).toHaveLength(paused);
    expect(kls).toHaveLength(paused);
    expect(kls[0]).toBe(0); // the first batch is scored by a policy equal to its reference
    const perStep = RLHF.promptsPerStep * RLHF.numGenerations;
    const rows = await tableRows(page);
    expect(rows).toHaveLength(Math.min(48, paused * perStep));
    expect(rows[0]!.step).toBe(paused); // newest first
    for (const row of rows) {
      expect(PROMPTS).toContain(row.prompt);
      expect(Number.isFinite(row.reward) && Number.isFinite(row.advantage)).toBe(true);
      expect(row.title).toBe('reward: sentiment');
    }
    // GRPO's advantages are centred in each group of numGenerations completions of one prompt
    const latest = rows.filter((r) => r.step === paused);
    for (let g = 0; g < latest.length; g += RLHF.numGenerations) {
      const group = latest.slice(g, g + RLHF.numGenerations);
      expect(new Set(group.map((r) => r.prompt)).size).toBe(1);
      expect(Math.abs(group.reduce((a, r) => a + r.advantage, 0))).toBeLessThan(0.02); // shown with 2 decimals
    }

    // the same steps in Node, from the same files the page fetched: the same bits
    expect(await page.locator('#status small').textContent()).toMatch(/^SIMD WebAssembly core/);
    await init({ simd: true });
    const run = createRlhfRun((await readTinyGptFiles()).files, 'sentiment');
    const node = { rewards: [] as number[], kls: [] as number[] };
    for (let s = 0; s < paused; s++) {
      const step = await rlhfStep(run);
      node.rewards.push(step.metrics['reward']!);
      node.kls.push(step.metrics['objective/kl']!);
    }
    expect(rewards).toEqual(node.rewards);
    expect(kls).toEqual(node.kls);

    // a reward chosen in the page scores the next step
    await page.selectOption('#reward', 'length');
    await page.click('#train');
    await page.waitForFunction((n) => Number(document.getElementById('update-count')?.dataset['step']) > n, paused, { timeout: 30_000, polling: 50 });
    await page.click('#pause');
    await page.waitForSelector('body[data-state="paused"]', { timeout: 10_000 });
    const after = await tableRows(page);
    expect(after[0]!.title).toBe('reward: length');
    for (const row of after.filter((r) => r.step === after[0]!.step)) expect(row.reward).toBeLessThanOrEqual(0); // -|chars - 30| / 30

    await mkdir('build', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
