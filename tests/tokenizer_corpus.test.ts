// The Gutenberg corpus reader of examples/data/gutenberg.ts: every book reads, decodes (UTF-8 or
// Windows-1252), has "\n" line ends and no Project Gutenberg licence text left.

import { describe, expect, it } from 'vitest';
import { ValueError } from '../sdk/core/errors';
import { GUTENBERG_BOOKS, decodeBookBytes, readGutenbergBook, readGutenbergCorpus, stripGutenbergLicense, type GutenbergBookName } from '../examples/data/gutenberg';

describe('examples/data/gutenberg', () => {
  it('reads every book: decoded, "\\n" line ends, no licence text, public domain by date', async () => {
    expect(GUTENBERG_BOOKS).toHaveLength(18);
    let total = 0;
    for (const book of GUTENBERG_BOOKS) {
      const text = await readGutenbergBook(book.name);
      total += text.length;
      expect(text.length).toBeGreaterThan(30_000);
      expect(text).not.toMatch(/\r|\ufffd/);
      expect(text).not.toMatch(/project gutenberg|small print/i);
      expect(book.year).toBeLessThan(1928); // published before 1928: public domain in the US
      expect(text.startsWith('[')).toBe(true); // NLTK's files start with "[Title by Author Year]"
    }
    expect(total).toBeGreaterThan(11_000_000);
  });

  it('reads Latin-1 bytes as such, and cuts the licence off the one book that carries it', async () => {
    expect(await readGutenbergBook('shakespeare-caesar')).toContain('Cæsar');
    const ball = await readGutenbergBook('chesterton-ball');
    expect(ball).toContain('café');
    expect(ball.length).toBeLessThan(460_000 - 10_000); // the raw file is 457 kB with ~20 kB of licence at its end
    expect(ball.endsWith('End of Project Gutenberg')).toBe(false);
  });

  it('decodeBookBytes: UTF-8 when valid, else Latin-1', () => {
    expect(decodeBookBytes(new TextEncoder().encode('Cæsar — ok'))).toBe('Cæsar — ok');
    expect(decodeBookBytes(Uint8Array.from([0x43, 0xe6, 0x73, 0x61, 0x72, 0x93, 0xff]))).toBe('Cæsar\u0093\u00ff');
  });

  it('stripGutenbergLicense removes a header and a footer, and leaves other text alone', () => {
    const book = 'The Project Gutenberg EBook of X\n\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\nChapter 1\nIt began.\n\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\nlicence...';
    expect(stripGutenbergLicense(book)).toBe('Chapter 1\nIt began.');
    expect(stripGutenbergLicense('Chapter 1\nNo marks here.\n')).toBe('Chapter 1\nNo marks here.');
    expect(stripGutenbergLicense("Body text.\n\nEnd of Project Gutenberg's X, by Y\n\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN EBOOKS*END*\n")).toBe('Body text.');
    expect(stripGutenbergLicense('small print...\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*END*\nBody.')).toBe('Body.');
  });

  it('joins books with a separator, and refuses unknown names', async () => {
    const corpus = await readGutenbergCorpus(['blake-poems', 'carroll-alice'], '<|endoftext|>');
    expect(corpus.split('<|endoftext|>')).toEqual([await readGutenbergBook('blake-poems'), await readGutenbergBook('carroll-alice'), '']);
    await expect(readGutenbergBook('austen-pride' as GutenbergBookName)).rejects.toThrow(ValueError);
  });
});
