// One comparison of the four token-level trainers on the sentiment task (continue an Austen
// sentence so that it reads positively), at the same generation budget:
//   PPO  (LMPPOTrainer: value head, GAE, per-token KL in the reward, examples/ppo_sentiment.ts's settings)
//   GRPO (GRPOTrainer: group-relative advantages, TRL's beta 0: no KL term)
//   RLOO (RLOOTrainer: leave-one-out baseline, TRL's beta 0.05 KL in the reward)
//   DPO  (DPOTrainer, offline: pairs sampled from the start model, labelled by the same sentiment score)
//
//   1. the tiny pretrained GPT (examples/data/tiny_gpt.ts); every algorithm starts from its weights
//   2. prompts: training openings from the pretraining text, held-out ones from the books' validation tails
//   3. each algorithm trains until it has generated `budget` completion tokens (DPO: the tokens
//      it sampled to build its pairs), evaluated at a few points along the way
//   4. evaluation, the same for all: one sample per held-out prompt at a fixed seed; the mean
//      sentiment score, and the KL to the frozen start model on those samples (mean over
//      sequences of sum_t logp - logp_ref, the k1 estimate of KL(policy || reference))
//   5. a Markdown table (final reward, KL, training wall time: evaluation excluded) and an SVG
//      plot of reward against KL, one series per algorithm
//
//   npx tsx examples/compare.ts                 (writes docs/compare.md and docs/compare.svg)
//   npx tsx examples/compare.ts --budget 8000
//   npx tsx examples/compare.ts --quick         (a tiny budget, to check it runs)

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DPOTrainer, GRPOTrainer, LMPPOTrainer, LocalCompletionEngine, PromptDataset, RLOOTrainer, ValueError, buildPreferencePairs, collectLmRollout, frozenReference, init, loadHuggingFace,
  type CompletionEngine, type DPOConfig, type GPT, type GRPOConfig, type LMPPOConfig, type NamedRewardFunction, type PromptRow, type RLOOConfig, type Tokenizer,
} from '../sdk/index';
import { sentimentReward } from '../sdk/rewards/sentiment';
import { svgPlot, type PlotSeries } from './compare/svg_plot';
import { austenPromptTexts } from './data/austen_prompts';
import { loadOrPretrainTinyGpt } from './data/tiny_gpt';
import { config as ppoSentiment } from './ppo_sentiment';
import type { PretrainConfig } from './pretrain_gpt';

// ---- configuration -------------------------------------------------------------------------

export const config = {
  /** Generated completion tokens each algorithm may spend (the trainers' tokens/generated). */
  budget: 65536,
  /** Evaluations during training (at budget / evalPoints, 2 budget / evalPoints, ...), besides the one at the start. */
  evalPoints: 8,
  /** Longest completion, in tokens, for training and evaluation alike. */
  maxNewTokens: 16,
  /** Sampling temperature, for training and evaluation alike. */
  temperature: 1,
  /** Training prompts (sentence openings of the pretraining text). */
  trainPrompts: 2048,
  /** Held-out prompts (the books' validation tails), one sample each per evaluation. */
  evalPrompts: 128,
  /** Words of each sentence used as its prompt. */
  promptWords: 4,
  /** Seed of the evaluation samples (the same for every algorithm and every point). */
  evalSeed: 1234,
  /** Seed of the training prompts' order and of every trainer. */
  seed: 7,
  /** Which algorithms to run (in this order). */
  algorithms: ['PPO', 'GRPO', 'RLOO', 'DPO'] as Algorithm[],
  tinyGptDir: 'checkpoints/tiny-gpt',
  /** Pretraining settings that differ from examples/pretrain_gpt.ts's (tests use a smaller model). */
  tinyGptConfig: undefined as Partial<PretrainConfig> | undefined,
  /** Where compare.md and compare.svg go. */
  outDir: 'docs',
  /** The command line recorded in compare.md. */
  command: 'npx tsx examples/compare.ts',
  quiet: false,
  /** PPO: examples/ppo_sentiment.ts's settings (an adaptive KL coefficient aiming at 6 nats, the score clipped at 3). */
  ppo: { ...ppoSentiment.ppo } as Partial<LMPPOConfig>,
  /** GRPO: TRL's defaults (beta 0: no KL term, loss type dapo, groups of 8) with a learning rate for a tiny model. */
  grpo: { promptsPerStep: 4, numGenerations: 8, learningRate: 1e-4 } as Partial<GRPOConfig>,
  /** RLOO: TRL's defaults (beta 0.05 in the reward) with the same groups and learning rate as GRPO. */
  rloo: { promptsPerStep: 4, numGenerations: 8, learningRate: 1e-4 } as Partial<RLOOConfig>,
  /** DPO: TRL's defaults (sigmoid loss, beta 0.1) with examples/reward_model_dpo.ts's learning rate and batch. */
  dpo: { beta: 0.1, learningRate: 2e-4, batchSize: 16 } as DPOConfig,
  /** DPO passes over its pairs (TRL num_train_epochs 3). */
  dpoEpochs: 3,
};

