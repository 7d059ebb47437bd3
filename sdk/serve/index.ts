// novarl/serve: NovaRL's OpenAI-compatible server (vLLM's protocol) for a GPT, one hono app on
// every runtime. Node, Bun and Deno get this file; browsers and workerd index.browser.ts.
export * from './index.browser';
export { serveNode } from './node';
