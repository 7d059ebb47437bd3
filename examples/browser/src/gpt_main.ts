// The GPT page: Start/Pause, the loss chart and the Generate panel. Training and sampling run in
// gpt_worker.ts; this thread only draws, so the page stays responsive while the model trains.

import { LineChart } from './charts';
import type { FromGptWorker, ToGptWorker } from './gpt_messages';
import { $, drawStatus, showError, showTrainButtons, wireTraining, type PageState as State } from './page';

const buttons = { train: $<HTMLButtonElement>('train'), pause: $<HTMLButtonElement>('pause'), generate: $<HTMLButtonElement>('generate') };
const status = $('status');
const output = $('output');
const promptInput = $<HTMLInputElement>('prompt');
const seedInput = $<HTMLInputElement>('sample-seed');

const worker = new Worker(new URL('./gpt_worker.js', import.meta.url), { type: 'module' });
const send = (message: ToGptWorker) => worker.postMessage(message);

let state: State = 'loading';
let steps = 0; // steps per run, from the worker
let step = 0;
let simd = false;
let msPerStep = 0;
let chart: LineChart | undefined;

function setState(next: State): void {
  state = next;
  showTrainButtons(buttons, next, 'Start');
  buttons.generate.disabled = next === 'loading' || next === 'error';
  renderStatus();
}

const renderStatus = () => drawStatus(status, state, { unit: 'step', done: step, total: steps, simd, msPer: msPerStep });

worker.onmessage = (event: MessageEvent<FromGptWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'ready': {
      steps = message.steps;
      simd = message.simd;
      // ln(vocabSize): the loss of a uniform guess, where an untrained model starts
      const uniform = Math.log(message.vocabSize);
      chart = new LineChart({ key: 'loss', title: 'Training loss', hint: `cross-entropy per token, nats (uniform guess: ln ${message.vocabSize} = ${uniform.toFixed(2)})`, color: '#dc2626', digits: 3, yMin: 0, xMax: steps });
      $('charts').replaceChildren(chart.element);
      $('facts').textContent =
        `Corpus: ${message.corpusChars.toLocaleString('en')} characters, ${message.corpusTokens.toLocaleString('en')} tokens after a ` +
        `${message.vocabSize}-token BPE trained in the worker (${message.msTokenizer.toFixed(0)} ms, with the model). ` +
        `${message.parameters.toLocaleString('en')} parameters.`;
      setState('ready');
      return;
    }
    case 'step':
      step = message.step;
      msPerStep = message.msPerStep;
      chart!.push(message.step, message.loss);
      renderStatus();
      return;
    case 'paused':
    case 'done':
      step = message.step;
      setState(message.type);
      return;
    case 'generated': {
      const prompt = document.createElement('span');
      prompt.className = 'prompt-text';
      prompt.textContent = message.prompt;
      const text = document.createElement('span');
      text.id = 'generated';
      text.textContent = message.text;
      const at = document.createElement('span');
      at.className = 'at';
      at.dataset['step'] = String(message.step);
      at.textContent = `after ${message.step} steps`;
      output.replaceChildren(prompt, text, at);
      return;
    }
    case 'error':
      return showError(status, setState, `Error: ${message.message}`);
  }
};

wireTraining(worker, buttons, status, setState, send);
buttons.generate.addEventListener('click', () => {
  send({ type: 'generate', prompt: promptInput.value, seed: Math.max(0, Math.floor(Number(seedInput.value) || 0)) });
});

setState('loading');
status.textContent = 'Loading the WebAssembly core, training the tokenizer…';