export type Algorithm = 'PPO' | 'GRPO' | 'RLOO' | 'DPO';
export type CompareConfig = typeof config;

/** The quick run: a tiny budget and few evaluation samples, to check the whole pipeline. */
export const QUICK: Partial<CompareConfig> = { budget: 1024, evalPoints: 2, evalPrompts: 16, trainPrompts: 128 };

// Step 4's reward: AFINN's score (novarl/sentiment), the sum of the completion's word valences.
export const reward: NamedRewardFunction = sentimentReward({ measure: 'score' });

// ---- evaluation ----------------------------------------------------------------------------

/** One evaluation point. */
export interface EvalPoint {
  /** Completion tokens generated for training so far. */
  tokens: number;
  /** Mean sentiment score of the held-out samples. */
  reward: number;
  /** Mean over the samples of sum_t (log pi - log pi_ref): k1's KL(policy || reference) in nats per completion. */
  kl: number;
  /** Training wall time so far, in seconds (evaluation excluded). */
  trainSeconds: number;
}

/** Step 4: one sample per held-out prompt at the fixed seed, scored by the reward and the reference. */
async function evaluate(policy: GPT, reference: GPT, tokenizer: Tokenizer, prompts: PromptRow[], c: CompareConfig): Promise<{ reward: number; kl: number }> {
  const rollout = await collectLmRollout({
    engine: new LocalCompletionEngine(policy),
    policy,
    reference,
    tokenizer,
    prompts,
    n: 1,
    sampling: { maxNewTokens: c.maxNewTokens, temperature: c.temperature, seed: c.evalSeed, stopTokenIds: [tokenizer.eosTokenId!] },
  });
  try {
    const rewards = (await reward.fn(rollout.promptTexts, rollout.completionTexts, rollout.extra)) as number[];
    // oldLogProbs are the policy's at the sampling temperature, refLogProbs the reference's
    const mask = rollout.batch.responseMask.toArray(), logp = rollout.oldLogProbs.toArray(), ref = rollout.refLogProbs!.toArray();
    let kl = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) kl += logp[i]! - ref[i]!;
    return { reward: rewards.reduce((a, b) => a + b, 0) / rewards.length, kl: kl / rollout.batch.rows };
  } finally {
    rollout.free();
  }
}

// ---- the runs ------------------------------------------------------------------------------

interface Setup {
  tokenizer: Tokenizer;
  /** The frozen start model: every algorithm's reference and the evaluation's. */
  reference: GPT;
  train: PromptRow[];
  held: PromptRow[];
  c: CompareConfig;
  say: (line: string) => void;
}

export interface AlgorithmResult {
  algorithm: Algorithm;
  /** Evaluations in training order, the first at 0 tokens (the start model). */
  points: EvalPoint[];
  /** Optimizer steps (PPO, GRPO, RLOO: generation batches; DPO: pair batches). */
  updates: number;
  tokens: number;
  trainSeconds: number;
  /** What the algorithm ran with, for the table's notes. */
  settings: string;
}

/** Evaluation thresholds: budget / evalPoints, 2 budget / evalPoints, ..., budget. */
const thresholds = (c: CompareConfig) => Array.from({ length: c.evalPoints }, (_, i) => Math.ceil(((i + 1) * c.budget) / c.evalPoints));

