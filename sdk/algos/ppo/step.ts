// The PPO optimisation phase as a function: epochs x minibatches over one RolloutBatch, as in
// CleanRL's ppo.py (the "Optimizing the policy and value network" loop), with the fused core
// losses of sdk/core/losses.ts in place of the elementwise torch code:
//
//   for epoch in epochs:
//     b_inds = permutation(rows)
//     for each minibatch mb_inds of b_inds:
//       newlogprob, entropy, newvalue = policy(obs[mb_inds], actions[mb_inds])
//       logratio = newlogprob - oldlogprob[mb_inds]; ratio = exp(logratio)
//       approxKl = mean((ratio - 1) - logratio); clipfrac = mean(|ratio - 1| > clip)
//       advantages = whiten(advantages[mb_inds])                        (normalizeAdvantages)
//       pgLoss1 = -advantages * ratio; pgLoss2 = -advantages * clip(ratio, 1 - eps, 1 + eps)
//       pgLoss = mean(max(pgLoss1, pgLoss2))                              (ppoClipLoss: one kernel)
//       vLoss = 0.5 * mean(max((v - R)^2, (vClipped - R)^2))              (valueLoss: one kernel)
//       loss = pgLoss - entCoef * entropy + vfCoef * vLoss [+ beta * mean(k(logp, logpRef))]
//       backward; clip grad norm; Adam step; zero grad
//     if targetKl and approxKl > targetKl: stop
//
// The policy is any PolicyWithValue (logits and values for batch rows), so a transformer with a
// value head trains the same way as the ActorCritic. For padded token sequences (PPO for language
// models, sdk/algos/ppo_lm/) the batch carries an attention mask, the policy scores its tokens
// itself (scoreTokens), and optional per-token weights multiply the policy loss (truncated
// importance sampling).

import type { Core } from '../../core/core';
import { NumericError, ValueError } from '../../core/errors';
import { entropyFromLogits, klEstimate, maskedMean, ppoClipLoss, valueLoss } from '../../core/losses';
import { clipGradNorm, type Optimizer } from '../../core/optim';
import { noGrad } from '../../core/grad_mode';
import { randomPermutation } from '../../core/random';
import { Tensor } from '../../core/tensor';
import { whiten } from '../../buffers/rollout_buffer';
import type { RolloutBatch } from '../../interfaces/batch';
import type { PolicyWithValue } from '../../interfaces/policy';
import { logProbOf } from '../../nn/heads';
import type { PPOConfig } from './config';

/** The fields of PPOConfig the step reads. */
export type PpoStepConfig = Pick<
  PPOConfig,
  'epochs' | 'minibatches' | 'normalizeAdvantages' | 'clipRange' | 'valueClip' | 'entropyCoef' | 'valueCoef' | 'maxGradNorm' | 'klEstimator' | 'targetKl'
>;

/** One minibatch as an extra loss term sees it (all scratch tensors of this minibatch). */
export interface PpoMinibatch {
  /** (mb, observationSize) or (mb, T) token ids. */
  observations: Tensor;
  /** (mb, T) the taken actions (token ids for sequences). */
  actions: Tensor;
  /** The policy's logits for them. */
  logits: Tensor;
  /** (mb, T) log-probabilities of the taken actions under the current policy. */
  logProbs: Tensor;
}

export interface PpoStepOptions {
  /** beta of the loss-side KL penalty, beta * mean(k(logp, refLogp)) with config.klEstimator (default 0: none). */
  klCoef?: number;
  /** A further rank-0 loss term per minibatch, added last (e.g. an exact KL over whole distributions). */
  extraLoss?: (minibatch: PpoMinibatch) => Tensor;
  /** Shuffle the rows each epoch (default true, as CleanRL); false takes them in order. */
  shuffle?: boolean;
  /** Names the step in error messages (e.g. "update 3"). */
  label?: string;
}

