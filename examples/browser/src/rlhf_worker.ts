// The RLHF page's worker: loads the core and the tiny GPT's Hugging Face files (served beside
// the bundles in dist/tiny-gpt/, listed in its files.json), then runs one GRPO step
// (rlhf_setup.ts: GRPOTrainer.step()) per task while training, posting each step's metrics and completions.

import { init, simdSupported } from '../../../sdk/index';
import type { FromRlhfWorker, ToRlhfWorker } from './rlhf_messages';
import { RLHF, STEPS, createRlhfRun, rlhfStep, type RlhfRun } from './rlhf_setup';

// A step takes ~100 ms; the pause gives the worker a turn to receive 'pause' or 'reward' between any two.
const PACE_MS = 5;

// The worker global, typed by hand: the DOM lib (which the page needs) has no worker scope type.
const scope = self as unknown as {
  postMessage(message: FromRlhfWorker): void;
  onmessage: ((event: MessageEvent<ToRlhfWorker>) => void) | null;
};
const post = (message: FromRlhfWorker) => scope.postMessage(message);

const simd = simdSupported();
let run: RlhfRun | undefined;
let running = false;
let timer: ReturnType<typeof setTimeout> | undefined;

async function fetchOk(url: URL): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  return response;
}

async function start(): Promise<void> {
  await init({ source: await WebAssembly.compileStreaming(await fetchOk(new URL(`./novarl.${simd ? 'simd' : 'scalar'}.wasm`, import.meta.url))), simd });
  const manifest = (await (await fetchOk(new URL('./tiny-gpt/files.json', import.meta.url))).json()) as { source: string; files: string[] };
  const files: Record<string, Uint8Array> = {};
  for (const name of manifest.files) files[name] = new Uint8Array(await (await fetchOk(new URL(`./tiny-gpt/${name}`, import.meta.url))).arrayBuffer());
  run = createRlhfRun(files, 'sentiment');
  const c = run.trainer.policy.config;
  post({
    type: 'ready',
    simd,
    steps: STEPS,
    model: `${manifest.source}: V = ${c.vocabSize}, ${c.nLayer} layers, ${c.nHead} heads, C = ${c.nEmbd}, ${c.nPositions} positions`,
    vocabSize: c.vocabSize,
    parameters: run.trainer.policy.parameterCount(),
    settings: `GRPOTrainer: ${RLHF.promptsPerStep} prompts × ${RLHF.numGenerations} completions of up to ${RLHF.maxNewTokens} tokens per step (temperature ${RLHF.temperature}); loss ${run.trainer.config.lossType}, ε ${run.trainer.config.epsilon}, β ${RLHF.beta} (k3 KL to the frozen initial model); Adam lr ${RLHF.learningRate}; seed ${RLHF.seed}.`,
  });
}

function handle(message: ToRlhfWorker): void {
  if (!run) return;
  switch (message.type) {
    case 'train':
      if (running) return;
      if (run.trainer.updates >= STEPS) return post({ type: 'done', step: run.trainer.updates });
      running = true;
      timer = setTimeout(step, 0);
      return;
    case 'pause':
      if (!running) return;
      stop();
      post({ type: 'paused', step: run.trainer.updates });
      return;
    case 'reward':
      run.reward = message.reward;
      return;
  }
}

function stop(): void {
  running = false;
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
}

/** One GRPO step, then the next after PACE_MS unless paused or finished. */
async function step(): Promise<void> {
  timer = undefined;
  if (!running || !run) return;
  try {
    post({ type: 'step', ...(await rlhfStep(run)) });
  } catch (error) {
    return fail(error);
  }
  if (run.trainer.updates >= STEPS) {
    stop();
    post({ type: 'done', step: run.trainer.updates });
    return;
  }
  if (running) timer = setTimeout(step, PACE_MS);
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
