// One PPO update: NovaRL against the same update written with tfjs (wasm backend, this process,
// one thread) and with PyTorch eager on one thread (a child process, bench/peers/ppo_step.py).
// All three start from the same weights and train on the same rollout, collected once by
// NovaRL from a SyntheticPromptEnvironment. Four cases, each timed on its own:
//
//   mlp2x64-b512-4x4        hidden 64,  8 envs x 64 steps = 512 rows,  minibatch 128,  no KL
//   mlp2x64-b512-4x4-kl     the same with a KL-to-reference term (below)
//   mlp2x256-b4096-4x4      hidden 256, 64 envs x 64 steps = 4096 rows, minibatch 1024, no KL
//   mlp2x256-b4096-4x4-kl   the same with a KL-to-reference term
//
// The update (CleanRL's ppo.py): separate actor and critic MLPs 16 -> H -> H (tanh) with heads
// to 4 logits and 1 value; 4 epochs, each a fresh random permutation of the rows cut into 4
// minibatches; per minibatch: gather the rows, whiten the advantages (sample std, + 1e-8),
// clipped surrogate (0.2), clipped value loss (0.2), loss = pg - 0.01 entropy + 0.5 value
// [+ KL term], backward, global grad-norm clipping to 0.5, Adam (lr 2.5e-4, eps 1e-5), zero the
// gradients, and read the loss and statistics back.
//
// The KL term (the -kl cases), the same in all three: a frozen reference actor, a copy of the
// initial actor (trunk and policy head), runs forward on the minibatch's observations in every
// minibatch without gradients (NovaRL: noGrad; tfjs: outside variableGrads, on constant
// tensors; PyTorch: torch.no_grad()); logpRef = log_softmax(reference logits)[taken action];
// the loss gains klCoef * mean(logp - logpRef) (the k1 estimator, klCoef 0.1), where logp is
// the taken action's log-prob under the current policy (with its gradient), and the term's
// value is read back with the other statistics. NovaRL runs it through the public ppoStep
// (sdk/algos/ppo/step.ts) with extraLoss, which receives the minibatch's observations and
// actions.
// The no-KL cases time PPOTrainer.learn() (the rollout copied into the core's batch tensors,
// then ppoStep); the -kl cases time ppoStep on a batch written into the core once.
//
// "GFLOP/s" = the update's Linear-layer FLOPs / median seconds per update, so the ratio is the
// speed ratio. FLOPs, for M rows per minibatch and a layer in -> out:
//   forward 2 M in out, weight gradient 2 M in out, input gradient 2 M in out (not needed,
//   and not counted, for the first layer of each trunk, whose input is the observations);
// and with the KL term the reference's forward, 2 M in out for each actor layer (trunk and
// policy head); summed over the layers and over 4 x 4 = 16 minibatches:
//   16 * 2 M * (3 * sum(in * out) - sum over first layers(in * out) [+ sum over actor layers(in * out)])
//   H 64,  M 128:  16 * 256 * (3 * 10560 - 2048) = 121.4 MFLOP, + 16 * 256 * 5376 = 22.0 with KL;
//   H 256, M 1024: 16 * 2048 * (3 * 140544 - 8192) = 13.55 GFLOP, + 16 * 2048 * 70656 = 2.32 with KL.
// Bias adds, activations and losses are not counted (they are a few percent of the FLOPs).
//
// Timing: each library is warmed up, then sampled in rounds (one sample of each per round, a
// sample lasting about sampleMs, at least one update), so that all see the same load on a
// shared machine; the figures are medians over the rounds. The small cases take 31 rounds (9
// with --quick; with 11 the ratio to PyTorch moved between 1.9x and 4x from run to run on a
// shared 2-core VM) after 300 ms of warmup (100); the large ones, about 1-2.5 s per update, take 3
// rounds of one update (1 with --quick) after one warmup update (none with --quick) besides the
// first update that the check below uses. A full garbage collection runs before every sample,
// outside the timing, so that neither in-process library pays for the other's garbage: without
// it NovaRL's -kl samples, taken right after tfjs's (which allocates the most), measured 15.4
// ms against 9.7 ms alone, and its plain ones 9.0 against 7.8. It spares tfjs the most, as the
// one that makes the most garbage. CPU time still counts V8's concurrent sweeping after it.
// --quick times the large cases against PyTorch only
// (tfjs takes 2-3 s per large update). ratio = peer seconds / NovaRL seconds (wall clock);
// notes give ms per update and the same by CPU time (cpu_ratio), steadier under load.
//
// Same work: every library's first update (from the initial weights, fresh Adam) reports its
// mean value loss and, in the -kl cases, the mean KL term over the 16 minibatches; both must
// agree with NovaRL's (checkSameWork), or the benchmark fails. In the -kl cases that first
// update takes the rows in order in all three (the same minibatches), so they agree to
// rounding; the timed updates shuffle.

