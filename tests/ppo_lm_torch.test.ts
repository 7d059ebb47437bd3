// PyTorch oracle for LMPPOTrainer's loss: one minibatch of the real optimisation path
// (lmPpoStep -> ppoStep -> SequencePolicy.scoreTokens -> the fused losses), its policy, value
// and KL losses and the gradient of every parameter (the trunk and the value head), against
// TRL's formulas written out in PyTorch on an independent GPT-2 (tests/peers/ppo_lm_torch.py
// on bench/peers/gpt2.py) in float64. The batch has left-padded prompts, right-padded
// responses, a sampling temperature, ratios on both sides of the clip range, clipped values,
// the k3 KL in the loss, an entropy bonus and truncated importance weights, so every term
// and mask is exercised. Without torch the test skips with an install hint; under CI=true it fails.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT, LocalCompletionEngine, SGD, SequencePolicy, Tensor, Tokenizer, collectLmRollout, init, lmPpoStep, normal_, resolveLMPPOConfig, saveHuggingFace, seed, type Core, type LmRollout } from '../sdk/index';
import { runTorchPeer, scaledError, skipWithoutTorch } from './torch_oracle';
import { rng } from './util';


// a quarter of the vocabulary stops a completion, so responses have different lengths (padding)
const STOP_IDS = Array.from({ length: 70 }, (_, i) => 3 * i);

let core: Core;
let dir: string;

