// GRPO's and RLOO's losses through the whole GPT against PyTorch: NovaRL saves a Hugging Face
// directory, tests/peers/grpo_torch.py runs GPT-2 in float64 PyTorch (bench/peers/gpt2.py) on the
// same (B, L + R) batch with TRL's loss code written out, and the loss and every parameter's
// gradient must agree, for each GRPO loss type (with clipping on both sides, k3, truncated
// importance weights and a masked truncated row) and for RLOO. Skips with an install hint
// without torch; fails under CI=true.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT, SequenceBatch, Tensor, grpoLoss, init, noGrad, normal_, responseForward, rlooLoss, saveHuggingFace, seed, type Core, type GRPOLossType } from '../sdk/index';
import { runTorchPeer, skipWithoutTorch } from './torch_oracle';
import { rng } from './util';

const CONFIG = { vocabSize: 61, nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 24 };
const TEMPERATURE = 0.8;

let core: Core;
let dir: string;
beforeAll(async () => {
  core = await init();
  dir = mkdtempSync(join(tmpdir(), 'novarl-grpo-torch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));


interface Case {
  lossType: GRPOLossType | 'rloo';
  beta: number;
  weights: boolean;
  epsilonLow: number;
  epsilonHigh: number;
  maxCompletionLength: number;
  generationBatchTokens: number;
}

describe('GRPO and RLOO losses against PyTorch', () => {
  it('loss and every gradient match TRL\'s formulas on a float64 PyTorch GPT-2', async ({ skip }) => {
    if (await skipWithoutTorch(skip)) return;
    seed(99);
    const model = new GPT(CONFIG);
    for (const [name, p] of model.namedParameters()) if (name.endsWith('.bias')) normal_(p, 0, 0.05);
    else if (!name.includes('ln_')) normal_(p, 0, 0.15);
    await saveHuggingFace(dir, model);

    // prompts of lengths 3, 1, 4, 2 (left-padded); responses of 5, 2, 4, 3 tokens (right-padded)
    const r = rng(5);
    const tok = () => 1 + Math.floor(r() * (CONFIG.vocabSize - 1));
    const promptIds = [3, 1, 4, 2].map((n) => Array.from({ length: n }, tok));
    const completionIds = [5, 2, 4, 3].map((n) => Array.from({ length: n }, tok));
    const batch = SequenceBatch.fromRows({ promptIds, completionIds }, 0, core);
    const [B, R] = [batch.rows, batch.responseLength];
    const current = noGrad(() => responseForward(model, batch.ids, batch.attentionMask, batch.responseIds, { temperature: TEMPERATURE }).logProbs.toArray(), core);
    core.endStep();
    const lossMask = batch.responseMask.toArray();
    lossMask.fill(0, 2 * R, 3 * R); // row 2: a truncated completion, masked
    const oldLogp = Float32Array.from(current, (x) => x + (r() - 0.5) * 0.9);
    const refLogp = Float32Array.from(current, (x) => x + (r() - 0.5) * 0.6);
    const weights = Float32Array.from(current, () => 0.4 + r());
    const advantages = [0.9, -1.2, 0.5, -0.4];
    const tokens = lossMask.reduce((s, x) => s + x, 0);
    const cases: Case[] = [
      ...(['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const).map((lossType) => ({ lossType, beta: 0.05, weights: true, epsilonLow: 0.2, epsilonHigh: 0.28, maxCompletionLength: 6, generationBatchTokens: tokens + 7 })),
      { lossType: 'dapo', beta: 0, weights: false, epsilonLow: 0.2, epsilonHigh: 0.2, maxCompletionLength: 6, generationBatchTokens: tokens },
      { lossType: 'rloo', beta: 0, weights: false, epsilonLow: 0.2, epsilonHigh: 0.2, maxCompletionLength: 6, generationBatchTokens: tokens },
    ];
    const rows2 = (a: ArrayLike<number>, width: number) => Array.from({ length: a.length / width }, (_, i) => Array.from(a).slice(i * width, i * width + width));
    const S = batch.ids.shape[1]!;
    const torch = await runTorchPeer<{ results: { loss: number; grads: Record<string, number[]> }[] }>('grpo_torch.py', dir, {
      ids: rows2(batch.ids.view(), S), attentionMask: rows2(batch.attentionMask.view(), S), responseIds: rows2(batch.responseIds.view(), R),
      temperature: TEMPERATURE, oldLogp: rows2(oldLogp, R), refLogp: rows2(refLogp, R), weights: rows2(weights, R), lossMask: rows2(lossMask, R), advantages, cases,
    }, [dir]);

    const persistent = (data: ArrayLike<number>, shape: number[]) => Tensor.from(data, shape, { core, persistent: true });
    const [old, ref, w, m] = [persistent(oldLogp, [B, R]), persistent(refLogp, [B, R]), persistent(weights, [B, R]), persistent(lossMask, [B, R])];
    const advColumn = persistent(advantages, [B, 1]), advRow = persistent(advantages, [B]);
    const worst: string[] = [];
    cases.forEach((c, k) => {
      const logp = responseForward(model, batch.ids, batch.attentionMask, batch.responseIds, { temperature: TEMPERATURE }).logProbs;
      const loss = c.lossType === 'rloo'
        ? rlooLoss({ logp, oldLogp: old, advantages: advRow, mask: m, epsilonLow: c.epsilonLow, epsilonHigh: c.epsilonHigh }).loss
        : grpoLoss({ logp, oldLogp: old, advantages: advColumn, mask: m, refLogp: ref, importanceWeights: c.weights ? w : undefined, beta: c.beta, epsilonLow: c.epsilonLow, epsilonHigh: c.epsilonHigh, lossType: c.lossType, maxCompletionLength: c.maxCompletionLength, generationBatchTokens: c.generationBatchTokens }).loss;
      const expected = torch.results[k]!;
      // RLOO's ratio is exp of a sum of R log-prob differences: float32 rounding of those sums
      // (~1e-6 absolute) enters the exponent, and the mean over sequences of mixed sign cancels
      // to a small loss, so its relative error is larger (measured 1.4e-5) than a token mean's
      const lossError = Math.abs(loss.item() - expected.loss) / Math.abs(expected.loss);
      expect(lossError, `${c.lossType} loss ${loss.item()} vs ${expected.loss}`).toBeLessThan(c.lossType === 'rloo' ? 1e-4 : 1e-5);
      loss.backward();
      let worstError = 0;
      for (const [name, p] of model.namedParameters()) {
        const grad = p.grad()!, ref64 = expected.grads[name]!;
        let diff = 0, scale = 0;
        for (let i = 0; i < ref64.length; i++) {
          diff = Math.max(diff, Math.abs(grad[i]! - ref64[i]!));
          scale = Math.max(scale, Math.abs(ref64[i]!));
        }
        // as tests/gpt_torch.test.ts: float32 rounding measures ~1e-6 of a gradient's scale (printed below); a wrong
        // normaliser, sign, clip side or mask is off by 1e-2 or more
        expect(diff / scale, `${c.lossType} ${name}`).toBeLessThan(2e-5);
        worstError = Math.max(worstError, diff / scale);
        p.zeroGrad();
      }
      worst.push(`${c.lossType}${c.beta ? ' +k3' : ''}${c.weights ? ' +IS' : ''} ${worstError.toExponential(2)}`);
      core.endStep();
    });
    console.log(`GRPO/RLOO gradients vs PyTorch float64, worst max|error|/max|grad| per case: ${worst.join(', ')}`);
    for (const t of [old, ref, w, m, advColumn, advRow]) t.free();
    batch.free();
    model.free();
  }, 180_000);
});