import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs'; // the union package: tfjs-core plus its gradients
import {
  ActorCritic,
  Adam,
  PPOTrainer,
  SyntheticPromptEnvironment,
  TensorRolloutBatch,
  init,
  noGrad,
  ppoStep,
  resolvePPOConfig,
  type Core,
  type StateDict,
} from '../sdk/index';
import { gflops, round, timingFor, type BenchOptions, type BenchRow, type TimingOptions } from './util';
import { initTfjsWasm } from './tfjs_wasm';
import { ServingPeer } from './peers/serving_peer';
import { callsFor, medianOf, sampleInRounds, syncLane, type Lane, type WallAndCpu } from './lanes';

// V8's gc(), which node exposes only with --expose-gc; the flag can still be set at run time
v8.setFlagsFromString('--expose-gc');
const collectGarbage: () => void = runInNewContext('gc');

const OBS = 16;
const ACTIONS = 4;
const EPOCHS = 4;
const MINIBATCHES = 4;
const KL_COEF = 0.1;
const CONFIG = {
  epochs: EPOCHS,
  minibatches: MINIBATCHES,
  learningRate: 2.5e-4,
  adamEps: 1e-5,
  clipRange: 0.2,
  valueClip: 0.2,
  entropyCoef: 0.01,
  valueCoef: 0.5,
  maxGradNorm: 0.5,
  normalizeAdvantages: true,
  klCoef: 0, // PPOTrainer's own KL (against the rollout's reference log-probs) is off
  seed: 7,
};

/** A network width and rollout shape; each is benchmarked without and with the KL term. */
interface PpoConfig {
  size: string;
  hidden: number;
  numEnvs: number;
  steps: number;
  /** Large updates are timed with few samples (see the header). */
  large: boolean;
}

/** One benchmarked update: a config, and whether the KL term is on. */
interface PpoCase extends PpoConfig {
  /** klCoef of the KL-to-reference term (0: none). */
  klCoef: number;
}

const CONFIGS: PpoConfig[] = [
  { size: 'mlp2x64-b512-4x4', hidden: 64, numEnvs: 8, steps: 64, large: false },
  { size: 'mlp2x256-b4096-4x4', hidden: 256, numEnvs: 64, steps: 64, large: true },
];

/** The row's size column: the config's, with -kl for the KL variant. */
const caseName = (c: PpoCase) => (c.klCoef > 0 ? `${c.size}-kl` : c.size);
const rowsOf = (c: PpoConfig) => c.numEnvs * c.steps;
const minibatchOf = (c: PpoConfig) => rowsOf(c) / MINIBATCHES;

/** [in, out] of every Linear layer: actor trunk, critic trunk, policy head, value head. */
function layersOf(hidden: number): { all: [number, number][]; first: [number, number][]; actor: [number, number][] } {
  const actor: [number, number][] = [[OBS, hidden], [hidden, hidden], [hidden, ACTIONS]];
  const critic: [number, number][] = [[OBS, hidden], [hidden, hidden], [hidden, 1]];
  return { all: [...actor, ...critic], first: [[OBS, hidden], [OBS, hidden]], actor };
}

/** Linear-layer FLOPs of one update (formula in the header comment). */
export function ppoUpdateFlops(c: PpoCase): number {
  const inOut = (layers: [number, number][]) => layers.reduce((s, [i, o]) => s + i * o, 0);
  const { all, first, actor } = layersOf(c.hidden);
  const reference = c.klCoef > 0 ? inOut(actor) : 0;
  return EPOCHS * MINIBATCHES * 2 * minibatchOf(c) * (3 * inOut(all) - inOut(first) + reference);
}

/** The rollout every library trains on, as flat arrays (row = t * numEnvs + env). */
export interface PpoBatch {
  obs: Float32Array; // (rows, 16)
  actions: Float32Array; // (rows)
  logProbs: Float32Array; // (rows)
  advantages: Float32Array; // (rows)
  returns: Float32Array; // (rows)
  values: Float32Array; // (rows)
}

