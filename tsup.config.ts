import { copyFileSync, mkdirSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'sdk/index.ts' },
  format: ['esm'],
  dts: true,
  target: 'es2022',
  platform: 'neutral',
  removeNodeProtocol: false,
  clean: true,
  sourcemap: true,
  external: ['node:fs/promises', 'node:fs', 'node:path', 'node:url'],
  async onSuccess() {
    mkdirSync('dist', { recursive: true });
    for (const flavour of ['simd', 'scalar']) {
      copyFileSync(`build/novarl.${flavour}.wasm`, `dist/novarl.${flavour}.wasm`);
    }
  },
});
