// workerd and wrangler turn an imported .wasm file into a compiled WebAssembly.Module.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}

// ... and an imported .bin file (a data module) into an ArrayBuffer.
declare module '*.bin' {
  const data: ArrayBuffer;
  export default data;
}
