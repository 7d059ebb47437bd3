// PyTorch oracle for the reward model and DPO: NovaRL saves Hugging Face directories, an
// independent PyTorch implementation (tests/peers/preference_torch.py over bench/peers/gpt2.py)
// reads them and computes, in float64, the per-sequence log-probs, each DPO loss type (sigmoid
// with label smoothing, IPO, hinge) and its gradient for every policy parameter; and the reward
// model's scores at transformers' last-non-padding token, the Bradley-Terry loss (with centring)
// and every gradient. Without torch the test skips with an install hint; under CI=true it fails.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GPT, GPTRewardModel, bradleyTerryLoss, dpoLoss, encodePairs, init, noGrad, normal_, pairLogps, pairSequenceBatch,
  saveHuggingFace, saveRewardModelHuggingFace, seed, type Core, type DpoLossType, type Module,
} from '../sdk/index';
import { tinyPairs, tinyTokenizer } from './fixtures/preference_pairs';
import { runTorchPeer, scaledError, skipWithoutTorch } from './torch_oracle';


let core: Core;
let dir: string;
const tokenizer = tinyTokenizer();
const PAD = tokenizer.padTokenId!;
const CONFIG = { vocabSize: tokenizer.vocabSize, nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 32 };
const LENGTHS = { maxPromptLength: 12, maxCompletionLength: 12 };

