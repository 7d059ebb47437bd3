// The tokenizer gives the same merges and ids on Node, Bun and Deno. sdk/text is bundled with
// esbuild (it needs no .wasm), a script trains a tokenizer on a generated corpus and hashes the
// merges, the encodings and the decoded texts, and every runtime must print the same hash.
//
// A runtime that is not installed is skipped (locally) or fails (under CI=true).

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'node_modules/.bin');
const CI = process.env['CI'] === 'true' || process.env['CI'] === '1';
const run = promisify(execFile);

const SCRIPT = `
import { Tokenizer } from ${JSON.stringify(join(ROOT, 'sdk/text/index.ts'))};

// A corpus from a fixed LCG (integer arithmetic only): words, punctuation, Unicode, spaces.
const words = ['the', 'of', 'and', 'Alice', 'said', "don't", "it's", 'naïve', 'café', '東京', 'Ελλάδα', '🎉', '1999', '42', '...', '!', '\\n', '\\n\\n', '  ', '\\t'];
let state = 12345;
const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 16; // the high bits: an LCG's low bits have short periods
const parts = [];
const syllables = ['ka', 'lo', 'mi', 'ter', 'an', 'sh', 'qu', 'ée', 'ön', 'ri', 'st', 'ng', 'ou', 'ph', 'ze', 'ba'];
const word = () => (next() % 2 === 0 ? words[next() % words.length] : Array.from({ length: 1 + (next() % 4) }, () => syllables[next() % syllables.length]).join(''));
for (let i = 0; i < 60000; i++) parts.push(word() + (next() % 3 === 0 ? '' : ' '));
const corpus = parts.join('');
const tok = Tokenizer.train([corpus, '<|endoftext|>' + corpus.slice(0, 5000)], { vocabSize: 700, specialTokens: ['<|endoftext|>', '<|pad|>'], padToken: '<|pad|>' });

let hash = 0x811c9dc5;
const mix = (n) => { for (let k = 0; k < 4; k++) { hash = Math.imul(hash ^ ((n >>> (8 * k)) & 0xff), 0x01000193) >>> 0; } };
const mixText = (s) => { for (let i = 0; i < s.length; i++) mix(s.charCodeAt(i)); };
for (const [a, b] of tok.toSpec().merges) { mixText(a); mix(0x20); mixText(b); }
const probes = [corpus.slice(0, 20000), 'Hello <|endoftext|> world \\ud800 🎉 é', ' '.repeat(5000) + 'x'];
let ids = 0;
for (const text of probes) {
  for (const id of tok.encode(text, { allowedSpecial: 'all' })) { mix(id); ids++; }
  mixText(tok.decode(tok.encode(text)));
}
const batch = tok.encodeBatch(probes.map((p) => p.slice(0, 300)), { paddingSide: 'left' });
for (const v of batch.inputIds) mix(v);
for (const v of batch.attentionMask) mix(v);
mixText(tok.huggingFaceFiles()['tokenizer.json']);
console.log('novarl-tokenizer ' + JSON.stringify({ hash: hash.toString(16), merges: tok.toSpec().merges.length, ids }));
`;

let dir: string;
let bundle: string;
const results = new Map<string, string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'novarl-tokenizer-runtimes-'));
  writeFileSync(join(dir, 'script.mjs'), SCRIPT);
  bundle = join(dir, 'bundle.mjs');
  await build({ entryPoints: [join(dir, 'script.mjs')], bundle: true, format: 'esm', platform: 'neutral', outfile: bundle, external: ['node:*'], logLevel: 'silent' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runOn(label: string, command: string, args: string[]): Promise<string> {
  const { stdout } = await run(command, [...args, bundle], { timeout: 60_000 });
  const line = stdout.split('\n').find((l) => l.startsWith('novarl-tokenizer '));
  if (!line) throw new Error(`${label} printed no result line:\n${stdout}`);
  return line.slice('novarl-tokenizer '.length);
}

describe('tokenizer on every runtime', () => {
  it('node', async () => {
    results.set('node', await runOn('node', process.execPath, []));
    expect(JSON.parse(results.get('node')!).merges).toBe(700 - 256 - 2);
  });

  for (const [name, args] of [
    ['bun', ['run']],
    ['deno', ['run', '--quiet', '--allow-read']],
  ] as const) {
    it(name, async (context) => {
      const binary = join(BIN, name);
      if (!existsSync(binary)) {
        if (CI) expect.fail(`CI=true and ${name} is not installed`);
        context.skip(`${name} is not installed`);
      }
      results.set(name, await runOn(name, binary, [...args]));
      expect(results.get(name)).toBe(results.get('node'));
    });
  }

  it('prints the hashes', () => {
    console.log([...results].map(([runtime, result]) => `${runtime}: ${result}`).join('\n'));
    expect(results.size).toBeGreaterThan(0);
  });
});
