// The playground page: settings, buttons, charts and probability bars. Training runs in
// train_worker.ts; this thread only draws, so the page stays responsive while it trains.

import { LineChart, ProbabilityBars } from './charts';
import type { FromWorker, RunConfig, ToWorker } from './messages';
import { $, drawStatus, showError, showTrainButtons, wireTraining, type PageState as State } from './page';

const buttons = { train: $<HTMLButtonElement>('train'), pause: $<HTMLButtonElement>('pause'), reset: $<HTMLButtonElement>('reset') };
const status = $('status');
const pending = $('pending');
const inputs = {
  klCoef: $<HTMLInputElement>('klCoef'),
  klTarget: $<HTMLInputElement>('klTarget'),
  clipRange: $<HTMLInputElement>('clipRange'),
  seed: $<HTMLInputElement>('seed'),
};

const worker = new Worker(new URL('./train_worker.js', import.meta.url), { type: 'module' });
const send = (message: ToWorker) => worker.postMessage(message);

let state: State = 'loading';
let updates = 0; // updates per run, from the worker
let update = 0;
let simd = false;
let msPerUpdate = 0;
let runConfig: RunConfig | undefined; // the settings of the run on screen
let charts: { reward: LineChart; klToRef: LineChart; klCoef: LineChart; entropy: LineChart } | undefined;
let bars: ProbabilityBars | undefined;

/** The settings as the inputs show them now. */
function formConfig(): RunConfig {
  return {
    klCoef: Number(inputs.klCoef.value),
    klTarget: Number(inputs.klTarget.value),
    clipRange: Number(inputs.clipRange.value),
    seed: Math.max(0, Math.floor(Number(inputs.seed.value) || 0)),
  };
}

const sameConfig = (a: RunConfig, b: RunConfig) => (Object.keys(a) as (keyof RunConfig)[]).every((k) => a[k] === b[k]);

function setState(next: State): void {
  state = next;
  showTrainButtons(buttons, next, 'Train');
  buttons.reset.disabled = next === 'loading';
  renderStatus();
}

const renderStatus = () => drawStatus(status, state, { unit: 'update', done: update, total: updates, simd, msPer: msPerUpdate });

function showSettings(): void {
  for (const [key, input] of Object.entries(inputs)) {
    const output = document.querySelector<HTMLOutputElement>(`output[for="${key}"]`);
    if (output) output.textContent = Number(input.value).toFixed(2);
  }
  const target = Number(inputs.klTarget.value);
  $('klWindow').textContent = `window [${(target / 1.5).toFixed(2)}, ${(target * 1.5).toFixed(2)}] nats`;
  pending.hidden = !runConfig || sameConfig(formConfig(), runConfig);
}

function onSettingChanged(): void {
  showSettings();
  // Before the first update, new settings simply start a new run; later they wait for Reset.
  if (state === 'ready' && update === 0 && runConfig && !sameConfig(formConfig(), runConfig)) reset();
}

function reset(): void {
  setState('loading');
  status.textContent = 'Building a fresh policy…';
  send({ type: 'reset', config: formConfig() });
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'ready': {
      updates = message.updates;
      simd = message.simd;
      const xMax = message.updates;
      charts = {
        reward: new LineChart({ key: 'reward', title: 'Reward', hint: 'mean per episode', color: '#16a34a', digits: 3, yMin: -1, yMax: 1, xMax }),
        klToRef: new LineChart({ key: 'kl', title: 'KL to reference', hint: 'KL(π ‖ π_ref), nats', color: '#7c3aed', digits: 3, yMin: 0, xMax }),
        klCoef: new LineChart({ key: 'klcoef', title: 'KL coefficient β', hint: 'adapted after each update', color: '#d97706', digits: 4, yMin: 0, xMax }),
        // ln 4 = 1.386: the entropy of a uniform choice among the four responses
        entropy: new LineChart({ key: 'entropy', title: 'Entropy', hint: 'nats (uniform: ln 4 = 1.386)', color: '#2563eb', digits: 3, yMin: 0, yMax: 1.4, xMax }),
      };
      $('charts').replaceChildren(...Object.values(charts).map((c) => c.element));
      bars = new ProbabilityBars(message.prompts, message.responses, message.rewards);
      $('bars').replaceChildren(bars.element);
      reset();
      return;
    }
    case 'reset':
      runConfig = message.config;
      update = 0;
      msPerUpdate = 0;
      for (const chart of Object.values(charts!)) chart.clear();
      charts!.klToRef.setBand([message.config.klTarget / 1.5, message.config.klTarget * 1.5], 'target window');
      bars!.set(message.probabilities);
      showSettings();
      setState('ready');
      return;
    case 'update': {
      const p = message.point;
      update = p.update;
      msPerUpdate = message.msPerUpdate;
      charts!.reward.push(p.update, p.reward);
      charts!.klToRef.push(p.update, p.klToRef);
      charts!.klCoef.push(p.update, p.klCoef);
      charts!.entropy.push(p.update, p.entropy);
      bars!.set(message.probabilities);
      renderStatus();
      return;
    }
    case 'paused':
    case 'done':
      update = message.update;
      setState(message.type);
      return;
    case 'error':
      return showError(status, setState, `Error: ${message.message}`);
  }
};

wireTraining(worker, buttons, status, setState, send);
buttons.reset.addEventListener('click', reset);
for (const input of Object.values(inputs)) input.addEventListener('input', onSettingChanged);

showSettings();
setState('loading');
status.textContent = 'Loading the WebAssembly core…';
