// Prompts for the sentiment task (the classic RLHF demo: continue a sentence so that it reads
// positively): the opening words of narrative sentences from the Austen books the tiny GPT was
// pretrained on (examples/data/tiny_gpt.ts). By default they come from the validation tail of
// each book (examples/pretrain_gpt.ts's splitPoint), text the model and its tokenizer never
// trained on, so a prompt is not a memorised line; `split: 'train'` takes them from the rest.
//
//   const { model, tokenizer } = await loadOrPretrainTinyGpt();
//   const prompts = await austenPromptDataset(tokenizer);   // PromptDataset of 250 prompts
//   prompts.next(8)  // e.g. "Emma grieved that she could not", "The time was coming when the"...
//
// Narrative only: paragraphs with a quotation mark (dialogue, letters), chapter headings,
// sentences of fewer than words + 3 words and openings with a dash, ! or ? are skipped.
// Deterministic: the books are read in a fixed order, sentences taken in text order, duplicates
// dropped, and when more than `count` are found, `count` are picked evenly spaced. The
// validation tails hold 250 six-word openings; the training text about 4,000.

import { PromptDataset, ValueError, type PromptDatasetOptions, type Tokenizer } from '../../sdk/index';
import { config as pretrainConfig, splitPoint } from '../pretrain_gpt';
import { readGutenbergBook, type GutenbergBookName } from './gutenberg';

export interface AustenPromptOptions {
  /** 'validation' (default): the books' held-out tails; 'train': the text the model trained on. */
  split?: 'validation' | 'train';
  /** Words per prompt (the opening of a sentence). Default 6. */
  words?: number;
  /** At most this many prompts, picked evenly from all found. Default 256. */
  count?: number;
  /** The books. Default the tiny GPT's (Emma, Persuasion, Sense and Sensibility). */
  books?: readonly GutenbergBookName[];
}

// Titles that end with a full stop but do not end a sentence.
const ABBREVIATION = /\b(Mr|Mrs|Dr|St|Col|Capt|Sir)\.$/;

/**
 * The narrative sentences of a text: paragraphs without a quotation mark (those hold dialogue or
 * letters), split after . ! ? before a capital; whitespace collapsed, italics underscores removed.
 */
export function narrativeSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    if (/["“”]/.test(paragraph)) continue;
    const flat = paragraph.replace(/_/g, '').replace(/\s+/g, ' ').trim();
    if (/^(CHAPTER|VOLUME)\b/.test(flat) || flat === flat.toUpperCase()) continue;
    const pieces = flat.split(/(?<=[.!?])\s+(?=[A-Z])/);
    const start = sentences.length;
    for (const piece of pieces) {
      const last = sentences.length > start ? sentences[sentences.length - 1]! : undefined;
      if (last !== undefined && ABBREVIATION.test(last)) sentences[sentences.length - 1] = `${last} ${piece}`;
      else sentences.push(piece);
    }
  }
  return sentences.filter((s) => /^[A-Z]/.test(s));
}

/** The prompt texts (see this file's header). */
export async function austenPromptTexts(options: AustenPromptOptions = {}): Promise<string[]> {
  const { split = 'validation', words = 6, count = 256, books = pretrainConfig.books as readonly GutenbergBookName[] } = options;
  if (split !== 'validation' && split !== 'train') throw new ValueError(`austenPromptTexts: split must be 'validation' or 'train', got ${String(split)}`);
  if (!Number.isSafeInteger(words) || words < 1) throw new ValueError(`austenPromptTexts: words must be a positive integer, got ${words}`);
  if (!Number.isSafeInteger(count) || count < 1) throw new ValueError(`austenPromptTexts: count must be a positive integer, got ${count}`);
  const seen = new Set<string>();
  for (const name of books) {
    const book = await readGutenbergBook(name);
    const at = splitPoint(book, pretrainConfig.validationFraction);
    const text = split === 'validation' ? book.slice(at) : book.slice(0, at);
    for (const sentence of narrativeSentences(text)) {
      const sentenceWords = sentence.split(' ');
      if (sentenceWords.length < words + 3) continue; // leave room for a continuation
      const prefix = sentenceWords.slice(0, words).join(' ');
      if (/--|[!?()]/.test(prefix)) continue; // an aside or an exclamation, not a plain opening
      // A prompt ends in a word, not in the comma or semicolon after it.
      seen.add(prefix.replace(/[,;:]+$/, ''));
    }
  }
  const all = [...seen];
  if (all.length <= count) return all;
  return Array.from({ length: count }, (_, i) => all[Math.floor((i * all.length) / count)]!);
}

/** The prompts as a PromptDataset tokenised by the tiny GPT's tokenizer. */
export async function austenPromptDataset(tokenizer: Tokenizer, options: AustenPromptOptions & Omit<PromptDatasetOptions, 'tokenizer' | 'source'> = {}): Promise<PromptDataset> {
  const { split, words, count, books, ...datasetOptions } = options;
  const texts = await austenPromptTexts({ split, words, count, books });
  return new PromptDataset(
    texts.map((prompt) => ({ prompt })),
    { ...datasetOptions, tokenizer, source: `austen prompts (${split ?? 'validation'})` },
  );
}
