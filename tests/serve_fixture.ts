// A small Hugging Face model directory for the server's tests, made in a temp dir so the tests
// run on a clean clone (checkpoints/tiny-gpt comes from `npm run pretrain`): a byte-level BPE
// tokenizer trained on a few sentences and a GPT with larger-than-GPT-2 weights (as
// tests/generate.test.ts's), so its distributions are far from uniform.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT, Tokenizer, init, normal_, saveHuggingFace, seed } from '../sdk/index';

const CORPUS = [
  'Once upon a time there was a small cat who sat on a warm mat by the door.',
  'The dog barked at the cat, and the cat ran up the old tree in the garden.',
  'Emma walked to the village to buy bread, apples and a little tea for her father.',
].join('\n');

export interface ServeFixture {
  dir: string;
  tokenizer: Tokenizer;
  cleanup(): void;
}

/** Writes the model directory (config.json, model.safetensors, tokenizer files) and returns it. */
export async function makeServeDir(seedValue = 3): Promise<ServeFixture> {
  const core = await init({ setDefault: false });
  const tokenizer = Tokenizer.train(CORPUS, { vocabSize: 320, specialTokens: ['<|endoftext|>'] });
  seed(seedValue, core);
  const model = new GPT({ vocabSize: tokenizer.vocabSize, nPositions: 64, nLayer: 2, nHead: 2, nEmbd: 32 }, { core });
  for (const [name, p] of model.namedParameters()) {
    if (/ln_(1|2|f)\.weight$/.test(name)) normal_(p, 1, 0.1);
    else if (name.endsWith('.bias')) normal_(p, 0, 0.05);
    else normal_(p, 0, 0.3);
  }
  const dir = join(mkdtempSync(join(tmpdir(), 'novarl-serve-')), 'tiny-gpt');
  await saveHuggingFace(dir, model, { tokenizer });
  model.free();
  return { dir, tokenizer, cleanup: () => rmSync(join(dir, '..'), { recursive: true, force: true }) };
}