/** PPO, GRPO, RLOO: step until the budget is spent, evaluating as each threshold is crossed. */
async function runOnline(algorithm: 'PPO' | 'GRPO' | 'RLOO', s: Setup, start: EvalPoint): Promise<AlgorithmResult> {
  const { c, tokenizer, reference } = s;
  const { model: policy } = await loadHuggingFace(c.tinyGptDir, { valueHead: algorithm === 'PPO' });
  const shared = { maxNewTokens: c.maxNewTokens, temperature: c.temperature, seed: c.seed };
  const dataset = new PromptDataset(s.train.map((p) => ({ prompt: p.text })), { tokenizer, seed: c.seed, source: 'austen prompts (train)' });
  const common = { policy, tokenizer, dataset, rewardFuncs: [reward], reference };
  const trainer =
    algorithm === 'PPO' ? new LMPPOTrainer({ ...common, config: { ...c.ppo, ...shared } })
    : algorithm === 'GRPO' ? new GRPOTrainer({ ...common, config: { ...c.grpo, ...shared } })
    : new RLOOTrainer({ ...common, config: { ...c.rloo, ...shared } });
  const cfg = trainer.config as unknown as Record<string, unknown>;
  const settings = algorithm === 'PPO'
    ? `${cfg['promptsPerStep']} prompts x ${cfg['numGenerations']} per step, lr ${cfg['learningRate']}, ${cfg['epochs']} epochs x ${cfg['minibatches']} minibatches, beta ${cfg['beta']} (${cfg['adaptiveKl']} controller, target ${cfg['targetKl']} nats), score clipped at ${cfg['rewardClip']}`
    : `${cfg['promptsPerStep']} prompts x ${cfg['numGenerations']} per step, lr ${cfg['learningRate']}, beta ${cfg['beta']}${algorithm === 'GRPO' ? ` (reference passed for the KL metric only), loss ${cfg['lossType']}` : ' (KL in the reward)'}`;
  const points = [start];
  let trainSeconds = 0;
  for (const threshold of thresholds(c)) {
    while (trainer.tokensGenerated < threshold) {
      const t0 = performance.now();
      await trainer.step();
      trainSeconds += (performance.now() - t0) / 1000;
    }
    const e = await evaluate(policy, reference, tokenizer, s.held, c);
    points.push({ tokens: trainer.tokensGenerated, trainSeconds, ...e });
    s.say(`  ${algorithm.padEnd(4)} ${String(trainer.tokensGenerated).padStart(7)} tokens  ${String(trainer.updates).padStart(4)} updates  reward ${e.reward.toFixed(3)}  KL ${e.kl.toFixed(3)}  ${trainSeconds.toFixed(1)} s`);
  }
  const result = { algorithm, points, updates: trainer.updates, tokens: trainer.tokensGenerated, trainSeconds, settings };
  trainer.free();
  policy.free();
  return result;
}

/** Counts the completion tokens an engine generates (DPO's budget). */
function countingEngine(engine: CompletionEngine): CompletionEngine & { tokens: number } {
  const counting = {
    tokens: 0,
    async complete(request: Parameters<CompletionEngine['complete']>[0]) {
      const out = await engine.complete(request);
      counting.tokens += out.completionIds.reduce((sum, ids) => sum + ids.length, 0);
      return out;
    },
  };
  return counting;
}

/**
 * DPO: sample pairs from the start model (two completions per training prompt, the more positive
 * one chosen, ties dropped) until the budget is spent, then dpoEpochs passes over them,
 * evaluated evalPoints times along the passes. Its tokens are all spent before it learns.
 */
