# workerd config for the determinism run: one worker, listening on 127.0.0.1 only.
# tests/runtimes.test.ts moves the socket with --socket-addr http=127.0.0.1:<free port>.
# Paths are relative to this file.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "determinism", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:8788", http = (), service = "determinism")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "train.mjs", esModule = embed "train.mjs"),
    (name = "hash.mjs", esModule = embed "hash.mjs"),
    (name = "novarl", esModule = embed "../../dist/index.browser.js"),
    (name = "novarl/wasm/simd", wasm = embed "../../dist/novarl.simd.wasm"),
    (name = "novarl/wasm/scalar", wasm = embed "../../dist/novarl.scalar.wasm"),
  ],
  compatibilityDate = "2024-09-23",
);
