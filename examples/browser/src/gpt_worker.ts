// The GPT page's worker: loads the core, trains the tokenizer and builds the model
// (gpt_setup.ts) at start, then runs one training step per task while training, posting each
// step's loss; 'generate' samples between two steps, from the model as it is then.

import { init, simdSupported } from '../../../sdk/index';
import type { FromGptWorker, ToGptWorker } from './gpt_messages';
import { STEPS, createGptRun, defaultGptRunConfig, sample, trainStep, type GptRun } from './gpt_setup';
import { compileCore, startThenHandle, stepLoop, workerScope } from './worker_protocol';

// The corpus (gpt_corpus.ts), baked in by build.ts as a string constant: nothing is fetched but the core.
declare const GPT_CORPUS: string;

// A step takes ~30 ms; the pause gives the worker a turn to receive 'pause' or 'generate' between any two.
const PACE_MS = 5;

const { post, onMessage } = workerScope<FromGptWorker, ToGptWorker>();
const simd = simdSupported();
let run: GptRun | undefined;

async function start(): Promise<void> {
  await init({ source: await compileCore(simd), simd });
  const begin = performance.now();
  run = createGptRun(GPT_CORPUS, defaultGptRunConfig);
  post({
    type: 'ready',
    simd,
    steps: STEPS,
    corpusChars: GPT_CORPUS.length,
    corpusTokens: run.ids.length,
    vocabSize: run.tokenizer.vocabSize,
    parameters: run.model.parameterCount(),
    config: run.config,
    msTokenizer: performance.now() - begin,
  });
}

function handle(message: ToGptWorker): void {
  if (!run) return;
  switch (message.type) {
    case 'train':
      if (loop.running) return;
      if (run.step >= STEPS) return post({ type: 'done', step: run.step });
      loop.start();
      return;
    case 'pause':
      if (!loop.running) return;
      loop.stop();
      post({ type: 'paused', step: run.step });
      return;
    case 'generate': {
      const { prompt, text } = sample(run, message.prompt, message.seed);
      post({ type: 'generated', step: run.step, prompt, text });
      return;
    }
  }
}

/** One training step; false once the run is finished. */
function step(): boolean {
  const begin = performance.now();
  const loss = trainStep(run!);
  post({ type: 'step', step: run!.step, loss, msPerStep: performance.now() - begin });
  if (run!.step < STEPS) return true;
  post({ type: 'done', step: run!.step });
  return false;
}

const loop = stepLoop(PACE_MS, step, (message) => post({ type: 'error', message }));

// Messages wait for the start; a step that throws ends training with an 'error' message.
startThenHandle(onMessage, start, handle, loop.fail);
