# workerd configuration for NovaRL's OpenAI-compatible server. Build first, then serve:
#
#   npx tsx examples/serve-worker/build.ts
#   node_modules/.bin/workerd serve examples/serve-worker/config.capnp
#
# It listens on 127.0.0.1:8788 only; override with --socket-addr http=127.0.0.1:PORT.

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "novarl-serve", worker = .serveWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8788", http = (), service = "novarl-serve")],
);

const serveWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "dist/worker.js"),
    # compiled by workerd at startup; the worker imports it as a WebAssembly.Module
    (name = "novarl.simd.wasm", wasm = embed "dist/novarl.simd.wasm"),
    # the model directory: weights as bytes (an ArrayBuffer), the rest as text
    (name = "model/model.safetensors", data = embed "dist/model/model.safetensors"),
    (name = "model/config.json", text = embed "dist/model/config.json"),
    (name = "model/tokenizer.json", text = embed "dist/model/tokenizer.json"),
    (name = "model/tokenizer_config.json", text = embed "dist/model/tokenizer_config.json"),
    (name = "model/special_tokens_map.json", text = embed "dist/model/special_tokens_map.json"),
  ],
  compatibilityDate = "2025-09-01",
);
