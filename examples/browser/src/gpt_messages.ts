// The messages between the GPT page (gpt_main.ts) and its worker (gpt_worker.ts).

/** The settings of one run; everything else is fixed in gpt_setup.ts. */
export interface GptRunConfig {
  seed: number;
  /** AdamW learning rate. */
  lr: number;
}

export type ToGptWorker =
  /** Start or resume training. */
  | { type: 'train' }
  /** Stop after the step in progress. */
  | { type: 'pause' }
  /** Sample a continuation of `prompt` from the model as it is now. */
  | { type: 'generate'; prompt: string; seed: number };

export type FromGptWorker =
  /** Core loaded, tokenizer trained, model built; sent once. */
  | { type: 'ready'; simd: boolean; steps: number; corpusChars: number; corpusTokens: number; vocabSize: number; parameters: number; config: GptRunConfig; msTokenizer: number }
  | { type: 'step'; step: number; loss: number; msPerStep: number }
  | { type: 'paused'; step: number }
  | { type: 'done'; step: number }
  | { type: 'generated'; step: number; prompt: string; text: string }
  | { type: 'error'; message: string };
