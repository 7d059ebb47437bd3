// The optimisation phase of a group-sampling trainer (GRPO, RLOO) over one generation batch:
//
//   for iteration in numIterations:                       clipped against the generating policy
//     order = permutation(rows)                            (when minibatches > 1; TRL shuffles too)
//     for each minibatch:
//       logp, logits = responseForward(policy, rows)       one forward pass at the sampling temperature
//       loss, stats  = lossOf(minibatch)                   the algorithm's loss (grpo/loss.ts, rloo/loss.ts)
//       backward; clip grad norm; learning rate (schedule); Adam step; zero grad
//
// Rows are selected inside the core with Tensor.embedding, as sdk/algos/ppo/step.ts does.

import { NumericError } from '../../core/errors';
import { noGrad } from '../../core/grad_mode';
import { entropyFromLogits } from '../../core/losses';
import { clipGradNorm, type Optimizer } from '../../core/optim';
import { randomPermutation } from '../../core/random';
import { Tensor } from '../../core/tensor';
import { responseForward } from '../../lm/sequence_batch';
import type { GPT } from '../../nn/gpt';
import type { LmRollout } from '../../lm/rollout';

/** One minibatch as a loss sees it. */
export interface LmMinibatch {
  /** Rows in this minibatch. */
  rows: number;
  /** (mb, R) the current policy's log-probs (with gradient). */
  logp: Tensor;
  /** (mb, R) the generating policy's. */
  oldLogp: Tensor;
  /** (mb, R) loss mask. */
  mask: Tensor;
  /** Selects this minibatch's rows of any (B, ...) persistent tensor of the batch. */
  take(t: Tensor): Tensor;
}

export interface LmLoss {
  loss: Tensor;
  /** Statistics averaged over minibatches (undefined entries are skipped). */
  stats: Record<string, number | undefined>;
}

export interface LmOptimizeOptions {
  policy: GPT;
  optimizer: Optimizer;
  rollout: LmRollout;
  /** (B, R) persistent loss mask. */
  mask: Tensor;
  numIterations: number;
  minibatches: number;
  maxGradNorm: number;
  temperature: number;
  /** The learning rate of the optimizer step about to run, given the optimizer's steps so far (a schedule). */
  learningRateAt(optimizerSteps: number): number;
  lossOf(minibatch: LmMinibatch): LmLoss;
  /** Names the step in error messages. */
  label: string;
}

export interface LmOptimizeStats {
  /** Mean over minibatches of the loss, the gradient norm, the learning rate, the entropy (over loss tokens), and each lossOf stat. */
  means: Record<string, number>;
  minibatches: number;
}

export function optimizeGenerationBatch(options: LmOptimizeOptions): LmOptimizeStats {
  const { policy, optimizer, rollout, mask, numIterations, minibatches } = options;
  const core = policy.core;
  const batch = rollout.batch;
  const rows = batch.rows;
  const size = rows / minibatches;
  const params = policy.parameters();
  const sums: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const add = (key: string, value: number | undefined) => {
    if (value === undefined) return;
    sums[key] = (sums[key] ?? 0) + value;
    counts[key] = (counts[key] ?? 0) + 1;
  };
  let steps = 0;
  const order = minibatches > 1 ? Tensor.zeros([rows], { persistent: true, core }) : undefined;
  try {
    for (let iteration = 0; iteration < numIterations; iteration++) {
      if (order) noGrad(() => randomPermutation(rows, core).writeInto(order, 0, 0), core);
      core.endStep();
      for (let start = 0; start < rows; start += size) {
        const index = order?.narrow(0, start, size);
        const take = (t: Tensor) => (index ? Tensor.embedding(t, index) : t);
        const forward = responseForward(policy, take(batch.ids), take(batch.attentionMask), take(batch.responseIds), { temperature: options.temperature });
        const minibatch: LmMinibatch = { rows: size, logp: forward.logProbs, oldLogp: take(rollout.oldLogProbs), mask: take(mask), take };
        const { loss, stats } = options.lossOf(minibatch);
        const value = loss.item();
        if (!Number.isFinite(value)) throw new NumericError(`${options.label}: the loss is ${value} at iteration ${iteration}, minibatch ${start / size}`);
        const entropy = noGrad(() => maskedMeanOf(entropyFromLogits(forward.logits).view(), minibatch.mask.view()), core);
        loss.backward();
        add('grad_norm', clipGradNorm(params, options.maxGradNorm));
        optimizer.lr = options.learningRateAt(optimizer.stepCount);
        add('learning_rate', optimizer.lr);
        optimizer.step();
        optimizer.zeroGrad();
        add('loss', value);
        add('entropy', entropy);
        for (const [key, v] of Object.entries(stats)) add(key, v);
        steps++;
        core.endStep();
      }
    }
  } finally {
    order?.free();
  }
  const means: Record<string, number> = {};
  for (const key of Object.keys(sums)) means[key] = sums[key]! / counts[key]!;
  return { means, minibatches: steps };
}

/** sum(x * w) / max(1, sum(w)) in float64 on the host (logging only). */
function maskedMeanOf(x: Float32Array, w: Float32Array): number {
  let s = 0, n = 0;
  for (let i = 0; i < x.length; i++) {
    if (w[i] === 0) continue;
    s += x[i]! * w[i]!;
    n += w[i]!;
  }
  return s / Math.max(1, n);
}
