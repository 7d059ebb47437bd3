// Online PPO from user feedback: the learning side of the edge worker, free of HTTP.
//
// A policy picks one of RESPONSES for each of PROMPTS (one-hot observations, as in
// examples/ppo_rlhf_single_turn.ts). Users see the chosen response and send back a reward. Each
// feedback request (one sample, or a small batch of up to MAX_FEEDBACK_BATCH) runs one PPO update:
//
//   no grad:    oldLogp_i = log pi_theta(a_i | s_i)        the policy the update starts from
//               A_i       = r_i - V_theta(s_i)             reward minus the critic's baseline
//   E epochs:   ratio_i   = pi_theta'(a_i | s_i) / exp(oldLogp_i)
//               loss = mean(max(-A_i ratio_i, -A_i clip(ratio_i, 1 - eps, 1 + eps)))   (PPO clip)
//                    + beta * mean_i KL(pi_theta'(. | s_i) || pi_ref(. | s_i))          (KL penalty)
//                    + c_v * 0.5 * mean((V_theta'(s_i) - r_i)^2)                         (critic)
//                    - c_e * mean(entropy(pi_theta'(. | s_i)))
//               one Adam step per epoch, after clipping the global gradient norm.
//
// Why this shape:
// - One update per request keeps a request's cost bounded and small (E forward/backward passes
//   over at most MAX_FEEDBACK_BATCH rows) and makes the effect of each piece of feedback visible.
// - The clip bounds how far one request can move the policy: once pi(a|s) has grown by a factor
//   1 + eps over the update's starting point, a positive advantage stops pushing. A burst of
//   identical feedback therefore moves the policy step by step, never in one jump.
// - oldLogp is the current policy's, taken when the feedback arrives, not the one that acted:
//   the client does not send it back (and could not be trusted to). With one-step episodes and
//   feedback that follows soon after /act, the two differ by at most the few updates in between;
//   the ratio then measures (and the clip bounds) the change made by this update alone.
// - The KL to the frozen reference (the initial policy) is computed exactly over all actions of
//   each prompt in the batch, not estimated from the one sampled action: with four responses it
//   costs nothing, has no sampling noise and is never negative. Its gradient pulls the policy
//   back towards the reference, so sustained feedback is needed to keep it far from it.
// - beta is fixed: an adaptive controller needs a KL measured over a rollout, and a single
//   request is not one. Raise KL_COEF to keep the policy closer to the reference.
// - A single sample has no batch to whiten its advantage over, so advantages are not normalised;
//   the critic's baseline (a learned expected reward per prompt) centres them instead.
//
// The update itself is the SDK's PPO step (sdk/algos/ppo/step.ts, ppoStep) on a RolloutBatch of
// the request's samples, in order (no shuffle: one minibatch of all of them), with the exact KL
// as an extra loss term; trainer.json's PRNG state and optimizer counters are checked with the
// SDK's checkpoint helpers (checkRngState, checkOptimizerCounters).
//
// Every update is all-or-nothing: the state is snapshotted first and restored if anything
// throws (a non-finite loss, say), so a failed request never leaves a half-applied update.

import {
  ActorCritic,
  Adam,
  CheckpointError,
  Tensor,
  TensorRolloutBatch,
  ValueError,
  checkOptimizerCounters,
  checkRngState,
  decodeCheckpoint,
  encodeCheckpoint,
  getRngState,
  logProbOf,
  noGrad,
  ppoStep,
  sampleCategorical,
  seed,
  setRngState,
  type Core,
  type LoadedCheckpoint,
  type PpoStepConfig,
  type StateDict,
} from '../../../sdk/index';
import { allOrNothing, checkedTensors } from './checkpoint_state';

export const PROMPTS = ['How do I boil an egg?', 'Summarise this article.', 'Tell me a secret.', 'Write a haiku about rain.'];
export const RESPONSES = ['helpful', 'terse', 'evasive', 'rude'];

