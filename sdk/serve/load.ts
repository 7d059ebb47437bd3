// loadServeApp: the server for a Hugging Face model directory (saveHuggingFace's, or a GPT-2
// from the Hub in F32), on runtimes with a file system. The model gets a core of its own
// (init({ setDefault: false })), so serving never touches the default core a trainer in the same
// process uses: not its memory, not its step's scratch tensors, not its generator.

import { Tokenizer, ValueError, init, loadHuggingFace } from '../index';
import { createServeApp, type ServeApp, type ServeAppOptions } from './app';

export interface LoadServeAppOptions extends Omit<ServeAppOptions, 'model' | 'tokenizer'> {
  /** The core's build: true SIMD, false scalar, undefined SIMD where supported (both give the same bits). */
  simd?: boolean;
}

/** Loads `dir` (config.json, model.safetensors and the tokenizer's files) on a fresh core and serves it. */
export async function loadServeApp(dir: string, options: LoadServeAppOptions = {}): Promise<ServeApp> {
  const { simd, ...appOptions } = options;
  const core = await init({ setDefault: false, simd });
  const loaded = await loadHuggingFace(dir, { core, valueHead: false });
  if (!loaded.tokenizerFiles) {
    loaded.model.free();
    throw new ValueError(`loadServeApp: ${dir} has no tokenizer files (tokenizer.json or vocab.json + merges.txt); save the model with saveHuggingFace(dir, model, { tokenizer })`);
  }
  const tokenizer = Tokenizer.fromHuggingFaceFiles(loaded.tokenizerFiles);
  const modelName = appOptions.modelName ?? dir.split(/[\\/]/).filter(Boolean).pop() ?? 'novarl-gpt';
  return createServeApp({ ...appOptions, model: loaded.model, tokenizer, modelName });
}
