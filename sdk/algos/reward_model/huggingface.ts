// A GPTRewardModel as a Hugging Face directory that
// `GPT2ForSequenceClassification.from_pretrained(dir)` (AutoModelForSequenceClassification) reads:
//
//   dir/config.json         GPT2Config as for the language model (sdk/io/huggingface.ts), with
//                           architectures ["GPT2ForSequenceClassification"], num_labels 1,
//                           id2label {"0": "LABEL_0"}, label2id {"LABEL_0": 0} and pad_token_id
//                           (the score's "last non-padding token" rule needs it)
//   dir/model.safetensors   transformer.* (GPT-2's names) and score.weight (1, n_embd); no lm_head
//   dir/tokenizer.json ...  the tokenizer's files, when given
//
// Written and read with the language model's crash-safe directory swap.

import { HuggingFaceError, type HuggingFaceProblem } from '../../core/errors';
import type { Core } from '../../core/core';
import { gptConfigFromHuggingFace, huggingFaceConfig, readHuggingFaceDirectory, writeHuggingFaceDirectory, type HuggingFaceSaveStep, type HuggingFaceTokenizerSource } from '../../io/huggingface';
import { parseSafetensors, serializeSafetensors, type SafeTensor } from '../../io/safetensors';
import { GPTRewardModel } from './model';

const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const ARCHITECTURE = 'GPT2ForSequenceClassification';
const TOKENIZER_FILE = /^(?:tokenizer(?:_config)?\.json|vocab\.json|merges\.txt|special_tokens_map\.json|added_tokens\.json)$/;
const MASK_BUFFER = /^transformer\.h\.\d+\.attn\.(?:bias|masked_bias)$/;

export interface RewardModelSaveOptions {
  /** Writes the tokenizer's files beside the model. */
  tokenizer?: HuggingFaceTokenizerSource;
  /** bos / eos ids for config.json (default vocabSize - 1, GPT-2's <|endoftext|>). */
  bosTokenId?: number;
  eosTokenId?: number;
  /** Called after each step of the crash-safe directory swap, in order, and awaited (as saveHuggingFace). */
  afterEachStep?: (step: HuggingFaceSaveStep) => void | Promise<void>;
}

/** The directory's files as bytes, keyed by file name. */
export function encodeRewardModelHuggingFace(model: GPTRewardModel, options: RewardModelSaveOptions = {}): Record<string, Uint8Array> {
  const config = {
    ...huggingFaceConfig(model.config, { bosTokenId: options.bosTokenId, eosTokenId: options.eosTokenId, padTokenId: model.padTokenId }),
    architectures: [ARCHITECTURE],
    num_labels: 1,
    id2label: { '0': 'LABEL_0' },
    label2id: { LABEL_0: 0 },
  };
  const files: Record<string, Uint8Array> = { [CONFIG]: new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`) };
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, p] of model.namedParameters()) tensors[name] = { dtype: 'F32', shape: [...p.shape], data: p.toArray() };
  files[WEIGHTS] = serializeSafetensors(tensors, { format: 'pt' });
  for (const [name, text] of Object.entries(options.tokenizer?.huggingFaceFiles() ?? {})) {
    if (!TOKENIZER_FILE.test(name)) throw new HuggingFaceError(`the tokenizer's file name ${JSON.stringify(name)} is not a tokenizer file`, 'tokenizer', name);
    files[name] = new TextEncoder().encode(text);
  }
  return files;
}

/** A reward model directory as read back. */
export interface LoadedRewardModel {
  model: GPTRewardModel;
  config: Record<string, unknown>;
  tokenizerFiles?: Record<string, string>;
}

