// What workerd hands a worker for each module kind config.capnp declares.
declare module '*.wasm' {
  const module: WebAssembly.Module; // a wasm module: compiled at startup
  export default module;
}
declare module '*.safetensors' {
  const bytes: ArrayBuffer; // a data module
  export default bytes;
}
declare module '*.json' {
  const text: string; // a text module
  export default text;
}
