// The tiny GPT the second playground page (gpt.html) trains from scratch, shared by the worker
// (gpt_worker.ts) and tests/playground_gpt.test.ts's Node run, so one seed gives bit-identical
// losses in the page and in Node: the same tokenizer, model, optimiser and batches, built in the
// same order. Everything that feeds training is integer arithmetic or the core's f32 ops.

import { AdamW, GPT, Tokenizer, generate, seed } from '../../../sdk/index';
import type { GptRunConfig } from './gpt_messages';

/** Byte-level BPE: 256 bytes + merges + <|endoftext|>. */
export const VOCAB_SIZE = 320;
/** Tokens per training window; the model sees nPositions = 64, room for prompt + sample. */
export const BLOCK = 32;
/** Windows per step: (BATCH, BLOCK) ids per loss. */
export const BATCH = 8;
/** Steps a run lasts. */
export const STEPS = 200;
export const MODEL = { nLayer: 2, nHead: 2, nEmbd: 64, nPositions: 64 } as const;

export const defaultGptRunConfig: GptRunConfig = { seed: 1, lr: 3e-3 };

/** What Generate samples with (besides the prompt). */
export const SAMPLE = { maxNewTokens: 40, temperature: 0.8, topK: 20 } as const;

export interface GptRun {
  tokenizer: Tokenizer;
  model: GPT;
  optimizer: AdamW;
  /** The corpus as token ids. */
  ids: number[];
  /** Steps taken so far. */
  step: number;
  config: GptRunConfig;
}

/** Trains the tokenizer on the corpus, then draws the GPT's initialisation on the current default core. */
export function createGptRun(text: string, config: GptRunConfig): GptRun {
  const tokenizer = Tokenizer.train(text, { vocabSize: VOCAB_SIZE });
  const ids = tokenizer.encode(text);
  if (ids.length < BLOCK + 2) throw new Error(`the corpus is only ${ids.length} tokens; a window needs ${BLOCK + 1}`);
  seed(config.seed);
  const model = new GPT({ vocabSize: tokenizer.vocabSize, ...MODEL });
  const optimizer = new AdamW(model.parameters(), { lr: config.lr, weightDecay: 0.01 });
  return { tokenizer, model, optimizer, ids, step: 0, config };
}

/**
 * mulberry32 on (seed, step, row): a window start for each batch row. Math.imul and the integer
 * shifts are exact in every engine, so the page and Node pick the same windows.
 */
function windowStart(run: GptRun, row: number): number {
  let x = (Math.imul(run.config.seed, 0x9e3779b1) + Math.imul(run.step, 0x85ebca6b) + Math.imul(row, 0xc2b2ae35)) | 0;
  x = Math.imul(x ^ (x >>> 15), x | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  const u = (x ^ (x >>> 14)) >>> 0;
  return u % (run.ids.length - BLOCK - 1);
}

/** One AdamW step on BATCH random windows (targets: the ids shifted by one); returns the loss. */
export function trainStep(run: GptRun): number {
  const inputs: number[][] = [];
  const targets: number[][] = [];
  for (let row = 0; row < BATCH; row++) {
    const start = windowStart(run, row);
    inputs.push(run.ids.slice(start, start + BLOCK));
    targets.push(run.ids.slice(start + 1, start + BLOCK + 1));
  }
  run.optimizer.zeroGrad();
  const loss = run.model.loss(inputs, targets); // mean cross-entropy over (BATCH, BLOCK), nats
  loss.backward();
  run.optimizer.step();
  const value = loss.item();
  run.model.core.endStep();
  run.step++;
  return value;
}

/** A continuation of `prompt` (its last tokens if long), decoded; generate() re-seeds the core with `seed`. */
export function sample(run: GptRun, prompt: string, seedValue: number): { prompt: string; text: string } {
  const room = MODEL.nPositions - SAMPLE.maxNewTokens;
  const ids = run.tokenizer.encode(prompt).slice(-room);
  if (ids.length === 0) ids.push(run.tokenizer.encode('\n')[0]!);
  const result = generate(run.model, [ids], { ...SAMPLE, seed: seedValue });
  return { prompt: run.tokenizer.decode(ids), text: run.tokenizer.decode(result.completions[0]!) };
}
