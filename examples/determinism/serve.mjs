// A tiny static file server on 127.0.0.1 for the browser run (plain ESM needs http://, not
// file://). It serves the repository root, so the page's import map can point at /dist/.
//   node examples/determinism/serve.mjs   then open the printed URL
// The scalar .wasm is sent as application/octet-stream on purpose: browsers refuse to stream-
// compile that MIME type, so the run also covers the loader's arrayBuffer() fallback.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

/**
 * Serves the files under each mount: `{ '/': repoRoot, '/bundle/': someDir }` (longest prefix wins).
 * Resolves to the server once it listens; `port` 0 picks a free port.
 */
export function serve(mounts, port = 0) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const root = prefix && mounts[prefix];
    const file = root && normalize(join(root, path.slice(prefix.length)));
    if (!file || !(file === root || file.startsWith(root.endsWith(sep) ? root : root + sep))) {
      response.writeHead(403).end();
      return;
    }
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
    } catch {
      response.writeHead(404).end();
      return;
    }
    const type = file.endsWith('novarl.scalar.wasm') ? 'application/octet-stream' : (TYPES[extname(file)] ?? 'application/octet-stream');
    response.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
    createReadStream(file).pipe(response);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const server = await serve({ '/': root }, Number(process.env.PORT ?? 8787));
  console.log(`http://127.0.0.1:${server.address().port}/examples/determinism/browser.html`);
}
