// The RLHF page's worker: loads the core and the tiny GPT's Hugging Face files (served beside
// the bundles in dist/tiny-gpt/, listed in its files.json), then runs one GRPO step
// (rlhf_setup.ts: GRPOTrainer.step()) per task while training, posting each step's metrics and completions.

import { init, simdSupported } from '../../../sdk/index';
import type { FromRlhfWorker, ToRlhfWorker } from './rlhf_messages';
import { RLHF, STEPS, createRlhfRun, rlhfStep, type RlhfRun } from './rlhf_setup';
import { compileCore, fetchOk, startThenHandle, stepLoop, workerScope } from './worker_protocol';

// A step takes ~100 ms; the pause gives the worker a turn to receive 'pause' or 'reward' between any two.
const PACE_MS = 5;

const { post, onMessage } = workerScope<FromRlhfWorker, ToRlhfWorker>();
const simd = simdSupported();
let run: RlhfRun | undefined;

async function start(): Promise<void> {
  await init({ source: await compileCore(simd), simd });
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
      if (loop.running) return;
      if (run.trainer.updates >= STEPS) return post({ type: 'done', step: run.trainer.updates });
      loop.start();
      return;
    case 'pause':
      if (!loop.running) return;
      loop.stop();
      post({ type: 'paused', step: run.trainer.updates });
      return;
    case 'reward':
      run.reward = message.reward;
      return;
  }
}

/** One GRPO step; false once the run is finished. */
async function step(): Promise<boolean> {
  post({ type: 'step', ...(await rlhfStep(run!)) });
  if (run!.trainer.updates < STEPS) return true;
  post({ type: 'done', step: run!.trainer.updates });
  return false;
}

const loop = stepLoop(PACE_MS, step, (message) => post({ type: 'error', message }));

// Messages wait for the start; a step that throws ends training with an 'error' message.
startThenHandle(onMessage, start, handle, loop.fail);
