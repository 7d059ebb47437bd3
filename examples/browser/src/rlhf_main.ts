// The RLHF page: Start/Pause, the reward chooser, live charts of the reward and the KL to the
// reference, and the completions table. GRPO runs in rlhf_worker.ts; this thread only draws.

import { LineChart } from './charts';
import { $, drawStatus, showError, showTrainButtons, wireTraining, type PageState as State } from './page';
import type { CompletionRow, FromRlhfWorker, RewardName, ToRlhfWorker } from './rlhf_messages';

/** Rows the completions table keeps (the newest step's first). */
const TABLE_ROWS = 48;

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
  showTrainButtons(buttons, next, 'Start');
  renderStatus();
}

const renderStatus = () => drawStatus(status, state, { unit: 'step', done: step, total: steps, simd, msPer: secondsPerStep * 1000 });

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
    case 'done':
      step = message.step;
      setState(message.type);
      return;
    case 'error':
      return showError(status, setState, `Error: ${message.message}`);
  }
};

wireTraining(worker, buttons, status, setState, send);
rewardSelect.addEventListener('change', () => send({ type: 'reward', reward: rewardSelect.value as RewardName }));

setState('loading');
status.textContent = 'Loading the WebAssembly core and the tiny GPT…';
