// The worker side that the playground workers share: the typed worker global, loading the core,
// and the paced step loop (one step per task, so 'pause' and other messages get a turn between two).

/** The worker global, typed by hand: the DOM lib (which the pages need) has no worker scope type. */
export function workerScope<From, To>(): { post: (message: From) => void; onMessage: (handle: (message: To) => void) => void } {
  const scope = self as unknown as { postMessage(message: From): void; onmessage: ((event: MessageEvent<To>) => void) | null };
  return {
    post: (message) => scope.postMessage(message),
    onMessage: (handle) => {
      scope.onmessage = (event) => handle(event.data);
    },
  };
}

/** fetch() that turns an HTTP error into an Error naming the URL. */
export async function fetchOk(url: URL): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  return response;
}

/** Compiles the core's .wasm (served beside the bundles) for that flavour. */
export async function compileCore(simd: boolean): Promise<WebAssembly.Module> {
  // compileStreaming needs the server to send Content-Type: application/wasm
  return WebAssembly.compileStreaming(await fetchOk(new URL(`./novarl.${simd ? 'simd' : 'scalar'}.wasm`, import.meta.url)));
}

/** A loop of steps, `paceMs` apart, from start() until stop() or a step that says it was the last. */
export interface StepLoop {
  readonly running: boolean;
  start(): void;
  stop(): void;
  /** Stops and reports the error's message (a step that throws comes here too). */
  fail(error: unknown): void;
}

/**
 * `step` does one step and returns whether another should follow; a step that throws stops the
 * loop, and its message goes to `onError`.
 */
export function stepLoop(paceMs: number, step: () => boolean | Promise<boolean>, onError: (message: string) => void): StepLoop {
  let running = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    running = false;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const fail = (error: unknown) => {
    stop();
    onError(errorMessage(error));
  };
  const tick = async () => {
    timer = undefined;
    if (!running) return;
    let more: boolean;
    try {
      more = await step();
    } catch (error) {
      return fail(error);
    }
    if (!more) return stop();
    if (running) timer = setTimeout(tick, paceMs);
  };
  return {
    get running() {
      return running;
    },
    start() {
      running = true;
      timer = setTimeout(tick, 0);
    },
    stop,
    fail,
  };
}

/** The message of a thrown value. */
export const errorMessage = (error: unknown) => (error as Error).message ?? String(error);

/** Runs `start`, then handles each message once it is done; a start or a message that throws goes to `fail`. */
export function startThenHandle<To>(onMessage: (handle: (message: To) => void) => void, start: () => Promise<void>, handle: (message: To) => void, fail: (error: unknown) => void): void {
  const ready = start().catch(fail);
  onMessage((message) => {
    void ready.then(() => {
      try {
        handle(message);
      } catch (error) {
        fail(error);
      }
    });
  });
}