/** The first update's mean value loss and mean KL term (0 without it): the same-work check. */
interface FirstUpdate {
  valueLoss: number;
  klTerm: number;
}

export async function benchPpoStep(options: BenchOptions): Promise<BenchRow[]> {
  const core: Core = await init({ simd: true });
  await initTfjsWasm();
  const rows: BenchRow[] = [];
  for (const config of CONFIGS) rows.push(...(await benchConfig(config, options, core)));
  return rows;
}

/** Both variants of one config, on one rollout from one set of initial weights. */
async function benchConfig(c: PpoConfig, options: BenchOptions, core: Core): Promise<BenchRow[]> {
  // NovaRL: one real rollout fills the buffer (update() = rollout + GAE + learn); the updates
  // timed then train on it again and again
  const env = new SyntheticPromptEnvironment({ numEnvs: c.numEnvs, observationSize: OBS, actionCount: ACTIONS, seed: 3 });
  const policy = new ActorCritic({ observationSize: OBS, actionCount: ACTIONS, hidden: [c.hidden, c.hidden] });
  const initialWeights = policy.stateDict();
  // 'tie': no frozen reference copy to keep; learn() does not touch it (its klCoef is 0)
  const trainer = new PPOTrainer({ env, policy, config: { ...CONFIG, stepsPerUpdate: c.steps }, referenceModel: 'tie' });
  const firstPlain: FirstUpdate = { valueLoss: (await trainer.update()).value_loss, klTerm: 0 };
  const b = trainer.buffer;
  const batch: PpoBatch = {
    obs: b.observations.slice(),
    actions: Float32Array.from(b.actions),
    logProbs: b.logProbs.slice(),
    advantages: b.advantages.slice(),
    returns: b.returns.slice(),
    values: b.values.slice(),
  };
  try {
    const plain = await benchCase({ ...c, klCoef: 0 }, options, initialWeights, batch, { first: firstPlain, update: () => trainer.learn() });
    // the rollout's update was plain PPO: the -kl update starts again from the initial weights,
    // its first update (as the peers') taking the rows in order
    const kl = novarlKlPpoUpdate({ ...c, klCoef: KL_COEF }, initialWeights, batch, core);
    try {
      const first = kl.update(false);
      return [...plain, ...(await benchCase({ ...c, klCoef: KL_COEF }, options, initialWeights, batch, { first, update: () => kl.update(true) }))];
    } finally {
      kl.free();
    }
  } finally {
    trainer.free();
    policy.free();
    core.endStep();
  }
}

/**
 * One case: NovaRL's update (already run once from the initial weights, giving `first`)
 * against tfjs and PyTorch started from the same weights on the same rollout.
 */
