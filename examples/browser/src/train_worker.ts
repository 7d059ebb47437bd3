// The training side of the playground, in a Web Worker so the page stays responsive: it loads
// the core, builds a run (setup.ts) on 'reset', and runs one PPO update per task while training,
// posting each update's metrics and the policy's response probabilities to the page.

import { init, simdSupported } from '../../../sdk/index';
import type { FromWorker, ToWorker } from './messages';
import { DATA, RESPONSES, UPDATES, createRun, responseProbabilities, type Run } from './setup';

// An update takes ~15 ms; the pause between updates lets a person follow the charts (60 updates
// in about 4 s) and gives the worker a turn to receive 'pause' between any two updates.
const PACE_MS = 50;

// The worker global, typed by hand: the DOM lib (which the page needs) has no worker scope type.
const scope = self as unknown as {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};
const post = (message: FromWorker) => scope.postMessage(message);

const simd = simdSupported();
let wasm: WebAssembly.Module | undefined;
let run: Run | undefined;
let running = false;
let timer: ReturnType<typeof setTimeout> | undefined;

/** Compiles the core once; each reset instantiates a fresh one, so a new run starts from empty memory. */
async function loadCore(): Promise<WebAssembly.Module> {
  const url = new URL(`./novarl.${simd ? 'simd' : 'scalar'}.wasm`, import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  // compileStreaming needs the server to send Content-Type: application/wasm
  return WebAssembly.compileStreaming(response);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'reset': {
      stop();
      wasm ??= await loadCore();
      await init({ source: wasm, simd }); // a new instance becomes the default core
      run = createRun(message.config);
      post({ type: 'reset', config: message.config, probabilities: responseProbabilities(run) });
      return;
    }
    case 'train':
      if (!run || running) return;
      if (run.trainer.updateCount >= UPDATES) return post({ type: 'done', update: run.trainer.updateCount });
      running = true;
      timer = setTimeout(step, 0);
      return;
    case 'pause':
      if (!running) return;
      stop();
      post({ type: 'paused', update: run?.trainer.updateCount ?? 0 });
      return;
  }
}

function stop(): void {
  running = false;
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
}

/** One PPO update, then the next one after PACE_MS unless paused or finished. */
async function step(): Promise<void> {
  timer = undefined;
  if (!running || !run) return;
  const current = run;
  try {
    const start = performance.now();
    // the synchronous engine resolves within microtasks: no message is handled mid-update
    const metrics = await current.trainer.update();
    if (run !== current) return; // reset while the update ran
    const probabilities = responseProbabilities(run);
    const msPerUpdate = performance.now() - start;
    const point = {
      update: run.trainer.updateCount,
      reward: metrics.reward_mean,
      klToRef: metrics.kl_to_ref,
      klCoef: metrics.kl_coef,
      entropy: metrics.entropy,
    };
    post({ type: 'update', point, probabilities, msPerUpdate });
    if (run.trainer.updateCount >= UPDATES) {
      stop();
      post({ type: 'done', update: run.trainer.updateCount });
      return;
    }
    timer = setTimeout(step, PACE_MS);
  } catch (error) {
    stop();
    post({ type: 'error', message: (error as Error).message });
  }
}

// Messages are handled one after another, even across the awaits in 'reset'.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  queue = queue
    .then(() => handle(event.data))
    .catch((error: unknown) => {
      stop();
      post({ type: 'error', message: (error as Error).message ?? String(error) });
    });
};

post({
  type: 'ready',
  simd,
  updates: UPDATES,
  prompts: DATA.map((d) => d.prompt),
  responses: RESPONSES,
  rewards: DATA.map((d) => d.rewards),
});