/** Averages over every minibatch the step ran (TRL's *_avg), and the last minibatch's values. */
export interface PpoStepStats {
  policyLoss: number;
  valueLoss: number;
  objectiveUnclipped: number;
  clipfrac: number;
  approxKl: number;
  oldApproxKl: number;
  /** beta * mean(k) of the loss-side KL (0 without it). */
  klLoss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Mean entropy of the policy's distributions over the (masked) steps (TRL's policy/entropy_avg). */
  entropy: number;
  /** Fraction of (masked) steps where the clipped value error was the larger (TRL's val/clipfrac_avg; 0 without clipping). */
  valueClipfrac: number;
  /** Epochs run (fewer than config.epochs when targetKl stopped the step). */
  epochs: number;
  /** Minibatches run. */
  minibatches: number;
  /** The statistics of the last minibatch. */
  last: { policyLoss: number; valueLoss: number; clipfrac: number; approxKl: number };
}

/**
 * Runs epochs x minibatches of PPO on `batch`, updating `policy` with `optimizer`; returns the
 * statistics. The batch's tensors are read, never written.
 *
 * @example
 * const stats = ppoStep(policy, batch, resolvePPOConfig({ epochs: 4, minibatches: 4 }), optimizer);
 * console.log(stats.approxKl, stats.clipfrac);
 */
export function ppoStep(policy: PolicyWithValue, batch: RolloutBatch, config: PpoStepConfig, optimizer: Optimizer, options: PpoStepOptions = {}): PpoStepStats {
  const c = config;
  const core: Core = batch.observations.core;
  const rows = batch.rows;
  const T = batch.steps;
  if (rows % c.minibatches !== 0) throw new ValueError(`ppoStep: the batch's ${rows} rows must be divisible by minibatches (${c.minibatches})`);
  const minibatchSize = rows / c.minibatches;
  if (c.normalizeAdvantages && minibatchSize * T < 2) {
    throw new ValueError(`ppoStep: normalizeAdvantages whitens each minibatch, which needs >= 2 values: rows / minibatches is ${minibatchSize}`);
  }
  const klCoef = options.klCoef ?? 0;
  const shuffle = options.shuffle ?? true;
  const where = options.label ? ` at ${options.label}` : '';
  const params = policy.parameters();
  const sums = { policyLoss: 0, valueLoss: 0, objectiveUnclipped: 0, clipfrac: 0, approxKl: 0, oldApproxKl: 0, klLoss: 0, gradNorm: 0, entropy: 0, valueClipfrac: 0 };
  let last = { policyLoss: 0, valueLoss: 0, clipfrac: 0, approxKl: 0 };
  let count = 0;
  let epochsRun = 0;

  // b_inds lives in a persistent tensor, since each minibatch ends a core step: the permutation
  // never leaves the core (drawn there, copied in place, narrowed per minibatch)
  const order = shuffle || minibatchSize < rows ? Tensor.zeros([rows], { persistent: true, core }) : undefined;
  try {
    if (order && !shuffle) noGrad(() => Tensor.from(range(0, rows), [rows], { core }).writeInto(order, 0, 0), core);
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      if (order && shuffle) noGrad(() => randomPermutation(rows, core).writeInto(order, 0, 0), core);
      core.endStep();
      let approxKl = 0;
      for (let start = 0; start < rows; start += minibatchSize) {
        // mb_inds: the minibatch's rows, selected inside the core (all rows in order: the batch itself)
        const index = order?.narrow(0, start, minibatchSize);
        const take = (t: Tensor) => (index ? Tensor.embedding(t, index) : t); // (mb, T)
        const observations = take(batch.observations);
        const actions = take(batch.actions);
        const oldLogProbs = take(batch.oldLogProbs);
        const mask = batch.dense ? undefined : take(batch.mask);
        let advantages = take(batch.advantages);
        if (c.normalizeAdvantages) advantages = Tensor.from(whiten(advantages.view()), advantages.shape, { core });

        const { logits, logProbs, values } = scoreMinibatch(policy, observations, actions, batch.attentionMask && take(batch.attentionMask), minibatchSize, T);

        // pgLoss = mean(max(pgLoss1, pgLoss2)), pgLoss1 = -A ratio, pgLoss2 = -A clip(ratio); ratio = exp(logratio)
        const pg = policyLoss(logProbs, oldLogProbs, advantages, mask, batch.policyLossWeights && take(batch.policyLossWeights), c.clipRange);
        approxKl = pg.approxKl;
        // vLoss: (clipped) squared error against the returns
        const value = valueLoss({ values, oldValues: c.valueClip > 0 ? take(batch.values) : undefined, returns: take(batch.returns), mask, clipRange: c.valueClip });
        const vLoss = value.loss;
        const meanOf = (x: Tensor) => (mask ? maskedMean(x, mask) : x.mean());
        const entropy = meanOf(entropyFromLogits(logits));
        let loss = pg.loss.sub(entropy.mul(c.entropyCoef)).add(vLoss.mul(c.valueCoef));

        // KL to the reference as a loss term
        let klLoss = 0;
        if (klCoef > 0) {
          const kl = meanOf(klEstimate(logProbs, take(batch.refLogProbs), c.klEstimator));
          const term = kl.mul(klCoef);
          klLoss = term.item();
          loss = loss.add(term);
        }
        if (options.extraLoss) loss = loss.add(options.extraLoss({ observations, actions, logits, logProbs }));

        const lossValue = loss.item();
        if (!Number.isFinite(lossValue)) {
          throw new NumericError(`PPO loss is ${lossValue}${where}, epoch ${epoch}, minibatch ${start / minibatchSize}`);
        }
        loss.backward();
        sums.gradNorm += clipGradNorm(params, c.maxGradNorm);
        optimizer.step();
        optimizer.zeroGrad();

        last = { policyLoss: pg.loss.item(), valueLoss: vLoss.item(), clipfrac: pg.clipfrac, approxKl: pg.approxKl };
        sums.policyLoss += last.policyLoss;
        sums.valueLoss += last.valueLoss;
        sums.objectiveUnclipped += pg.objectiveUnclipped;
        sums.clipfrac += pg.clipfrac;
        sums.approxKl += pg.approxKl;
        sums.oldApproxKl += pg.oldApproxKl;
        sums.klLoss += klLoss;
        sums.entropy += entropy.item();
        sums.valueClipfrac += value.clipfrac;
        count++;
        core.endStep();
      }
      epochsRun++;
      // CleanRL's target_kl: stop the update once the policy moved too far from the rollout's
      if (c.targetKl > 0 && approxKl > c.targetKl) break;
    }
  } finally {
    order?.free();
  }
  for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] /= count;
  return { ...sums, epochs: epochsRun, minibatches: count, last };
}

