// A GPT as a Hugging Face model directory, the layout `GPT2LMHeadModel.from_pretrained(dir)`
// and vLLM read:
//
//   dir/config.json             GPT2Config: model_type "gpt2", sizes, activation, token ids
//   dir/model.safetensors       F32 tensors under GPT2LMHeadModel's state-dict names, with
//                               __metadata__ {"format": "pt"}; the tied lm_head.weight is not
//                               stored (transformers drops tied weights too); TRL's value head,
//                               when the model has one, as v_head.summary.weight / .bias
//   dir/generation_config.json  bos / eos ids and the sampling defaults
//   dir/tokenizer.json ...      whatever files the tokenizer gives (huggingFaceFiles())
//
// Reading accepts what older GPT-2 checkpoints also carry and ignores it: the attention-mask
// buffers `h.{i}.attn.bias` and `h.{i}.attn.masked_bias`, an `lm_head.weight` equal to the token
// embedding (one that differs is an untied model NovaRL cannot hold: refused), and GPT2Model
// checkpoints whose names lack the `transformer.` prefix. Only F32 tensors are read: F16, BF16
// and F64 checkpoints are refused with a message saying how to convert them
// (`model.float().save_pretrained(dir)` in Python).
//
// Writing is crash-safe. A Hugging Face directory has fixed file names, so the files cannot be
// swapped one by one the way sdk/io/checkpoint.ts does (a kill between two renames would leave
// a new config.json beside an old model.safetensors). Instead the whole directory is written
// into a temporary sibling `.<name>.incoming-<tag>`, each file fsync'ed, and swapped in with two
// renames: `<name>` -> `.<name>.previous`, then the new one -> `<name>`. A kill at any moment
// leaves a loadable model:
//   - before the first rename: `<name>` is the old directory, untouched;
//   - between the renames: `<name>` is absent and `.<name>.previous` is the old directory, which
//     loadHuggingFace reads in that case (and the next save renames back before it starts);
//   - after the second rename: `<name>` is the new directory; the next save deletes the leftover
//     `.previous` (and any `.incoming-*` of a killed save).
// (Python's from_pretrained knows nothing of `.previous`: during that one window, between two
// renames, only NovaRL's loader finds the model.) A save replaces the directory as a whole, so
// files in it that the save does not write are gone afterwards; a save refuses to replace a
// non-empty directory that has no config.json, so a mistyped path cannot wipe unrelated files.
//
// Without a file system, encodeHuggingFace / decodeHuggingFace give and take the same files as
// bytes keyed by file name.

import type { Core } from '../core/core';
import { CheckpointError, HuggingFaceError, type HuggingFaceProblem } from '../core/errors';
import { GPT, resolveGPTConfig, type GPTConfig, type ResolvedGPTConfig } from '../nn/gpt';
import { parseSafetensors, serializeSafetensors, type SafeTensor } from './safetensors';
import { nodeFileSystem, randomTag, syncDirectory, writeNewFileSynced, type FsPromises, type PathModule } from './fs';

const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const GENERATION = 'generation_config.json';
const MODEL_FILES = new Set([CONFIG, WEIGHTS, GENERATION]);

/** The transformers release whose GPT-2 config and generation-config layout these files follow. */
export const TRANSFORMERS_VERSION = '4.46.3';

