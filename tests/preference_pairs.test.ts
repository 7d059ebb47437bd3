// PreferencePairs and buildPreferencePairs (sdk/lm/preference_pairs.ts): the {prompt, chosen,
// rejected} format validated like the prompt dataset, exact ids carried through a file, and
// pairs sampled from a tiny random GPT, labelled by a scorer (checked against an independent
// re-sampling with the same seed), ties and small margins dropped.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, GPT, LocalCompletionEngine, PreferencePairs, PromptDataset, RewardFunctionError, Tokenizer, ValueError, buildPreferencePairs, init, normal_, ruleReward, seed, type NamedRewardFunction } from '../sdk/index';

const tokenizer = Tokenizer.train('the cat sat on the mat. the dog ran to the log. a happy day. a sad day. '.repeat(8), { vocabSize: 300 });
const EOS = tokenizer.eosTokenId!;
const dir = mkdtempSync(join(tmpdir(), 'novarl-pairs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PreferencePairs', () => {
  const entries = [
    { prompt: 'the cat', chosen: ' sat on the mat', rejected: ' ran', source: 'a' },
    { prompt: 'the dog', chosen: ' ran to the log', rejected: ' sat' },
    { prompt: 'a day', chosen: ' happy', rejected: ' sad' },
  ];

  it('tokenises texts, appends end-of-text to chosen and rejected, and keeps the other fields', () => {
    const pair = new PreferencePairs(entries, { tokenizer }).get(0);
    expect(pair.promptIds).toEqual(tokenizer.encode('the cat'));
    expect(pair.chosenIds).toEqual([...tokenizer.encode(' sat on the mat'), EOS]);
    expect(pair.rejectedIds).toEqual([...tokenizer.encode(' ran'), EOS]);
    expect(pair.fields).toEqual({ source: 'a' });
    expect(new PreferencePairs(entries, { tokenizer, appendEos: false }).get(0).chosenIds).toEqual(tokenizer.encode(' sat on the mat'));
  });

  it('keeps given ids exactly (an EOS-only completion may have empty text)', () => {
    const pair = new PreferencePairs([{ prompt: 'the cat', chosen: ' sat', rejected: '', prompt_ids: [5, 6], chosen_ids: [7, EOS], rejected_ids: [EOS] }], { tokenizer }).get(0);
    expect([pair.promptIds, pair.chosenIds, pair.rejectedIds]).toEqual([[5, 6], [7, EOS], [EOS]]);
  });

  it('refuses bad pairs naming the file, line, entry and field', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify(entries[0])}\n\n{"prompt": "p", "chosen": " same", "rejected": " same"}\n`);
    const error = (await PreferencePairs.load(file).then(() => undefined, (e: unknown) => e)) as DatasetError;
    expect(error).toBeInstanceOf(DatasetError);
    expect([error.source, error.line, error.entry, error.field]).toEqual([file, 3, 1, 'rejected']);
    expect(error.message).toMatch(/is the same text as chosen/);
    const cases: [object, string, RegExp][] = [
      [{ prompt: 'p', chosen: 'a' }, 'rejected', /is missing/],
      [{ prompt: '', chosen: 'a', rejected: 'b' }, 'prompt', /is empty/],
      [{ prompt: 'p', chosen: 1, rejected: 'b' }, 'chosen', /must be a string/],
      [{ prompt: 'p', chosen: '', rejected: 'b' }, 'chosen', /is empty/],
      [{ prompt: 'p', chosen: 'a', rejected: 'b', chosen_ids: [1.5] }, 'chosen_ids', /element 0 is 1.5/],
      [{ prompt: 'p', chosen: 'a', rejected: 'b', chosen_ids: [4], rejected_ids: [4] }, 'rejected_ids', /same token ids as chosen/],
      [{ prompt: 'p', chosen: 'a', rejected: 'b', prompt_ids: [tokenizer.vocabSize] }, 'prompt_ids', /outside the tokenizer's vocabulary/],
    ];
    for (const [bad, field, message] of cases) {
      let caught: unknown;
      try {
        new PreferencePairs([bad as never], { tokenizer, source: 'pairs.json' });
      } catch (e) {
        caught = e;
      }
      expect(caught, JSON.stringify(bad)).toBeInstanceOf(DatasetError);
      expect((caught as DatasetError).field).toBe(field);
      expect((caught as DatasetError).message).toMatch(message);
    }
    const long = new PreferencePairs([{ prompt: 'p', chosen: ' sat on the mat', rejected: ' a' }]);
    expect(() => long.withTokenizer(tokenizer, { maxCompletionTokens: 2 })).toThrow(/field "chosen": is \d+ tokens long, over maxCompletionTokens = 2/);
    expect(() => PreferencePairs.fromJson('{"rows": []}')).toThrow(/\{"pairs": \[\.\.\.\]\}/);
  });

  it("reads TRL's implicit-prompt form: the shared prefix, cut before the space where they part, is the prompt", () => {
    const pair = new PreferencePairs([{ chosen: 'The sky is blue today', rejected: 'The sky is grey' } as never], { tokenizer }).get(0);
    expect([pair.prompt, pair.chosen, pair.rejected]).toEqual(['The sky is', ' blue today', ' grey']);
    expect(() => new PreferencePairs([{ chosen: 'abc', rejected: 'xyz' } as never])).toThrow(/field "prompt": is missing, and chosen and rejected share no prefix/);
  });

  it('splits off a held-out part, deterministic in the seed, every entry in exactly one part', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ prompt: `p${i}`, chosen: ` good ${i}`, rejected: ` bad ${i}` }));
    const data = new PreferencePairs(many, { tokenizer, source: 'pairs.jsonl' });
    const { train, validation } = data.split(0.25, 9);
    expect([train.size, validation.size]).toEqual([15, 5]);
    expect([...train.all(), ...validation.all()].map((p) => p.prompt).sort()).toEqual(many.map((e) => e.prompt).sort());
    expect(data.split(0.25, 9).validation.all()).toEqual(validation.all());
    expect(data.split(0.25, 10).validation.all()).not.toEqual(validation.all());
    expect(validation.source).toBe('pairs.jsonl (validation)');
    expect(() => data.split(1)).toThrow(ValueError);
  });

  it('walks in a seeded per-epoch order whose position survives a state round trip', () => {
    const a = PreferencePairs.fromJson(JSON.stringify({ pairs: entries }), { tokenizer, seed: 4 });
    a.next(2);
    const state = a.state();
    const b = new PreferencePairs(entries, { tokenizer });
    b.loadState(JSON.parse(JSON.stringify(state)));
    expect(b.next(5)).toEqual(a.next(5));
    expect(() => b.loadState({ ...state, size: 2 })).toThrow(ValueError);
    expect(() => new PreferencePairs(entries).next(1)).toThrow(/withTokenizer/);
  });
});

describe('buildPreferencePairs', () => {
  let engine: LocalCompletionEngine;
  beforeAll(async () => {
    await init();
    seed(3);
    const model = new GPT({ vocabSize: tokenizer.vocabSize, nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 32 });
    for (const [name, p] of model.namedParameters()) if (name.startsWith('transformer.wte')) normal_(p, 0, 0.5);
    engine = new LocalCompletionEngine(model);
  });

  const prompts = () => new PromptDataset(['the cat', 'the dog', 'a happy', 'a sad', 'on the', 'to the'].map((prompt) => ({ prompt, id: prompt.length })), { tokenizer, shuffle: false }).all();
  // Characters of the completion: often different between two samples, sometimes tied.
  const chars = ruleReward('chars', (_prompt, completion) => completion.length);
  const sampling = { maxNewTokens: 6, temperature: 1, seed: 17, stopTokenIds: [EOS] };

  it('labels the higher-scoring of two samples chosen, as re-sampling and re-scoring independently says', async () => {
    const built = await buildPreferencePairs({ engine, tokenizer, prompts: prompts(), scorer: chars, sampling });
    // The same request again gives the same two samples per prompt; score them by hand.
    const again = await engine.complete({ ...sampling, prompts: prompts().map((p) => p.ids), n: 2 });
    const texts = again.completionIds.map((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }));
    const expected = prompts().flatMap((p, i) => {
      const [a, b] = [texts[2 * i]!, texts[2 * i + 1]!];
      if (a.length === b.length) return [];
      const [win, lose] = a.length > b.length ? [2 * i, 2 * i + 1] : [2 * i + 1, 2 * i];
      return [{ prompt: p.text, chosen: texts[win], rejected: texts[lose], chosen_ids: again.completionIds[win], rejected_ids: again.completionIds[lose], id: p.text.length }];
    });
    expect(expected.length).toBeGreaterThan(0);
    expect(built.pairs.map(({ prompt, chosen, rejected, chosen_ids, rejected_ids, id }) => ({ prompt, chosen, rejected, chosen_ids, rejected_ids, id }))).toEqual(expected);
    expect(built.stats.kept + built.stats.dropped).toBe(6);
    expect(built.stats.kept).toBe(expected.length);
    for (const pair of built.pairs) {
      expect(pair.chosen_score).toBe(pair.chosen.length);
      expect(pair.chosen_score).toBeGreaterThan(pair.rejected_score);
    }
    const margins = built.pairs.map((p) => p.chosen_score - p.rejected_score);
    expect(built.stats.meanMargin).toBe(margins.reduce((s, m) => s + m, 0) / margins.length);
    // The pairs load as a dataset with the sampled ids intact.
    const data = new PreferencePairs(built.pairs, { tokenizer });
    expect(data.all().map((p) => p.chosenIds)).toEqual(built.pairs.map((p) => p.chosen_ids));
  });

  it('drops ties always and margins below minMargin', async () => {
    const constant: NamedRewardFunction = { name: 'flat', fn: (_p, c) => c.map(() => 1) };
    const tied = await buildPreferencePairs({ engine, tokenizer, prompts: prompts(), scorer: constant, sampling });
    expect(tied.stats).toEqual({ kept: 0, dropped: 6, meanMargin: 0 });
    const all = await buildPreferencePairs({ engine, tokenizer, prompts: prompts(), scorer: chars, sampling });
    const big = await buildPreferencePairs({ engine, tokenizer, prompts: prompts(), scorer: chars, sampling, minMargin: 3 });
    expect(0 < big.stats.kept && big.stats.kept < all.stats.kept).toBe(true); // the threshold drops some, not all (5 and 4 here)
    expect(big.pairs).toEqual(all.pairs.filter((p) => p.chosen_score - p.rejected_score >= 3));
  });

  it('a failing scorer rejects with its RewardFunctionError; bad options with a ValueError', async () => {
    const broken: NamedRewardFunction = { name: 'broken', fn: (_p, c) => c.map(() => NaN) };
    await expect(buildPreferencePairs({ engine, tokenizer, prompts: prompts(), scorer: broken, sampling })).rejects.toThrow(RewardFunctionError);
    await expect(buildPreferencePairs({ engine, tokenizer, prompts: [], scorer: chars, sampling })).rejects.toThrow(ValueError);
    await expect(buildPreferencePairs({ engine, tokenizer, prompts: prompts(), scorer: chars, sampling, minMargin: -1 })).rejects.toThrow(/minMargin/);
  });
});
