// Float64 reference of one PPO update (one minibatch per epoch) for NovaRL's ActorCritic with
// separate tanh trunks, written from the formulas (docs/architecture.md, "Algorithms"; CleanRL ppo.py;
// torch.optim.Adam; torch.nn.utils.clip_grad_norm_) and sharing no code with the SDK. The loss
// terms come from ./losses.ts (checked against the core elsewhere); gradients are central finite
// differences of the whole float64 loss, so no hand-derived backward is trusted here.

import { finiteDiff } from '../util';
import { entropyRef, klRef, meanRef, ppoRef, valueLossRef } from './losses';

type Vec = ArrayLike<number>;

/** Parameters by name, in the module's parameter order (Module.namedParameters()). */
export type Params = [name: string, values: Float64Array][];

// ---- forward ---------------------------------------------------------------------------------

/** y = x W^T + b for `rows` rows; W is (out, in) row-major (PyTorch's layout). */
export function linearRef(x: Vec, rows: number, weight: Vec, bias: Vec): Float64Array {
  const out = bias.length;
  const inputs = weight.length / out;
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = bias[o]!;
      for (let i = 0; i < inputs; i++) s += x[r * inputs + i]! * weight[o * inputs + i]!;
      y[r * out + o] = s;
    }
  }
  return y;
}

/**
 * ActorCritic.forward with separate trunks: each trunk layer is Linear then tanh (the MLP puts
 * tanh between its layers and ActorCritic.features after the last), then the linear heads.
 * obs: (rows, obsSize) -> logits (rows, A), values (rows).
 */
export function actorCriticRef(params: Params, obs: Vec, rows: number): { logits: Float64Array; values: Float64Array } {
  const p = new Map(params);
  const trunk = (prefix: string): Float64Array => {
    let h = Float64Array.from(obs);
    for (let i = 0; p.has(`${prefix}.layers.${i}.weight`); i++) {
      h = linearRef(h, rows, p.get(`${prefix}.layers.${i}.weight`)!, p.get(`${prefix}.layers.${i}.bias`)!).map(Math.tanh);
    }
    return h;
  };
  const logits = linearRef(trunk('actorTrunk'), rows, p.get('policyHead.linear.weight')!, p.get('policyHead.linear.bias')!);
  const values = linearRef(trunk('criticTrunk'), rows, p.get('valueHead.linear.weight')!, p.get('valueHead.linear.bias')!);
  return { logits, values };
}

/** log softmax of each row of `classes` logits. */
export function logSoftmaxRef(logits: Vec, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    let m = -Infinity;
    for (let j = 0; j < classes; j++) m = Math.max(m, logits[r * classes + j]!);
    let z = 0;
    for (let j = 0; j < classes; j++) z += Math.exp(logits[r * classes + j]! - m);
    for (let j = 0; j < classes; j++) out[r * classes + j] = logits[r * classes + j]! - m - Math.log(z);
  }
  return out;
}

/** log pi(action | row) for each row. */
export function logProbRef(logits: Vec, classes: number, actions: Vec): Float64Array {
  const logp = logSoftmaxRef(logits, classes);
  return Float64Array.from({ length: actions.length }, (_, r) => logp[r * classes + actions[r]!]!);
}

/** Exact KL(p || q) = sum_a p(a) (log p(a) - log q(a)) of each row's full distributions. */
export function klFullRef(logitsP: Vec, logitsQ: Vec, classes: number): Float64Array {
  const lp = logSoftmaxRef(logitsP, classes), lq = logSoftmaxRef(logitsQ, classes);
  const out = new Float64Array(lp.length / classes);
  for (let r = 0; r < out.length; r++) {
    for (let j = 0; j < classes; j++) out[r]! += Math.exp(lp[r * classes + j]!) * (lp[r * classes + j]! - lq[r * classes + j]!);
  }
  return out;
}

// ---- advantages ------------------------------------------------------------------------------

/**
 * GAE with dones[t] = "the episode ended with step t" (no bootstrap through it):
 * delta_t = r_t + gamma V_{t+1} (1 - d_t) - V_t; A_t = delta_t + gamma lambda (1 - d_t) A_{t+1};
 * V_T = lastValues. Arrays are (T, N) row-major. Returns R = A + V.
 */
