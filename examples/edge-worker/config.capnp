# workerd configuration for the NovaRL edge worker. Build first, then serve:
#
#   npx tsx examples/edge-worker/build.ts
#   node_modules/.bin/workerd serve examples/edge-worker/config.capnp
#
# It listens on 127.0.0.1:8787 only; override with --socket-addr http=127.0.0.1:PORT.

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "novarl", worker = .novarlWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "novarl")],
);

const novarlWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "dist/worker.js"),
    # compiled by workerd at startup; the worker imports it as a WebAssembly.Module
    (name = "novarl.simd.wasm", wasm = embed "dist/novarl.simd.wasm"),
    # the tiny GPT's Hugging Face files, packed by build.ts; the worker imports an ArrayBuffer
    (name = "tiny-gpt.bin", data = embed "dist/tiny-gpt.bin"),
  ],
  compatibilityDate = "2025-09-01",
);