beforeAll(async () => {
  core = await init();
  dir = mkdtempSync(join(tmpdir(), 'novarl-ppo-lm-torch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));


/** An optimizer that records the gradients it is handed and changes nothing. */
class GradientCapture extends SGD {
  grads: Float32Array[] = [];
  override step(): void {
    this.grads = this.params.map((p) => p.grad()!);
  }
}


interface TorchRun {
  policyLoss: number;
  valueLoss: number;
  klLoss: number;
  entropy: number;
  grads: Record<string, number[]>;
}

describe('LM PPO loss against PyTorch', () => {
  it('policy, value and KL losses and every gradient match TRL\'s formulas in float64 PyTorch', async ({ skip }) => {
    if (await skipWithoutTorch(skip)) return;
    const tokenizer = Tokenizer.train('the cat sat on the mat. the dog sat on the log. a bird flew over the tree. ', { vocabSize: 280 });
    seed(31);
    const policy = new GPT({ vocabSize: tokenizer.vocabSize, nLayer: 2, nHead: 2, nEmbd: 32, nPositions: 32 }, { valueHead: true });
    for (const [name, p] of policy.namedParameters()) {
      if (name.endsWith('.bias')) normal_(p, 0, 0.05);
      else if (name.includes('ln_')) normal_(p, 1, 0.1);
      else normal_(p, 0, name.startsWith('v_head') ? 0.3 : 0.1);
    }
    await saveHuggingFace(dir, policy);
    const config = resolveLMPPOConfig({ promptsPerStep: 3, numGenerations: 2, epochs: 1, minibatches: 1, temperature: 0.8, clipRange: 0.2, clipRangeValue: 0.1, valueCoef: 0.5, entropyCoef: 0.01, maxGradNorm: 1e9, klPenalty: 'loss', klEstimator: 'k3', beta: 0.3, importanceSamplingCap: 1.5 });
    const prompts = ['the cat sat', 'a', 'the dog'].map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
    const rollout = await collectLmRollout({ engine: new LocalCompletionEngine(policy), policy, tokenizer, prompts, n: 2, sampling: { maxNewTokens: 7, temperature: 0.8, seed: 9, stopTokenIds: STOP_IDS }, values: true });
    const { batch } = rollout;
    const [B, R] = [batch.rows, batch.responseLength];
    expect(new Set(batch.responseLengths).size).toBeGreaterThan(1); // some responses are padded
    const mask = batch.responseMask.toArray();
    // old, reference and engine log-probs moved off the current policy (ratios inside and
    // outside the clip range, importance ratios above and below the cap); 0 at padding
    const r = rng(3);
    const noisy = (base: Float32Array, scale: number) => Float32Array.from(base, (x, i) => (mask[i] === 0 ? 0 : x + scale * (2 * r() - 1)));
    const current = rollout.oldLogProbs.toArray();
    const old = noisy(current, 0.5), ref = noisy(current, 0.5), engine = noisy(old, 0.8);
    const advantages = Float32Array.from(mask, (m) => (m === 0 ? 0 : 2 * r() - 1));
    const oldValues = rollout.values!.toArray().map((v, i) => (mask[i] === 0 ? 0 : v));
    const returns = Float32Array.from(oldValues, (v, i) => (mask[i] === 0 ? 0 : v + (2 * r() - 1) * 0.5));
    const persistent = (x: Float32Array) => Tensor.from(x, [B, R], { core, persistent: true });
    const tensors = { old: persistent(old), ref: persistent(ref), engine: persistent(engine), values: persistent(oldValues) };
    const shaped: LmRollout = { ...rollout, oldLogProbs: tensors.old, refLogProbs: tensors.ref, engineLogProbs: tensors.engine, values: tensors.values };

    const rows = (x: Float32Array) => Array.from({ length: B }, (_, b) => Array.from(x.subarray(b * R, (b + 1) * R)));
    const S = batch.ids.shape[1]!;
    const idRows = (x: Float32Array, width: number) => Array.from({ length: B }, (_, b) => Array.from(x.subarray(b * width, (b + 1) * width)));
    const torch = await runTorchPeer<{ float64: TorchRun; float32: TorchRun; torch: string }>(
      'ppo_lm_torch.py',
      dir,
      {
        ids: idRows(batch.ids.toArray(), S),
        attentionMask: idRows(batch.attentionMask.toArray(), S),
        responseIds: idRows(batch.responseIds.toArray(), R),
        responseMask: rows(mask),
        oldLogProbs: rows(old),
        refLogProbs: rows(ref),
        engineLogProbs: rows(engine),
        advantages: rows(advantages),
        returns: rows(returns),
        oldValues: rows(oldValues),
        ...(({ temperature, clipRange, clipRangeValue, valueCoef, entropyCoef, beta, importanceSamplingCap }) => ({ temperature, clipRange, clipRangeValue, valueCoef, entropyCoef, beta, importanceSamplingCap }))(config),
      },
      [dir],
    );

    const optimizer = new GradientCapture(policy.parameters(), { lr: 0 });
    const stats = lmPpoStep(new SequencePolicy(policy, undefined, config.temperature), shaped, { advantages, returns, rewards: new Float32Array(B * R), values: tensors.values }, config, optimizer, { klCoef: config.beta });
    const ref64 = torch.float64;
    const relative = (a: number, e: number) => Math.abs(a - e) / Math.abs(e);
    // the batch really exercises the clipping (neither none nor all of the tokens clipped)
    expect(stats.clipfrac).toBeGreaterThan(0.05);
    expect(stats.clipfrac).toBeLessThan(0.95);
    // Losses: means of a few dozen float32 terms; measured <= 1e-6 relative
    expect(relative(stats.policyLoss, ref64.policyLoss)).toBeLessThan(1e-5);
    expect(relative(stats.valueLoss, ref64.valueLoss)).toBeLessThan(1e-5);
    expect(relative(stats.klLoss, ref64.klLoss)).toBeLessThan(1e-5);
    expect(relative(stats.entropy, ref64.entropy)).toBeLessThan(1e-5);
    // Gradients: the same tolerance as tests/gpt_torch.test.ts (max error over the tensor's scale);
    // a wrong sign, mask, clip branch or weight is off by 1e-2 or more
    const errors: [string, number, number][] = [];
    policy.namedParameters().forEach(([name], i) => {
      const e = scaledError(optimizer.grads[i]!, ref64.grads[name]!);
      errors.push([name, e, scaledError(torch.float32.grads[name]!, ref64.grads[name]!)]);
      expect(e, name).toBeLessThan(2e-5);
    });
    const worst = errors.reduce((a, b) => (b[1] > a[1] ? b : a));
    console.log(`LM PPO vs PyTorch ${torch.torch} float64: policy loss ${relative(stats.policyLoss, ref64.policyLoss).toExponential(2)}, value loss ${relative(stats.valueLoss, ref64.valueLoss).toExponential(2)}, kl ${relative(stats.klLoss, ref64.klLoss).toExponential(2)}; gradients worst ${worst[0]} ${worst[1].toExponential(2)} [PyTorch float32 ${worst[2].toExponential(2)}], clipfrac ${stats.clipfrac.toFixed(3)}`);
    for (const t of Object.values(tensors)) t.free();
    rollout.free();
    optimizer.free();
    policy.free();
  }, 180_000);
});
