// The RLHF page's run: GRPO on the tiny GPT (the Hugging Face files build.ts serves in
// dist/tiny-gpt/), one generation batch and one optimisation step per worker task.
//
// Each step, for PROMPTS_PER_STEP prompts and NUM_GENERATIONS completions of each:
//
//   collectLmRollout:  completions y_i from the policy, oldLogp_t (policy, no grad), refLogp_t (reference)
//   rewards:           r_i = reward(y_i)       (the reward chosen in the page, scored by scoreRewards)
//   advantages:        A_i = (r_i - mean_group(r)) / (std_group(r) + 1e-4)   (GRPO, scaleRewards 'group')
//   loss:              maskedMean over every response token of the batch of
//                        max(-A_i ratio_t, -A_i clip(ratio_t, 1 - eps, 1 + eps))   (ppoClipLoss)
//                    + BETA * maskedMean(k3(logp_t, refLogp_t))                    (klEstimate)
//   one Adam step after clipping the global gradient norm.
//
// One optimisation pass per batch (numIterations 1: the ratio is 1 and the clip inactive, as in
// TRL's default), and token losses averaged over the batch's tokens (TRL's 'bnpo' normalisation).
// Group statistics are host arithmetic with +, *, / and Math.sqrt, all correctly rounded in every
// engine, so the run is the same bits in every browser.

import { sentimentReward } from '../../../sdk/rewards/sentiment';
import {
  Adam,
  LocalCompletionEngine,
  Tensor,
  Tokenizer,
  clipGradNorm,
  collectLmRollout,
  decodeHuggingFace,
  frozenReference,
  klEstimate,
  maskedMean,
  ppoClipLoss,
  lengthReward,
  responseForward,
  ruleReward,
  scoreRewards,
  type GPT,
  type NamedRewardFunction,
  type PromptRow,
} from '../../../sdk/index';
import type { CompletionRow, RewardName, RlhfStep } from './rlhf_messages';

/** GRPO's settings for the page (TRL's names, camelCase). */
export const RLHF = {
  /** Steps a run lasts. */
  steps: 60,
  /** Prompts per generation batch. */
  promptsPerStep: 2,
  /** Completions per prompt (the group). */
  numGenerations: 4,
  /** Tokens per completion at most (max_completion_length). */
  maxNewTokens: 16,
  temperature: 1,
  learningRate: 2e-4,
  /** Clip range eps. */
  epsilon: 0.2,
  /** Weight of the k3 KL to the frozen reference. */
  beta: 0.05,
  maxGradNorm: 1,
  seed: 1,
} as const;

/** Prompt openings, taken in turn; short, so they suit both the Austen and the Alice model. */
export const PROMPTS = ['It was a', 'She said', 'The', '"I', 'He was', 'Alice was', 'In the', 'My dear'];

/** The rewards the page offers: the SDK's reward functions (TRL's reward_funcs). */
export const REWARDS: Record<RewardName, NamedRewardFunction> = {
  // the AFINN-165 sum of the completion's word scores (novarl/sentiment, the `sentiment` package)
  sentiment: sentimentReward({ measure: 'score' }),
  // -|characters - 30| / 30: 0 at 30 characters
  length: lengthReward({ target: 30, unit: 'characters' }),
  // 1 without a line break, else 0
  'one-line': ruleReward('one-line', (_prompt, completion) => (completion.includes('\n') ? 0 : 1)),
};

export interface RlhfRun {
  policy: GPT;
  reference: GPT;
  tokenizer: Tokenizer;
  optimizer: Adam;
  engine: LocalCompletionEngine;
  eosTokenId: number;
  reward: RewardName;
  /** Steps taken so far. */
  step: number;
}

/** Builds the run from a Hugging Face directory's files, on the current default core. */
export function createRlhfRun(files: Record<string, Uint8Array>, reward: RewardName): RlhfRun {
  const { model: policy, tokenizerFiles } = decodeHuggingFace(files, { valueHead: false });
  if (!tokenizerFiles) throw new Error('the model directory has no tokenizer files');
  const tokenizer = Tokenizer.fromHuggingFaceFiles(tokenizerFiles);
  const eosTokenId = tokenizer.eosTokenId;
  if (eosTokenId === undefined) throw new Error('the tokenizer has no end-of-text token');
  const optimizer = new Adam(policy.parameters(), { lr: RLHF.learningRate });
  return { policy, reference: frozenReference(policy), tokenizer, optimizer, engine: new LocalCompletionEngine(policy, { padTokenId: eosTokenId }), eosTokenId, reward, step: 0 };
}

