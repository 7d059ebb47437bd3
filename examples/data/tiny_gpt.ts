// The tiny pretrained GPT that the RLHF examples start from, built and cached on first use:
// loadOrPretrainTinyGpt() loads `checkpoints/tiny-gpt/` when it exists and was made by the same
// pretraining config, else runs examples/pretrain_gpt.ts, which saves it there. The first call
// takes minutes; later ones read the directory in well under a second.
//
// The config's identity is a SHA-256 of its JSON (the fields that change the weights: everything
// but output paths and verbosity), stored in `novarl_pretrain.json` inside the directory. The
// example writes it in the same crash-safe directory swap as the model (saveHuggingFace writes
// every file into a temporary directory and renames it into place), so a hash never sits beside
// a model that a different config made. A plain `npm run pretrain` with default flags therefore
// fills the cache too.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadHuggingFace, Tokenizer, type GPT } from '../../sdk/index';
import { PRETRAIN_METADATA, config as defaultConfig, main as pretrain, pretrainConfigHash, sha256, type PretrainConfig } from '../pretrain_gpt';

export { PRETRAIN_METADATA, pretrainConfigHash, sha256 };

export interface TinyGptOptions {
  /** The checkpoint directory (default checkpoints/tiny-gpt). */
  dir?: string;
  /** Pretraining config fields that differ from examples/pretrain_gpt.ts's defaults. */
  config?: Partial<PretrainConfig>;
  /** Print the pretraining's progress (default true). */
  verbose?: boolean;
}

export interface TinyGpt {
  model: GPT;
  tokenizer: Tokenizer;
  /** True when the directory was read, false when this call pretrained the model. */
  cached: boolean;
  /** SHA-256 (hex) of the config that made the model. */
  configHash: string;
  /** SHA-256 (hex) of model.safetensors. */
  weightsHash: string;
}

/** Loads the cached model from `dir` when its config hash matches, else pretrains and saves it there. */
export async function loadOrPretrainTinyGpt(options: TinyGptOptions = {}): Promise<TinyGpt> {
  const dir = options.dir ?? defaultConfig.outDir;
  const c: PretrainConfig = { ...defaultConfig, ...options.config, outDir: dir, peerCheck: false, quiet: !(options.verbose ?? true) };
  const configHash = pretrainConfigHash(c);

  const stored = await readMetadata(dir);
  if (stored?.configHash === configHash) {
    const { model, tokenizerFiles } = await loadHuggingFace(dir);
    if (tokenizerFiles) {
      const weightsHash = sha256(await readFile(join(dir, 'model.safetensors')));
      return { model, tokenizer: Tokenizer.fromHuggingFaceFiles(tokenizerFiles), cached: true, configHash, weightsHash };
    }
    model.free(); // a model without its tokenizer is no use: pretrain again
  }
  const { model, tokenizer, weightsHash } = await pretrain(c);
  return { model, tokenizer, cached: false, configHash, weightsHash: weightsHash! };
}

async function readMetadata(dir: string): Promise<{ configHash?: string } | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, PRETRAIN_METADATA), 'utf8')) as { configHash?: string };
  } catch {
    return undefined; // no directory, no metadata, or unreadable: pretrain
  }
}
