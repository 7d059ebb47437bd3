// `npm run playground`: builds the playground, then serves examples/browser/ on 127.0.0.1
// (loopback only) with the MIME types browsers insist on, application/wasm included
// (WebAssembly.compileStreaming refuses anything else).
//
//   PORT=8080 npm run playground      (default port 5173; 0 picks a free one)

import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLAYGROUND_DIR, buildPlayground } from './build';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  // the RLHF page's model files (dist/tiny-gpt/)
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

export interface Playground {
  url: string;
  close(): Promise<void>;
}

/** Builds (unless `build: false`) and serves the playground on 127.0.0.1:`port`. */
export async function startPlayground(options: { port?: number; build?: boolean } = {}): Promise<Playground> {
  if (options.build ?? true) await buildPlayground();
  const root = resolve(PLAYGROUND_DIR);
  const server: Server = createServer(async (request, response) => {
    const send = (status: number, body: string | Uint8Array, type = 'text/plain; charset=utf-8') => {
      response.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'only GET and HEAD\n');
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      return send(400, 'bad URL\n');
    }
    if (pathname.endsWith('/')) pathname += 'index.html';
    const file = resolve(root, `.${pathname}`);
    const type = MIME[extname(file)];
    // only files under examples/browser/, with a known type (no .ts sources, no ../ escapes)
    if (!file.startsWith(root + sep) || !type) return send(404, 'not found\n');
    try {
      send(200, await readFile(file), type);
    } catch {
      send(404, 'not found\n');
    }
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', done);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const playground = await startPlayground({ port: Number(process.env['PORT'] ?? 5173) });
  console.log(`NovaRL playground: ${playground.url}   (Ctrl-C to stop)`);
  console.log(`  tiny GPT page:    ${playground.url}gpt.html`);
  console.log(`  RLHF page:        ${playground.url}rlhf.html`);
}
