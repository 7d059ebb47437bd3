// novarl/serve for browsers and workerd: the app and the Bun/Deno launchers, no node: import.
// (index.ts, for Node, Bun and Deno, adds serveNode.)
export { createServeApp, WEIGHTS_VERSION_HEADER, type ServeApp, type ServeAppOptions } from './app';
export { loadServeApp, type LoadServeAppOptions } from './load';
export { serveBun, serveDeno, type ListenOptions, type RunningServer } from './runtimes';
export { renderChat } from './chat_template';
export { ServeRequestError, type ServeLimits, type ChatMessage, type CompletionParams } from './protocol';
export { type QueueStats } from './batching_queue';