async function runDpo(s: Setup, start: EvalPoint): Promise<AlgorithmResult> {
  const { c, tokenizer, reference } = s;
  const { model: policy } = await loadHuggingFace(c.tinyGptDir);
  const engine = countingEngine(new LocalCompletionEngine(policy));
  const t0 = performance.now();
  const pairs: Awaited<ReturnType<typeof buildPreferencePairs>>['pairs'] = [];
  const chunk = 32;
  for (let round = 0; engine.tokens < c.budget; round++) {
    const rows = Array.from({ length: chunk }, (_, i) => s.train[(round * chunk + i) % s.train.length]!);
    const built = await buildPreferencePairs({
      engine,
      tokenizer,
      prompts: rows,
      scorer: reward,
      sampling: { maxNewTokens: c.maxNewTokens, temperature: c.temperature, seed: c.seed + round, stopTokenIds: [tokenizer.eosTokenId!] },
    });
    pairs.push(...built.pairs);
  }
  if (pairs.length === 0) throw new ValueError(`compare: DPO found no preference pair (every pair tied) in ${engine.tokens} tokens; raise the budget`);
  const trainer = new DPOTrainer({ policy, reference, tokenizer, pairs, config: { ...c.dpo, seed: c.seed } });
  let trainSeconds = (performance.now() - t0) / 1000;
  const batch = trainer.config.batchSize;
  const steps = Math.max(c.evalPoints, Math.ceil((c.dpoEpochs * pairs.length) / batch));
  const evalAt = new Set(Array.from({ length: c.evalPoints }, (_, i) => Math.ceil(((i + 1) * steps) / c.evalPoints)));
  const points = [start];
  for (let step = 1; step <= steps; step++) {
    const t1 = performance.now();
    await trainer.step();
    trainSeconds += (performance.now() - t1) / 1000;
    if (!evalAt.has(step)) continue;
    const e = await evaluate(policy, reference, tokenizer, s.held, c);
    points.push({ tokens: engine.tokens, trainSeconds, ...e });
    s.say(`  DPO  ${String(engine.tokens).padStart(7)} tokens  ${String(step).padStart(4)} updates  reward ${e.reward.toFixed(3)}  KL ${e.kl.toFixed(3)}  ${trainSeconds.toFixed(1)} s`);
  }
  const cfg = trainer.config;
  const settings = `${pairs.length} pairs from ${engine.tokens} sampled tokens, ${c.dpoEpochs} epochs, batch ${batch}, lr ${cfg.learningRate}, beta ${cfg.beta}, loss ${cfg.lossType}`;
  const result = { algorithm: 'DPO' as const, points, updates: trainer.updates, tokens: engine.tokens, trainSeconds, settings };
  trainer.free();
  policy.free();
  return result;
}

// ---- output --------------------------------------------------------------------------------

const COLORS: Record<Algorithm, string> = { PPO: '#1f77b4', GRPO: '#d62728', RLOO: '#2ca02c', DPO: '#9467bd' };

/** The Markdown table: one row per algorithm, its final evaluation. */
export function markdownTable(results: readonly AlgorithmResult[]): string {
  const lines = [
    '| algorithm | final reward | KL to reference (nats) | tokens generated | updates | training wall time (s) |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const last = r.points[r.points.length - 1]!;
    lines.push(`| ${r.algorithm} | ${last.reward.toFixed(3)} | ${last.kl.toFixed(3)} | ${r.tokens} | ${r.updates} | ${r.trainSeconds.toFixed(1)} |`);
  }
  return lines.join('\n');
}

export function comparisonSvg(results: readonly AlgorithmResult[]): string {
  const series: PlotSeries[] = results.map((r) => ({ label: r.algorithm, color: COLORS[r.algorithm], points: r.points.map((p) => ({ x: p.kl, y: p.reward })) }));
  return svgPlot(series, { title: 'Sentiment reward against KL to the start model (held-out prompts)', xLabel: 'KL(policy || reference), nats per completion', yLabel: 'mean sentiment score' });
}

function markdownReport(results: readonly AlgorithmResult[], start: EvalPoint, c: CompareConfig, totalSeconds: number): string {
  return [
    '# PPO, GRPO, RLOO and DPO on the sentiment task',
    '',
    `Command: \`${c.command}\` (${totalSeconds.toFixed(0)} s in all, evaluations included, on a shared 2-core machine: wall times are indicative).`,
    '',
    `The start model (the tiny pretrained GPT) scores ${start.reward.toFixed(3)} on the held-out prompts.`,
    '',
    markdownTable(results),
    '',
    '![reward against KL](compare.svg)',
    '',
    '## Settings',
    '',
    `- Budget: ${c.budget} generated completion tokens per algorithm (the trainers' tokens/generated; DPO: the tokens sampled to build its pairs).`,
    `- Sampling, training and evaluation: maxNewTokens ${c.maxNewTokens}, temperature ${c.temperature}, stop at EOS.`,
    `- Prompts: ${c.trainPrompts} training openings of ${c.promptWords} words from the pretraining text; ${c.evalPrompts} held-out openings from the books' validation tails.`,
    `- Reward: the AFINN-165 sentiment score of the completion (novarl/sentiment, measure 'score').`,
    `- Evaluation: one sample per held-out prompt at seed ${c.evalSeed}; reward = mean score; KL = mean over samples of sum_t (log pi - log pi_ref) (k1), reference = the frozen start model; evaluated ${c.evalPoints} times along training. Wall time counts training only (DPO: sampling and labelling its pairs, and its steps).`,
    '- Updates: PPO, GRPO and RLOO count generation batches (PPO runs epochs x minibatches optimizer steps on each, GRPO and RLOO one); DPO counts its optimizer steps.',
    ...results.map((r) => `- ${r.algorithm}: ${r.settings}.`),
    '',
  ].join('\n');
}

