// The RLHF page's run: the SDK's GRPOTrainer on the tiny GPT (the Hugging Face files build.ts
// serves in dist/tiny-gpt/), one step() per worker task: a generation batch of
// RLHF.promptsPerStep prompts x RLHF.numGenerations completions, scored by the reward chosen in
// the page, group-relative advantages, the clipped token loss with k3 KL to the frozen initial
// model, one Adam step (sdk/algos/grpo/trainer.ts has the details).
//
// The reward can change between steps: the trainer holds one reward function, 'reward', that
// scores with whichever of REWARDS the page chose when the step began. The completions table's
// rows come from the SDK's CompletionsTable (no file in a browser: its onRows callback).

import { sentimentReward } from '../../../sdk/rewards/sentiment';
import {
  CompletionsTable,
  GRPOTrainer,
  Tokenizer,
  decodeHuggingFace,
  lengthReward,
  ruleReward,
  type NamedRewardFunction,
  type PromptRow,
} from '../../../sdk/index';
import type { CompletionRow, RewardName, RlhfStep } from './rlhf_messages';

/** GRPOTrainer's settings for the page (TRL's names; the rest are GRPOConfig's defaults). */
export const RLHF = {
  promptsPerStep: 2,
  numGenerations: 4,
  maxNewTokens: 16,
  temperature: 1,
  learningRate: 2e-4,
  beta: 0.05,
  seed: 1,
} as const;

/** Steps a run lasts. */
export const STEPS = 60;

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
  trainer: GRPOTrainer;
  /** The reward the next step scores with (the page's choice). */
  reward: RewardName;
  /** The reward the step in progress scores with. */
  scoring: RewardName;
  /** The last step's completion rows (from the trainer's completionsTable). */
  rows: CompletionRow[];
}

/** Builds the run from a Hugging Face directory's files, on the current default core. */
export function createRlhfRun(files: Record<string, Uint8Array>, reward: RewardName): RlhfRun {
  const { model: policy, tokenizerFiles } = decodeHuggingFace(files, { valueHead: false });
  if (!tokenizerFiles) throw new Error('the model directory has no tokenizer files');
  const tokenizer = Tokenizer.fromHuggingFaceFiles(tokenizerFiles);
  const dataset: PromptRow[] = PROMPTS.map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
  const run: RlhfRun = { trainer: undefined!, reward, scoring: reward, rows: [] };
  const chosen: NamedRewardFunction = { name: 'reward', fn: (prompts, completions, extra) => REWARDS[run.scoring].fn(prompts, completions, extra) };
  const completionsTable = new CompletionsTable({
    consoleRows: 0,
    onRows: (_step, records) => {
      run.rows = records.map((r) => ({ prompt: r.prompt, completion: r.completion, reward: r.rewards['reward']!, advantage: r.advantage ?? NaN }));
    },
  });
  run.trainer = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [chosen], completionsTable, config: { ...RLHF } });
  return run;
}

/** One GRPOTrainer.step(); returns its metrics and the completions table's rows. */
export async function rlhfStep(run: RlhfRun): Promise<RlhfStep> {
  run.scoring = run.reward;
  const metrics = await run.trainer.step();
  return { step: run.trainer.updates, rewardName: run.scoring, metrics, rows: run.rows };
}
