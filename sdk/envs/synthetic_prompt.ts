// A toy RLHF task with no data files: a fixed set of "prompts" (random feature vectors) and a
// hidden linear labeler that prefers one of `actionCount` responses for each prompt. Each
// episode is one prompt and one response, as in single-turn RLHF; the reward plays the role
// of a reward model's score.

import { NovaRLError, ValueError } from '../core/errors';
import { Prng, type PrngState } from '../core/prng';
import type { EnvInfo, Environment, StepResult } from '../interfaces/environment';
import { checkActions, intOption, numberOption, seedOption } from './validate';

export interface SyntheticPromptOptions {
  /** Environments stepped together. Default 8. */
  numEnvs?: number;
  /** Distinct prompts in the task. Default 16. */
  numPrompts?: number;
  /** Features per prompt (the observation size). Default 8. */
  observationSize?: number;
  /** Possible responses per prompt. Default 4. */
  actionCount?: number;
  /**
   * Seeds the task (prompt features and the hidden labeler) and, unless reset() is given
   * another seed, the episode stream (which prompt each episode shows, the noise). Default 0.
   */
  seed?: number;
  /**
   * 'binary': reward 1 for the preferred response, 0 for any other.
   * 'graded': responses are ordered like a rating scale; reward 1 - |a - preferred| / (actionCount - 1).
   * Default 'binary'.
   */
  rewardShape?: 'binary' | 'graded';
  /** Standard deviation of zero-mean, near-normal noise added to each reward. Default 0. */
  rewardNoise?: number;
}

const NAME = 'SyntheticPromptEnvironment';
// The task and the episodes draw from separate streams of the same seed, so reset(otherSeed)
// changes which prompts are shown but never the task itself.
const TASK_STREAM = 0;
const EPISODE_STREAM = 1;

export class SyntheticPromptEnvironment implements Environment {
  readonly numEnvs: number;
  readonly numPrompts: number;
  readonly observationSize: number;
  readonly actionCount: number;
  readonly rewardShape: 'binary' | 'graded';
  readonly rewardNoise: number;
  /** features: (numPrompts, observationSize), uniform in [-1, 1) */
  private readonly features: Float32Array;
  /** noise-free rewards: (numPrompts, actionCount) */
  private readonly rewardTable: Float32Array;
  /** the hidden labeler's choice per prompt: (numPrompts) */
  private readonly preferred: Int32Array;
  private readonly seed: number;
  private rng: Prng;
  /** the prompt each environment shows now: (numEnvs); -1 before the first reset */
  private readonly current: Int32Array;

  constructor(options: SyntheticPromptOptions = {}) {
    this.numEnvs = intOption(NAME, 'numEnvs', options.numEnvs, 8, 1);
    this.numPrompts = intOption(NAME, 'numPrompts', options.numPrompts, 16, 1);
    this.observationSize = intOption(NAME, 'observationSize', options.observationSize, 8, 1);
    this.actionCount = intOption(NAME, 'actionCount', options.actionCount, 4, 1);
    this.rewardNoise = numberOption(NAME, 'rewardNoise', options.rewardNoise, 0, 0);
    this.seed = seedOption(NAME, options.seed, 0);
    const shape = options.rewardShape ?? 'binary';
    if (shape !== 'binary' && shape !== 'graded') throw new ValueError(`${NAME}: option rewardShape must be 'binary' or 'graded', got ${String(shape)}`);
    this.rewardShape = shape;

    const task = new Prng(this.seed, TASK_STREAM);
    const P = this.numPrompts, D = this.observationSize, A = this.actionCount;
    this.features = new Float32Array(P * D);
    for (let i = 0; i < P * D; i++) this.features[i] = task.uniform(-1, 1);
    // The hidden labeler is linear, so a linear policy can learn it exactly: it prefers
    // argmax_a (W f)_a, with W: (A, D) uniform in [-1, 1).
    const W = new Float64Array(A * D);
    for (let i = 0; i < A * D; i++) W[i] = task.uniform(-1, 1);
    this.preferred = new Int32Array(P);
    this.rewardTable = new Float32Array(P * A);
    for (let p = 0; p < P; p++) {
      let best = 0, bestScore = -Infinity;
      for (let a = 0; a < A; a++) {
        let score = 0;
        for (let k = 0; k < D; k++) score += W[a * D + k]! * this.features[p * D + k]!;
        if (score > bestScore) { best = a; bestScore = score; }
      }
      this.preferred[p] = best;
      for (let a = 0; a < A; a++) this.rewardTable[p * A + a] = this.noiseFreeReward(a, best);
    }

    this.rng = new Prng(this.seed, EPISODE_STREAM);
    this.current = new Int32Array(this.numEnvs).fill(-1);
  }

