// Preference learning on the tiny pretrained GPT, in five steps:
//   1. prompts: sentence openings from the Austen corpus the tiny GPT was pretrained on
//   2. preference pairs: sample two completions of each prompt from the GPT, label them with the
//      sentiment scorer (the more positive one is "chosen"; ties dropped): buildPreferencePairs
//   3. a reward model (GPT2ForSequenceClassification layout) trained on the pairs with the
//      Bradley-Terry loss: accuracy and margin on a held-out split
//   4. DPO of the policy on the same pairs (reference log-probs computed once)
//   5. samples before and after, their sentiment and the reward model's score; both models saved
//      as Hugging Face directories
//
//   npx tsx examples/reward_model_dpo.ts
//
// The prompts are sentence openings cut from Emma here (a shared prompt list for the sentiment
// task, examples/data/austen_prompts.ts, was planned but is not on main yet).

import {
  DPOTrainer, GPTRewardModel, LocalCompletionEngine, PreferencePairs, RewardModelTrainer, buildPreferencePairs, init, rewardModelReward,
  saveHuggingFace, saveRewardModelHuggingFace, type GPT, type Tokenizer,
} from '../sdk/index';
import { sentimentReward, sentimentScore } from '../sdk/rewards/sentiment';
import { readGutenbergBook } from './data/gutenberg';
import { loadOrPretrainTinyGpt } from './data/tiny_gpt';

// ---- configuration -------------------------------------------------------------------------

export const config = {
  seed: 3,
  /** Prompts sampled from (sentence openings of Emma), two completions each. */
  numPrompts: 1536,
  /** Words per prompt. */
  promptWords: 4,
  maxNewTokens: 20,
  temperature: 1.0,
  /** Fraction of the pairs held out to evaluate the reward model. */
  heldOutFraction: 0.15,
  rewardModel: { steps: 80, batchSize: 16, learningRate: 1e-3, weightDecay: 0.01 },
  dpo: { steps: 60, batchSize: 16, learningRate: 2e-4, beta: 0.1, lossType: 'sigmoid' as const },
  /** Prompts sampled before and after DPO to measure it. */
  evalPrompts: 96,
  samplesShown: 4,
  outDir: 'checkpoints/reward_model_dpo',
  quiet: false,
};

export type ExampleConfig = typeof config;

// ---- prompts ---------------------------------------------------------------------------------

async function corpusPrompts(count: number, words: number): Promise<string[]> {
  const text = await readGutenbergBook('austen-emma');
  const openings = text.split(/(?<=[.!?])\s+/).map((s) => s.replace(/\s+/g, ' ').trim().split(' ')).filter((w) => w.length > words + 2 && /^[A-Z]/.test(w[0]!));
  const stride = Math.max(1, Math.floor(openings.length / count));
  return Array.from({ length: Math.min(count, openings.length) }, (_, i) => openings[i * stride]!.slice(0, words).join(' '));
}

interface Sampled {
  prompts: string[];
  completions: string[][];
}

async function sample(model: GPT, tokenizer: Tokenizer, prompts: readonly string[], n: number, c: ExampleConfig, seedValue: number): Promise<Sampled> {
  const engine = new LocalCompletionEngine(model);
  const eos = tokenizer.eosTokenId!;
  const out = await engine.complete({ prompts: prompts.map((p) => tokenizer.encode(p)), n, maxNewTokens: c.maxNewTokens, temperature: c.temperature, seed: seedValue, stopTokenIds: [eos] });
  const texts = out.completionIds.map((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }));
  return { prompts: [...prompts], completions: prompts.map((_, p) => texts.slice(p * n, p * n + n)) };
}

// ---- the run ---------------------------------------------------------------------------------

