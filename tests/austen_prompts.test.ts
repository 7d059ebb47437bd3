// The sentiment task's prompts (examples/data/austen_prompts.ts): openings of narrative
// sentences from the validation tails of the tiny GPT's Austen books, deterministic, tokenised
// by the tiny GPT's tokenizer.

import { describe, expect, it } from 'vitest';
import { austenPromptDataset, austenPromptTexts, narrativeSentences } from '../examples/data/austen_prompts';
import { readGutenbergBook } from '../examples/data/gutenberg';
import { config as pretrainConfig, splitPoint } from '../examples/pretrain_gpt';
import { Tokenizer } from '../sdk/index';

describe('austen prompts', () => {
  it('are distinct six-word openings of sentences in the validation tails, the same on every call', async () => {
    const texts = await austenPromptTexts();
    expect(texts.length).toBeGreaterThanOrEqual(200);
    expect(new Set(texts).size).toBe(texts.length);
    expect(await austenPromptTexts()).toEqual(texts);
    const tails = await Promise.all(
      pretrainConfig.books.map(async (name) => {
        const book = await readGutenbergBook(name);
        return book.slice(splitPoint(book, pretrainConfig.validationFraction)).replace(/_/g, '').replace(/\s+/g, ' ');
      }),
    );
    for (const text of texts) {
      expect(text.split(' ').length, text).toBeLessThanOrEqual(6);
      expect(text).not.toMatch(/["“”]|--|[!?]$/);
      expect(tails.some((tail) => tail.includes(text)), text).toBe(true);
    }
    const fromTraining = await austenPromptTexts({ split: 'train', count: 40, words: 4 });
    expect(fromTraining).toHaveLength(40);
    expect(fromTraining.every((t) => t.split(' ').length <= 4)).toBe(true);
  });

  it('keep narrative: paragraphs with dialogue and chapter headings are skipped, Mr. does not end a sentence', () => {
    const text = 'CHAPTER I\n\nMr. Knightley came in. He sat down.\n\n"I am glad," said Emma. She smiled.\n\nThe day was fine.';
    expect(narrativeSentences(text)).toEqual(['Mr. Knightley came in.', 'He sat down.', 'The day was fine.']);
  });

  it('form a PromptDataset with a byte-level BPE trained on the books', async () => {
    // a tokenizer trained on the books' training text, as the tiny GPT's is (examples/pretrain_gpt.ts), but smaller
    const emma = await readGutenbergBook('austen-emma');
    const tokenizer = Tokenizer.train(emma.slice(0, 200_000), { vocabSize: 400 });
    const data = await austenPromptDataset(tokenizer, { count: 32, seed: 2, maxPromptTokens: 64 });
    expect(data.size).toBe(32);
    const [row] = data.next(1);
    expect(tokenizer.decode(row!.ids)).toBe(row!.text);
  });
});
