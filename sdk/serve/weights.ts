// POST /novarl/update_weights: the body is the bytes of a model.safetensors exactly as
// encodeHuggingFace writes it for the served model. Everything is checked (safetensors framing,
// tensor names, shapes, dtypes, every value finite) on a fresh GPT built beside the served one,
// so a bad body leaves the served weights untouched; the caller swaps the fresh model in between
// generation batches and frees the old one.

import { GPT, HuggingFaceError, NovaRLError, decodeHuggingFace, huggingFaceConfig } from '../index';
import { ServeRequestError } from './protocol';

/** A new GPT on the served model's core holding the weights in `bytes`, or a 4xx naming the problem. */
export function modelFromWeights(served: GPT, bytes: Uint8Array): GPT {
  const config = new TextEncoder().encode(JSON.stringify(huggingFaceConfig(served.config)));
  let model: GPT;
  try {
    // v_head.* tensors (a PPO policy's value head) are accepted and ignored: the server samples only
    model = decodeHuggingFace({ 'config.json': config, 'model.safetensors': bytes }, { core: served.core, valueHead: false }).model;
  } catch (error) {
    if (error instanceof HuggingFaceError || error instanceof NovaRLError) throw new ServeRequestError(400, `update_weights: ${error.message}`, 'body');
    throw error;
  }
  for (const [name, p] of model.namedParameters()) {
    const values = p.view();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        model.free();
        throw new ServeRequestError(400, `update_weights: tensor '${name}' holds ${values[i]} at flat index ${i}; every weight must be finite`, 'body');
      }
    }
  }
  return model;
}