/** Hugging Face's tokenizer files, which loading hands back as text. */
const TOKENIZER_FILE = /^(?:tokenizer(?:_config)?\.json|vocab\.json|merges\.txt|special_tokens_map\.json|added_tokens\.json|chat_template\.(?:json|jinja))$/;
// A file name the tokenizer may use: plain, inside the directory, not one of the model's own.
const SAFE_FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Anything that can describe itself as Hugging Face tokenizer files (sdk/text's Tokenizer). */
export interface HuggingFaceTokenizerSource {
  /** File name -> file text (tokenizer.json, tokenizer_config.json, vocab.json, merges.txt...). */
  huggingFaceFiles(): Record<string, string>;
}

/** Sampling defaults written to generation_config.json (transformers' GenerationConfig names). */
export interface GenerationDefaults {
  /** Sample (true) or decode greedily (default true: RLHF rollouts sample). */
  doSample?: boolean;
  /** Softmax temperature (default 1). */
  temperature?: number;
  /** Keep the k most likely tokens; 0 keeps all (default 0). */
  topK?: number;
  /** Nucleus sampling mass; 1 keeps all (default 1). */
  topP?: number;
  /** Tokens generated at most (default 64). */
  maxNewTokens?: number;
}

export interface HuggingFaceSaveOptions {
  /** Writes the tokenizer's files beside the model. */
  tokenizer?: HuggingFaceTokenizerSource;
  /** Id of the beginning-of-text token (default vocabSize - 1: GPT-2's <|endoftext|> is its last id). */
  bosTokenId?: number;
  /** Id of the end-of-text token, where generation stops (default vocabSize - 1). */
  eosTokenId?: number;
  /** Id of the padding token, when the tokenizer has one (GPT-2 has none: omitted by default). */
  padTokenId?: number;
  /** Sampling defaults for generation_config.json. */
  generation?: GenerationDefaults;
}

/** One step of saveHuggingFace, reported to afterEachStep (progress, and the crash test). */
export interface HuggingFaceSaveStep {
  /**
   * 'written': a file is synced in the incoming directory. 'synced': the incoming directory's
   * entries are on disk. 'moved-aside': the old directory is now `.<name>.previous`.
   * 'installed': the new directory has the target name (the commit). 'removed': the previous
   * directory, or a leftover of a killed save, was deleted.
   */
  stage: 'written' | 'synced' | 'moved-aside' | 'installed' | 'removed';
  /** The file, or the directory, concerned. */
  file: string;
}

export interface HuggingFaceDiskSaveOptions extends HuggingFaceSaveOptions {
  /** Called after each step of the save, in order, and awaited. */
  afterEachStep?: (step: HuggingFaceSaveStep) => void | Promise<void>;
}

export interface HuggingFaceLoadOptions {
  /**
   * The value head: 'auto' (default) loads it when model.safetensors has one; true always gives
   * one (a fresh TRL-style init when the file has none, as TRL does); false never (a stored one
   * is ignored).
   */
  valueHead?: boolean | 'auto';
  core?: Core;
}

/** A model directory as read back. */
export interface LoadedHuggingFace {
  model: GPT;
  /** config.json as stored. */
  config: Record<string, unknown>;
  /** generation_config.json as stored, when there is one. */
  generationConfig?: Record<string, unknown>;
  /** The tokenizer's files (name -> text), when there are any: pass them to Tokenizer.fromHuggingFaceFiles. */
  tokenizerFiles?: Record<string, string>;
  /** Names in model.safetensors that were accepted and ignored (mask buffers, a tied lm_head...). */
  ignoredTensors: string[];
  /** True when the directory was absent and its `.previous` (a save killed mid-swap) was read. */
  fromPrevious?: boolean;
}

// ---------------------------------------------------------------------------------------------
// config.json

/** GPT2Config's fields for a model: what transformers writes for GPT2LMHeadModel. */
export function huggingFaceConfig(config: GPTConfig, options: HuggingFaceSaveOptions = {}): Record<string, unknown> {
  const c = resolveGPTConfig(config);
  const bos = tokenId(options.bosTokenId, c, 'bosTokenId');
  const eos = tokenId(options.eosTokenId, c, 'eosTokenId');
  const out: Record<string, unknown> = {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: 0.0,
    bos_token_id: bos,
    embd_pdrop: 0.0,
    eos_token_id: eos,
    initializer_range: 0.02,
    layer_norm_epsilon: c.layerNormEpsilon,
    model_type: 'gpt2',
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_head: c.nHead,
    n_inner: null,
    n_layer: c.nLayer,
    n_positions: c.nPositions,
    reorder_and_upcast_attn: false,
    resid_pdrop: 0.0,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    summary_activation: null,
    summary_first_dropout: 0.1,
    summary_proj_to_labels: true,
    summary_type: 'cls_index',
    summary_use_proj: true,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    transformers_version: TRANSFORMERS_VERSION,
    use_cache: true,
    vocab_size: c.vocabSize,
  };
  if (options.padTokenId !== undefined) out['pad_token_id'] = tokenId(options.padTokenId, c, 'padTokenId');
  return out;
}

/**
 * The GPTConfig a config.json describes, refusing (HuggingFaceError 'config', naming the field)
 * anything NovaRL's GPT would compute differently: another model type or activation, an inner
 * width other than 4 nEmbd, untied embeddings, unscaled or layer-scaled attention, cross-attention.
 * Dropout rates are accepted and ignored (NovaRL applies no dropout).
 */
export function gptConfigFromHuggingFace(json: unknown, file = CONFIG): GPTConfig {
  const fail = (field: string, what: string): never => {
    throw new HuggingFaceError(`${file}: ${field} ${what}`, 'config', file, undefined, field);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('(root)', 'is not a JSON object');
  const c = json as Record<string, unknown>;
  if (c['model_type'] !== 'gpt2') fail('model_type', `is ${JSON.stringify(c['model_type'])}; NovaRL reads "gpt2" models`);
  const size = (field: string): number => {
    const v = c[field];
    if (!Number.isSafeInteger(v) || (v as number) < 1) fail(field, `is ${JSON.stringify(v)}, not a positive integer`);
    return v as number;
  };
  const [vocabSize, nPositions, nEmbd, nLayer, nHead] = ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'].map(size) as [number, number, number, number, number];
  if (nEmbd % nHead !== 0) fail('n_head', `(${nHead}) does not divide n_embd (${nEmbd})`);
  const eps = c['layer_norm_epsilon'] ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) fail('layer_norm_epsilon', `is ${JSON.stringify(eps)}, not a finite number > 0`);
  const inner = c['n_inner'] ?? null;
  if (inner !== null && inner !== 4 * nEmbd) fail('n_inner', `is ${JSON.stringify(inner)}; NovaRL's GPT has an MLP of 4 * n_embd = ${4 * nEmbd} (or null)`);
  const activation = c['activation_function'] ?? 'gelu_new';
  if (activation !== 'gelu_new' && activation !== 'gelu_pytorch_tanh') {
    fail('activation_function', `is ${JSON.stringify(activation)}; NovaRL's GPT uses GELU's tanh form ("gelu_new")`);
  }
  const flag = (field: string, expected: boolean): void => {
    const v = c[field] ?? expected;
    if (v !== expected) fail(field, `is ${JSON.stringify(v)}; NovaRL's GPT needs ${expected}`);
  };
  flag('tie_word_embeddings', true);
  flag('scale_attn_weights', true);
  flag('scale_attn_by_inverse_layer_idx', false);
  flag('add_cross_attention', false);
  for (const field of ['bos_token_id', 'eos_token_id']) {
    const v = c[field];
    if (v !== undefined && v !== null && !(Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < vocabSize)) {
      fail(field, `is ${JSON.stringify(v)}, not a token id in [0, ${vocabSize})`);
    }
  }
  return { vocabSize, nLayer, nHead, nEmbd, nPositions, layerNormEpsilon: eps as number };
}

function tokenId(id: number | undefined, c: ResolvedGPTConfig, what: string): number {
  const value = id ?? c.vocabSize - 1;
  if (!Number.isSafeInteger(value) || value < 0 || value >= c.vocabSize) {
    throw new HuggingFaceError(`${what} ${value} is not a token id in [0, ${c.vocabSize})`, 'config', CONFIG, undefined, what);
  }
  return value;
}

function generationConfig(c: ResolvedGPTConfig, options: HuggingFaceSaveOptions): Record<string, unknown> {
  const g = options.generation ?? {};
  const out: Record<string, unknown> = {
    bos_token_id: tokenId(options.bosTokenId, c, 'bosTokenId'),
    eos_token_id: tokenId(options.eosTokenId, c, 'eosTokenId'),
    do_sample: g.doSample ?? true,
    temperature: g.temperature ?? 1.0,
    top_k: g.topK ?? 0,
    top_p: g.topP ?? 1.0,
    max_new_tokens: g.maxNewTokens ?? 64,
    transformers_version: TRANSFORMERS_VERSION,
  };
  if (options.padTokenId !== undefined) out['pad_token_id'] = tokenId(options.padTokenId, c, 'padTokenId');
  const bad = (field: string, what: string): never => {
    throw new HuggingFaceError(`generation.${field} ${what}`, 'generation-config', GENERATION, undefined, field);
  };
  if (typeof out['do_sample'] !== 'boolean') bad('doSample', 'must be a boolean');
  if (!(Number.isFinite(out['temperature']) && (out['temperature'] as number) > 0)) bad('temperature', 'must be a finite number > 0');
  if (!(Number.isSafeInteger(out['top_k']) && (out['top_k'] as number) >= 0)) bad('topK', 'must be an integer >= 0');
  if (!((out['top_p'] as number) > 0 && (out['top_p'] as number) <= 1)) bad('topP', 'must be in (0, 1]');
  if (!(Number.isSafeInteger(out['max_new_tokens']) && (out['max_new_tokens'] as number) >= 1)) bad('maxNewTokens', 'must be an integer >= 1');
  return out;
}

// ---------------------------------------------------------------------------------------------
// In memory

/** The model directory's files as bytes, keyed by file name. Validates everything first. */
export function encodeHuggingFace(model: GPT, options: HuggingFaceSaveOptions = {}): Record<string, Uint8Array> {
  const text = (value: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const files: Record<string, Uint8Array> = {};
  files[CONFIG] = text(huggingFaceConfig(model.config, options));
  files[GENERATION] = text(generationConfig(model.config, options));
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, p] of model.namedParameters()) tensors[name] = { dtype: 'F32', shape: [...p.shape], data: p.toArray() };
  files[WEIGHTS] = serializeSafetensors(tensors, { format: 'pt' });
  if (options.tokenizer) {
    for (const [name, content] of Object.entries(options.tokenizer.huggingFaceFiles())) {
      if (!SAFE_FILE_NAME.test(name) || MODEL_FILES.has(name)) {
        throw new HuggingFaceError(`the tokenizer's file name ${JSON.stringify(name)} is not a plain file name, or is one of the model's own files`, 'tokenizer', name);
      }
      if (typeof content !== 'string') throw new HuggingFaceError(`the tokenizer's file ${name} is not text`, 'tokenizer', name);
      files[name] = new TextEncoder().encode(content);
    }
  }
  return files;
}