/** Checks and reads the files of a GPT2ForSequenceClassification directory with one label. */
export function decodeRewardModelHuggingFace(files: Record<string, Uint8Array>, options: { core?: Core } = {}): LoadedRewardModel {
  const fail = (problem: HuggingFaceProblem, file: string, what: string, field?: string, tensor?: string): never => {
    throw new HuggingFaceError(`${file}: ${what}`, problem, file, tensor, field);
  };
  for (const name of [CONFIG, WEIGHTS]) if (!Object.hasOwn(files, name)) fail('missing-file', name, 'is missing: not a model directory, or an incomplete one');
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(files[CONFIG]!)) as Record<string, unknown>;
  } catch (error) {
    fail('config', CONFIG, `not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) fail('config', CONFIG, 'is not a JSON object');
  const gptConfig = gptConfigFromHuggingFace(config);
  const architectures = config['architectures'];
  if (!Array.isArray(architectures) || !architectures.includes(ARCHITECTURE)) fail('config', CONFIG, `architectures is ${JSON.stringify(architectures)}, not ["${ARCHITECTURE}"]`, 'architectures');
  const id2label = config['id2label'];
  const labels = id2label && typeof id2label === 'object' ? Object.keys(id2label).length : config['num_labels'];
  if (labels !== 1) fail('config', CONFIG, `has ${JSON.stringify(labels)} labels; a reward model has one (num_labels 1)`, 'id2label');
  const pad = config['pad_token_id'];
  if (!Number.isSafeInteger(pad) || (pad as number) < 0 || (pad as number) >= gptConfig.vocabSize) {
    fail('config', CONFIG, `pad_token_id is ${JSON.stringify(pad)}: a reward model needs a padding id in [0, ${gptConfig.vocabSize}) to find each row's last token`, 'pad_token_id');
  }
  const stored = parseSafetensors(files[WEIGHTS]!, {}, WEIGHTS).tensors;
  const model = new GPTRewardModel(gptConfig, { padTokenId: pad as number, init: false, core: options.core });
  try {
    const params = new Map(model.namedParameters());
    for (const [name, t] of Object.entries(stored)) {
      const p = params.get(name);
      if (!p) {
        if (MASK_BUFFER.test(name)) continue;
        fail('unexpected-tensor', WEIGHTS, `tensor '${name}' is not a parameter of ${ARCHITECTURE} with this config.json`, undefined, name);
      }
      if (t.dtype !== 'F32') fail('tensor-dtype', WEIGHTS, `tensor '${name}' is ${t.dtype}; NovaRL reads F32 only`, undefined, name);
      if (t.shape.length !== p!.shape.length || t.shape.some((d, i) => d !== p!.shape[i])) {
        fail('tensor-shape', WEIGHTS, `tensor '${name}' has shape [${t.shape.join(', ')}], config.json's model needs [${p!.shape.join(', ')}]`, undefined, name);
      }
    }
    for (const [name, p] of params) if (!(name in stored)) fail('missing-tensor', WEIGHTS, `tensor '${name}' is missing (shape [${p.shape.join(', ')}])`, undefined, name);
    for (const [name, p] of params) p.set(stored[name]!.data as Float32Array);
    const tokenizerFiles: Record<string, string> = {};
    for (const name of Object.keys(files).filter((n) => TOKENIZER_FILE.test(n)).sort()) tokenizerFiles[name] = new TextDecoder().decode(files[name]!);
    return { model, config, ...(Object.keys(tokenizerFiles).length ? { tokenizerFiles } : {}) };
  } catch (error) {
    model.free();
    throw error;
  }
}

/** Saves `model` as a GPT2ForSequenceClassification directory at `dir` (crash-safe, replaces it whole). */
export async function saveRewardModelHuggingFace(dir: string, model: GPTRewardModel, options: RewardModelSaveOptions = {}): Promise<void> {
  await writeHuggingFaceDirectory(dir, encodeRewardModelHuggingFace(model, options), options);
}

/** Loads a GPT2ForSequenceClassification directory (one label) as a GPTRewardModel. */
export async function loadRewardModelHuggingFace(dir: string, options: { core?: Core } = {}): Promise<LoadedRewardModel> {
  const { files } = await readHuggingFaceDirectory(dir);
  return decodeRewardModelHuggingFace(files, options);
}
