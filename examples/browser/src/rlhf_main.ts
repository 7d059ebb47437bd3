// The RLHF page: Start/Pause, the reward chooser, live charts of the reward and the KL to the
// reference, and the completions table. GRPO runs in rlhf_worker.ts; this thread only draws.

import { LineChart } from './charts';
import type { CompletionRow, FromRlhfWorker, RewardName, ToRlhfWorker } from './rlhf_messages';

type State = 'loading' | 'ready' | 'training' | 'paused' | 'done' | 'error';

/** Rows the completions table keeps (the newest step's first). */
const TABLE_ROWS = 48;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const buttons = { train: $<HTMLButtonElement>('train'), pause: $<HTMLButtonElement>('pause') };
const status = $('status');
const rewardSelect = $<HTMLSelectElement>('reward');
const tableBody = $<HTMLTableSectionElement>('completions-body');

const worker = new Worker(new URL('./rlhf_worker.js', import.meta.url), { type: 'module' });
const send = (message: ToRlhfWorker) => worker.postMessage(message);

let state: State = 'loading';
let steps = 0;
let step = 0;
let simd = false;
let secondsPerStep = 0;
let charts: { reward: LineChart; kl: LineChart } | undefined;

function setState(next: State): void {
  state = next;
  document.body.dataset['state'] = next;
  buttons.train.disabled = !(next === 'ready' || next === 'paused');
  buttons.pause.disabled = next !== 'training';
  buttons.train.textContent = next === 'paused' ? 'Resume' : 'Start';
  renderStatus();
}

function renderStatus(): void {
  const words: Record<State, string> = { loading: 'Loading', ready: 'Ready', training: 'Training', paused: 'Paused', done: 'Done', error: 'Error' };
  if (state === 'loading' || state === 'error') return;
  status.replaceChildren();
  const head = document.createElement('strong');
  head.textContent = words[state];
  const progress = document.createElement('span');
  progress.id = 'update-count';
  progress.dataset['step'] = String(step);
  progress.textContent = `step ${step} / ${steps}`;
  const meter = document.createElement('span');
  meter.className = 'meter';
  const fill = document.createElement('span');
  fill.style.width = `${(100 * step) / Math.max(1, steps)}%`;
  meter.append(fill);
  const detail = document.createElement('small');
  detail.textContent = `${simd ? 'SIMD' : 'scalar'} WebAssembly core in a Web Worker${secondsPerStep ? ` · ${(secondsPerStep * 1000).toFixed(0)} ms per step` : ''}`;
  status.append(head, progress, meter, detail);
}

function cell(text: string, className = ''): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** Puts a step's completions at the top of the table, dropping the oldest past TABLE_ROWS. */
function addRows(at: number, reward: RewardName, rows: readonly CompletionRow[]): void {
  const fresh = rows.map((row) => {
    const tr = document.createElement('tr');
    tr.dataset['step'] = String(at);
    tr.append(cell(String(at), 'num'), cell(row.prompt, 'prompt-text'), cell(row.completion, 'completion'), cell(`${row.reward.toFixed(2)}`, 'num'), cell(row.advantage.toFixed(2), `num ${row.advantage > 0 ? 'up' : row.advantage < 0 ? 'down' : ''}`));
    tr.title = `reward: ${reward}`;
    return tr;
  });
  tableBody.prepend(...fresh);
  while (tableBody.rows.length > TABLE_ROWS) tableBody.deleteRow(-1);
}

worker.onmessage = (event: MessageEvent<FromRlhfWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'ready':
      steps = message.steps;
      simd = message.simd;
      charts = {
        reward: new LineChart({ key: 'reward', title: 'Reward', hint: 'mean over the step’s completions', color: '#2563eb', digits: 2, xMax: steps }),
        kl: new LineChart({ key: 'kl', title: 'KL to the reference', hint: 'objective/kl: per completion, Σ over tokens of log π − log π_ref', color: '#7c3aed', digits: 3, xMax: steps }),
      };
      $('charts').replaceChildren(charts.reward.element, charts.kl.element);
      $('facts').textContent = `${message.model}; ${message.parameters.toLocaleString('en')} parameters. ${message.settings}`;
      send({ type: 'reward', reward: rewardSelect.value as RewardName });
      setState('ready');
      return;
    case 'step':
      step = message.step;
      secondsPerStep = message.metrics['timing/step_s']!;
      charts!.reward.push(message.step, message.metrics['reward']!);
      charts!.kl.push(message.step, message.metrics['objective/kl']!);
      addRows(message.step, message.rewardName, message.rows);
      renderStatus();
      return;
    case 'paused':
      step = message.step;
      setState('paused');
      return;
    case 'done':
      step = message.step;
      setState('done');
      return;
    case 'error':
      setState('error');
      status.textContent = `Error: ${message.message}`;
      return;
  }
};

worker.onerror = (event) => {
  setState('error');
  status.textContent = `The training worker failed: ${event.message}`;
};

buttons.train.addEventListener('click', () => {
  setState('training');
  send({ type: 'train' });
});
buttons.pause.addEventListener('click', () => send({ type: 'pause' }));
rewardSelect.addEventListener('change', () => send({ type: 'reward', reward: rewardSelect.value as RewardName }));

setState('loading');
status.textContent = 'Loading the WebAssembly core and the tiny GPT…';