async function benchCase(c: PpoCase, options: BenchOptions, initialWeights: StateDict, batch: PpoBatch, novarl: { first: FirstUpdate; update: () => unknown }): Promise<BenchRow[]> {
  // large updates: sampleMs 0 (one update per sample), few rounds, one warmup update or none
  const timing: Required<TimingOptions> = c.large ? { warmupMs: 0, sampleMs: 0, samples: options.quick ? 1 : 3 } : { ...timingFor(options), samples: options.quick ? 9 : 31 };
  const minWarmupCalls = c.large ? (options.quick ? 0 : 1) : 3;
  // The peers start from the initial weights too, and their first update is checked against
  // NovaRL's; in the -kl cases it takes the rows in order, as NovaRL's did.
  const inOrder = c.klCoef > 0;
  // --quick leaves tfjs out of the large cases (its slowest, a few seconds per update)
  const tfjs = c.large && options.quick ? undefined : tfjsPpoUpdate(c, initialWeights, batch);
  const tfjsFirst = tfjs?.update(!inOrder);
  const torch = await startPytorchPeer(c, initialWeights, batch, timing.warmupMs, minWarmupCalls, inOrder);

  // Warm each up, then take the samples in rounds, one sample of each library per round, so
  // that all of them see the same load when the machine is shared.
  const lanes: Lane[] = [syncLane('novarl', novarl.update, timing, minWarmupCalls)];
  if (tfjs) lanes.push(syncLane('tfjs-wasm', () => tfjs.update(true), timing, minWarmupCalls));
  if (torch) lanes.push({ name: 'pytorch-eager-1t', calls: callsFor(torch.secondsPerUpdate, timing), sample: (n) => torch.peer.sample(n) });
  let samples: Map<string, WallAndCpu[]>;
  try {
    samples = await sampleInRounds(lanes, timing.samples, collectGarbage); // the GC outside the timing (see the header)
  } finally {
    torch?.peer.close();
    tfjs?.dispose();
  }
  const medians = new Map([...samples].map(([name, xs]) => [name, medianOf(xs)]));

  const flops = ppoUpdateFlops(c);
  const novarlTime = medians.get('novarl')!;
  const row = (peer: string, peerFirst: FirstUpdate): BenchRow => {
    checkSameWork(c, peer, novarl.first, peerFirst);
    const peerTime = medians.get(peer)!;
    return {
      bench: 'ppo_step',
      size: caseName(c),
      novarl_gflops: round(gflops(flops, novarlTime.wall)),
      peer,
      peer_gflops: round(gflops(flops, peerTime.wall)),
      ratio: round(peerTime.wall / novarlTime.wall, 3),
      notes: {
        novarl_ms: round(novarlTime.wall * 1000, 3),
        peer_ms: round(peerTime.wall * 1000, 3),
        novarl_cpu_ms: round(novarlTime.cpu * 1000, 3),
        peer_cpu_ms: round(peerTime.cpu * 1000, 3),
        cpu_ratio: round(peerTime.cpu / novarlTime.cpu, 3),
      },
    };
  };
  const out = tfjsFirst ? [row('tfjs-wasm', tfjsFirst)] : [];
  if (torch) out.push(row('pytorch-eager-1t', torch.first));
  return out;
}

// ---- NovaRL with the KL term ---------------------------------------------------------------

/**
 * The -kl update through the public API: a fresh ActorCritic with the initial weights, a
 * frozen clone of it as the reference, Adam, and ppoStep with extraLoss adding
 * klCoef * mean(logp - logpRef), logpRef from the reference's forward on the minibatch.
 */
function novarlKlPpoUpdate(c: PpoCase, weights: StateDict, rollout: PpoBatch, core: Core): { update: (shuffle: boolean) => FirstUpdate; free: () => void } {
  const rows = rowsOf(c), mb = minibatchOf(c);
  const actorCritic = new ActorCritic({ observationSize: OBS, actionCount: ACTIONS, hidden: [c.hidden, c.hidden] });
  actorCritic.loadStateDict(weights);
  const reference = actorCritic.clone().freeze();
  const optimizer = new Adam(actorCritic.parameters(), { lr: CONFIG.learningRate, eps: CONFIG.adamEps });
  const config = resolvePPOConfig({ ...CONFIG, stepsPerUpdate: c.steps });
  const batch = TensorRolloutBatch.fromArrays(
    {
      observations: rollout.obs,
      observationSize: OBS,
      actions: rollout.actions,
      oldLogProbs: rollout.logProbs,
      values: rollout.values,
      rewards: new Float32Array(rows), // not read by ppoStep
      advantages: rollout.advantages,
      returns: rollout.returns,
    },
    core,
  );
  let klTermSum = 0;
  const update = (shuffle: boolean): FirstUpdate => {
    klTermSum = 0;
    const stats = ppoStep(actorCritic, batch, config, optimizer, {
      shuffle,
      extraLoss: ({ observations, actions, logProbs }) => {
        const logpRef = noGrad(() => reference.logits(observations).logSoftmax().gather(actions.reshape([mb])), core); // (mb)
        const term = logProbs.reshape([mb]).sub(logpRef).mean().mul(c.klCoef);
        klTermSum += term.item();
        return term;
      },
    });
    return { valueLoss: stats.valueLoss, klTerm: klTermSum / stats.minibatches };
  };
  const free = () => {
    batch.free();
    reference.free();
    actorCritic.free();
    optimizer.free();
  };
  return { update, free };
}

// ---- timing --------------------------------------------------------------------------------