/** logits, log-probs of the taken actions (mb, T) and values (mb, T) of one minibatch. */
function scoreMinibatch(policy: PolicyWithValue, observations: Tensor, actions: Tensor, attentionMask: Tensor | undefined, mb: number, T: number) {
  // a sequence policy scores its tokens itself (attention mask, the rollout's own log-prob computation)
  if (policy.scoreTokens) return policy.scoreTokens(observations, actions, attentionMask);
  const { logits, values } = policy.forward(observations);
  // single steps: logits (mb, A) with actions (mb); sequences: (mb, T, V) with (mb, T)
  const logProbs = logProbOf(logits, T === 1 ? actions.reshape([mb]) : actions).reshape([mb, T]);
  return { logits, logProbs, values: values.reshape([mb, T]) };
}

/**
 * The clipped surrogate, with optional per-token weights w (truncated importance sampling):
 * sum(l * w * m) / sum(m) = ppoClipLoss(mask = w * m) * (sum(w * m) / sum(m)). The statistics
 * (clipfrac, approx KL) are then w-weighted means.
 */
function policyLoss(logp: Tensor, oldLogp: Tensor, advantages: Tensor, mask: Tensor | undefined, weights: Tensor | undefined, clipRange: number) {
  if (!weights) return ppoClipLoss({ logp, oldLogp, advantages, mask, clipRange });
  const core = logp.core;
  const m = mask ?? noGrad(() => Tensor.zeros(weights.shape, { core }).add(1), core);
  const weighted = noGrad(() => weights.mul(m), core);
  const pg = ppoClipLoss({ logp, oldLogp, advantages, mask: weighted, clipRange });
  return { ...pg, loss: pg.loss.mul(noGrad(() => maskedMean(weights, m), core)) };
}

function range(start: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = start + i;
  return out;
}
