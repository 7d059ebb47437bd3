// Online token-level RLHF on the tiny GPT: the learning side of POST /generate and
// POST /feedback {id, reward}, free of HTTP.
//
// /generate samples a completion of a text prompt from the policy and keeps it under an id.
// /feedback scores that completion once and runs one policy-gradient update on it:
//
//   no grad:   oldLogp_t = log pi_theta(y_t | x, y_<t)      at the sampling temperature (as TRL)
//              refLogp_t = log pi_ref(y_t | x, y_<t)         the frozen initial model
//              A         = reward - baseline                 the same advantage at every token
//   E epochs:  ratio_t   = exp(logp_t - oldLogp_t)
//              loss = maskedMean_t(max(-A ratio_t, -A clip(ratio_t, 1 - eps, 1 + eps)))   (ppoClipLoss)
//                   + beta * maskedMean_t(k3(logp_t, refLogp_t))                          (klEstimate)
//              one Adam step per epoch after clipping the global gradient norm
//   then:      baseline <- decay * baseline + (1 - decay) * reward
//
// Why this shape:
// - One completion has no group to normalise over (GRPO) and no value head to bootstrap from
//   (PPO's GAE), so the baseline is a running mean of past rewards: a reward above what users
//   usually give pushes the completion's tokens up, one below pushes them down.
// - oldLogp is the current policy's when the feedback arrives: the clip then bounds how far this
//   update alone moves each token's probability, however large the reward.
// - k3 (Schulman's unbiased, never negative estimator, as TRL's GRPO uses in its loss) over the
//   sampled tokens pulls the policy back towards the reference.
// - Each id is learnt from once: a second reward for the same text would count it twice.
//
// Every update is all-or-nothing: the policy, Adam and the baseline are snapshotted first and
// restored if anything throws, so a failed request changes nothing.
//
// Checkpoints (GET/PUT /lm/checkpoint) hold the policy, Adam, the baseline and counters, the
// PRNG state and the kept completions; not the reference, which is the embedded model itself
// (the checkpoint records that model's FNV-1a hash and is refused by a worker with another).

import {
  Adam,
  CheckpointError,
  GPT,
  SequenceBatch,
  Tensor,
  Tokenizer,
  ValueError,
  checkOptimizerCounters,
  checkRngState,
  clipGradNorm,
  decodeCheckpoint,
  decodeHuggingFace,
  encodeCheckpoint,
  frozenReference,
  generate,
  getRngState,
  klEstimate,
  maskedMean,
  noGrad,
  ppoClipLoss,
  responseForward,
  seed,
  setRngState,
  type Core,
  type FinishReason,
  type LoadedCheckpoint,
  type StateDict,
} from '../../../sdk/index';
import { allOrNothing, checkedTensors } from './checkpoint_state';

/** Hyperparameters of the online updates on the tiny GPT. */
export const ONLINE_LM = {
  /** Seeds the core's generator (sampling when a request gives no seed). */
  seed: 11,
  /** Adam learning rate. */
  learningRate: 1e-4,
  /** Gradient steps per feedback (PPO epochs over its one completion). */
  epochs: 2,
  /** PPO clip range eps. */
  clipRange: 0.2,
  /** beta: weight of the k3 KL to the frozen reference in the loss. */
  beta: 0.05,
  /** Running baseline: b <- decay * b + (1 - decay) * reward. */
  baselineDecay: 0.9,
  /** Global gradient-norm clip. */
  maxGradNorm: 1,
} as const;

/** Limits and defaults of POST /generate. */
export const GENERATE_LIMITS = {
  /** Default max_tokens. */
  defaultMaxTokens: 24,
  /** Largest max_tokens (the model sees 64 positions: prompt + completion). */
  maxTokens: 48,
  /** Longest prompt text, in characters (its tokens beyond the room left are cut from the front). */
  maxPromptChars: 2000,
  /** Default and largest sampling temperature (> 0: a greedy sample has no log-probs to learn from). */
  defaultTemperature: 1,
  maxTemperature: 2,
  /** Completions kept for feedback; older unrated ones expire. */
  maxPending: 256,
  /** Completions shown in GET /state. */
  recent: 8,
} as const;