/**
 * The first update from the same weights on the same rollout gives nearly the same mean value
 * loss (and mean KL term) in every library.
 *
 * No-KL cases: each library shuffles with its own generator, so the 16 minibatch losses are
 * taken at slightly different points of the descent (the value losses agree within about
 * 0.1%). 2% tolerates that; a peer that computes something else is further off (tried: a
 * transposed hidden weight, 9%; the value loss without clipping, 7%).
 *
 * -kl cases: every library's first update takes the rows in order (no shuffle), so all do the
 * same 16 minibatches and agree up to rounding (seen: 2e-5 relative on the KL term, 1e-5 on
 * the value loss); 1% on the KL term and 0.1% on the value loss. The KL term starts at 0 (the
 * policy is the reference) and measures how far the update moved the taken actions'
 * log-probs, so it catches a term left out of the loss (tried, in tfjs: 8% off).
 */
function checkSameWork(c: PpoCase, peer: string, novarl: FirstUpdate, other: FirstUpdate): void {
  console.error(
    `ppo_step ${caseName(c)}: first update: mean value loss novarl ${novarl.valueLoss.toFixed(5)}, ${peer} ${other.valueLoss.toFixed(5)}` +
      (c.klCoef > 0 ? `; mean KL term novarl ${novarl.klTerm.toExponential(4)}, ${peer} ${other.klTerm.toExponential(4)}` : ''),
  );
  const valueTolerance = c.klCoef > 0 ? 0.001 : 0.02;
  if (!(Math.abs(other.valueLoss - novarl.valueLoss) <= valueTolerance * Math.abs(novarl.valueLoss))) {
    throw new Error(`ppo_step ${caseName(c)}: ${peer} does not do the same update: first-update mean value loss ${other.valueLoss} vs NovaRL ${novarl.valueLoss}`);
  }
  if (c.klCoef > 0 && !(Math.abs(other.klTerm - novarl.klTerm) <= 0.01 * Math.abs(novarl.klTerm))) {
    throw new Error(`ppo_step ${caseName(c)}: ${peer} does not do the same update: first-update mean KL term ${other.klTerm} vs NovaRL ${novarl.klTerm}`);
  }
}

// ---- tfjs ----------------------------------------------------------------------------------

/**
 * The update written with tfjs: each weight held transposed, (in, out), and a Linear layer
 * y = x W^T + b written as a tf.customGrad whose backward transposes explicitly and runs plain
 * matmuls (dx = dy W, dW^T = x^T dy, db = sum of dy): tfjs-backend-wasm 4.22 runs its
 * transposed matMul variants, which tf.matMul's own gradient uses, 10-15x slower than the plain
 * one plus a transpose at 1024 x 256 (seen on a loaded machine: 10-15 s of CPU per large update
 * with tf.matMul's own gradient, 2.3-2.4 s with this one);
 * tf.variableGrads for the gradients, the global norm clipped by hand (as
 * torch.nn.utils.clip_grad_norm_), tf.train.adam; with the KL term, the reference actor is
 * constant tensors with the initial weights, run outside variableGrads. Returns one update as
 * a function, and a dispose() for the tensors and variables it holds.
 */
