// examples/pretrain_gpt.ts at a tiny budget (one book's first 30k characters, a 1-layer width-32
// model, 40 steps): the loss falls, the saved directory loads back with loadHuggingFace and the
// tokenizer files with Tokenizer.fromHuggingFaceFiles, one seed gives bit-identical weights twice,
// and examples/data/tiny_gpt.ts caches the model by config hash.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tokenizer, loadHuggingFace } from '../sdk/index';
import { loadOrPretrainTinyGpt, pretrainConfigHash, sha256 } from '../examples/data/tiny_gpt';
import { config as defaultConfig, main, parseArgs, type PretrainConfig } from '../examples/pretrain_gpt';

const root = mkdtempSync(join(tmpdir(), 'novarl-pretrain-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny: Partial<PretrainConfig> = {
  books: ['carroll-alice'],
  maxCharsPerBook: 30_000,
  validationFraction: 0.1,
  vocabSize: 300,
  nLayer: 1,
  nHead: 2,
  nEmbd: 32,
  blockSize: 16,
  batchSize: 8,
  steps: 40,
  lr: 1e-2,
  minLr: 1e-3,
  warmupSteps: 4,
  evalEvery: 20,
  evalWindows: 1e9, // every evaluation reads the whole validation text, so they compare
  sampleTokens: 4,
  prompts: ['Alice'],
  quiet: true,
};

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('examples/pretrain_gpt.ts', () => {
  it('the loss falls, the directory loads back, and one seed gives the same bytes twice', async () => {
    const dirs = [join(root, 'a'), join(root, 'b')];
    const first = await main({ ...tiny, outDir: dirs[0]! });
    const losses = first.trainLosses.map((l) => l.loss);
    expect(losses).toHaveLength(40);
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.5);
    const [before, , after] = first.validation;
    expect(first.validation.map((v) => v.step)).toEqual([0, 20, 40]);
    expect(after!.windows).toBe(before!.windows);
    expect(after!.loss).toBeLessThan(before!.loss - 0.5);
    // untrained: about ln V nats per token; bits per byte is the same total over UTF-8 bytes
    expect(before!.loss).toBeGreaterThan(Math.log(300) - 0.5);
    expect(after!.bitsPerByte).toBeGreaterThan(0);
    expect(after!.bitsPerByte).toBeLessThan(before!.bitsPerByte);
    expect(first.samplesAfter[0]!.startsWith('Alice')).toBe(true);

    // The directory: the same weights bit for bit, and the same tokenizer.
    const loaded = await loadHuggingFace(dirs[0]!);
    const saved = new Map(loaded.model.namedParameters().map(([n, p]) => [n, p.toArray()]));
    for (const [name, p] of first.model.namedParameters()) expect(saved.get(name), name).toEqual(p.toArray());
    expect(loaded.model.config).toEqual(first.model.config);
    const tokenizer = Tokenizer.fromHuggingFaceFiles(loaded.tokenizerFiles!);
    const text = 'Alice was beginning to get very tired of sitting by her sister on the bank.';
    expect(tokenizer.encode(text)).toEqual(first.tokenizer.encode(text));
    expect(tokenizer.vocabSize).toBe(300);

    // Determinism: a second run with the same seed writes the same model.safetensors.
    const second = await main({ ...tiny, outDir: dirs[1]! });
    const [hashA, hashB] = dirs.map((d) => sha256(readFileSync(join(d, 'model.safetensors'))));
    expect(hashB).toBe(hashA);
    expect(first.weightsHash).toBe(hashA);
    expect(second.trainLosses).toEqual(first.trainLosses);
    // and another seed does not
    const third = await main({ ...tiny, seed: 2, outDir: '' });
    expect(third.trainLosses[0]!.loss).not.toBe(first.trainLosses[0]!.loss);
  }, 120_000);

  it('loadOrPretrainTinyGpt pretrains once, then loads the cache; a changed config retrains', async () => {
    const dir = join(root, 'cache');
    const built = await loadOrPretrainTinyGpt({ dir, config: tiny, verbose: false });
    expect(built.cached).toBe(false);
    const cached = await loadOrPretrainTinyGpt({ dir, config: tiny, verbose: false });
    expect(cached.cached).toBe(true);
    expect(cached.weightsHash).toBe(built.weightsHash);
    expect(cached.configHash).toBe(built.configHash);
    for (const [[name, a], [, b]] of built.model.namedParameters().map((e, i) => [e, cached.model.namedParameters()[i]!] as const)) {
      expect(b.toArray(), name).toEqual(a.toArray());
    }
    expect(cached.tokenizer.encode('Alice')).toEqual(built.tokenizer.encode('Alice'));
    const changed = await loadOrPretrainTinyGpt({ dir, config: { ...tiny, steps: 10 }, verbose: false });
    expect(changed.cached).toBe(false);
    expect(changed.configHash).not.toBe(built.configHash);
    expect(changed.weightsHash).not.toBe(built.weightsHash);
  }, 120_000);

  it('the config hash ignores output paths and verbosity, not the training fields', () => {
    const c = { ...defaultConfig };
    expect(pretrainConfigHash({ ...c, outDir: 'elsewhere', quiet: true })).toBe(pretrainConfigHash(c));
    expect(pretrainConfigHash({ ...c, lr: 1e-3 })).not.toBe(pretrainConfigHash(c));
  });

  it('parses --flag value overrides and refuses unknown or malformed ones', () => {
    expect(parseArgs(['--steps', '10', '--peerCheck', 'true', '--books', 'austen-emma,carroll-alice', '--prompts', 'It was|The', '--outDir', 'x'])).toEqual({
      steps: 10,
      peerCheck: true,
      books: ['austen-emma', 'carroll-alice'],
      prompts: ['It was', 'The'],
      outDir: 'x',
    });
    expect(() => parseArgs(['--stepz', '10'])).toThrow(/unknown option/);
    expect(() => parseArgs(['--steps', 'ten'])).toThrow(/needs a number/);
    expect(() => parseArgs(['--quiet', 'yes'])).toThrow(/true or false/);
  });
});