/** Rewards are expected to be normalised scores; larger magnitudes are refused, not clipped. */
export const MAX_ABS_LM_REWARD = 10;

export interface GenerateRequest {
  prompt: string;
  maxTokens: number;
  temperature: number;
  /** Re-seeds the sampler (a uint32); without it the core's stream continues. */
  seed?: number;
}

/** A sampled completion as kept for feedback. */
export interface StoredCompletion {
  id: string;
  /** The prompt as the model saw it (decoded; its front cut when it did not fit). */
  prompt: string;
  completion: string;
  promptIds: number[];
  completionIds: number[];
  temperature: number;
  finishReason: FinishReason;
  /** The reward it was given, once rated. */
  reward?: number;
  /** Its update's advantage, once rated. */
  advantage?: number;
}

export interface LmUpdateStats {
  id: string;
  /** Updates so far, this one included. */
  updates: number;
  reward: number;
  /** The baseline the advantage was taken against, and the one after this reward. */
  baseline: number;
  baselineAfter: number;
  advantage: number;
  /** TRL's names: the last epoch's loss and PPO statistics; objective/kl is sum_t (oldLogp - refLogp). */
  'loss/policy': number;
  'objective/kl': number;
  'policy/clipfrac': number;
  'policy/approxkl': number;
  grad_norm: number;
  'completions/length': number;
}

/** What one update changes, as plain copies (and, for checkpoints, the completions). */
interface Snapshot {
  policy: StateDict;
  optimizer: ReturnType<Adam['stateDict']>;
  rng: number[];
  baseline: number;
  updates: number;
  generated?: number;
  completions?: StoredCompletion[];
}

const FORMAT = 'novarl-edge-lm';
const VERSION = 1;

export class OnlineLm {
  readonly policy: GPT;
  readonly reference: GPT;
  readonly tokenizer: Tokenizer;
  readonly optimizer: Adam;
  readonly core: Core;
  readonly eosTokenId: number;
  /** Running mean of the rewards received (0 before any). */
  baseline = 0;
  updates = 0;
  private generated = 0;
  /** Completions awaiting or given feedback, oldest first (a Map keeps insertion order). */
  private readonly completions = new Map<string, StoredCompletion>();
  /** FNV-1a of the embedded model.safetensors: the reference a checkpoint was trained against. */
  readonly baseModelHash: string;

  /** `files`: a Hugging Face model directory's files (config.json, model.safetensors, the tokenizer's). */
  constructor(files: Record<string, Uint8Array>, core: Core) {
    this.core = core;
    const loaded = decodeHuggingFace(files, { core, valueHead: false });
    this.baseModelHash = fnv1a(files['model.safetensors']!, FNV_OFFSET).toString(16).padStart(8, '0');
    if (!loaded.tokenizerFiles) throw new ValueError('the embedded model has no tokenizer files');
    this.policy = loaded.model;
    this.tokenizer = Tokenizer.fromHuggingFaceFiles(loaded.tokenizerFiles);
    const eos = this.tokenizer.eosTokenId;
    if (eos === undefined) throw new ValueError('the embedded tokenizer has no end-of-text token');
    this.eosTokenId = eos;
    this.reference = frozenReference(this.policy);
    this.optimizer = new Adam(this.policy.parameters(), { lr: ONLINE_LM.learningRate });
    seed(ONLINE_LM.seed, core);
  }

  get pending(): number {
    let n = 0;
    for (const c of this.completions.values()) if (c.reward === undefined) n++;
    return n;
  }

  /** Samples one completion and keeps it under a new id. */
  generate(request: GenerateRequest): StoredCompletion {
    const { nPositions } = this.policy.config;
    let promptIds = this.tokenizer.encode(request.prompt);
    if (promptIds.length === 0) promptIds = [this.eosTokenId]; // an empty prompt: start a new document
    promptIds = promptIds.slice(-(nPositions - request.maxTokens));
    const out = generate(this.policy, [promptIds], {
      maxNewTokens: request.maxTokens,
      temperature: request.temperature,
      seed: request.seed,
      stopTokenIds: [this.eosTokenId],
    });
    this.core.endStep();
    const completionIds = out.completions[0]!;
    const stored: StoredCompletion = {
      id: `cmpl-${++this.generated}`,
      prompt: this.tokenizer.decode(promptIds),
      completion: this.tokenizer.decode(completionIds, { skipSpecialTokens: true }),
      promptIds,
      completionIds,
      temperature: request.temperature,
      finishReason: out.finishReasons[0]!,
    };
    this.completions.set(stored.id, stored);
    this.expire();
    return stored;
  }

