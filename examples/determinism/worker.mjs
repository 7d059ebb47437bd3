// workerd: the .wasm is imported as a module (workerd refuses to compile bytes) and passed to
// init({ source }). workerd.capnp names the modules: 'novarl' is dist/index.browser.js.
//   node_modules/.bin/workerd serve examples/determinism/workerd.capnp   then GET http://127.0.0.1:8788/
import simd from 'novarl/wasm/simd';
import scalar from 'novarl/wasm/scalar';
import { runBoth } from './train.mjs';

export default {
  async fetch() {
    try {
      return new Response(await runBoth('workerd', { simd, scalar }));
    } catch (error) {
      return new Response(`error ${error.stack ?? error}`, { status: 500 });
    }
  },
};
