// The GPT page's worker: loads the core, trains the tokenizer and builds the model
// (gpt_setup.ts) at start, then runs one training step per task while training, posting each
// step's loss; 'generate' samples between two steps, from the model as it is then.

import { init, simdSupported } from '../../../sdk/index';
import type { FromGptWorker, ToGptWorker } from './gpt_messages';
import { STEPS, createGptRun, defaultGptRunConfig, sample, trainStep, type GptRun } from './gpt_setup';

// The corpus (gpt_corpus.ts), baked in by build.ts as a string constant: nothing is fetched but the core.
declare const GPT_CORPUS: string;

// A step takes ~30 ms; the pause gives the worker a turn to receive 'pause' or 'generate' between any two.
const PACE_MS = 5;

// The worker global, typed by hand: the DOM lib (which the page needs) has no worker scope type.
const scope = self as unknown as {
  postMessage(message: FromGptWorker): void;
  onmessage: ((event: MessageEvent<ToGptWorker>) => void) | null;
};
const post = (message: FromGptWorker) => scope.postMessage(message);

const simd = simdSupported();
let run: GptRun | undefined;
let running = false;
let timer: ReturnType<typeof setTimeout> | undefined;

async function start(): Promise<void> {
  const url = new URL(`./novarl.${simd ? 'simd' : 'scalar'}.wasm`, import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  await init({ source: await WebAssembly.compileStreaming(response), simd });
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
      if (running) return;
      if (run.step >= STEPS) return post({ type: 'done', step: run.step });
      running = true;
      timer = setTimeout(step, 0);
      return;
    case 'pause':
      if (!running) return;
      stop();
      post({ type: 'paused', step: run.step });
      return;
    case 'generate': {
      const { prompt, text } = sample(run, message.prompt, message.seed);
      post({ type: 'generated', step: run.step, prompt, text });
      return;
    }
  }
}

function stop(): void {
  running = false;
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
}

/** One training step, then the next after PACE_MS unless paused or finished. */
function step(): void {
  timer = undefined;
  if (!running || !run) return;
  const begin = performance.now();
  let loss: number;
  try {
    loss = trainStep(run);
  } catch (error) {
    return fail(error);
  }
  post({ type: 'step', step: run.step, loss, msPerStep: performance.now() - begin });
  if (run.step >= STEPS) {
    stop();
    post({ type: 'done', step: run.step });
    return;
  }
  timer = setTimeout(step, PACE_MS);
}

const fail = (error: unknown) => {
  stop();
  post({ type: 'error', message: (error as Error).message ?? String(error) });
};

// Messages wait for the start; a step that throws ends training with an 'error' message.
const ready = start().catch(fail);
scope.onmessage = (event) => {
  void ready.then(() => {
    try {
      handle(event.data);
    } catch (error) {
      fail(error);
    }
  });
};