  /** The completion under `id`, or undefined when it never existed or expired. */
  completion(id: string): StoredCompletion | undefined {
    return this.completions.get(id);
  }

  /** Drops the oldest completions past GENERATE_LIMITS.maxPending. */
  private expire(): void {
    for (const id of this.completions.keys()) {
      if (this.completions.size <= GENERATE_LIMITS.maxPending) break;
      this.completions.delete(id);
    }
  }

  /** The last few completions, newest first. */
  recent(): StoredCompletion[] {
    return [...this.completions.values()].slice(-GENERATE_LIMITS.recent).reverse();
  }

  /** One update on an unrated completion with a checked reward (see the top of this file); all-or-nothing. */
  learn(id: string, reward: number): LmUpdateStats {
    const stored = this.completions.get(id);
    if (!stored) throw new ValueError(`no completion ${id}`);
    if (stored.reward !== undefined) throw new ValueError(`completion ${id} already has feedback`);
    if (!Number.isFinite(reward)) throw new ValueError(`reward must be finite, got ${reward}`);
    const stats = this.transaction(() => this.update(stored, reward));
    stored.reward = reward;
    stored.advantage = stats.advantage;
    return stats;
  }

  private update(stored: StoredCompletion, reward: number): LmUpdateStats {
    const core = this.core;
    const batch = SequenceBatch.fromRows({ promptIds: [stored.promptIds], completionIds: [stored.completionIds] }, this.eosTokenId, core);
    const owned: Tensor[] = [batch.ids, batch.attentionMask, batch.responseIds, batch.responseMask];
    const keep = (t: Tensor) => {
      const p = Tensor.from(t.view(), t.shape, { core, persistent: true });
      owned.push(p);
      return p;
    };
    try {
      const R = batch.responseLength;
      const forward = (model: GPT) => responseForward(model, batch.ids, batch.attentionMask, batch.responseIds, { temperature: stored.temperature });
      const oldLogProbs = noGrad(() => keep(forward(this.policy).logProbs), core); // (1, R)
      const refLogProbs = noGrad(() => keep(forward(this.reference).logProbs), core); // (1, R)
      core.endStep();
      const mask = batch.responseMask.view();
      const oldView = oldLogProbs.view(), refView = refLogProbs.view();
      let kl = 0;
      for (let t = 0; t < R; t++) if (mask[t] !== 0) kl += oldView[t]! - refView[t]!; // logging only

      const baseline = this.baseline;
      const advantage = reward - baseline;
      const advantages = keep(Tensor.from(new Float32Array(R).fill(advantage), [1, R], { core })); // (1, R)
      let last = { loss: 0, clipfrac: 0, approxKl: 0, gradNorm: 0 };
      for (let epoch = 0; epoch < ONLINE_LM.epochs; epoch++) {
        this.optimizer.zeroGrad();
        const logp = forward(this.policy).logProbs; // (1, R), records gradients
        const surrogate = ppoClipLoss({ logp, oldLogp: oldLogProbs, advantages, mask: batch.responseMask, clipRange: ONLINE_LM.clipRange });
        const klPenalty = maskedMean(klEstimate(logp, refLogProbs, 'k3'), batch.responseMask).mul(ONLINE_LM.beta);
        const loss = surrogate.loss.add(klPenalty);
        const lossValue = loss.item();
        if (!Number.isFinite(lossValue)) throw new ValueError(`feedback update ${this.updates + 1}: the loss is ${lossValue}`);
        loss.backward();
        const gradNorm = clipGradNorm(this.policy.parameters(), ONLINE_LM.maxGradNorm);
        if (!Number.isFinite(gradNorm)) throw new ValueError(`feedback update ${this.updates + 1}: the gradient norm is ${gradNorm}`);
        this.optimizer.step();
        core.endStep();
        last = { loss: lossValue, clipfrac: surrogate.clipfrac, approxKl: surrogate.approxKl, gradNorm };
      }
      this.baseline = ONLINE_LM.baselineDecay * baseline + (1 - ONLINE_LM.baselineDecay) * reward;
      this.updates++;
      return {
        id: stored.id,
        updates: this.updates,
        reward,
        baseline,
        baselineAfter: this.baseline,
        advantage,
        'loss/policy': last.loss,
        'objective/kl': kl,
        'policy/clipfrac': last.clipfrac,
        'policy/approxkl': last.approxKl,
        grad_norm: last.gradNorm,
        'completions/length': stored.completionIds.length,
      };
    } finally {
      for (const t of owned) t.free();
    }
  }