export function gaeRef(T: number, N: number, rewards: Vec, values: Vec, dones: Vec, lastValues: Vec, gamma: number, lambda: number) {
  const advantages = new Float64Array(T * N), returns = new Float64Array(T * N);
  for (let e = 0; e < N; e++) {
    let next = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = t * N + e;
      const live = 1 - dones[i]!;
      const nextValue = t === T - 1 ? lastValues[e]! : values[i + N]!;
      next = rewards[i]! + gamma * nextValue * live - values[i]! + gamma * lambda * live * next;
      advantages[i] = next;
      returns[i] = next + values[i]!;
    }
  }
  return { advantages, returns };
}

/** (A - mean) / (sample std + 1e-8), CleanRL's minibatch normalisation. */
export function whitenRef(x: Vec): Float64Array {
  const n = x.length;
  const mean = meanRef(x, null);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i]! - mean) ** 2;
  const std = Math.sqrt(ss / (n - 1));
  return Float64Array.from(x, (v) => (v - mean) / (std + 1e-8));
}

/** 1 - Var(R - V) / Var(R), population variances (np.var). */
export function explainedVarianceRef(values: Vec, returns: Vec): number {
  const variance = (f: (i: number) => number) => {
    let m = 0;
    for (let i = 0; i < returns.length; i++) m += f(i) / returns.length;
    let s = 0;
    for (let i = 0; i < returns.length; i++) s += (f(i) - m) ** 2;
    return s / returns.length;
  };
  return 1 - variance((i) => returns[i]! - values[i]!) / variance((i) => returns[i]!);
}

// ---- the update ------------------------------------------------------------------------------

export interface PpoRefConfig {
  gamma: number;
  gaeLambda: number;
  epochs: number;
  normalizeAdvantages: boolean;
  learningRate: number; // the lr of this update (after any annealing)
  adamEps: number;
  maxGradNorm: number;
  clipRange: number;
  valueClip: number;
  entropyCoef: number;
  valueCoef: number;
  klCoef: number;
  klPenalty: 'reward' | 'loss';
  klEstimator: 'k1' | 'k2' | 'k3';
}

export interface PpoRefInput {
  /** The policy's parameters before the update. */
  params: Params;
  /** Adam's state before the update, one array per parameter in params order. */
  adam: { expAvg: Float64Array[]; expAvgSq: Float64Array[]; stepCount: number };
  /** The rollout as the environment saw it: (T, N) arrays, observations (T * N, obsSize). */
  rollout: {
    T: number;
    N: number;
    obs: Vec;
    actions: Vec;
    envRewards: Vec;
    dones: Vec;
    /** Observations after the last step: (N, obsSize). */
    lastObs: Vec;
  };
  actionCount: number;
  /** Reference logits for rows of observations; null: 'tie' (the rollout policy is the reference). */
  referenceLogits: ((obs: Vec, rows: number) => Float64Array) | null;
  config: PpoRefConfig;
}

/** Per-epoch statistics, each taken at the parameters the epoch starts from. */
interface EpochStats {
  policyLoss: number;
  objectiveUnclipped: number;
  clipfrac: number;
  approxKl: number;
  oldApproxKl: number;
  valueLoss: number;
  klLoss: number;
  gradNorm: number;
}

