// The playground's GPT page (examples/browser/gpt.html) in headless Chromium: the worker loads
// the core, trains a tokenizer and a tiny GPT from scratch on a built-in excerpt of Alice in
// Wonderland when Start is clicked, the loss shown in the page falls well below its start, Pause
// stops training between steps, Generate shows sampled text, and every loss and both samples
// equal a Node run of the same code (examples/browser/src/gpt_setup.ts) on the scalar core bit
// for bit. A screenshot goes to docs/playground_gpt.png for the README.
//
// Needs Debian's chromium (apt-get install chromium); without it the tests report themselves
// skipped, except under CI=true, where a missing browser is a failure.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Playground } from '../examples/browser/serve';
import { HAVE_CHROMIUM, openPlaygroundPage, requireChromium } from './fixtures/playground_page';
import { readGptCorpus } from '../examples/browser/gpt_corpus';
import { STEPS, VOCAB_SIZE, createGptRun, defaultGptRunConfig, sample, trainStep } from '../examples/browser/src/gpt_setup';
import { init } from '../sdk/index';

// The README's picture is refreshed with PLAYGROUND_GPT_SCREENSHOT=docs/playground_gpt.png; by
// default the screenshot goes to build/ so that test runs leave the tree clean.
const SCREENSHOT = process.env['PLAYGROUND_GPT_SCREENSHOT'] ?? 'build/playground_gpt.png';
const PROMPT = 'Alice was';
const SAMPLE_SEED = 3;

const lossSeries = async (page: Page): Promise<number[]> => JSON.parse((await page.locator('#chart-loss').getAttribute('data-series')) ?? '[]');
const stepCount = async (page: Page): Promise<number> => Number((await page.locator('#update-count').getAttribute('data-step')) ?? NaN);

/** Clicks Generate and waits for a sample taken after `step` steps; returns its text. */
async function generateAt(page: Page, step: number): Promise<string> {
  await page.fill('#prompt', PROMPT);
  await page.fill('#sample-seed', String(SAMPLE_SEED));
  await page.click('#generate');
  await page.waitForSelector(`#output .at[data-step="${step}"]`, { timeout: 10_000 });
  return (await page.locator('#generated').textContent()) ?? '';
}

/** `steps` training steps in Node on a fresh core of that flavour, sampling where the page did (before the step's update) and at the end. */
async function nodeRun(corpus: string, simd: boolean, steps: number, sampledAt: readonly number[] = []): Promise<{ losses: number[]; samples: { step: number; text: string }[] }> {
  await init({ simd });
  const run = createGptRun(corpus, defaultGptRunConfig);
  const losses: number[] = [];
  const samples: { step: number; text: string }[] = [];
  for (let step = 0; step < steps; step++) {
    if (sampledAt.includes(step)) samples.push({ step, text: sample(run, PROMPT, SAMPLE_SEED).text });
    losses.push(trainStep(run));
  }
  samples.push({ step: steps, text: sample(run, PROMPT, SAMPLE_SEED).text });
  run.model.free();
  return { losses, samples };
}

describe('browser playground: tiny GPT page', () => {
  let playground: Playground | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const samples: { step: number; text: string }[] = [];

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) return;
    // nothing but the playground's own files is requested: the corpus is inside the bundle
    ({ playground, browser, page } = await openPlaygroundPage({ path: '', height: 900, errors: pageErrors, onlyOwnRequests: true }));
  });

  afterAll(async () => {
    await browser?.close();
    await playground?.close();
  });

  it('is linked from the RLHF page and back, and serves its page, style and bundles', async (ctx) => {
    requireChromium(ctx);
    await page.click('#gpt-link');
    await page.waitForURL(/gpt\.html$/);
    expect(await page.locator('#rlhf-link').getAttribute('href')).toBe('./');
    const types = await Promise.all(['gpt.html', 'gpt.css', 'dist/gpt_main.js', 'dist/gpt_worker.js'].map(async (path) => (await fetch(playground!.url + path)).headers.get('content-type')));
    expect(types).toEqual(['text/html; charset=utf-8', 'text/css; charset=utf-8', 'text/javascript; charset=utf-8', 'text/javascript; charset=utf-8']);
    expect((await fetch(`${playground!.url}gpt_corpus.ts`)).status).toBe(404);
  });

  it('loads the core, trains the tokenizer in the worker and is ready to start', async (ctx) => {
    requireChromium(ctx);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 20_000 });
    expect(await page.locator('#train').isEnabled()).toBe(true);
    expect(await page.locator('#pause').isEnabled()).toBe(false);
    expect(await page.locator('#facts').textContent()).toContain(`${VOCAB_SIZE}-token BPE`);
    expect(await lossSeries(page)).toEqual([]);
  });

  it('trains when Start is clicked: the loss falls by more than 1 nat, and Pause stops between steps', async (ctx) => {
    requireChromium(ctx);
    await page.click('#train');
    // an untrained model is near ln 320 = 5.77 nats; within a few dozen steps it learns the token frequencies
    await page.waitForFunction(
      () => {
        const series: number[] = JSON.parse(document.getElementById('chart-loss')?.dataset['series'] ?? '[]');
        return series.length >= 20 && series[series.length - 1]! < series[0]! - 1;
      },
      null,
      { timeout: 45_000, polling: 100 },
    );
    const series = await lossSeries(page);
    expect(series[0]).toBeGreaterThan(Math.log(VOCAB_SIZE) - 0.3);
    expect(series[0]).toBeLessThan(Math.log(VOCAB_SIZE) + 0.3);

    await page.click('#pause');
    await page.waitForSelector('body[data-state="paused"]', { timeout: 5_000 });
    const paused = await stepCount(page);
    expect(paused).toBeLessThan(STEPS);
    await page.waitForTimeout(300); // many of the worker's 5 ms pauses between steps
    expect(await stepCount(page)).toBe(paused);
    expect((await lossSeries(page)).length).toBe(paused);
    expect(await page.locator('#train').textContent()).toBe('Resume');

    const text = await generateAt(page, paused);
    expect(text.length).toBeGreaterThan(0);
    samples.push({ step: paused, text });
  });

  it('runs to the end after Resume; every loss and the samples equal a Node run of the same code, bit for bit', async (ctx) => {
    requireChromium(ctx);
    await page.click('#train');
    await page.waitForSelector('body[data-state="done"]', { timeout: 45_000 });
    expect(await stepCount(page)).toBe(STEPS);
    const inPage = await lossSeries(page);
    expect(inPage).toHaveLength(STEPS);
    samples.push({ step: STEPS, text: await generateAt(page, STEPS) });

    // The same run in Node: the corpus build.ts baked into the worker, the same setup, the same
    // steps and samples. The page runs the SIMD core; Node replays the whole run on it, and the
    // part before the pause (and its sample) on the scalar core, about 3x slower.
    expect(await page.locator('#status small').textContent()).toMatch(/^SIMD WebAssembly core/);
    const corpus = await readGptCorpus();
    const paused = samples[0]!.step;
    const simd = await nodeRun(corpus, true, STEPS, [paused]);
    expect(inPage).toEqual(simd.losses);
    expect(samples).toEqual(simd.samples);
    const scalar = await nodeRun(corpus, false, paused);
    expect(inPage.slice(0, paused)).toEqual(scalar.losses);
    expect(samples.slice(0, 1)).toEqual(scalar.samples);
    expect(Math.min(...inPage.slice(-20))).toBeLessThan(inPage[0]! - 1.3);

    await mkdir('docs', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 120_000); // the page's run and the Node run, one after the other, on a shared machine
});