  /**
   * FNV-1a (32-bit) over everything an update changes: every policy weight's and Adam moment's
   * f32 bytes in state-dict order, Adam's step count, the baseline (f64) and the update count.
   */
  stateHash(): string {
    let hash = FNV_OFFSET;
    const mix = (data: Float32Array | Float64Array) => (hash = fnv1a(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), hash));
    for (const data of Object.values(this.policy.stateDict())) mix(data);
    const optimizer = this.optimizer.stateDict();
    for (const data of Object.values(optimizer.tensors)) mix(data);
    mix(Float64Array.of(optimizer.stepCount, this.baseline, this.updates));
    return hash.toString(16).padStart(8, '0');
  }

  // ---- checkpoints -----------------------------------------------------------------------------

  /** The whole state as encodeCheckpoint's parts (manifest with CRC-32s, model, optimizer, trainer.json). */
  checkpointFiles(): Map<string, Uint8Array> {
    const model = this.policy.stateDict();
    const modelShapes = Object.fromEntries(Array.from(this.policy.namedParameters(), ([name, p]) => [name, [...p.shape]]));
    const optimizer = this.optimizer.stateDict();
    return encodeCheckpoint({
      model,
      modelShapes,
      optimizer: optimizer.tensors,
      trainer: {
        format: FORMAT,
        version: VERSION,
        baseModel: this.baseModelHash,
        config: ONLINE_LM,
        baseline: this.baseline,
        updates: this.updates,
        generated: this.generated,
        rngState: getRngState(this.core),
        optimizer: { stepCount: optimizer.stepCount, lr: optimizer.lr },
        completions: [...this.completions.values()].map((c) => ({ ...c, reward: c.reward ?? null, advantage: c.advantage ?? null })),
      },
      metadata: { format: FORMAT },
    });
  }

  /** Replaces the state with a checkpoint's, after checking that it fits this worker; all-or-nothing. */
  loadCheckpointFiles(files: Map<string, Uint8Array>): void {
    const next = this.checkedSnapshot(decodeCheckpoint(files));
    this.transaction(() => this.restore(next));
  }

  private checkedSnapshot(checkpoint: LoadedCheckpoint): Snapshot {
    const fail = (message: string): never => {
      throw new CheckpointError(`not a checkpoint of this worker's GPT: ${message}`, 'mismatch');
    };
    const t = checkpoint.trainer;
    if (checkpoint.metadata['format'] !== FORMAT || t['format'] !== FORMAT) fail(`format is ${JSON.stringify(t['format'])}, expected "${FORMAT}"`);
    if (t['version'] !== VERSION) fail(`version ${JSON.stringify(t['version'])}, expected ${VERSION}`);
    if (t['baseModel'] !== this.baseModelHash) fail(`it was trained from model ${JSON.stringify(t['baseModel'])}, this worker embeds ${this.baseModelHash}`);
    if (JSON.stringify(t['config']) !== JSON.stringify(ONLINE_LM)) fail("its hyperparameters differ from this worker's");
    const field = (name: string, what: string, value: unknown): never => fail(`${name} ${JSON.stringify(value) ?? String(value)}: ${what}`);
    const count = (name: string): number => (Number.isSafeInteger(t[name]) && (t[name] as number) >= 0 ? (t[name] as number) : field(name, 'not a non-negative integer', t[name]));
    const baseline = t['baseline'];
    if (typeof baseline !== 'number' || !Number.isFinite(baseline) || Math.abs(baseline) > MAX_ABS_LM_REWARD) field('baseline', `not a finite number in [-${MAX_ABS_LM_REWARD}, ${MAX_ABS_LM_REWARD}]`, baseline);
    const counters = t['optimizer'];
    checkOptimizerCounters(counters, field);
    const rng = t['rngState'];
    checkRngState(rng, 'rngState', field);
    const optimizerTensors = checkedTensors(checkpoint, fail);
    return {
      policy: checkpoint.model,
      optimizer: { stepCount: counters.stepCount, lr: counters.lr, tensors: optimizerTensors },
      rng,
      baseline: baseline as number,
      updates: count('updates'),
      generated: count('generated'),
      completions: this.checkedCompletions(t['completions'], fail),
    };
  }

  private checkedCompletions(value: unknown, fail: (message: string) => never): StoredCompletion[] {
    if (!Array.isArray(value) || value.length > GENERATE_LIMITS.maxPending) fail(`completions must be an array of at most ${GENERATE_LIMITS.maxPending}`);
    const V = this.policy.config.vocabSize;
    const ids = (x: unknown) => Array.isArray(x) && x.every((id) => Number.isInteger(id) && id >= 0 && id < V);
    return (value as unknown[]).map((entry, i) => {
      const c = entry as Record<string, unknown>;
      const bad = (what: string): never => fail(`completions[${i}]: ${what}`);
      if (typeof c !== 'object' || c === null) bad('not an object');
      if (typeof c['id'] !== 'string' || typeof c['prompt'] !== 'string' || typeof c['completion'] !== 'string') bad('id, prompt and completion must be strings');
      if (!ids(c['promptIds']) || (c['promptIds'] as number[]).length === 0 || !ids(c['completionIds']) || (c['completionIds'] as number[]).length === 0) bad('promptIds and completionIds must be non-empty arrays of token ids');
      if ((c['promptIds'] as number[]).length + (c['completionIds'] as number[]).length > this.policy.config.nPositions) bad("prompt and completion exceed the model's positions");
      const temperature = c['temperature'];
      if (typeof temperature !== 'number' || !(temperature > 0 && temperature <= GENERATE_LIMITS.maxTemperature)) bad('temperature out of range');
      if (c['finishReason'] !== 'stop' && c['finishReason'] !== 'length') bad('finishReason must be "stop" or "length"');
      const rated = c['reward'] !== null;
      if (rated && (typeof c['reward'] !== 'number' || !Number.isFinite(c['reward']) || typeof c['advantage'] !== 'number' || !Number.isFinite(c['advantage']))) bad('reward and advantage must both be finite numbers or both null');
      if (!rated && c['advantage'] !== null) bad('advantage without a reward');
      const stored: StoredCompletion = {
        id: c['id'] as string,
        prompt: c['prompt'] as string,
        completion: c['completion'] as string,
        promptIds: c['promptIds'] as number[],
        completionIds: c['completionIds'] as number[],
        temperature: temperature as number,
        finishReason: c['finishReason'] as FinishReason,
      };
      if (rated) Object.assign(stored, { reward: c['reward'], advantage: c['advantage'] });
      return stored;
    });
  }

  private snapshot(): Snapshot {
    return {
      policy: this.policy.stateDict(),
      optimizer: this.optimizer.stateDict(),
      rng: getRngState(this.core),
      baseline: this.baseline,
      updates: this.updates,
      generated: this.generated,
      completions: [...this.completions.values()].map((c) => ({ ...c })),
    };
  }

  private restore(s: Snapshot): void {
    this.policy.loadStateDict(s.policy);
    this.optimizer.loadStateDict(s.optimizer);
    setRngState(s.rng, this.core);
    this.baseline = s.baseline;
    this.updates = s.updates;
    if (s.generated !== undefined) this.generated = s.generated;
    if (s.completions) {
      this.completions.clear();
      for (const c of s.completions) this.completions.set(c.id, c);
    }
  }

  /** Runs `change`; if it throws, puts the state back as it was and rethrows. */
  private transaction<T>(change: () => T): T {
    return allOrNothing(this.core, this.optimizer, () => this.snapshot(), (s) => this.restore(s), change);
  }
}

// FNV-1a, 32 bits: integer math only (Math.imul), the same on every engine.
const FNV_OFFSET = 0x811c9dc5;
function fnv1a(bytes: Uint8Array, hash: number): number {
  let h = hash;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}
