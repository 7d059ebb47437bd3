// The tiny GPT's Hugging Face files as bytes, for bundles that embed or serve a model (the edge
// worker, the playground's RLHF page). Build time only (Node).
//
// checkpoints/tiny-gpt/ (examples/pretrain_gpt.ts: V = 1024, 2 layers, C = 128, Austen) is used
// when it is there. A fresh clone does not have it (checkpoints/ is not committed, and pretraining
// it takes minutes), so the fallback is a much smaller GPT pretrained here in seconds: the GPT
// page's recipe (examples/browser/src/gpt_setup.ts: 320-token BPE, 2 layers, C = 64, on the
// opening of Alice in Wonderland) for FALLBACK_STEPS steps, from a fixed seed.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeHuggingFace, init } from '../../sdk/index';
import { readGptCorpus } from '../browser/gpt_corpus';
import { createGptRun, trainStep } from '../browser/src/gpt_setup';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The pretrained tiny GPT's directory. */
export const TINY_GPT_DIR = join(ROOT, 'checkpoints', 'tiny-gpt');
/** Pretraining steps of the fallback model. */
export const FALLBACK_STEPS = 200;

export interface TinyGptFiles {
  /** File name -> bytes: config.json, model.safetensors, the tokenizer's files. */
  files: Record<string, Uint8Array>;
  /** Where they came from. */
  source: 'checkpoints/tiny-gpt' | 'fallback';
}

const FILES = /^(?:config\.json|generation_config\.json|model\.safetensors|tokenizer(?:_config)?\.json|vocab\.json|merges\.txt|special_tokens_map\.json)$/;

/** checkpoints/tiny-gpt's files when it holds a model, else the fallback's (see the top). */
export async function readTinyGptFiles(): Promise<TinyGptFiles> {
  let names: string[] = [];
  try {
    names = (await readdir(TINY_GPT_DIR)).filter((name) => FILES.test(name));
  } catch {
    // no directory: the fallback
  }
  if (names.includes('config.json') && names.includes('model.safetensors') && names.includes('tokenizer.json')) {
    const files: Record<string, Uint8Array> = {};
    for (const name of names.sort()) files[name] = new Uint8Array(await readFile(join(TINY_GPT_DIR, name)));
    return { files, source: 'checkpoints/tiny-gpt' };
  }
  return { files: await pretrainFallback(), source: 'fallback' };
}

async function pretrainFallback(): Promise<Record<string, Uint8Array>> {
  await init(); // the default core the recipe builds on
  const run = createGptRun(await readGptCorpus(), { seed: 1, lr: 3e-3 });
  for (let step = 0; step < FALLBACK_STEPS; step++) trainStep(run);
  const eos = run.tokenizer.eosTokenId;
  return encodeHuggingFace(run.model, { tokenizer: run.tokenizer, bosTokenId: eos, eosTokenId: eos });
}
