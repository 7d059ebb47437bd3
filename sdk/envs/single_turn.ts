// Single-turn RLHF on a preference dataset: each episode shows one prompt, the policy picks one
// response (an action), and the dataset's reward for that response is the episode's return.
// Prompts are served numEnvs at a time in a shuffled order that is reshuffled every epoch
// (one pass over the dataset), like a data loader with shuffle=True.

import { NovaRLError, ValueError } from '../core/errors';
import { Prng, type PrngState } from '../core/prng';
import type { EnvInfo, Environment, StepResult } from '../interfaces/environment';
import { PreferenceDataset } from './preference_dataset';
import { checkActions, intOption, seedOption } from './validate';

export interface SingleTurnOptions {
  /** The prompts and their per-response rewards. */
  dataset: PreferenceDataset;
  /** Prompts served per step. May exceed the dataset size (batches then span epochs). Default 8. */
  numEnvs?: number;
  /** Seeds the shuffles; reset(seed) reseeds. Default 0. */
  seed?: number;
}

const NAME = 'SingleTurnPreferenceEnvironment';

/** JSON-serialisable state of a SingleTurnPreferenceEnvironment. */
export interface SingleTurnState {
  rng: PrngState;
  epoch: number;
  order: number[];
  cursor: number;
  current: number[];
}

export class SingleTurnPreferenceEnvironment implements Environment {
  readonly dataset: PreferenceDataset;
  readonly numEnvs: number;
  /** The dataset's features length, or its number of prompts when prompts are one-hot. */
  readonly observationSize: number;
  readonly actionCount: number;
  /** Completed passes over the shuffled dataset since the last reset. */
  epoch = 0;
  private rng: Prng;
  /** the current epoch's order of prompt indices: (dataset.size) */
  private order: Int32Array;
  /** position of the next prompt to serve in `order` */
  private cursor = 0;
  /** the prompt each environment shows now: (numEnvs); -1 before the first reset */
  private readonly current: Int32Array;

  constructor(options: SingleTurnOptions) {
    if (!(options?.dataset instanceof PreferenceDataset)) throw new ValueError(`${NAME}: option dataset must be a PreferenceDataset`);
    this.dataset = options.dataset;
    this.numEnvs = intOption(NAME, 'numEnvs', options.numEnvs, 8, 1);
    this.observationSize = this.dataset.observationSize;
    this.actionCount = this.dataset.actionCount;
    this.rng = new Prng(seedOption(NAME, options.seed, 0));
    this.order = new Int32Array(0);
    this.current = new Int32Array(this.numEnvs).fill(-1);
  }

  /** Starts a new epoch in a fresh shuffled order and serves its first prompts. */
  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.rng = new Prng(seedOption(NAME, seed, 0));
    this.epoch = 0;
    this.order = this.rng.permutation(this.dataset.size);
    this.cursor = 0;
    this.serveNext();
    return this.observe();
  }

  /**
   * Scores one response per environment with the dataset's reward. Every episode ends (dones
   * all 1); the observations returned are the next prompts. infos: {promptIndex, prompt,
   * episodeReturn, episodeLength: 1}.
   */
  step(actions: Int32Array): StepResult {
    if (this.current[0] === -1) throw new NovaRLError(`${NAME}.step: call reset() before the first step()`);
    checkActions(NAME, actions, this.numEnvs, this.actionCount);
    const rewards = new Float32Array(this.numEnvs);
    const infos: EnvInfo[] = [];
    for (let i = 0; i < this.numEnvs; i++) {
      const p = this.current[i]!;
      rewards[i] = this.dataset.reward(p, actions[i]!);
      infos.push({ promptIndex: p, prompt: this.dataset.prompts[p]!, episodeReturn: rewards[i]!, episodeLength: 1 });
    }
    this.serveNext();
    return { observations: this.observe(), rewards, dones: new Uint8Array(this.numEnvs).fill(1), infos };
  }

  /** Shuffle PRNG, epoch order and position, prompts on show: resumes the stream exactly. */
  state(): SingleTurnState {
    return { rng: this.rng.getState(), epoch: this.epoch, order: Array.from(this.order), cursor: this.cursor, current: Array.from(this.current) };
  }

  loadState(state: unknown): void {
    const s = state as SingleTurnState;
    const valid =
      s && Array.isArray(s.order) && s.order.length === this.dataset.size && Array.isArray(s.current) &&
      s.current.length === this.numEnvs && Number.isInteger(s.cursor) && s.cursor >= 0 && s.cursor <= s.order.length;
    if (!valid) throw new ValueError(`${NAME}.loadState: the saved state does not fit this environment (dataset size ${this.dataset.size}, numEnvs ${this.numEnvs})`);
    this.rng = Prng.fromState(s.rng);
    this.epoch = s.epoch;
    this.order = Int32Array.from(s.order);
    this.cursor = s.cursor;
    this.current.set(s.current);
  }

  /** The prompt indices shown now: (numEnvs), a copy. */
  currentPrompts(): Int32Array {
    return this.current.slice();
  }

  /** Takes the next numEnvs prompts of the order, reshuffling when an epoch is used up. */
  private serveNext(): void {
    for (let i = 0; i < this.numEnvs; i++) {
      if (this.cursor === this.order.length) {
        this.order = this.rng.permutation(this.dataset.size);
        this.cursor = 0;
        this.epoch++;
      }
      this.current[i] = this.order[this.cursor++]!;
    }
  }

  /** observations: (numEnvs, observationSize) */
  private observe(): Float32Array {
    const out = new Float32Array(this.numEnvs * this.observationSize);
    for (let i = 0; i < this.numEnvs; i++) this.dataset.encode(this.current[i]!, out, i * this.observationSize);
    return out;
  }
}