export async function main(overrides: Partial<ExampleConfig> = {}) {
  const c: ExampleConfig = { ...config, ...overrides, rewardModel: { ...config.rewardModel, ...overrides.rewardModel }, dpo: { ...config.dpo, ...overrides.dpo } };
  const log = (...args: unknown[]) => c.quiet || console.log(...args);
  const started = performance.now();
  await init();
  const { model: policy, tokenizer } = await loadOrPretrainTinyGpt({ verbose: !c.quiet });
  const padTokenId = tokenizer.padTokenId ?? tokenizer.eosTokenId!;

  // Step 1 and 2: prompts and pairs
  const prompts = await corpusPrompts(c.numPrompts + c.evalPrompts, c.promptWords);
  const trainPrompts = prompts.slice(0, c.numPrompts), evalPrompts = prompts.slice(c.numPrompts);
  const t0 = performance.now();
  const built = await buildPreferencePairs({
    engine: new LocalCompletionEngine(policy),
    tokenizer,
    prompts: trainPrompts.map((text) => ({ text, ids: tokenizer.encode(text), fields: {} })),
    scorer: sentimentReward(),
    sampling: { maxNewTokens: c.maxNewTokens, temperature: c.temperature, seed: c.seed, stopTokenIds: [tokenizer.eosTokenId!] },
  });
  const pairs = new PreferencePairs(built.pairs, { tokenizer });
  const { train, validation: heldOut } = pairs.split(c.heldOutFraction, c.seed);
  log(`pairs: ${pairs.size} from ${trainPrompts.length} prompts (${train.size} train, ${heldOut.size} held out) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const example = pairs.get(0);
  log(`  e.g. "${example.prompt}" chosen: "${example.chosen}" | rejected: "${example.rejected}"`);

  // Step 3: the reward model, its backbone copied from the policy
  const rm = GPTRewardModel.fromPolicy(policy, padTokenId);
  const rmTrainer = new RewardModelTrainer({ model: rm, tokenizer, pairs: train, config: { ...c.rewardModel, seed: c.seed } });
  const rmBefore = rmTrainer.evaluate(heldOut);
  let rmLast: Record<string, number> = {};
  for (let i = 0; i < c.rewardModel.steps; i++) {
    rmLast = await rmTrainer.step();
    if (!c.quiet && (i + 1) % 30 === 0) log(`rm step ${i + 1}: loss ${rmLast['loss']!.toFixed(4)} accuracy ${rmLast['accuracy']!.toFixed(3)} margin ${rmLast['margin']!.toFixed(3)}`);
  }
  const rmAfter = rmTrainer.evaluate(heldOut);
  log(`reward model, held out: accuracy ${rmBefore['eval_accuracy']!.toFixed(3)} -> ${rmAfter['eval_accuracy']!.toFixed(3)}, margin ${rmBefore['eval_margin']!.toFixed(3)} -> ${rmAfter['eval_margin']!.toFixed(3)}, loss ${rmBefore['eval_loss']!.toFixed(4)} -> ${rmAfter['eval_loss']!.toFixed(4)}`);
  const rmReward = rewardModelReward(rm, tokenizer);

  const measure = async (label: string) => {
    const s = await sample(policy, tokenizer, evalPrompts, 1, c, c.seed + 1000);
    const completions = s.completions.map((x) => x[0]!);
    const sentiment = completions.map((text) => sentimentScore(text)); // the completion alone, as the pairs were labelled
    const extra = { fields: completions.map(() => ({})), promptIndex: completions.map((_, i) => i), completionIds: completions.map(() => []), finishReasons: completions.map(() => 'stop' as const) };
    const rmScores = await rmReward.fn(s.prompts, completions, extra);
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    log(`${label}: sentiment ${mean(sentiment).toFixed(4)}, reward model ${mean(rmScores).toFixed(4)}`);
    for (let i = 0; i < c.samplesShown; i++) log(`  "${s.prompts[i]}" -> "${completions[i]}"`);
    return { sentiment: mean(sentiment), rewardModel: mean(rmScores), samples: completions.slice(0, c.samplesShown).map((text, i) => ({ prompt: s.prompts[i]!, completion: text })) };
  };

  // Step 4: DPO on the same pairs, before / after measured on held-out prompts
  const before = await measure('before DPO');
  const dpo = new DPOTrainer({ policy, tokenizer, pairs: train, config: { ...c.dpo, seed: c.seed } });
  let dpoLast: Record<string, number> = {};
  for (let i = 0; i < c.dpo.steps; i++) {
    dpoLast = await dpo.step();
    if (!c.quiet && (i + 1) % 10 === 0) {
      log(`dpo step ${i + 1}: ${['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'].map((k) => `${k} ${dpoLast[k]!.toFixed(4)}`).join('  ')}`);
    }
  }
  const after = await measure('after DPO');

  // Step 5: both models as Hugging Face directories
  const { join } = await import('node:path');
  await saveRewardModelHuggingFace(join(c.outDir, 'reward_model'), rm, { tokenizer });
  await saveHuggingFace(join(c.outDir, 'policy'), policy, { tokenizer, padTokenId });
  const wallSeconds = (performance.now() - started) / 1000;
  log(`saved ${join(c.outDir, 'reward_model')} and ${join(c.outDir, 'policy')}; wall time ${wallSeconds.toFixed(1)} s`);
  rmTrainer.free();
  dpo.free();
  rm.free();
  policy.free();
  return { pairs: pairs.size, rewardModel: { before: rmBefore, after: rmAfter, last: rmLast }, dpo: dpoLast, before, after, wallSeconds };
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
