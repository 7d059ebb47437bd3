// Launchers for the runtimes that have a server of their own: Bun.serve and Deno.serve take the
// app's fetch as it is. Node's is in node.ts (it needs @hono/node-server); workerd needs none
// (a module's `export default { fetch: app.fetch }`, see examples/serve-worker).

import type { ServeApp } from './app';

export interface ListenOptions {
  /** Default 8000 (vLLM's). 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

/** A listening server: its URL and how to stop it. */
export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface BunLike {
  serve(options: { port: number; hostname: string; fetch(request: Request): Promise<Response> }): { port: number; stop(force?: boolean): void | Promise<void> };
}

interface DenoLike {
  serve(options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void }, handler: (request: Request) => Promise<Response>): { addr: { port: number }; shutdown(): Promise<void> };
}

/** Serves `app` with Bun.serve. */
export function serveBun(app: ServeApp, options: ListenOptions = {}): RunningServer {
  const bun = (globalThis as { Bun?: BunLike }).Bun;
  if (!bun) throw new Error('serveBun: not running on Bun (globalThis.Bun is missing)');
  const host = options.host ?? '127.0.0.1';
  const server = bun.serve({ port: options.port ?? 8000, hostname: host, fetch: (request) => app.fetch(request) });
  return { url: `http://${host}:${server.port}`, port: server.port, close: async () => void (await server.stop(true), app.close()) };
}

/** Serves `app` with Deno.serve (needs --allow-net, and --allow-read to load a directory). */
export function serveDeno(app: ServeApp, options: ListenOptions = {}): RunningServer {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (!deno) throw new Error('serveDeno: not running on Deno (globalThis.Deno is missing)');
  const host = options.host ?? '127.0.0.1';
  const server = deno.serve({ port: options.port ?? 8000, hostname: host, onListen: () => {} }, (request) => app.fetch(request));
  return { url: `http://${host}:${server.addr.port}`, port: server.addr.port, close: async () => void (await server.shutdown(), app.close()) };
}