export function ppoUpdateRef(input: PpoRefInput) {
  const { rollout, config: c, actionCount: A } = input;
  const rows = rollout.T * rollout.N;
  const names = input.params.map(([n]) => n);
  const sizes = input.params.map(([, v]) => v.length);
  const unflatten = (flat: Float64Array): Params => {
    let offset = 0;
    return names.map((n, k) => [n, flat.slice(offset, (offset += sizes[k]!))]);
  };
  let theta = Float64Array.from(input.params.flatMap(([, v]) => Array.from(v)));

  // rollout quantities under the parameters that acted
  const acting = actorCriticRef(input.params, rollout.obs, rows);
  const oldLogp = logProbRef(acting.logits, A, rollout.actions);
  const refLogits = input.referenceLogits?.(rollout.obs, rows) ?? acting.logits;
  const refLogp = logProbRef(refLogits, A, rollout.actions);
  const klToRef = input.referenceLogits ? meanRef(klFullRef(acting.logits, refLogits, A), null) : 0;
  const rewards = Float64Array.from(rollout.envRewards, (r, i) =>
    c.klPenalty === 'reward' ? r - c.klCoef * (oldLogp[i]! - refLogp[i]!) : r,
  );
  const lastValues = actorCriticRef(input.params, rollout.lastObs, rollout.N).values;
  const { advantages, returns } = gaeRef(rollout.T, rollout.N, rewards, acting.values, rollout.dones, lastValues, c.gamma, c.gaeLambda);
  const adv = c.normalizeAdvantages ? whitenRef(advantages) : advantages;

  // the loss of CleanRL's ppo.py plus the optional KL term, as a function of the flat parameters
  const lossTerms = (flat: Float64Array) => {
    const { logits, values } = actorCriticRef(unflatten(flat), rollout.obs, rows);
    const logp = logProbRef(logits, A, rollout.actions);
    const pg = ppoRef(logp, oldLogp, adv, null, c.clipRange);
    const v = valueLossRef(values, acting.values, returns, null, c.valueClip);
    const entropy = meanRef(entropyRef(logits, A), null);
    const klLoss = c.klPenalty === 'loss' && c.klCoef > 0 ? c.klCoef * meanRef(klRef(logp, refLogp, c.klEstimator), null) : 0;
    return { total: pg.loss - c.entropyCoef * entropy + c.valueCoef * v.loss + klLoss, pg, valueLoss: v.loss, klLoss };
  };

  const expAvg = input.adam.expAvg.map((a) => Array.from(a)).flat();
  const expAvgSq = input.adam.expAvgSq.map((a) => Array.from(a)).flat();
  let step = input.adam.stepCount;
  const [beta1, beta2] = [0.9, 0.999];
  const epochs: EpochStats[] = [];
  for (let epoch = 0; epoch < c.epochs; epoch++) {
    const terms = lossTerms(theta);
    const g = finiteDiff((x) => lossTerms(x).total, theta);
    // clip_grad_norm_: g *= max / (norm + 1e-6) when the norm exceeds max
    const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
    if (c.maxGradNorm > 0 && norm > c.maxGradNorm) for (let i = 0; i < g.length; i++) g[i]! *= c.maxGradNorm / (norm + 1e-6);
    // torch.optim.Adam
    step++;
    theta = theta.map((p, i) => {
      expAvg[i] = beta1 * expAvg[i]! + (1 - beta1) * g[i]!;
      expAvgSq[i] = beta2 * expAvgSq[i]! + (1 - beta2) * g[i]! * g[i]!;
      const mHat = expAvg[i]! / (1 - beta1 ** step);
      return p - (c.learningRate * mHat) / (Math.sqrt(expAvgSq[i]!) / Math.sqrt(1 - beta2 ** step) + c.adamEps);
    });
    epochs.push({
      policyLoss: terms.pg.loss,
      objectiveUnclipped: terms.pg.objectiveUnclipped,
      clipfrac: terms.pg.clipfrac,
      approxKl: terms.pg.approxKl,
      oldApproxKl: terms.pg.oldApproxKl,
      valueLoss: terms.valueLoss,
      klLoss: terms.klLoss,
      gradNorm: norm,
    });
  }

  const avg = (key: keyof EpochStats) => epochs.reduce((s, e) => s + e[key], 0) / epochs.length;
  const metrics: Record<string, number> = {
    objective: -avg('policyLoss'),
    objective_unclipped: avg('objectiveUnclipped'),
    kl_penalty: c.klPenalty === 'reward' ? meanRef(Float64Array.from(oldLogp, (lp, i) => -c.klCoef * (lp - refLogp[i]!)), null) : avg('klLoss'),
    kl: avg('oldApproxKl'),
    approx_kl: avg('approxKl'),
    kl_to_ref: klToRef,
    kl_coef: c.klCoef,
    entropy: meanRef(entropyRef(acting.logits, A), null),
    reward_mean: meanRef(rollout.envRewards, null),
    clipfrac: avg('clipfrac'),
    policy_loss: avg('policyLoss'),
    value_loss: avg('valueLoss'),
    explained_variance: explainedVarianceRef(acting.values, returns),
    grad_norm: avg('gradNorm'),
    lr: c.learningRate,
  };
  return { params: unflatten(theta), metrics, rewards, oldLogp, refLogp, values: acting.values, advantages, returns, epochs };
}