function tfjsPpoUpdate(c: PpoCase, weights: StateDict, batch: PpoBatch): { update: (shuffle: boolean) => FirstUpdate; dispose: () => void } {
  const rows = rowsOf(c), mb = minibatchOf(c);
  const variables: Record<string, tf.Variable> = {};
  const referenceWeights: Record<string, tf.Tensor> = {};
  for (const [name, data] of Object.entries(weights)) {
    const shape = shapeOf(name, c.hidden);
    const value = () => (name.endsWith('.weight') ? tf.tidy(() => tf.transpose(tf.tensor(data, shape))) : tf.tensor(data, shape)); // W^T: (in, out)
    const initial = value();
    variables[name] = tf.variable(initial, true, name);
    initial.dispose(); // the variable holds its own reference to the data
    if (c.klCoef > 0 && (name.startsWith('actorTrunk.') || name.startsWith('policyHead.'))) referenceWeights[name] = value();
  }
  // y = x W^T + b, x (M, in), W^T (in, out); backward with plain matmuls (see above)
  const linearOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, weightT, bias, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([x, weightT]);
    return {
      value: tf.add(tf.matMul(x, weightT), bias) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, [xs, ws]: tf.Tensor[]) => [
        tf.matMul(dy, tf.transpose(ws as tf.Tensor2D)), // dx = dy W: (M, in)
        tf.matMul(tf.transpose(xs as tf.Tensor2D), dy), // dW^T = x^T dy: (in, out)
        tf.sum(dy, 0), // db: (out)
      ],
    };
  });
  const linear = (w: Record<string, tf.Tensor>, x: tf.Tensor2D, prefix: string) => linearOp(x, w[`${prefix}.weight`]!, w[`${prefix}.bias`]!) as tf.Tensor2D;
  const trunk = (w: Record<string, tf.Tensor>, x: tf.Tensor2D, prefix: string) =>
    tf.tanh(linear(w, tf.tanh(linear(w, x, `${prefix}.layers.0`)), `${prefix}.layers.1`)) as tf.Tensor2D;
  const actorLogits = (w: Record<string, tf.Tensor>, x: tf.Tensor2D) => linear(w, trunk(w, x, 'actorTrunk'), 'policyHead.linear');

  const obs = tf.tensor2d(batch.obs, [rows, OBS]);
  const actions = tf.tensor1d(Int32Array.from(batch.actions), 'int32');
  const oldLogProbs = tf.tensor1d(batch.logProbs);
  const advantages = tf.tensor1d(batch.advantages);
  const returns = tf.tensor1d(batch.returns);
  const oldValues = tf.tensor1d(batch.values);
  const optimizer = tf.train.adam(CONFIG.learningRate, 0.9, 0.999, CONFIG.adamEps);
  const varList = Object.values(variables);
  const permutation = new Int32Array(rows);
  let rng = 12345;

  const update = (shuffled: boolean) => {
    let valueLossSum = 0, klTermSum = 0;
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      if (shuffled) shuffle(permutation, () => (rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 4294967296);
      else for (let i = 0; i < rows; i++) permutation[i] = i;
      for (let start = 0; start < rows; start += mb) {
        tf.tidy(() => {
          const index = tf.tensor1d(permutation.subarray(start, start + mb), 'int32');
          const mbObs = tf.gather(obs, index) as tf.Tensor2D;
          const mbActions = tf.gather(actions, index);
          const mbOldLogp = tf.gather(oldLogProbs, index);
          const mbReturns = tf.gather(returns, index);
          const mbOldValues = tf.gather(oldValues, index);
          const rawAdv = tf.gather(advantages, index);
          const { mean, variance } = tf.moments(rawAdv);
          const std = tf.sqrt(tf.mul(variance, mb / (mb - 1))); // sample std, as torch .std()
          const mbAdv = tf.div(tf.sub(rawAdv, mean), tf.add(std, 1e-8));
          const oneHot = tf.oneHot(mbActions, ACTIONS);
          // the reference's log-prob of the taken actions: constants, no gradient
          const refLogp = c.klCoef > 0 ? tf.sum(tf.mul(tf.logSoftmax(actorLogits(referenceWeights, mbObs)), oneHot), -1) : undefined;

          let stats: tf.Tensor[] = [];
          const { value, grads } = tf.variableGrads(() => {
            const logits = actorLogits(variables, mbObs);
            const values = tf.reshape(linear(variables, trunk(variables, mbObs, 'criticTrunk'), 'valueHead.linear'), [mb]);
            const logpAll = tf.logSoftmax(logits);
            const logp = tf.sum(tf.mul(logpAll, oneHot), -1);
            const entropy = tf.mean(tf.neg(tf.sum(tf.mul(tf.exp(logpAll), logpAll), -1)));
            const logratio = tf.sub(logp, mbOldLogp);
            const ratio = tf.exp(logratio);
            const pgLoss = tf.mean(tf.maximum(tf.mul(tf.neg(mbAdv), ratio), tf.mul(tf.neg(mbAdv), tf.clipByValue(ratio, 1 - CONFIG.clipRange, 1 + CONFIG.clipRange))));
            const vClipped = tf.add(mbOldValues, tf.clipByValue(tf.sub(values, mbOldValues), -CONFIG.valueClip, CONFIG.valueClip));
            const vLoss = tf.mul(0.5, tf.mean(tf.maximum(tf.square(tf.sub(values, mbReturns)), tf.square(tf.sub(vClipped, mbReturns)))));
            // k1 KL to the reference: klCoef * mean(logp - logpRef)
            const klTerm = refLogp ? tf.mul(tf.mean(tf.sub(logp, refLogp)), c.klCoef) : tf.scalar(0);
            // CleanRL's statistics, from the same forward pass (kept: variableGrads disposes
            // everything else made in here)
            stats = [
              pgLoss,
              vLoss,
              klTerm,
              tf.mean(tf.mul(mbAdv, ratio)),
              tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), CONFIG.clipRange), 'float32')),
              tf.mean(tf.sub(tf.sub(ratio, 1), logratio)),
              tf.mean(tf.neg(logratio)),
            ].map((t) => tf.keep(t));
            const loss = tf.add(tf.sub(pgLoss, tf.mul(entropy, CONFIG.entropyCoef)), tf.mul(vLoss, CONFIG.valueCoef));
            return (refLogp ? tf.add(loss, klTerm) : loss) as tf.Scalar;
          }, varList);
          // global gradient norm, clipped as torch.nn.utils.clip_grad_norm_
          const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
          const scale = tf.minimum(1, tf.div(CONFIG.maxGradNorm, tf.add(norm, 1e-6)));
          optimizer.applyGradients(Object.entries(grads).map(([name, g]) => ({ name, tensor: tf.mul(g, scale) })));
          // the host reads the loss, the norm and the statistics once per minibatch, as learn() does
          const read = tf.stack([value, norm, ...stats]).dataSync();
          tf.dispose(stats);
          valueLossSum += read[3]!;
          klTermSum += read[4]!;
          if (!Number.isFinite(read[0]!)) throw new Error(`tfjs PPO loss is ${read[0]}`);
        });
      }
    }
    const n = EPOCHS * MINIBATCHES;
    return { valueLoss: valueLossSum / n, klTerm: klTermSum / n };
  };
  const dispose = () => {
    optimizer.dispose();
    tf.dispose([...varList, ...Object.values(referenceWeights), obs, actions, oldLogProbs, advantages, returns, oldValues]);
  };
  return { update, dispose };
}

