// NovaRL's OpenAI-compatible server (novarl/serve) as a workerd module worker: the same hono app
// as `novarl serve`, answering /v1/completions, /v1/chat/completions, /v1/models, /health and
// /novarl/update_weights. The model directory is embedded in the worker (config.capnp: the
// weights as a data module, config and tokenizer as text modules), so it needs no file system.
//
// The core and the model are made on the first request (workerd allows no async work at
// startup); the model lives on its own core. Weight updates live in this isolate's memory only.

import coreWasm from '../../../build/novarl.simd.wasm';
import weights from './model/model.safetensors';
import configJson from './model/config.json';
import tokenizerJson from './model/tokenizer.json';
import tokenizerConfigJson from './model/tokenizer_config.json';
import specialTokensMapJson from './model/special_tokens_map.json';
import { init, decodeHuggingFace, Tokenizer } from '../../../sdk/index';
import { createServeApp, type ServeApp } from '../../../sdk/serve/index.browser';

let app: Promise<ServeApp> | undefined;

async function start(): Promise<ServeApp> {
  const core = await init({ source: coreWasm, setDefault: false });
  const text = (s: string) => new TextEncoder().encode(s);
  const loaded = decodeHuggingFace(
    {
      'config.json': text(configJson),
      'model.safetensors': new Uint8Array(weights),
      'tokenizer.json': text(tokenizerJson),
      'tokenizer_config.json': text(tokenizerConfigJson),
      'special_tokens_map.json': text(specialTokensMapJson),
    },
    { core, valueHead: false },
  );
  const tokenizer = Tokenizer.fromHuggingFaceFiles(loaded.tokenizerFiles!);
  return createServeApp({ model: loaded.model, tokenizer, modelName: 'tiny-gpt' });
}

export default {
  async fetch(request: Request): Promise<Response> {
    app ??= start();
    return (await app).fetch(request);
  },
};
