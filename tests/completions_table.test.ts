// CompletionsTable (sdk/observability/completions_table.ts): every row of every step appended
// to a JSON Lines file (never overwritten, also across a reopen), non-finite numbers kept,
// a torn last line skipped on reading, a compact console table, and a file-less callback mode.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CompletionsTable, ValueError, completionRows, formatCompletionsTable, readCompletionsTable, type CompletionRecord, type CompletionRow } from '../sdk/index';

const dir = mkdtempSync(join(tmpdir(), 'novarl-completions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rowsOf = (step: number): CompletionRow[] => [
  { prompt: `prompt ${step}`, completion: `first\nline ${step}`, rewards: { sentiment: step / 4, length: -1 }, advantage: 0.5 },
  { prompt: `prompt ${step}`, completion: 'second', rewards: { sentiment: -0.25, length: 0 }, advantage: -0.5, kl: 0.01 },
];

describe('CompletionsTable', () => {
  it('appends every row of every step, and a reopened table continues the file', async () => {
    const path = join(dir, 'run/completions.jsonl');
    const printed: string[] = [];
    const table = await CompletionsTable.open(path, { print: (line) => printed.push(line), consoleRows: 1 });
    table.log(0, rowsOf(0));
    table.log(1, rowsOf(1));
    table.close();
    const resumed = await CompletionsTable.open(path, { consoleRows: 0 });
    resumed.log(2, rowsOf(2));
    resumed.close();
    const records = readCompletionsTable(readFileSync(path, 'utf8'));
    expect(records.map((r) => r.step)).toEqual([0, 0, 1, 1, 2, 2]);
    expect(records[2]).toEqual({ step: 1, ...rowsOf(1)[0] });
    expect(records[5]).toEqual({ step: 2, ...rowsOf(2)[1] });
    // One console table per step with one row each (consoleRows: 1): header, rule, row.
    expect(printed).toHaveLength(6);
    expect(printed[2]).toMatch(/^0\s+\| prompt 0 \| first⏎line 0 \| 0\s+\| -1\s+\| 0.5/);
  });

  it('writes NaN and infinities as null named in nonfinite, and reads them back', async () => {
    const path = join(dir, 'nonfinite.jsonl');
    const table = await CompletionsTable.open(path, { consoleRows: 0 });
    table.log(3, [{ prompt: 'p', completion: 'c', rewards: { judge: NaN }, advantage: -Infinity }]);
    table.close();
    const text = readFileSync(path, 'utf8');
    expect(JSON.parse(text)).toEqual({ step: 3, prompt: 'p', completion: 'c', rewards: { judge: null }, advantage: null, nonfinite: { 'rewards.judge': 'NaN', advantage: '-Infinity' } });
    const [record] = readCompletionsTable(text);
    expect(record!.rewards.judge).toBeNaN();
    expect(record!.advantage).toBe(-Infinity);
  });

  it('skips a torn last line (a crash mid-write) but refuses a corrupt line before it', async () => {
    const path = join(dir, 'torn.jsonl');
    const table = await CompletionsTable.open(path, { consoleRows: 0 });
    table.log(0, rowsOf(0));
    table.close();
    appendFileSync(path, '{"step":1,"prompt":"p","compl');
    expect(readCompletionsTable(readFileSync(path, 'utf8')).map((r) => r.step)).toEqual([0, 0]);
    // Reopening cuts the torn line off, so the next step's rows do not join it.
    const reopened = await CompletionsTable.open(path, { consoleRows: 0 });
    reopened.log(1, rowsOf(1));
    reopened.close();
    expect(readCompletionsTable(readFileSync(path, 'utf8')).map((r) => r.step)).toEqual([0, 0, 1, 1]);
    writeFileSync(path, '{"step":0,"prompt":"p","compl');
    (await CompletionsTable.open(path, { consoleRows: 0 })).close();
    expect(readFileSync(path, 'utf8')).toBe('');
    writeFileSync(path, '{"step":0}\nnot json\n');
    expect(() => readCompletionsTable(readFileSync(path, 'utf8'))).toThrow(/line 2 is not JSON/);
  });

  it('without a file, hands each step to onRows (the browser path)', () => {
    const seen: [number, readonly CompletionRecord[]][] = [];
    const table = new CompletionsTable({ onRows: (step, records) => seen.push([step, records]), consoleRows: 0 });
    table.log(7, rowsOf(7));
    expect(seen).toEqual([[7, rowsOf(7).map((row) => ({ step: 7, ...row }))]]);
    table.close();
    expect(() => table.log(8, rowsOf(8))).toThrow(/after close/);
  });

  it('completionRows builds the rows of a batch from scoreRewards output and per-row numbers', () => {
    const rows = completionRows({ prompts: ['p', 'q'], completions: ['a', 'b'], perFunction: { s: [1, 2], l: [0, -1] }, advantages: new Float32Array([0.5, -0.5]), extra: { kl: [0.1, 0.2] } });
    expect(rows).toEqual([
      { prompt: 'p', completion: 'a', rewards: { s: 1, l: 0 }, advantage: 0.5, kl: 0.1 },
      { prompt: 'q', completion: 'b', rewards: { s: 2, l: -1 }, advantage: -0.5, kl: 0.2 },
    ]);
    expect(() => completionRows({ prompts: ['p'], completions: ['a'], perFunction: { s: [1, 2] } })).toThrow(/'s' has 2 values for 1 completions/);
  });

  it('prints a compact table: texts truncated, newlines as ⏎, one column per reward', () => {
    const lines = formatCompletionsTable(
      [
        { step: 4, prompt: 'It was a truth universally acknowledged', completion: 'that a single man\nin possession', rewards: { sentiment: 0.123456 } },
        { step: 4, prompt: 'short', completion: '', rewards: { sentiment: -2 }, advantage: 1 },
      ],
      12,
    );
    expect(lines).toEqual([
      'step | prompt       | completion   | sentiment | advantage',
      '-----+--------------+--------------+-----------+----------',
      '4    | It was a tr… | that a sing… | 0.123     |',
      '4    | short        |              | -2        | 1',
    ]);
  });

  it('refuses malformed rows with a ValueError naming the row and field', () => {
    const table = new CompletionsTable({ consoleRows: 0 });
    expect(() => table.log(-1, [])).toThrow(/step must be a non-negative integer/);
    expect(() => table.log(0, [{ prompt: 'p', completion: 3, rewards: {} } as never])).toThrow(/rows\[0\]\.completion must be a string/);
    expect(() => table.log(0, [rowsOf(0)[0]!, { prompt: 'p', completion: 'c', rewards: { r: '1' } } as never])).toThrow(/rows\[1\]\.rewards\.r must be a number/);
    expect(() => table.log(0, [{ prompt: 'p', completion: 'c', rewards: {}, step: 2 }])).toThrow(/'step' is a reserved key/);
    expect(() => table.log(0, [{ prompt: 'p', completion: 'c', rewards: {}, extra: { a: 1 } }])).toThrow(ValueError);
    expect(() => new CompletionsTable({ consoleRows: -1 })).toThrow(ValueError);
  });
});
