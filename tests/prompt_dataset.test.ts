// PromptDataset (sdk/lm/prompt_dataset.ts): entries validated where they enter (errors name the
// file, line, entry and field), tokenised prompts, and the per-epoch shuffled walk with its
// checkpointable position.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetError, Prng, PromptDataset, Tokenizer, ValueError } from '../sdk/index';

const tokenizer = Tokenizer.train('the cat sat on the mat. the dog ran to the log. '.repeat(8), { vocabSize: 300 });
const dir = mkdtempSync(join(tmpdir(), 'novarl-prompts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TEXTS = ['the cat', 'the dog ran', 'on the mat', 'to the log', 'sat'];
const entries = () => TEXTS.map((prompt, i) => ({ prompt, answer: String(i) }));

/** The DatasetError `fn` throws (fails the test when it throws none or another kind). */
function datasetError(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

describe('PromptDataset entries', () => {
  it('tokenises text prompts and carries the other fields', () => {
    const data = new PromptDataset(entries(), { tokenizer });
    expect(data.size).toBe(5);
    const row = data.get(1);
    expect(row.text).toBe('the dog ran');
    expect(row.ids).toEqual(tokenizer.encode('the dog ran'));
    expect(row.fields).toEqual({ answer: '1' });
    // Rows are handed out again every epoch: a reward function cannot edit them.
    expect([Object.isFrozen(row), Object.isFrozen(row.ids), Object.isFrozen(row.fields)]).toEqual([true, true, true]);
  });

  it('takes pre-tokenised prompt_ids (decoded for the text when there is a tokenizer)', () => {
    const ids = tokenizer.encode('the mat');
    const row = new PromptDataset([{ prompt_ids: ids, id: 7 }], { tokenizer }).get(0);
    expect(row).toEqual({ text: 'the mat', ids, fields: { id: 7 } });
    // With both, both are used as given; without a tokenizer too.
    expect(new PromptDataset([{ prompt: 'x', prompt_ids: [1, 2] }]).get(0)).toEqual({ text: 'x', ids: [1, 2], fields: {} });
  });

  it('needs a tokenizer to make missing ids, and says so', () => {
    const data = PromptDataset.fromJson(JSON.stringify(entries()));
    expect(() => data.next(1)).toThrow(/withTokenizer/);
    expect(data.state().index).toBe(0); // the failed call moved nothing
    const tokenised = data.withTokenizer(tokenizer);
    expect(tokenised.get(0).ids).toEqual(tokenizer.encode('the cat'));
  });

  it('refuses bad entries naming the entry and field', () => {
    const cases: [unknown[], string, RegExp][] = [
      [[{ prompt: 'a' }, { prompt: 5 }], 'prompt', /entry 1, field "prompt": must be a string, got 5/],
      [[{ prompt: '  ' }], 'prompt', /entry 0, field "prompt": is empty/],
      [[{ answer: 'x' }], 'prompt', /field "prompt": is missing/],
      [[{ prompt_ids: [1, 2.5] }], 'prompt_ids', /element 1 is 2.5/],
      [[{ prompt_ids: [-1] }], 'prompt_ids', /non-negative integers/],
      [[{ prompt_ids: [] }], 'prompt_ids', /is empty/],
      [[{ prompt_ids: 'abc' }], 'prompt_ids', /must be an array/],
      [[{ prompt_ids: [tokenizer.vocabSize] }], 'prompt_ids', new RegExp(`is ${tokenizer.vocabSize}, outside the tokenizer's vocabulary of ${tokenizer.vocabSize} ids`)],
    ];
    for (const [bad, field, message] of cases) {
      const error = datasetError(() => new PromptDataset(bad as never, { tokenizer, source: 'p.json' }));
      expect(error.field).toBe(field);
      expect(error.source).toBe('p.json');
      expect(error.message).toMatch(message);
    }
    expect(datasetError(() => new PromptDataset([])).message).toMatch(/empty/);
    expect(datasetError(() => new PromptDataset(['text'] as never)).message).toMatch(/entry 0: an entry must be an object/);
  });

  it('refuses prompts longer than maxPromptTokens', () => {
    const long = 'the cat sat on the mat and the dog ran to the log';
    const error = datasetError(() => new PromptDataset([{ prompt: 'sat' }, { prompt: long }], { tokenizer, maxPromptTokens: 4 }));
    expect(error.entry).toBe(1);
    expect(error.message).toMatch(new RegExp(`is ${tokenizer.encode(long).length} tokens long, over maxPromptTokens = 4`));
    // Checked again when a tokenizer is added later.
    expect(() => new PromptDataset([{ prompt: long }], { maxPromptTokens: 4 }).withTokenizer(tokenizer)).toThrow(DatasetError);
    expect(() => new PromptDataset([{ prompt: 'a' }], { maxPromptTokens: 0 })).toThrow(ValueError);
  });
});

describe('PromptDataset files', () => {
  it('reads JSON (array or {"prompts": [...]}) and JSONL, skipping blank lines', async () => {
    const jsonl = join(dir, 'p.jsonl');
    writeFileSync(jsonl, '{"prompt": "the cat"}\n\n{"prompt": "the dog", "answer": "4"}\n');
    const fromFile = await PromptDataset.load(jsonl, { tokenizer });
    expect(fromFile.all().map((r) => r.text)).toEqual(['the cat', 'the dog']);
    expect(fromFile.get(1).fields).toEqual({ answer: '4' });
    const json = join(dir, 'p.json');
    writeFileSync(json, JSON.stringify({ prompts: entries() }));
    expect((await PromptDataset.load(json, { tokenizer })).size).toBe(5);
    expect(PromptDataset.fromJson(JSON.stringify(entries()), { tokenizer }).size).toBe(5);
  });

  it('names the file and line of a bad JSONL entry', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"prompt": "the cat"}\n\n{"prompt": ""}\n');
    const error = (await PromptDataset.load(file).then(() => undefined, (e: unknown) => e)) as DatasetError;
    expect(error).toBeInstanceOf(DatasetError);
    expect([error.source, error.line, error.entry, error.field]).toEqual([file, 3, 1, 'prompt']);
    expect(error.message).toBe(`${file}, line 3, entry 1, field "prompt": is empty`);
    const broken = datasetError(() => PromptDataset.fromJsonl('{"prompt": "a"}\n{"prompt": \n', { source: 'x.jsonl' }));
    expect([broken.line, broken.message]).toEqual([2, expect.stringMatching(/^x.jsonl, line 2, entry 1: invalid JSON/)]);
    // The line survives withTokenizer's second check.
    const late = PromptDataset.fromJsonl('{"prompt": "sat"}\n{"prompt": "the cat sat on the mat"}\n', { source: 'y.jsonl', maxPromptTokens: 2 });
    expect(datasetError(() => late.withTokenizer(tokenizer)).line).toBe(2);
  });

  it('refuses unreadable files, unknown types and malformed top levels', async () => {
    await expect(PromptDataset.load(join(dir, 'missing.jsonl'))).rejects.toThrow(/cannot read the file/);
    await expect(PromptDataset.load(join(dir, 'p.csv'))).rejects.toThrow(/unknown file type/);
    expect(() => PromptDataset.fromJson('{"rows": []}')).toThrow(/\{"prompts": \[\.\.\.\]\}/);
    expect(() => PromptDataset.fromJson('{"prompts": 3}')).toThrow(/field "prompts": must be an array/);
    expect(() => PromptDataset.fromJson('[{"prompt": ')).toThrow(/invalid JSON/);
  });
});

describe('PromptDataset iteration', () => {
  it('visits every entry once per epoch, in a fresh order each epoch drawn from the seed', () => {
    const data = new PromptDataset(entries(), { tokenizer, seed: 11 });
    const epoch0 = data.next(5).map((r) => r.text);
    const epoch1 = data.next(5).map((r) => r.text);
    expect([...epoch0].sort()).toEqual([...TEXTS].sort());
    expect([...epoch1].sort()).toEqual([...TEXTS].sort());
    // The order is Prng(seed, epoch).permutation: fixed by the integer PRNG on every runtime.
    expect(epoch0).toEqual(Array.from(new Prng(11, 0).permutation(5), (i) => TEXTS[i]));
    expect(epoch1).toEqual(Array.from(new Prng(11, 1).permutation(5), (i) => TEXTS[i]));
    expect(data.epoch).toBe(1);
    // shuffle: false walks in order, across epochs.
    const plain = new PromptDataset(entries(), { tokenizer, shuffle: false });
    expect(plain.next(7).map((r) => r.text)).toEqual([...TEXTS, ...TEXTS.slice(0, 2)]);
  });

  it('restores a position: the walk after loadState is the walk that would have followed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 9 }), (seedValue, firstTakes, k) => {
        const straight = new PromptDataset(entries(), { tokenizer, seed: seedValue });
        for (const take of firstTakes) straight.next(take);
        const state = JSON.parse(JSON.stringify(straight.state())) as ReturnType<PromptDataset['state']>;
        const resumed = new PromptDataset(entries(), { tokenizer }); // seed 0: the state brings its seed
        resumed.loadState(state);
        expect(resumed.next(k)).toEqual(straight.next(k));
        expect(resumed.state()).toEqual(straight.state());
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a malformed state or one from another dataset, naming the field', () => {
    const data = new PromptDataset(entries(), { tokenizer });
    expect(() => data.loadState({ epoch: 0, index: 2, seed: 0, size: 4 })).toThrow(/dataset of 4 entries, this one has 5/);
    expect(() => data.loadState({ epoch: -1, index: 0, seed: 0, size: 5 })).toThrow(/"epoch" must be a non-negative integer/);
    expect(() => data.loadState({ epoch: 0, index: 6, seed: 0, size: 5 })).toThrow(/"index" is 6/);
    expect(() => data.loadState({ epoch: 0, index: 0, size: 5 } as never)).toThrow(/"seed"/);
    expect(() => data.loadState(null as never)).toThrow(ValueError);
    expect(() => data.next(0)).toThrow(/k must be a positive integer/);
    expect(() => new PromptDataset(entries(), { seed: -3 })).toThrow(ValueError);
  });
});