/** Hyperparameters of the online updates. */
export const ONLINE_PPO = {
  /** Seeds the initial weights and the sampling in /act. */
  seed: 7,
  /** Hidden widths of the actor's and the critic's trunks. */
  hidden: [16],
  /** Adam learning rate. */
  learningRate: 3e-3,
  /** Gradient steps per feedback request (PPO epochs over its samples). */
  epochs: 4,
  /** PPO clip range eps. */
  clipRange: 0.2,
  /** beta: weight of the exact KL(policy || reference) term. */
  klCoef: 0.1,
  /** Critic loss weight. */
  valueCoef: 0.5,
  /** Entropy bonus weight. */
  entropyCoef: 0.01,
  /** Global gradient-norm clip. */
  maxGradNorm: 0.5,
} as const;

/** The PPO step's settings for one request: E epochs of one minibatch, no whitening, no value clip. */
const STEP: PpoStepConfig = {
  epochs: ONLINE_PPO.epochs,
  minibatches: 1,
  normalizeAdvantages: false,
  clipRange: ONLINE_PPO.clipRange,
  valueClip: 0,
  entropyCoef: ONLINE_PPO.entropyCoef,
  valueCoef: ONLINE_PPO.valueCoef,
  maxGradNorm: ONLINE_PPO.maxGradNorm,
  klEstimator: 'k2', // unused: the KL term is the exact one (extraLoss)
  targetKl: 0,
};

/** Most samples one feedback request may carry. */
export const MAX_FEEDBACK_BATCH = 32;
/** Rewards are expected to be normalised scores; larger magnitudes are refused, not clipped. */
export const MAX_ABS_REWARD = 10;

const FORMAT = 'novarl-edge-worker';
const VERSION = 1;

export interface Feedback {
  /** Index into PROMPTS. */
  prompt: number;
  /** Index into RESPONSES. */
  action: number;
  reward: number;
}

export interface UpdateStats {
  samples: number;
  /** Updates so far, this one included. */
  updates: number;
  policyLoss: number;
  /** Mean exact KL(policy || reference) over the batch's prompts, after the update. */
  klToRef: number;
  /** CleanRL's statistics of the last epoch. */
  clipfrac: number;
  approxKl: number;
}

/** Everything that changes as the worker learns, as plain copies. */
interface Snapshot {
  policy: StateDict;
  reference: StateDict;
  optimizer: ReturnType<Adam['stateDict']>;
  rng: number[];
  feedbackCount: number;
  updates: number;
}

export class OnlinePPO {
  readonly policy: ActorCritic;
  readonly reference: ActorCritic;
  readonly optimizer: Adam;
  readonly core: Core;
  /** Feedback samples learned from so far. */
  feedbackCount = 0;
  updates = 0;

  constructor(core: Core) {
    this.core = core;
    seed(ONLINE_PPO.seed, core);
    this.policy = new ActorCritic({ observationSize: PROMPTS.length, actionCount: RESPONSES.length, hidden: [...ONLINE_PPO.hidden], core });
    this.reference = this.policy.clone().freeze();
    this.optimizer = new Adam(this.policy.parameters(), { lr: ONLINE_PPO.learningRate, eps: 1e-5 });
  }

  /** One-hot rows for the given prompt indices: (n, PROMPTS.length). */
  private observations(prompts: readonly number[]): Tensor {
    const rows = new Float32Array(prompts.length * PROMPTS.length);
    prompts.forEach((p, i) => (rows[i * PROMPTS.length + p] = 1));
    return Tensor.from(rows, [prompts.length, PROMPTS.length], { core: this.core });
  }

  /** Samples a response for a prompt; returns it with the policy's probabilities for that prompt. */
  act(prompt: number): { action: number; probabilities: number[] } {
    const result = noGrad(() => {
      const logits = this.policy.logits(this.observations([prompt])); // (1, A)
      const action = sampleCategorical(logits).item();
      return { action, probabilities: Array.from(logits.softmax().toArray()) };
    });
    this.core.endStep();
    return result;
  }