// ---- main ----------------------------------------------------------------------------------

async function promptRows(tokenizer: Tokenizer, split: 'train' | 'validation', count: number, words: number, maxTokens: number): Promise<PromptRow[]> {
  const texts = await austenPromptTexts({ split, words, count: count * 2 });
  const fitting = texts.filter((t) => tokenizer.encode(t).length <= maxTokens).slice(0, count);
  if (fitting.length < count) throw new ValueError(`compare: only ${fitting.length} ${split} prompts of ${words} words fit ${maxTokens} tokens, ${count} asked for`);
  return fitting.map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
}

export async function main(overrides: Partial<CompareConfig> = {}) {
  const c: CompareConfig = { ...config, ...overrides };
  if (!Number.isSafeInteger(c.budget) || c.budget < 1) throw new ValueError(`compare: budget must be a positive integer of tokens, got ${c.budget}`);
  if (!Number.isSafeInteger(c.evalPoints) || c.evalPoints < 1) throw new ValueError(`compare: evalPoints must be a positive integer, got ${c.evalPoints}`);
  const say = (line: string) => c.quiet || console.log(line);
  await init();
  const started = performance.now();

  // Step 1: the start model (pretrained and cached on first use) and its frozen copy
  const tiny = await loadOrPretrainTinyGpt({ dir: c.tinyGptDir, config: c.tinyGptConfig, verbose: !c.quiet });
  const tokenizer = tiny.tokenizer;
  const reference = frozenReference(tiny.model);
  tiny.model.free();

  // Step 2: prompts
  const maxPromptTokens = reference.config.nPositions - c.maxNewTokens;
  const train = await promptRows(tokenizer, 'train', c.trainPrompts, c.promptWords, maxPromptTokens);
  const held = await promptRows(tokenizer, 'validation', c.evalPrompts, c.promptWords, maxPromptTokens);
  const setup: Setup = { tokenizer, reference, train, held, c, say };

  // Step 3: every algorithm from the same start, its first point the start model's evaluation
  const start: EvalPoint = { tokens: 0, trainSeconds: 0, ...(await evaluate(reference, reference, tokenizer, held, c)) };
  say(`start: reward ${start.reward.toFixed(3)} on ${held.length} held-out prompts; budget ${c.budget} tokens each`);
  const results: AlgorithmResult[] = [];
  for (const algorithm of c.algorithms) results.push(algorithm === 'DPO' ? await runDpo(setup, start) : await runOnline(algorithm, setup, start));
  reference.free();

  // Step 5: the table and the plot
  const totalSeconds = (performance.now() - started) / 1000;
  const table = markdownTable(results);
  const svg = comparisonSvg(results);
  const markdown = markdownReport(results, start, c, totalSeconds);
  await mkdir(c.outDir, { recursive: true });
  await writeFile(join(c.outDir, 'compare.svg'), svg);
  await writeFile(join(c.outDir, 'compare.md'), markdown);
  say('');
  say(table);
  say(`\nwrote ${join(c.outDir, 'compare.md')} and ${join(c.outDir, 'compare.svg')}; ${totalSeconds.toFixed(1)} s in all`);
  return { results, start, table, svg, markdown, totalSeconds };
}

/** --budget N, --quick. */
export function parseArgs(argv: readonly string[]): Partial<CompareConfig> {
  const out: Partial<CompareConfig> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') Object.assign(out, QUICK);
    else if (arg === '--budget') {
      const value = Number(argv[++i]);
      if (!Number.isSafeInteger(value) || value < 1) throw new ValueError(`compare: --budget needs a positive integer of tokens, got ${String(argv[i])}`);
      out.budget = value;
    } else throw new ValueError(`compare: unknown argument '${arg}' (use --budget N or --quick)`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('examples/compare.ts')) {
  const args = process.argv.slice(2);
  await main({ ...parseArgs(args), command: ['npx tsx examples/compare.ts', ...args].join(' ') });
}
