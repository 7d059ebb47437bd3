// Smoke test of examples/compare.ts with a tiny budget: a small GPT pretrained for the test (so a
// clean clone needs no cached model), the four algorithms at the same budget, and the outputs:
// a Markdown table with one row per algorithm and an SVG with one series each.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main, parseArgs, QUICK } from '../examples/compare';
import { TEST_TINY_GPT } from './fixtures/tiny_pretrain';

const root = mkdtempSync(join(tmpdir(), 'novarl-compare-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tinyGptConfig = TEST_TINY_GPT;

/** The element names of an XML text, checking that every open tag is closed in order. */
function xmlElements(text: string): string[] {
  const names: string[] = [];
  const open: string[] = [];
  const body = text.trim();
  expect(body.startsWith('<svg')).toBe(true);
  for (const match of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g)) {
    const [, closing, name, , selfClosing] = match;
    if (closing) expect(open.pop(), `</${name}>`).toBe(name);
    else {
      names.push(name!);
      if (!selfClosing) open.push(name!);
    }
  }
  expect(open).toEqual([]);
  // nothing outside tags but text without stray angle brackets
  expect(body.replace(/<[^<>]*>/g, '')).not.toMatch(/[<>]/);
  return names;
}

describe('examples/compare', () => {
  it('runs PPO, GRPO, RLOO and DPO at the same tiny budget and writes the table and the plot', async () => {
    const outDir = join(root, 'docs');
    const budget = 128;
    const result = await main({
      budget,
      evalPoints: 2,
      maxNewTokens: 8,
      trainPrompts: 64,
      evalPrompts: 8,
      quiet: true,
      tinyGptDir: join(root, 'tiny-gpt'),
      tinyGptConfig,
      outDir,
      ppo: { promptsPerStep: 4, numGenerations: 2, epochs: 1, minibatches: 1, learningRate: 1e-3 },
      grpo: { promptsPerStep: 2, numGenerations: 4, learningRate: 1e-3 },
      rloo: { promptsPerStep: 2, numGenerations: 4, learningRate: 1e-3 },
      dpo: { batchSize: 4, learningRate: 1e-3 },
      dpoEpochs: 1,
    });
    expect(result.results.map((r) => r.algorithm)).toEqual(['PPO', 'GRPO', 'RLOO', 'DPO']);
    // the start model is its own reference: its KL is exactly 0
    expect(result.start.kl).toBe(0);
    for (const r of result.results) {
      expect(r.tokens, r.algorithm).toBeGreaterThanOrEqual(budget);
      expect(r.points).toHaveLength(3); // the start and two evaluations
      expect(r.points[0]).toBe(result.start);
      for (const p of r.points) expect(Number.isFinite(p.reward) && Number.isFinite(p.kl), r.algorithm).toBe(true);
      expect(r.updates).toBeGreaterThan(0);
      expect(r.trainSeconds).toBeGreaterThan(0);
      // training moved the policy away from the reference (not asserted for GRPO and RLOO: a
      // group whose completions all score the same, as most of this tiny model's do, has zero
      // advantages and moves nothing; PPO's value head and DPO's pairs always move it)
      if (r.algorithm === 'PPO' || r.algorithm === 'DPO') expect(r.points[2]!.kl, r.algorithm).not.toBe(0);
    }
    // the online trainers stop at the first generation batch past the budget
    for (const r of result.results.slice(0, 3)) expect(r.tokens).toBeLessThan(budget + 8 * 8);

    // the table: a header, a separator and one row per algorithm, with the figures of its last point
    const markdown = readFileSync(join(outDir, 'compare.md'), 'utf8');
    expect(markdown).toBe(result.markdown);
    const rows = result.table.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| algorithm'));
    expect(rows.map((row) => row.split('|')[1]!.trim())).toEqual(['PPO', 'GRPO', 'RLOO', 'DPO']);
    for (const [i, row] of rows.entries()) {
      const cells = row.split('|').slice(2, -1).map((x) => Number(x.trim()));
      const last = result.results[i]!.points[2]!;
      expect(cells[0]).toBeCloseTo(last.reward, 3);
      expect(cells[1]).toBeCloseTo(last.kl, 3);
      expect(cells[2]).toBe(result.results[i]!.tokens);
    }
    expect(markdown).toContain(result.table);
    expect(markdown).toContain('npx tsx examples/compare.ts');
    expect(markdown).toContain(`Budget: ${budget} generated completion tokens`);

    // the SVG: well-formed, one polyline (series) and one legend label per algorithm
    const svg = readFileSync(join(outDir, 'compare.svg'), 'utf8');
    const elements = xmlElements(svg);
    expect(elements.filter((n) => n === 'polyline')).toHaveLength(4);
    for (const name of ['PPO', 'GRPO', 'RLOO', 'DPO']) expect(svg).toContain(`>${name}</text>`);
    for (const polyline of svg.match(/<polyline [^>]*points="([^"]*)"/g)!) {
      const points = polyline.match(/points="([^"]*)"/)![1]!.split(' ');
      expect(points).toHaveLength(3);
      for (const xy of points) expect(xy.split(',').map(Number).every(Number.isFinite)).toBe(true);
    }
  }, 240_000);

  it('parses --budget and --quick, and rejects anything else with a ValueError', () => {
    expect(parseArgs(['--budget', '5000'])).toEqual({ budget: 5000 });
    expect(parseArgs(['--quick'])).toEqual(QUICK);
    expect(() => parseArgs(['--budget', '-3'])).toThrow(/--budget needs a positive integer/);
    expect(() => parseArgs(['--budjet', '3'])).toThrow(/unknown argument '--budjet'/);
  });
});