/** GRPO's group-relative advantages: rows p*n .. p*n+n-1 are prompt p's group. */
export function groupAdvantages(rewards: readonly number[], n: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < rewards.length; start += n) {
    const group = rewards.slice(start, start + n);
    const mean = group.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(group.reduce((a, r) => a + (r - mean) * (r - mean), 0) / (n - 1)); // unbiased, as torch.std
    for (const r of group) out.push((r - mean) / (std + 1e-4));
  }
  return out;
}

/** One generation batch and one GRPO update; returns TRL-named metrics and the completions table's rows. */
export async function rlhfStep(run: RlhfRun): Promise<RlhfStep> {
  const begin = performance.now();
  const { policy, tokenizer } = run;
  const core = policy.core;
  const prompts: PromptRow[] = Array.from({ length: RLHF.promptsPerStep }, (_, i) => {
    const text = PROMPTS[(run.step * RLHF.promptsPerStep + i) % PROMPTS.length]!;
    return { text, ids: tokenizer.encode(text), fields: {} };
  });
  const n = RLHF.numGenerations;
  const rollout = await collectLmRollout({
    engine: run.engine,
    policy,
    reference: run.reference,
    tokenizer,
    prompts,
    n,
    sampling: { maxNewTokens: RLHF.maxNewTokens, temperature: RLHF.temperature, stopTokenIds: [run.eosTokenId], seed: RLHF.seed * 100_003 + run.step },
  });
  try {
    const rewardName = run.reward;
    const rewards = (await scoreRewards([REWARDS[rewardName]], rollout.promptTexts, rollout.completionTexts, rollout.extra)).total;
    const advantages = groupAdvantages(rewards, n);
    const { batch } = rollout;
    const B = batch.rows, R = batch.responseLength;
    const advantageRows = new Float32Array(B * R);
    for (let b = 0; b < B; b++) advantageRows.fill(advantages[b]!, b * R, (b + 1) * R);

    // objective/kl: per sequence, the sum over its tokens of k1 = oldLogp - refLogp; the batch mean
    const mask = batch.responseMask.view(), old = rollout.oldLogProbs.view(), ref = rollout.refLogProbs!.view();
    let klSum = 0;
    for (let i = 0; i < B * R; i++) if (mask[i] !== 0) klSum += old[i]! - ref[i]!;

    run.optimizer.zeroGrad();
    const { logProbs } = responseForward(policy, batch.ids, batch.attentionMask, batch.responseIds, { temperature: RLHF.temperature });
    const surrogate = ppoClipLoss({ logp: logProbs, oldLogp: rollout.oldLogProbs, advantages: Tensor.from(advantageRows, [B, R], { core }), mask: batch.responseMask, clipRange: RLHF.epsilon });
    const loss = surrogate.loss.add(maskedMean(klEstimate(logProbs, rollout.refLogProbs!, 'k3'), batch.responseMask).mul(RLHF.beta));
    const lossValue = loss.item();
    if (!Number.isFinite(lossValue)) throw new Error(`step ${run.step + 1}: the loss is ${lossValue}`);
    loss.backward();
    clipGradNorm(policy.parameters(), RLHF.maxGradNorm);
    run.optimizer.step();
    core.endStep();
    run.step++;

    const mean = rewards.reduce((a, b) => a + b, 0) / B;
    const rows: CompletionRow[] = rollout.completionTexts.map((completion, b) => ({ prompt: rollout.promptTexts[b]!, completion, reward: rewards[b]!, advantage: advantages[b]! }));
    return {
      step: run.step,
      reward: mean,
      rewardName,
      reward_std: Math.sqrt(rewards.reduce((a, r) => a + (r - mean) * (r - mean), 0) / B),
      'objective/kl': klSum / B,
      'loss/policy': lossValue,
      'policy/clipfrac': surrogate.clipfrac,
      'completions/mean_length': batch.responseLengths.reduce((a, b) => a + b, 0) / B,
      'timing/step_s': (performance.now() - begin) / 1000,
      rows,
    };
  } finally {
    rollout.free();
  }
}
