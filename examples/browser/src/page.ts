// The page side that the three playground pages share: element lookup, the Start/Pause buttons,
// the status line (state, progress, meter, core) and the worker's failure message.

export type PageState = 'loading' | 'ready' | 'training' | 'paused' | 'done' | 'error';

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const STATE_WORDS: Record<PageState, string> = { loading: 'Loading', ready: 'Ready', training: 'Training', paused: 'Paused', done: 'Done', error: 'Error' };

/** What the status line shows while the page is not loading or failed. */
export interface Progress {
  /** 'step' or 'update': the counter's word and its data attribute (#update-count[data-step]). */
  unit: 'step' | 'update';
  /** Steps (or updates) done so far. */
  done: number;
  /** Steps (or updates) in a run. */
  total: number;
  /** Whether the core is the SIMD build. */
  simd: boolean;
  /** Milliseconds per step, 0 before the first. */
  msPer: number;
}

/** Redraws #status as "State · unit n / total · meter · core, ms per unit" (left alone while loading or failed). */
export function drawStatus(status: HTMLElement, state: PageState, p: Progress): void {
  if (state === 'loading' || state === 'error') return;
  status.replaceChildren();
  const head = document.createElement('strong');
  head.textContent = STATE_WORDS[state];
  const progress = document.createElement('span');
  progress.id = 'update-count';
  progress.dataset[p.unit] = String(p.done);
  progress.textContent = `${p.unit} ${p.done} / ${p.total}`;
  const meter = document.createElement('span');
  meter.className = 'meter';
  const fill = document.createElement('span');
  fill.style.width = `${(100 * p.done) / Math.max(1, p.total)}%`;
  meter.append(fill);
  const detail = document.createElement('small');
  detail.textContent = `${p.simd ? 'SIMD' : 'scalar'} WebAssembly core in a Web Worker${p.msPer ? ` · ${p.msPer.toFixed(0)} ms per ${p.unit}` : ''}`;
  status.append(head, progress, meter, detail);
}

/** Marks the body with the state and enables Train/Resume and Pause for it. */
export function showTrainButtons(buttons: { train: HTMLButtonElement; pause: HTMLButtonElement }, state: PageState, startLabel: string): void {
  document.body.dataset['state'] = state;
  buttons.train.disabled = !(state === 'ready' || state === 'paused');
  buttons.pause.disabled = state !== 'training';
  buttons.train.textContent = state === 'paused' ? 'Resume' : startLabel;
}

/** Train sends 'train' (the page shows training at once), Pause sends 'pause'; a worker failure shows in #status. */
export function wireTraining(
  worker: Worker,
  buttons: { train: HTMLButtonElement; pause: HTMLButtonElement },
  status: HTMLElement,
  setState: (next: PageState) => void,
  send: (message: { type: 'train' } | { type: 'pause' }) => void,
): void {
  worker.onerror = (event) => showError(status, setState, `The training worker failed: ${event.message}`);
  buttons.train.addEventListener('click', () => {
    setState('training');
    send({ type: 'train' });
  });
  buttons.pause.addEventListener('click', () => send({ type: 'pause' }));
}

/** Puts the page in the error state with `text` as the status line. */
export function showError(status: HTMLElement, setState: (next: PageState) => void, text: string): void {
  setState('error');
  status.textContent = text;
}