  /** Response probabilities of every prompt, and each prompt's exact KL to the reference. */
  policyTable(): { probabilities: number[][]; klToRef: number[] } {
    const all = PROMPTS.map((_, i) => i);
    const result = noGrad(() => {
      const obs = this.observations(all);
      const logits = this.policy.logits(obs); // (P, A)
      return { probabilities: logits.softmax().toArray(), klToRef: this.exactKl(logits, obs).toArray() };
    });
    this.core.endStep();
    const a = RESPONSES.length;
    return {
      probabilities: all.map((i) => Array.from(result.probabilities.subarray(i * a, (i + 1) * a))),
      klToRef: Array.from(result.klToRef),
    };
  }

  /** KL(policy(.|s) || reference(.|s)) per row: logits (n, A) -> (n). */
  private exactKl(logits: Tensor, obs: Tensor): Tensor {
    const logP = logits.logSoftmax();
    const logRef = this.reference.logits(obs).logSoftmax(); // frozen: no gradient
    return logP.exp().mul(logP.sub(logRef)).sum(-1);
  }

  /** One PPO update on already validated feedback (see the top of this file); all-or-nothing. */
  learn(batch: readonly Feedback[]): UpdateStats {
    if (batch.length === 0 || batch.length > MAX_FEEDBACK_BATCH) {
      throw new ValueError(`feedback batch must hold 1 to ${MAX_FEEDBACK_BATCH} samples, got ${batch.length}`);
    }
    return this.transaction(() => {
      const n = batch.length;
      const prompts = batch.map((f) => f.prompt);
      const actions = Float32Array.from(batch, (f) => f.action);
      const rewards = Float32Array.from(batch, (f) => f.reward);

      // Starting point of the update, without gradients.
      const observations = this.observations(prompts).toArray();
      const { oldLogProbs, baseline } = noGrad(() => {
        const { logits, values } = this.policy.forward(Tensor.from(observations, [n, PROMPTS.length], { core: this.core }));
        return { oldLogProbs: logProbOf(logits, Tensor.from(actions, [n], { core: this.core })).toArray(), baseline: values.toArray() };
      });
      this.core.endStep();

      // The request as a RolloutBatch (n rows of one step), checked once here, then the PPO step.
      const rollout = TensorRolloutBatch.fromArrays(
        { observations, observationSize: PROMPTS.length, actions, oldLogProbs, values: baseline, rewards, advantages: rewards.map((r, i) => r - baseline[i]!), returns: rewards },
        this.core,
      );
      let last;
      try {
        last = ppoStep(this.policy, rollout, STEP, this.optimizer, {
          shuffle: false,
          extraLoss: ({ observations: obs, logits }) => this.exactKl(logits, obs).mean().mul(ONLINE_PPO.klCoef),
          label: `feedback update ${this.updates + 1}`,
        }).last;
      } finally {
        rollout.free();
      }

      this.feedbackCount += n;
      this.updates++;
      const table = this.policyTable().klToRef;
      const klToRef = prompts.reduce((sum, p) => sum + table[p]!, 0) / n;
      return { samples: n, updates: this.updates, klToRef, policyLoss: last.policyLoss, clipfrac: last.clipfrac, approxKl: last.approxKl };
    });
  }

  // ---- checkpoints ---------------------------------------------------------------------------

  /**
   * The whole state as encodeCheckpoint's parts (manifest with CRC-32s, model and optimizer
   * safetensors, trainer.json): policy.* and reference.* weights, Adam's moments, counters and
   * the sampling PRNG's state.
   */
  checkpointFiles(): Map<string, Uint8Array> {
    const model: StateDict = {};
    const modelShapes: Record<string, number[]> = {};
    for (const [prefix, module] of [['policy.', this.policy], ['reference.', this.reference]] as const) {
      for (const [name, p] of module.namedParameters()) {
        model[prefix + name] = p.toArray();
        modelShapes[prefix + name] = [...p.shape];
      }
    }
    const optimizer = this.optimizer.stateDict();
    return encodeCheckpoint({
      model,
      modelShapes,
      optimizer: optimizer.tensors,
      trainer: {
        format: FORMAT,
        version: VERSION,
        prompts: PROMPTS,
        responses: RESPONSES,
        config: { ...ONLINE_PPO, hidden: [...ONLINE_PPO.hidden] },
        feedbackCount: this.feedbackCount,
        updates: this.updates,
        rngState: getRngState(this.core),
        optimizer: { stepCount: optimizer.stepCount, lr: optimizer.lr },
      },
      metadata: { format: FORMAT },
    });
  }

