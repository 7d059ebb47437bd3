// The tiny pretrained GPT that the RLHF examples start from, built and cached on first use:
// loadOrPretrainTinyGpt() loads `checkpoints/tiny-gpt/` when it exists and was made by the same
// pretraining config, else runs examples/pretrain_gpt.ts and saves it there. The first call takes
// minutes; later ones read the directory in well under a second.
//
// The config's identity is a SHA-256 of its JSON (the fields that change the weights: everything
// but output paths and verbosity), stored in `novarl_pretrain.json` inside the directory. It is
// written by the same crash-safe directory swap as the model (saveHuggingFace writes every file
// into a temporary directory and renames it into place), so a hash never sits beside a model
// that a different config made.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadHuggingFace, saveHuggingFace, Tokenizer, type GPT } from '../../sdk/index';
import { config as defaultConfig, main as pretrain, type PretrainConfig } from '../pretrain_gpt';

/** The metadata file beside the model. */
export const PRETRAIN_METADATA = 'novarl_pretrain.json';

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
  /** SHA-256 (hex) of model.safetensors as written. */
  weightsHash: string;
}

/** Config fields that do not change the weights. */
const NOT_HASHED = new Set<keyof PretrainConfig>(['outDir', 'peerCheck', 'peerDir', 'quiet']);

/** SHA-256 of the fields of `c` that change the trained weights, in a fixed key order. */
export function pretrainConfigHash(c: PretrainConfig): string {
  const fields = Object.keys(c).filter((k) => !NOT_HASHED.has(k as keyof PretrainConfig)).sort();
  return sha256(JSON.stringify(fields.map((k) => [k, c[k as keyof PretrainConfig]])));
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Loads the cached model from `dir` when its config hash matches, else pretrains and saves it. */
export async function loadOrPretrainTinyGpt(options: TinyGptOptions = {}): Promise<TinyGpt> {
  const dir = options.dir ?? defaultConfig.outDir;
  const c: PretrainConfig = { ...defaultConfig, ...options.config, outDir: '', quiet: !(options.verbose ?? true) };
  const configHash = pretrainConfigHash(c);

  const stored = await readMetadata(dir);
  if (stored?.configHash === configHash) {
    const { model, tokenizerFiles } = await loadHuggingFace(dir);
    if (tokenizerFiles) {
      const weightsHash = sha256(await readFile(join(dir, 'model.safetensors')));
      return { model, tokenizer: Tokenizer.fromHuggingFaceFiles(tokenizerFiles), cached: true, configHash, weightsHash };
    }
    model.free();
  }

  const { model, tokenizer } = await pretrain(c);
  const eos = tokenizer.eosTokenId!;
  const metadata = { configHash, config: c };
  // The metadata travels as one more file of the tokenizer source, so it lands in the same swap.
  const source = { huggingFaceFiles: () => ({ ...tokenizer.huggingFaceFiles(), [PRETRAIN_METADATA]: `${JSON.stringify(metadata, null, 2)}\n` }) };
  await saveHuggingFace(dir, model, { tokenizer: source, bosTokenId: eos, eosTokenId: eos });
  const weightsHash = sha256(await readFile(join(dir, 'model.safetensors')));
  return { model, tokenizer, cached: false, configHash, weightsHash };
}

async function readMetadata(dir: string): Promise<{ configHash?: string } | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, PRETRAIN_METADATA), 'utf8')) as { configHash?: string };
  } catch {
    return undefined; // no directory, no metadata, or unreadable: pretrain
  }
}