/** Checks and reads a model directory's files (from encodeHuggingFace, or read from disk). */
export function decodeHuggingFace(files: Record<string, Uint8Array>, options: HuggingFaceLoadOptions = {}): LoadedHuggingFace {
  const has = (name: string): boolean => Object.prototype.hasOwnProperty.call(files, name);
  for (const name of [CONFIG, WEIGHTS]) {
    if (!has(name)) throw new HuggingFaceError(`${name} is missing: not a Hugging Face model directory, or an incomplete one`, 'missing-file', name);
  }
  const config = readJson(files[CONFIG]!, CONFIG, 'config');
  const gptConfig = gptConfigFromHuggingFace(config);

  let contents;
  try {
    contents = parseSafetensors(files[WEIGHTS]!, {}, WEIGHTS);
  } catch (error) {
    if (error instanceof CheckpointError && error.check === 'dtype') {
      throw new HuggingFaceError(`${error.message}. NovaRL reads F32 checkpoints only; convert this one in Python with model.float().save_pretrained(dir)`, 'tensor-dtype', WEIGHTS, error.tensor);
    }
    throw error;
  }
  const stored = stripBaseModelPrefix(contents.tensors);

  const wantsHead = options.valueHead ?? 'auto';
  const fileHasHead = 'v_head.summary.weight' in stored || 'v_head.summary.bias' in stored;
  const valueHead = wantsHead === 'auto' ? fileHasHead : wantsHead;
  const model = new GPT(gptConfig, { init: false, valueHead, core: options.core });
  try {
    const ignoredTensors = loadTensors(model, stored, valueHead && !fileHasHead);
    const loaded: LoadedHuggingFace = { model, config: config as Record<string, unknown>, ignoredTensors };
    if (has(GENERATION)) loaded.generationConfig = readJson(files[GENERATION]!, GENERATION, 'generation-config');
    const tokenizerFiles: Record<string, string> = {};
    for (const name of Object.keys(files).filter((n) => TOKENIZER_FILE.test(n)).sort()) {
      try {
        tokenizerFiles[name] = new TextDecoder('utf-8', { fatal: true }).decode(files[name]!);
      } catch {
        throw new HuggingFaceError(`${name} is not UTF-8 text`, 'tokenizer', name);
      }
    }
    if (Object.keys(tokenizerFiles).length > 0) loaded.tokenizerFiles = tokenizerFiles;
    return loaded;
  } catch (error) {
    model.free();
    throw error;
  }
}

