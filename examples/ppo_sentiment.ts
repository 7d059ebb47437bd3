// TRL's "make GPT-2 write positive reviews", in miniature, top to bottom (CleanRL style):
//   1. the tiny pretrained GPT (Jane Austen's novels), with a fresh TRL value head
//   2. prompts: the first words of narrative sentences of the corpus; held-out ones (the books'
//      validation tails) for evaluation
//   3. reward: the sentiment of each completion (AFINN-165, novarl/sentiment), clipped at 3
//   4. PPO (LMPPOTrainer): per-token KL to the frozen reference in the reward, an adaptive controller
//   5. before and after: samples, mean reward on the held-out prompts (fixed seed), the KL to the
//      reference, and fluency: the mean per-token log-likelihood of the text under the reference
//   6. a Hugging Face directory of the trained policy, a trainer checkpoint, the completions table
//
//   npx tsx examples/ppo_sentiment.ts

import { rm } from 'node:fs/promises';
import { CallbackSink, CompletionsTable, ConsoleSink, LMPPOTrainer, Logger, LocalCompletionEngine, ValueError, collectLmRollout, init, loadHuggingFace, saveHuggingFace, PromptDataset, type GPT, type LMPPOConfig, type NamedRewardFunction, type PromptRow, type Tokenizer } from '../sdk/index';
import { sentimentReward } from '../sdk/rewards/sentiment';
import { austenPromptTexts } from './data/austen_prompts';
import { loadOrPretrainTinyGpt } from './data/tiny_gpt';
import type { PretrainConfig } from './pretrain_gpt';

// ---- configuration -------------------------------------------------------------------------

export const config = {
  /** PPO updates (one generation batch each). */
  updates: 60,
  /** Training prompts drawn from the pretraining text. */
  trainPrompts: 256,
  /** Held-out prompts (the books' validation tails) for the before / after evaluation. */
  evalPrompts: 32,
  /** Words of each sentence used as its prompt. */
  promptWords: 4,
  /** Seed of the evaluation samples (the same before and after). */
  evalSeed: 1234,
  /** Print metrics every this many updates. */
  logEvery: 5,
  /** Samples printed before and after. */
  showSamples: 4,
  tinyGptDir: 'checkpoints/tiny-gpt',
  /** Pretraining settings that differ from examples/pretrain_gpt.ts's (tests use a smaller model). */
  tinyGptConfig: undefined as Partial<PretrainConfig> | undefined,
  outDir: 'checkpoints/ppo-sentiment',
  checkpointDir: 'checkpoints/ppo-sentiment-trainer',
  /** Every step's completions (prompt, completion, reward, advantage, score, kl) as JSON Lines. */
  completionsFile: 'checkpoints/ppo-sentiment-completions.jsonl',
  quiet: false,
  ppo: {
    promptsPerStep: 32,
    numGenerations: 1,
    maxNewTokens: 16,
    temperature: 1,
    learningRate: 5e-5,
    epochs: 4,
    minibatches: 2,
    clipRange: 0.2,
    clipRangeValue: 0.2,
    valueCoef: 0.1,
    beta: 0.2,
    klPenalty: 'reward',
    adaptiveKl: 'proportional', // Ziegler et al.: beta *= 1 + clip(KL / target - 1, +-0.2) * rows / horizon
    targetKl: 6, // nats per completion
    horizon: 256,
    rewardClip: 3, // a score saturates like a classifier's logit: repeating "great" earns no more
    seed: 7,
  } as Partial<LMPPOConfig>,
};

export type SentimentConfig = Omit<typeof config, 'ppo'> & { ppo: Partial<LMPPOConfig> };

// Step 3: the reward: AFINN's score (novarl/sentiment), the sum of the word valences (-5..5) of
// the completion, on the scale of TRL's positive logit (a few units).
export const reward: NamedRewardFunction = sentimentReward({ measure: 'score' });

/** Step 2: sentence openings from the Austen books (examples/data/austen_prompts.ts) that fit maxTokens. */
async function austenPrompts(tokenizer: Tokenizer, split: 'train' | 'validation', count: number, words: number, maxTokens: number, seed: number): Promise<PromptDataset> {
  const texts = await austenPromptTexts({ split, words, count: count * 2 });
  const fitting = texts.filter((t) => tokenizer.encode(t).length <= maxTokens).slice(0, count);
  if (fitting.length < count) throw new ValueError(`only ${fitting.length} ${split} prompts of ${words} words fit ${maxTokens} tokens, ${count} asked for`);
  return new PromptDataset(fitting.map((prompt) => ({ prompt })), { tokenizer, seed, source: `austen prompts (${split})` });
}

interface Evaluation {
  reward: number;
  /** Mean per-completion sum of log pi(x) - log pi_ref(x) over its tokens. */
  kl: number;
  /** Mean per-token log-likelihood of the completions under the reference. */
  refLogLikelihood: number;
  samples: { prompt: string; completion: string; reward: number }[];
}