  /** Shows a fresh prompt in every environment. observations: (numEnvs, observationSize) */
  reset(seed?: number): Float32Array {
    if (seed !== undefined) this.rng = new Prng(seedOption(NAME, seed, 0), EPISODE_STREAM);
    for (let i = 0; i < this.numEnvs; i++) this.current[i] = this.rng.nextInt(this.numPrompts);
    return this.observe();
  }

  /**
   * Scores one response per environment. Every episode ends (dones all 1); the observations
   * returned are the next episode's prompts. infos: {promptIndex, preferredAction,
   * episodeReturn, episodeLength: 1}.
   */
  step(actions: Int32Array): StepResult {
    if (this.current[0] === -1) throw new NovaRLError(`${NAME}.step: call reset() before the first step()`);
    checkActions(NAME, actions, this.numEnvs, this.actionCount);
    const rewards = new Float32Array(this.numEnvs);
    const infos: EnvInfo[] = [];
    for (let i = 0; i < this.numEnvs; i++) {
      const p = this.current[i]!;
      let r = this.rewardTable[p * this.actionCount + actions[i]!]!;
      if (this.rewardNoise > 0) r += this.rewardNoise * this.rng.approxNormal();
      rewards[i] = r;
      infos.push({ promptIndex: p, preferredAction: this.preferred[p]!, episodeReturn: rewards[i]!, episodeLength: 1 });
    }
    const observations = this.reset();
    return { observations, rewards, dones: new Uint8Array(this.numEnvs).fill(1), infos };
  }

  /** The hidden labeler's preferred response to prompt `p` (for evaluation). */
  preferredAction(p: number): number {
    this.checkPrompt(p);
    return this.preferred[p]!;
  }

  /** The reward of response `a` to prompt `p`, before noise. */
  expectedReward(p: number, a: number): number {
    this.checkPrompt(p);
    if (!Number.isInteger(a) || a < 0 || a >= this.actionCount) throw new ValueError(`${NAME}.expectedReward: action ${a} is out of range [0, ${this.actionCount})`);
    return this.rewardTable[p * this.actionCount + a]!;
  }

  /** A copy of prompt `p`'s features: (observationSize) */
  promptFeatures(p: number): Float32Array {
    this.checkPrompt(p);
    return this.features.slice(p * this.observationSize, (p + 1) * this.observationSize);
  }

  /** Episode PRNG and prompts on show (the task itself is rebuilt from the seed). */
  state(): { rng: PrngState; current: number[] } {
    return { rng: this.rng.getState(), current: Array.from(this.current) };
  }

  loadState(state: unknown): void {
    const s = state as { rng: PrngState; current: number[] };
    if (!s || !Array.isArray(s.current) || s.current.length !== this.numEnvs) {
      throw new ValueError(`SyntheticPromptEnvironment.loadState: the saved state does not fit ${this.numEnvs} environments`);
    }
    this.rng = Prng.fromState(s.rng);
    this.current.set(s.current);
  }

  private noiseFreeReward(action: number, preferred: number): number {
    if (this.rewardShape === 'binary') return action === preferred ? 1 : 0;
    if (this.actionCount === 1) return 1;
    return 1 - Math.abs(action - preferred) / (this.actionCount - 1);
  }

  private checkPrompt(p: number): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.numPrompts) throw new ValueError(`${NAME}: prompt index ${p} is out of range [0, ${this.numPrompts})`);
  }

  /** Current prompts' features: (numEnvs, observationSize) */
  private observe(): Float32Array {
    const D = this.observationSize;
    const out = new Float32Array(this.numEnvs * D);
    for (let i = 0; i < this.numEnvs; i++) out.set(this.features.subarray(this.current[i]! * D, (this.current[i]! + 1) * D), i * D);
    return out;
  }
}