/** Fisher-Yates with the given uniform [0, 1) source. */
function shuffle(out: Int32Array, uniform: () => number): void {
  for (let i = 0; i < out.length; i++) out[i] = i;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
}

/** [out, in] of a Linear weight, or [out] of its bias, from the parameter name. */
function shapeOf(name: string, hidden: number): number[] {
  const table: Record<string, [number, number]> = {
    'actorTrunk.layers.0': [hidden, OBS],
    'actorTrunk.layers.1': [hidden, hidden],
    'criticTrunk.layers.0': [hidden, OBS],
    'criticTrunk.layers.1': [hidden, hidden],
    'policyHead.linear': [ACTIONS, hidden],
    'valueHead.linear': [1, hidden],
  };
  const shape = table[name.replace(/\.(weight|bias)$/, '')];
  if (!shape) throw new Error(`ppo_step: unexpected parameter ${name}`);
  return name.endsWith('.weight') ? shape : [shape[0]];
}

// ---- PyTorch -------------------------------------------------------------------------------

const PEER_SCRIPT = fileURLToPath(new URL('./peers/ppo_step.py', import.meta.url));

/** ppo_step.py's reply to the spec (its docstring): the first update's figures, the check. */
interface PeerReady {
  first_update_value_loss: number;
  first_update_kl_term: number;
  warmup_s_per_update: number;
}

/**
 * bench/peers/ppo_step.py --serve as a child process (bench/peers/serving_peer.ts): it receives
 * the weights and the rollout, runs one update (its value loss and KL term are the check), warms
 * up, then times samples on request. Null, with a printed reason, when PyTorch is not importable
 * by /usr/bin/python3.
 */
async function startPytorchPeer(c: PpoCase, weights: StateDict, batch: PpoBatch, warmupMs: number, minWarmupCalls: number, firstInOrder: boolean) {
  const spec = {
    config: { ...CONFIG, klCoef: c.klCoef, rows: rowsOf(c), minibatchSize: minibatchOf(c), observationSize: OBS, actionCount: ACTIONS, hidden: c.hidden },
    weights: Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, Array.from(w)])),
    batch: Object.fromEntries(Object.entries(batch).map(([k, a]) => [k, Array.from(a as Float32Array)])),
    warmupMs,
    minWarmupCalls,
    firstInOrder,
  };
  const peer = await ServingPeer.start<PeerReady>('ppo_step', PEER_SCRIPT, spec);
  if (!peer) return null;
  const first: FirstUpdate = { valueLoss: peer.ready.first_update_value_loss, klTerm: peer.ready.first_update_kl_term };
  return { peer, first, secondsPerUpdate: peer.ready.warmup_s_per_update };
}
