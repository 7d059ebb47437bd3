// The training side of the playground, in a Web Worker so the page stays responsive: it loads
// the core, builds a run (setup.ts) on 'reset', and runs one PPO update per task while training,
// posting each update's metrics and the policy's response probabilities to the page.

import { init, simdSupported } from '../../../sdk/index';
import type { FromWorker, ToWorker } from './messages';
import { DATA, RESPONSES, UPDATES, createRun, responseProbabilities, type Run } from './setup';
import { compileCore, stepLoop, workerScope } from './worker_protocol';

// An update takes ~15 ms; the pause between updates lets a person follow the charts (60 updates
// in about 4 s) and gives the worker a turn to receive 'pause' between any two updates.
const PACE_MS = 50;

const { post, onMessage } = workerScope<FromWorker, ToWorker>();
const simd = simdSupported();
let wasm: WebAssembly.Module | undefined; // compiled once; each reset instantiates a fresh core, so a new run starts from empty memory
let run: Run | undefined;

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'reset': {
      loop.stop();
      wasm ??= await compileCore(simd);
      await init({ source: wasm, simd }); // a new instance becomes the default core
      run = createRun(message.config);
      post({ type: 'reset', config: message.config, probabilities: responseProbabilities(run) });
      return;
    }
    case 'train':
      if (!run || loop.running) return;
      if (run.trainer.updateCount >= UPDATES) return post({ type: 'done', update: run.trainer.updateCount });
      loop.start();
      return;
    case 'pause':
      if (!loop.running) return;
      loop.stop();
      post({ type: 'paused', update: run?.trainer.updateCount ?? 0 });
      return;
  }
}

/** One PPO update; false once the run is finished (or was reset meanwhile). */
async function step(): Promise<boolean> {
  const current = run!;
  const start = performance.now();
  // the synchronous engine resolves within microtasks: no message is handled mid-update
  const metrics = await current.trainer.update();
  if (run !== current) return false; // reset while the update ran
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
  if (run.trainer.updateCount < UPDATES) return true;
  post({ type: 'done', update: run.trainer.updateCount });
  return false;
}

const loop = stepLoop(PACE_MS, step, (message) => post({ type: 'error', message }));

// Messages are handled one after another, even across the awaits in 'reset'.
let queue: Promise<void> = Promise.resolve();
onMessage((message) => {
  queue = queue.then(() => handle(message)).catch(loop.fail);
});

post({
  type: 'ready',
  simd,
  updates: UPDATES,
  prompts: DATA.map((d) => d.prompt),
  responses: RESPONSES,
  rewards: DATA.map((d) => d.rewards),
});