/** GPT2Model checkpoints (no LM head) name tensors without `transformer.`: add it. */
function stripBaseModelPrefix(tensors: Record<string, SafeTensor>): Record<string, SafeTensor> {
  const names = Object.keys(tensors);
  if (names.some((n) => n.startsWith('transformer.')) || !names.includes('wte.weight')) return tensors;
  const out: Record<string, SafeTensor> = {};
  for (const name of names) out[name.startsWith('v_head.') || name === 'lm_head.weight' ? name : `transformer.${name}`] = tensors[name]!;
  return out;
}

// Buffers older transformers versions saved with every GPT-2: the causal mask and its fill value.
const MASK_BUFFER = /^transformer\.h\.\d+\.attn\.(?:bias|masked_bias)$/;

/** Checks every stored tensor against the model and copies them in; returns the ignored names. */
function loadTensors(model: GPT, stored: Record<string, SafeTensor>, freshValueHead: boolean): string[] {
  const fail = (problem: HuggingFaceProblem, tensor: string, what: string): never => {
    throw new HuggingFaceError(`${WEIGHTS}: tensor '${tensor}' ${what}`, problem, WEIGHTS, tensor);
  };
  const checkF32 = (name: string, t: SafeTensor, shape: readonly number[]): void => {
    if (t.dtype !== 'F32') fail('tensor-dtype', name, `is ${t.dtype}; NovaRL reads F32 only (convert in Python with model.float().save_pretrained(dir))`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      fail('tensor-shape', name, `has shape [${t.shape.join(', ')}], config.json's model needs [${shape.join(', ')}]`);
    }
  };
  const params = new Map(model.namedParameters());
  const ignored: string[] = [];
  for (const [name, t] of Object.entries(stored)) {
    const p = params.get(name);
    if (p) {
      checkF32(name, t, p.shape);
    } else if (MASK_BUFFER.test(name)) {
      ignored.push(name);
    } else if (name === 'lm_head.weight') {
      const wte = stored['transformer.wte.weight'];
      checkF32(name, t, model.transformer.wte.weight.shape);
      if (wte && !sameBits(t.data as Float32Array, wte.data as Float32Array)) {
        fail('unexpected-tensor', name, 'differs from transformer.wte.weight: an untied output head, which NovaRL\'s GPT (tied, as GPT-2) cannot hold');
      }
      ignored.push(name);
    } else if (name.startsWith('v_head.') && !model.v_head) {
      ignored.push(name);
    } else {
      fail('unexpected-tensor', name, 'is not a parameter of GPT2LMHeadModel with this config.json');
    }
  }
  for (const [name] of params) {
    if (name in stored) continue;
    if (freshValueHead && name.startsWith('v_head.')) continue;
    fail('missing-tensor', name, `is missing (the model needs it: shape [${params.get(name)!.shape.join(', ')}])`);
  }
  for (const [name, p] of params) if (name in stored) p.set(stored[name]!.data as Float32Array);
  if (freshValueHead) model.resetValueHead();
  return ignored.sort();
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

function readJson(bytes: Uint8Array, file: string, problem: 'config' | 'generation-config'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new HuggingFaceError(`${file}: not valid UTF-8 JSON (${(error as Error).message})`, problem, file);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HuggingFaceError(`${file}: not a JSON object`, problem, file);
  return value as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// On disk

function fileSystem(what: string): Promise<{ fs: FsPromises; path: PathModule }> {
  return nodeFileSystem(() => new HuggingFaceError(`${what} needs a file system (node:fs); without one, use encodeHuggingFace / decodeHuggingFace`, 'io'));
}

function ioError(action: string, file: string, error: unknown): HuggingFaceError {
  return new HuggingFaceError(`could not ${action} ${file}: ${(error as Error).message}`, 'io', file);
}

async function exists(fs: FsPromises, p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** `.<name>.previous` and `.<name>.incoming-<tag>` beside `dir`. */
function siblings(path: PathModule, dir: string): { parent: string; previous: string; incomingPrefix: string } {
  const full = path.resolve(dir);
  const parent = path.dirname(full), base = path.basename(full);
  return { parent, previous: path.join(parent, `.${base}.previous`), incomingPrefix: `.${base}.incoming-` };
}


/**
 * Saves `model` as a Hugging Face directory at `dir`, replacing what is there as a whole and
 * crash-safely (see the top of this file). Everything is encoded and validated before the first
 * byte is written.
 */
export async function saveHuggingFace(dir: string, model: GPT, options: HuggingFaceDiskSaveOptions = {}): Promise<void> {
  await writeHuggingFaceDirectory(dir, encodeHuggingFace(model, options), options);
}

/**
 * Writes already encoded model files (name -> bytes) as the directory `dir` with saveHuggingFace's
 * crash-safe swap: for other Hugging Face layouts (the reward model's GPT2ForSequenceClassification).
 */
export async function writeHuggingFaceDirectory(dir: string, files: Record<string, Uint8Array>, options: Pick<HuggingFaceDiskSaveOptions, 'afterEachStep'> = {}): Promise<void> {
  const { fs, path } = await fileSystem('saveHuggingFace');
  const notify = async (step: HuggingFaceSaveStep): Promise<void> => {
    await options.afterEachStep?.(step);
  };
  const target = path.resolve(dir);
  const { parent, previous, incomingPrefix } = siblings(path, dir);
  const attempt = async <T>(action: string, file: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw ioError(action, file, error);
    }
  };
  await attempt('create the parent directory', parent, () => fs.mkdir(parent, { recursive: true }));

  // What an earlier, killed save left: a `.previous` is the model when `dir` is absent, else stale.
  if (await exists(fs, previous)) {
    if (await exists(fs, target)) await attempt('remove the stale directory', previous, () => fs.rm(previous, { recursive: true, force: true }));
    else await attempt('restore the previous directory', previous, () => fs.rename(previous, target));
  }
  for (const name of await fs.readdir(parent)) {
    if (name.startsWith(incomingPrefix) && /^[0-9a-f]{8}$/.test(name.slice(incomingPrefix.length))) {
      await attempt('remove the leftover directory', name, () => fs.rm(path.join(parent, name), { recursive: true, force: true }));
      await notify({ stage: 'removed', file: name });
    }
  }
  const replacing = await exists(fs, target);
  if (replacing) {
    const stat = await fs.stat(target);
    if (!stat.isDirectory()) throw new HuggingFaceError(`${target} exists and is not a directory`, 'io', target);
    const entries = await fs.readdir(target);
    if (entries.length > 0 && !entries.includes(CONFIG)) {
      throw new HuggingFaceError(`refusing to replace ${target}: it is not empty and has no ${CONFIG}, so it is not a model directory`, 'io', target);
    }
  }

  const incoming = path.join(parent, `${incomingPrefix}${randomTag()}`);
  await attempt('create', incoming, () => fs.mkdir(incoming));
  for (const [name, bytes] of Object.entries(files)) {
    const file = path.join(incoming, name);
    await attempt('write', file, async () => {
      await writeNewFileSynced(fs, file, bytes);
    });
    await notify({ stage: 'written', file: name });
  }
  await syncDirectory(fs, incoming, (error) => ioError('sync the directory', incoming, error));
  await notify({ stage: 'synced', file: path.basename(incoming) });

  if (replacing) {
    await attempt('move aside', target, () => fs.rename(target, previous));
    await syncDirectory(fs, parent, (error) => ioError('sync the directory', parent, error));
    await notify({ stage: 'moved-aside', file: path.basename(previous) });
  }
  await attempt('install', target, () => fs.rename(incoming, target)); // the commit
  await syncDirectory(fs, parent, (error) => ioError('sync the directory', parent, error));
  await notify({ stage: 'installed', file: path.basename(target) });
  if (replacing) {
    await attempt('remove', previous, () => fs.rm(previous, { recursive: true, force: true }));
    await notify({ stage: 'removed', file: path.basename(previous) });
  }
}

/**
 * Loads the model directory at `dir` (or, when `dir` is absent because a save was killed
 * between its two renames, the `.previous` directory beside it), checking every file.
 */
export async function loadHuggingFace(dir: string, options: HuggingFaceLoadOptions = {}): Promise<LoadedHuggingFace> {
  const { files, fromPrevious } = await readHuggingFaceDirectory(dir);
  const loaded = decodeHuggingFace(files, options);
  if (fromPrevious) loaded.fromPrevious = true;
  return loaded;
}

/**
 * Reads a model directory's files (config.json, model.safetensors, generation_config.json and
 * the tokenizer's) as bytes, from `dir` or, when a save was killed between its two renames, from
 * its `.previous`: loadHuggingFace's reading, for other layouts to decode.
 */
export async function readHuggingFaceDirectory(dir: string): Promise<{ files: Record<string, Uint8Array>; fromPrevious: boolean }> {
  const { fs, path } = await fileSystem('loadHuggingFace');
  let source = path.resolve(dir);
  let fromPrevious = false;
  if (!(await exists(fs, source))) {
    const { previous } = siblings(path, dir);
    if (!(await exists(fs, previous))) throw new HuggingFaceError(`model directory ${source} does not exist`, 'missing-file', source);
    source = previous;
    fromPrevious = true;
  }
  let names: string[];
  try {
    names = await fs.readdir(source);
  } catch (error) {
    throw ioError('list', source, error);
  }
  const files: Record<string, Uint8Array> = {};
  for (const name of names.filter((n) => MODEL_FILES.has(n) || TOKENIZER_FILE.test(n))) {
    const file = path.join(source, name);
    try {
      const data = await fs.readFile(file);
      files[name] = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      throw ioError('read', file, error);
    }
  }
  return { files, fromPrevious };
}
