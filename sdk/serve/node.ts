// Serving the app on Node with @hono/node-server (a dependency of the `novarl/serve` entry on
// Node, Bun and Deno only: the browser/workerd flavour of the entry does not include this file).

import { serve } from '@hono/node-server';
import type { ServeApp } from './app';
import type { ListenOptions, RunningServer } from './runtimes';

/** Serves `app` on Node's http server; resolves once it listens. */
export function serveNode(app: ServeApp, options: ListenOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: (request: Request) => app.fetch(request), port: options.port ?? 8000, hostname: host }, (info) => {
      const close = () =>
        new Promise<void>((done, fail) => {
          app.close();
          server.close((error?: Error) => (error ? fail(error) : done()));
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      resolve({ url: `http://${host}:${info.port}`, port: info.port, close });
    });
    server.once('error', reject);
  });
}