  /** Replaces the state with a checkpoint's, after checking it fits this worker; all-or-nothing. */
  loadCheckpointFiles(files: Map<string, Uint8Array>): void {
    const checkpoint = decodeCheckpoint(files); // manifest, sizes, CRC-32s, safetensors structure
    const next = this.checkedSnapshot(checkpoint);
    this.transaction(() => this.restore(next));
  }

  /** Reads a decoded checkpoint into a Snapshot, refusing anything that does not fit. */
  private checkedSnapshot(checkpoint: LoadedCheckpoint): Snapshot {
    const fail = (message: string): never => {
      throw new CheckpointError(`not a checkpoint of this worker: ${message}`, 'mismatch');
    };
    const t = checkpoint.trainer;
    if (checkpoint.metadata['format'] !== FORMAT || t['format'] !== FORMAT) fail(`format is ${JSON.stringify(t['format'])}, expected "${FORMAT}"`);
    if (t['version'] !== VERSION) fail(`version ${JSON.stringify(t['version'])}, expected ${VERSION}`);
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(t['prompts'], PROMPTS)) fail('its prompts differ from this worker\'s');
    if (!same(t['responses'], RESPONSES)) fail('its responses differ from this worker\'s');
    if (!same(t['config'], { ...ONLINE_PPO, hidden: [...ONLINE_PPO.hidden] })) fail('its hyperparameters differ from this worker\'s');
    const count = (name: string): number => {
      const v = t[name];
      return Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : fail(`${name} ${JSON.stringify(v)} is not a non-negative integer`);
    };
    const field = (name: string, what: string, value: unknown): never => fail(`${name} ${JSON.stringify(value) ?? String(value)}: ${what}`);
    const counters = t['optimizer'];
    checkOptimizerCounters(counters, field);
    const rng = t['rngState'];
    checkRngState(rng, 'rngState', field);
    const split = (prefix: string): StateDict => {
      const out: StateDict = {};
      for (const [name, data] of Object.entries(checkpoint.model)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = data;
      return out;
    };
    const optimizerTensors = checkedTensors(checkpoint, fail);
    const policy = split('policy.');
    const reference = split('reference.');
    if (Object.keys(policy).length + Object.keys(reference).length !== Object.keys(checkpoint.model).length) {
      fail('the model holds tensors that are neither policy.* nor reference.*');
    }
    return {
      policy,
      reference,
      optimizer: { stepCount: counters.stepCount, lr: counters.lr, tensors: optimizerTensors },
      rng,
      feedbackCount: count('feedbackCount'),
      updates: count('updates'),
    };
  }

  private snapshot(): Snapshot {
    return {
      policy: this.policy.stateDict(),
      reference: this.reference.stateDict(),
      optimizer: this.optimizer.stateDict(),
      rng: getRngState(this.core),
      feedbackCount: this.feedbackCount,
      updates: this.updates,
    };
  }

  /** Loads a snapshot; the modules and the optimizer check names and sizes before writing. */
  private restore(s: Snapshot): void {
    this.policy.loadStateDict(s.policy);
    this.reference.loadStateDict(s.reference);
    this.optimizer.loadStateDict(s.optimizer);
    setRngState(s.rng, this.core);
    this.feedbackCount = s.feedbackCount;
    this.updates = s.updates;
  }

  /** Runs `change`; if it throws, puts the state back as it was and rethrows. */
  private transaction<T>(change: () => T): T {
    return allOrNothing(this.core, this.optimizer, () => this.snapshot(), (s) => this.restore(s), change);
  }
}