beforeAll(async () => {
  core = await init();
  dir = mkdtempSync(join(tmpdir(), 'novarl-pref-torch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));



/** Non-trivial values everywhere (GPT-2's init leaves biases 0 and gains 1). */
function randomize(model: Module): void {
  for (const [name, p] of model.namedParameters()) {
    if (/ln_[12f]\.weight$/.test(name)) normal_(p, 1, 0.1);
    else if (name.endsWith('.bias')) normal_(p, 0, 0.05);
    else normal_(p, 0, name === 'score.weight' ? 0.3 : 0.1);
  }
}


async function torch(batch: object): Promise<{ float64: Record<string, any>; float32: Record<string, any> }> {
  return runTorchPeer('preference_torch.py', dir, batch);
}

/** Positions as the GPT derives them from a mask: cumsum - 1, 1 at padding. */
function positionsOf(mask: Float32Array, B: number, T: number): number[][] {
  return Array.from({ length: B }, (_, b) => {
    let seen = 0;
    return Array.from({ length: T }, (_, t) => (mask[b * T + t] === 1 ? seen++ : 1));
  });
}
const rows = (data: Float32Array, B: number, T: number): number[][] => Array.from({ length: B }, (_, b) => Array.from(data.subarray(b * T, (b + 1) * T)));

// Tolerances as in tests/gpt_torch.test.ts: float32 rounding lands at a few 1e-7 of a tensor's
// scale (PyTorch float32 printed beside), any layout, mask or sign mistake at 1e-2 or more.
describe('DPO against PyTorch', () => {
  const cases: [DpoLossType, number, number][] = [['sigmoid', 0.5, 0], ['sigmoid', 0.5, 0.2], ['ipo', 0.3, 0], ['hinge', 0.2, 0]];
  for (const [lossType, beta, labelSmoothing] of cases) {
    it(`${lossType} (beta ${beta}, label smoothing ${labelSmoothing}): log-probs, loss and every policy gradient match float64`, async ({ skip }) => {
      if (await skipWithoutTorch(skip)) return;
      seed(21, core);
      const policy = new GPT(CONFIG, { core });
      randomize(policy);
      const reference = new GPT(CONFIG, { core });
      randomize(reference); // a reference apart from the policy, so h != 0
      const policyDir = join(dir, 'policy'), referenceDir = join(dir, 'reference');
      await saveHuggingFace(policyDir, policy);
      await saveHuggingFace(referenceDir, reference);

      const pairs = encodePairs(tokenizer, tinyPairs(5, 3), LENGTHS);
      const batch = pairSequenceBatch(pairs, PAD, core);
      const [B2, S] = batch.ids.shape as [number, number];
      const R = batch.responseLength;
      const ids = batch.ids.toArray(), mask = batch.attentionMask.toArray();
      const average = lossType === 'ipo';
      const ref = noGrad(() => pairLogps(reference, batch, average), core);
      const logps = pairLogps(policy, batch, average);
      const loss = dpoLoss({ chosenLogps: logps.chosen, rejectedLogps: logps.rejected, referenceChosenLogps: ref.chosen, referenceRejectedLogps: ref.rejected, beta, lossType, labelSmoothing });
      loss.backward();

      const out = await torch({
        mode: 'dpo', policyDir, referenceDir, lossType, beta, labelSmoothing,
        ids: rows(ids, B2, S), attentionMask: rows(mask, B2, S), positionIds: positionsOf(mask, B2, S),
        responseIds: rows(batch.responseIds.toArray(), B2, R), responseMask: rows(batch.responseMask.toArray(), B2, R),
      });
      const t64 = out.float64, t32 = out.float32;
      const ours = [...logps.chosen.toArray(), ...logps.rejected.toArray()];
      expect(scaledError(ours, t64['logps'])).toBeLessThan(1e-5);
      expect(scaledError([...ref.chosen.toArray(), ...ref.rejected.toArray()], t64['refLogps'])).toBeLessThan(1e-5);
      expect(Math.abs(loss.item() - t64['loss']) / Math.max(1e-3, Math.abs(t64['loss']))).toBeLessThan(1e-5);
      let worst = 0, worst32 = 0;
      for (const [name, p] of policy.namedParameters()) {
        const e = scaledError(p.grad()!, t64['grads'][name]);
        worst = Math.max(worst, e);
        worst32 = Math.max(worst32, scaledError(t32['grads'][name], t64['grads'][name]));
        expect(e, name).toBeLessThan(2e-5);
      }
      console.log(`DPO ${lossType} vs PyTorch float64: loss ${loss.item().toPrecision(8)} vs ${t64['loss'].toPrecision(8)}; worst gradient error ${worst.toExponential(2)} [PyTorch float32 ${worst32.toExponential(2)}]`);
      batch.free();
      core.endStep();
      policy.free();
      reference.free();
    }, 180_000);
  }
});

describe('reward model against PyTorch', () => {
  it("scores at transformers' last non-padding token; Bradley-Terry loss and every gradient match float64", async ({ skip }) => {
    if (await skipWithoutTorch(skip)) return;
    seed(22, core);
    const model = new GPTRewardModel(CONFIG, { padTokenId: PAD, core });
    randomize(model);
    const modelDir = join(dir, 'rm');
    await saveRewardModelHuggingFace(modelDir, model, { tokenizer });
    const pairs = encodePairs(tokenizer, tinyPairs(4, 1), LENGTHS);
    const rowIds = [...pairs.map((p) => [...p.promptIds, ...p.chosenIds]), ...pairs.map((p) => [...p.promptIds, ...p.rejectedIds])];
    const B = pairs.length;
    const rewards = model.rewards(rowIds);
    const center = 0.05;
    const loss = bradleyTerryLoss({ chosen: rewards.narrow(0, 0, B), rejected: rewards.narrow(0, B, B), centerRewardsCoefficient: center });
    loss.backward();
    const T = Math.max(...rowIds.map((r) => r.length));
    const padded = rowIds.map((r) => [...r, ...Array(T - r.length).fill(PAD)]);
    const out = await torch({ mode: 'rm', modelDir, center, ids: padded, attentionMask: rowIds.map((r) => Array.from({ length: T }, (_, t) => (t < r.length ? 1 : 0))) });
    const t64 = out.float64;
    // every row ends in EOS = pad: transformers reads the token before it, and so does NovaRL
    expect(t64['last']).toEqual(rowIds.map((r) => r.length - 2));
    expect(scaledError(rewards.toArray(), t64['rewards'])).toBeLessThan(1e-5);
    expect(Math.abs(loss.item() - t64['loss']) / Math.abs(t64['loss'])).toBeLessThan(1e-5);
    let worst = 0;
    for (const [name, p] of model.namedParameters()) {
      const e = scaledError(p.grad()!, t64['grads'][name]);
      worst = Math.max(worst, e);
      expect(e, name).toBeLessThan(2e-5);
    }
    console.log(`reward model vs PyTorch float64: loss ${loss.item().toPrecision(8)} vs ${t64['loss'].toPrecision(8)}; worst gradient error ${worst.toExponential(2)}`);
    core.endStep();
    model.free();
  }, 180_000);
});