/** Step 5: one sample per held-out prompt at a fixed seed, scored by the reward and the reference. */
async function evaluate(policy: GPT, reference: GPT, tokenizer: Tokenizer, prompts: PromptRow[], c: SentimentConfig): Promise<Evaluation> {
  const rollout = await collectLmRollout({
    engine: new LocalCompletionEngine(policy),
    policy,
    reference,
    tokenizer,
    prompts,
    n: 1,
    sampling: { maxNewTokens: c.ppo.maxNewTokens ?? 16, temperature: 1, seed: c.evalSeed, stopTokenIds: [tokenizer.eosTokenId!] },
  });
  try {
    const rewards = (await reward.fn(rollout.promptTexts, rollout.completionTexts, rollout.extra)) as number[];
    const mask = rollout.batch.responseMask.toArray(), logp = rollout.oldLogProbs.toArray(), ref = rollout.refLogProbs!.toArray();
    let kl = 0, refSum = 0, tokens = 0;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 0) continue;
      kl += logp[i]! - ref[i]!;
      refSum += ref[i]!;
      tokens++;
    }
    return {
      reward: rewards.reduce((a, b) => a + b, 0) / rewards.length,
      kl: kl / rollout.batch.rows,
      refLogLikelihood: refSum / tokens,
      samples: rollout.completionTexts.map((completion, b) => ({ prompt: rollout.promptTexts[b]!, completion, reward: rewards[b]! })),
    };
  } finally {
    rollout.free();
  }
}

export async function main(overrides: Partial<SentimentConfig> = {}) {
  const c: SentimentConfig = { ...config, ...overrides, ppo: { ...config.ppo, ...overrides.ppo } };
  const say = (line: string) => c.quiet || console.log(line);
  await init();
  const started = performance.now();

  // Step 1: the pretrained model (pretrained and cached on first use), loaded with a fresh value head
  const tiny = await loadOrPretrainTinyGpt({ dir: c.tinyGptDir, config: c.tinyGptConfig, verbose: !c.quiet });
  tiny.model.free();
  const tokenizer = tiny.tokenizer;
  const { model: policy } = await loadHuggingFace(c.tinyGptDir, { valueHead: true });

  // Step 2: prompts, the first trainPrompts for training and the next evalPrompts held out
  // (training prompts from the text the model was pretrained on, held-out ones from the books'
  // validation tails; a prompt and its completion must fit the model's positions)
  const maxPromptTokens = policy.config.nPositions - (c.ppo.maxNewTokens ?? 16);
  const train = await austenPrompts(tokenizer, 'train', c.trainPrompts, c.promptWords, maxPromptTokens, c.ppo.seed ?? 0);
  const held = (await austenPrompts(tokenizer, 'validation', c.evalPrompts, c.promptWords, maxPromptTokens, 0)).all();

  // Step 4: the trainer (its reference is a frozen copy of the initial policy)
  const keys = ['reward', 'objective/kl', 'objective/rlhf_reward', 'beta', 'policy/clipfrac_avg', 'loss/value_avg', 'completions/mean_length', 'timing/step_s'];
  const console_ = new ConsoleSink({ keys });
  const logger = new Logger(c.quiet ? [] : [new CallbackSink((step, metrics) => step % c.logEvery === 0 && console_.write(step, metrics))]);
  await rm(c.completionsFile, { force: true }); // a fresh run starts a fresh table
  const completionsTable = await CompletionsTable.open(c.completionsFile, { consoleRows: 0 });
  const trainer = new LMPPOTrainer({ policy, tokenizer, dataset: train, rewardFuncs: [reward], config: c.ppo, logger, completionsTable });

  const before = await evaluate(policy, trainer.reference!, tokenizer, held, c);
  const show = (label: string, e: Evaluation) => {
    say(`${label}: reward ${e.reward.toFixed(4)}, KL to reference ${e.kl.toFixed(3)} nats/completion, reference log-likelihood ${e.refLogLikelihood.toFixed(3)} nats/token`);
    for (const s of e.samples.slice(0, c.showSamples)) say(`  [${s.reward.toFixed(2)}] ${s.prompt} |${s.completion.replace(/\n/g, ' ')}`);
  };
  show('before', before);

  const history: Record<string, number>[] = [];
  for (let u = 0; u < c.updates; u++) history.push(await trainer.step());

  const after = await evaluate(policy, trainer.reference!, tokenizer, held, c);
  show('after', after);

  // Step 6: the trained policy as a Hugging Face directory, and the trainer's checkpoint
  await saveHuggingFace(c.outDir, policy, { tokenizer });
  await trainer.save(c.checkpointDir);
  const seconds = (performance.now() - started) / 1000;
  say(`${c.updates} updates, ${trainer.tokensGenerated} tokens generated, ${seconds.toFixed(1)} s; saved ${c.outDir}, ${c.checkpointDir} and ${c.completionsFile}`);
  await logger.close();
  completionsTable.close();
  trainer.free();
  policy.free();
  return { before, after, history, seconds, tokensGenerated: trainer.tokensGenerated };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('ppo_sentiment.ts')) await main();
