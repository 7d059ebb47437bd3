// GPT: GPT-2's architecture with the parameter names and layouts of Hugging Face's
// `GPT2LMHeadModel`, so its state dict maps one to one onto a transformers checkpoint
// (sdk/io/huggingface.ts writes and reads that directory).
//
//   ids (B, T) ──wte──┐
//   positions (B, T) ─wpe─┴─ + ── h.0 ... h.{L-1} ── ln_f ── x wte^T ──▶ logits (B, T, V)
//   each block h.i (pre-layer-norm):  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
//   attn: c_attn (C -> 3C) → q, k, v split into H heads of D = C / H → causal softmax(q k^T / sqrt(D)) v → c_proj
//   mlp:  c_fc (C -> 4C) → gelu (tanh form, transformers' "gelu_new") → c_proj (4C -> C)
//
// Conv1D is GPT-2's name for a linear layer stored (in, out): y = x W + b with no transpose,
// which is why its weights are not laid out like sdk/nn/linear.ts's (out, in). The output head
// is the token embedding itself (tied): `lm_head.weight` is `transformer.wte.weight`, not a
// parameter of its own. NovaRL applies no dropout (GPT-2's pdrop fields are ignored).
//
// Left padding: an attention mask (B, T) of 0/1 excludes masked keys from every query's softmax,
// and the position of each real token counts only the real tokens before it (mask cumsum - 1, as
// transformers' generate() sets position_ids), so a left-padded row gives, at its real
// positions, the logits of the same row unpadded.

import type { Core } from '../core/core';
import { defaultCore } from '../core/core';
import { ShapeError, ValueError, formatShape } from '../core/errors';
import { noGrad } from '../core/grad_mode';
import { maskedMean } from '../core/losses';
import { Module, Parameter } from '../core/module';
import { getRngState, normal_, setRngState, uniform_ } from '../core/random';
import { MAX_INDEX, Tensor } from '../core/tensor';
import { causalSelfAttention } from './attention';
import { KVCache } from './kv_cache';
import { Linear } from './linear';

/** GPT-2's hyperparameters (transformers' GPT2Config names in the comments). */
export interface GPTConfig {
  /** Number of token ids, V (vocab_size). */
  vocabSize: number;
  /** Number of transformer blocks, L (n_layer). */
  nLayer: number;
  /** Attention heads per block, H (n_head); must divide nEmbd. */
  nHead: number;
  /** Width of the residual stream, C (n_embd). */
  nEmbd: number;
  /** Longest sequence, P: rows of the position embedding (n_positions). */
  nPositions: number;
  /** Epsilon of every layer norm (layer_norm_epsilon, default 1e-5). */
  layerNormEpsilon?: number;
}

/** A GPTConfig with its defaults filled in. */
export type ResolvedGPTConfig = Required<GPTConfig>;

export interface GPTOptions {
  /** Add TRL's scalar value head (`v_head.summary`, a Linear(nEmbd, 1)) for PPO (default false). */
  valueHead?: boolean;
  /**
   * Draw GPT-2's initialisation from the core's generator (default true). False leaves every
   * parameter zero and draws nothing: for models about to be loaded from a checkpoint.
   */
  init?: boolean;
  core?: Core;
}

/** Token ids or a 0/1 mask: a (B, T) tensor, or rows of numbers. */
export type TokenRows = Tensor | readonly (readonly number[])[];

export interface GPTForwardOptions {
  /**
   * (B, T) of 0/1: 0 marks padding. Masked keys are excluded from attention; positions become
   * cumsum(mask) - 1 (1 at masked places, as transformers does) unless positionIds is given.
   */
  attentionMask?: TokenRows;
  /** (B, T) explicit position ids in [0, nPositions); default 0..T-1, or from attentionMask. */
  positionIds?: TokenRows;
}

export interface GPTCachedOptions {
  /** The KV cache holding the keys and values of the cache.length tokens before these. */
  cache: KVCache;
  /** (B, T) positions of the new tokens, in [0, nPositions). */
  positionIds: TokenRows;
  /** (B, cache.length + T) of 0/1 over every key, the cached ones first. */
  attentionMask: TokenRows;
}

/** The crossEntropy target of a masked-out position (PyTorch's ignore_index default). */
const IGNORED_TARGET = -100;

export interface GPTLossOptions extends GPTForwardOptions {
  /** (B, T) weights of each target in the mean (default: attentionMask when given, else all ones). */
  lossMask?: TokenRows;
}

/**
 * transformers' fill for masked attention scores: float32's lowest finite value
 * (torch.finfo(dtype).min), under which a query whose keys are all masked softmaxes to a uniform
 * row. NovaRL's fused attention skips masked keys instead and gives such a query 0; both are
 * finite, and neither value reaches a real token's output.
 */
export const MASKED_SCORE = -3.4028234663852886e38;

// ---------------------------------------------------------------------------------------------
// The pieces, named as in transformers' modeling_gpt2.py so parameter paths match

/** A table of row vectors: weight (rows, C). */
class Embedding extends Module {
  readonly weight: Parameter;
  constructor(rows: number, width: number, core: Core) {
    super();
    this.weight = Parameter.create([rows, width], core);
  }
}

/** Layer norm with gain `weight` (ones) and `bias` (zeros), both (C). */
class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(width: number, readonly eps: number, core: Core) {
    super();
    this.weight = Parameter.create([width], core).set(new Float32Array(width).fill(1));
    this.bias = Parameter.create([width], core);
  }
  forward(x: Tensor): Tensor {
    return x.layerNorm(this.weight, this.bias, this.eps);
  }
}

/** GPT-2's Conv1D: a linear layer stored (in, out), y = x W + b. */
class Conv1D extends Module {
  readonly weight: Parameter; // (in, out)
  readonly bias: Parameter; // (out)
  constructor(inFeatures: number, outFeatures: number, core: Core) {
    super();
    this.weight = Parameter.create([inFeatures, outFeatures], core);
    this.bias = Parameter.create([outFeatures], core);
  }
  // x: (B, T, in) -> (B, T, out)
  forward(x: Tensor): Tensor {
    return x.matmul(this.weight).add(this.bias);
  }
}

class Attention extends Module {
  readonly c_attn: Conv1D; // C -> 3C: q, k, v side by side
  readonly c_proj: Conv1D; // C -> C
  constructor(readonly nEmbd: number, readonly nHead: number, core: Core) {
    super();
    this.c_attn = new Conv1D(nEmbd, 3 * nEmbd, core);
    this.c_proj = new Conv1D(nEmbd, nEmbd, core);
  }

  // x: (B, T, C), keyMask: (B, P+T) of 0/1 or undefined (no padding) -> (B, T, C).
  // With a cache layer, this step's keys and values are written at positions P..P+T-1 of the
  // cache and the queries attend over all P+T of them; without one, P = 0.
  forward(x: Tensor, keyMask: Tensor | undefined, cached?: CachedLayer): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const H = this.nHead, D = C / H;
    const qkv = this.c_attn.forward(x); // (B, T, 3C)
    // (B, T, C) -> (B, H, T, D); with one token (a decoding step) the transpose moves nothing
    const toHeads = (t: Tensor): Tensor => (T === 1 ? t.reshape([B, H, 1, D]) : t.reshape([B, T, H, D]).transpose(1, 2));
    const heads = (part: number): Tensor => toHeads(qkv.narrow(2, part * C, C));
    let k = heads(1), v = heads(2);
    if (cached) {
      const { cache, layer } = cached;
      const past = cache.length;
      k.writeInto(cache.keys[layer]!, 2, past);
      v.writeInto(cache.values[layer]!, 2, past);
      k = cache.keys[layer]!.narrow(2, 0, past + T); // (B, H, P+T, D)
      v = cache.values[layer]!.narrow(2, 0, past + T);
    }
    const y = attend(heads(0), k, v, keyMask); // (B, H, T, D)
    return this.c_proj.forward((T === 1 ? y : y.transpose(1, 2)).reshape([B, T, C]));
  }
}

/** One layer's slot in a KV cache. */
interface CachedLayer {
  cache: KVCache;
  layer: number;
}

/**
 * Causal self-attention, the fused core op (sdk/nn/attention.ts): softmax(q k^T / sqrt(D)) v
 * where query i (at position P + i) sees key j when j <= P + i and keyMask[b, j] is 1.
 * q (B, H, T, D), k and v (B, H, P+T, D) -> (B, H, T, D). A query whose keys are all masked
 * (a padding query under left padding) gets 0: finite, and no gradient flows through it.
 */
function attend(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor | undefined): Tensor {
  return causalSelfAttention(q, k, v, keyMask ? { mask: keyMask } : {});
}

class MLP extends Module {
  readonly c_fc: Conv1D; // C -> 4C
  readonly c_proj: Conv1D; // 4C -> C
  constructor(nEmbd: number, core: Core) {
    super();
    this.c_fc = new Conv1D(nEmbd, 4 * nEmbd, core);
    this.c_proj = new Conv1D(4 * nEmbd, nEmbd, core);
  }
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(this.c_fc.forward(x).gelu());
  }
}

class Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: Attention;
  readonly ln_2: LayerNorm;
  readonly mlp: MLP;
  constructor(config: ResolvedGPTConfig, core: Core) {
    super();
    this.ln_1 = new LayerNorm(config.nEmbd, config.layerNormEpsilon, core);
    this.attn = new Attention(config.nEmbd, config.nHead, core);
    this.ln_2 = new LayerNorm(config.nEmbd, config.layerNormEpsilon, core);
    this.mlp = new MLP(config.nEmbd, core);
  }
  forward(x: Tensor, keyMask: Tensor | undefined, cached?: CachedLayer): Tensor {
    const h = x.add(this.attn.forward(this.ln_1.forward(x), keyMask, cached));
    return h.add(this.mlp.forward(this.ln_2.forward(h)));
  }
}

/** transformers' GPT2Model: embeddings, blocks, final layer norm. */
class Transformer extends Module {
  readonly wte: Embedding; // (V, C)
  readonly wpe: Embedding; // (P, C)
  readonly h: Block[];
  readonly ln_f: LayerNorm;
  constructor(config: ResolvedGPTConfig, core: Core) {
    super();
    this.wte = new Embedding(config.vocabSize, config.nEmbd, core);
    this.wpe = new Embedding(config.nPositions, config.nEmbd, core);
    this.h = Array.from({ length: config.nLayer }, () => new Block(config, core));
    this.ln_f = new LayerNorm(config.nEmbd, config.layerNormEpsilon, core);
  }
}

/** TRL's ValueHead: `summary`, a Linear(nEmbd, 1) on the last hidden state. */
class ValueHead extends Module {
  readonly summary: Linear; // weight (1, C), bias (1), PyTorch's Linear layout
  constructor(nEmbd: number, core: Core) {
    super();
    this.summary = new Linear(nEmbd, 1, { core }); // TRL's default: nn.Linear's own init
  }
}

// ---------------------------------------------------------------------------------------------
// The model

/**
 * GPT-2 language model (transformers' GPT2LMHeadModel), optionally with TRL's value head
 * (AutoModelForCausalLMWithValueHead). Parameter names are transformers' state-dict keys:
 * `transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`, ..., `v_head.summary.weight`.
 */
export class GPT extends Module {
  readonly config: ResolvedGPTConfig;
  readonly transformer: Transformer;
  readonly v_head?: ValueHead;
  readonly core: Core;

  constructor(config: GPTConfig, options: GPTOptions = {}) {
    super();
    this.config = resolveGPTConfig(config);
    this.core = options.core ?? defaultCore();
    this.transformer = new Transformer(this.config, this.core);
    if (options.init ?? true) initGPT2(this);
    if (options.valueHead) {
      // Linear always draws its init; without init, put the generator back and zero the head
      const rng = options.init ?? true ? undefined : getRngState(this.core);
      this.v_head = new ValueHead(this.config.nEmbd, this.core);
      if (rng) {
        setRngState(rng, this.core);
        for (const p of this.v_head.parameters()) p.set(new Float32Array(p.size));
      }
    }
  }

  /**
   * Redraws the value head as TRL does when a checkpoint has none (nn.Linear's default init,
   * U(-1/sqrt(C), 1/sqrt(C)) for weight and bias), from the core's generator.
   */
  resetValueHead(): void {
    if (!this.v_head) throw new ValueError('GPT.resetValueHead: this model has no value head');
    const bound = 1 / Math.sqrt(this.config.nEmbd);
    uniform_(this.v_head.summary.weight, -bound, bound);
    uniform_(this.v_head.summary.bias!, -bound, bound);
  }

  /** The output head: the token embedding (V, C), tied as in GPT-2 (transformers' lm_head.weight). */
  get lmHeadWeight(): Parameter {
    return this.transformer.wte.weight;
  }

  /** The last hidden state, after ln_f: ids (B, T) -> (B, T, C). */
  hidden(ids: TokenRows, options: GPTForwardOptions = {}): Tensor {
    const tokens = this.tokenTensor(ids, 'ids');
    const [B, T] = tokens.shape as [number, number];
    if (T > this.config.nPositions) throw new ShapeError('GPT', [tokens.shape], `sequence length ${T} exceeds nPositions ${this.config.nPositions}`);
    const mask = options.attentionMask === undefined ? undefined : this.hostRows(options.attentionMask, 'attentionMask', B, T);
    if (mask) checkMask(mask);
    const positions = options.positionIds === undefined ? defaultPositions(B, T, mask) : this.hostRows(options.positionIds, 'positionIds', B, T);
    return this.blocks(tokens, positions, keyMaskOf(mask, [B, T], this.core));
  }

  /**
   * One step of incremental decoding: the last hidden state (B, T, C) of T new tokens that
   * follow the cache.length tokens already in `cache`, whose keys and values are reused instead
   * of recomputed. This step's keys and values are written into the cache, and cache.length
   * grows by T. Records no gradient (the cache is written in place).
   * positionIds (B, T): the new tokens' positions; attentionMask (B, cache.length + T): 0/1 over
   * every key, past and new.
   */
  hiddenCached(ids: TokenRows, options: GPTCachedOptions): Tensor {
    const { cache } = options;
    if (!(cache instanceof KVCache) || cache.freed) throw new ValueError('GPT.hiddenCached: needs a live KVCache (new KVCache(model.config, batch, capacity))');
    if (cache.core !== this.core) throw new ValueError('GPT.hiddenCached: the cache lives on another core');
    const { nLayer, nHead, nEmbd } = this.config;
    if (cache.nLayer !== nLayer || cache.nHead !== nHead || cache.headSize !== nEmbd / nHead) {
      throw new ValueError(`GPT.hiddenCached: the cache was made for ${cache.nLayer} layers of ${cache.nHead} heads of size ${cache.headSize}, not this model's config`);
    }
    const tokens = this.tokenTensor(ids, 'ids');
    const [B, T] = tokens.shape as [number, number];
    if (B !== cache.batch) throw new ShapeError('GPT.hiddenCached', [tokens.shape], `the cache holds ${cache.batch} rows, the ids ${B}`);
    const past = cache.length;
    if (past + T > cache.capacity) throw new ValueError(`GPT.hiddenCached: ${past} cached + ${T} new positions exceed the cache's capacity ${cache.capacity}`);
    const mask = this.hostRows(options.attentionMask, 'attentionMask', B, past + T);
    checkMask(mask);
    const positions = this.hostRows(options.positionIds, 'positionIds', B, T);
    const out = noGrad(() => this.blocks(tokens, positions, keyMaskOf(mask, [B, past + T], this.core), cache), this.core);
    cache.length = past + T;
    return out;
  }

  /** Embeddings, blocks and ln_f: tokens (B, T), positions (B, T) -> (B, T, C). */
  private blocks(tokens: Tensor, positions: Float32Array, keyMask: Tensor | undefined, cache?: KVCache): Tensor {
    const [B, T] = tokens.shape as [number, number];
    checkIntegers('GPT: ids', tokens.view(), this.config.vocabSize);
    checkIntegers('GPT: positionIds', positions, this.config.nPositions);
    const t = this.transformer;
    let x = Tensor.embedding(t.wte.weight, tokens).add(Tensor.embedding(t.wpe.weight, Tensor.from(positions, [B, T], { core: this.core })));
    t.h.forEach((block, layer) => (x = block.forward(x, keyMask, cache && { cache, layer })));
    return t.ln_f.forward(x);
  }

  /** Next-token logits: ids (B, T) -> (B, T, V). */
  forward(ids: TokenRows, options: GPTForwardOptions = {}): Tensor {
    return this.logitsOf(this.hidden(ids, options));
  }

  /** Logits from a last hidden state (B, T, C): h wte^T -> (B, T, V). */
  logitsOf(hidden: Tensor): Tensor {
    return hidden.matmul(this.transformer.wte.weight, { transB: true });
  }

  /** The value head on a last hidden state: (B, T, C) -> (B, T). Needs valueHead: true. */
  valuesOf(hidden: Tensor): Tensor {
    if (!this.v_head) throw new ValueError('GPT.valuesOf: this model has no value head (construct it with { valueHead: true })');
    const [B, T] = hidden.shape as [number, number];
    return this.v_head.summary.forward(hidden).reshape([B, T]);
  }

  /** Logits (B, T, V) and values (B, T) from one pass through the transformer (PPO's policy + critic). */
  forwardWithValues(ids: TokenRows, options: GPTForwardOptions = {}): { logits: Tensor; values: Tensor } {
    const h = this.hidden(ids, options);
    return { logits: this.logitsOf(h), values: this.valuesOf(h) };
  }

  /**
   * log p(targets[b, t] | ids[b, :t+1]): the log-prob the model gives each target token at each
   * position, (B, T). For a sequence's own next tokens pass targets = ids shifted left by one.
   */
  tokenLogProbs(ids: TokenRows, targets: TokenRows, options: GPTForwardOptions = {}): Tensor {
    const logits = this.forward(ids, options);
    return tokenLogProbsOf(logits, this.tokenTensor(targets, 'targets'));
  }

  /**
   * Mean cross-entropy of targets (B, T) over the lossMask (default: attentionMask, else all).
   * A 0/1 mask goes through the fused crossEntropy op (masked targets ignored); other weights
   * through a weighted mean of the token log-probs.
   */
  loss(ids: TokenRows, targets: TokenRows, options: GPTLossOptions = {}): Tensor {
    const logits = this.forward(ids, options);
    const [B, T] = logits.shape as [number, number];
    const goal = this.tokenTensor(targets, 'targets');
    const weights = options.lossMask ?? options.attentionMask;
    if (weights === undefined) return logits.crossEntropy(goal);
    const w = this.hostRows(weights, 'lossMask', B, T);
    if (w.every((x) => x === 0 || x === 1)) {
      if (!goal.shape.every((d, i) => d === [B, T][i])) throw new ShapeError('GPT', [goal.shape, [B, T]], `targets must have the ids' shape ${formatShape([B, T])}`);
      const kept = goal.toArray().map((id, i) => (w[i] === 1 ? id : IGNORED_TARGET));
      return logits.crossEntropy(Tensor.from(kept, [B, T], { core: this.core }), { ignoreIndex: IGNORED_TARGET });
    }
    return maskedMean(tokenLogProbsOf(logits, goal), Tensor.from(w, [B, T], { core: this.core })).neg();
  }

  /** ids as a (B, T) tensor on this model's core. */
  private tokenTensor(rows: TokenRows, what: string): Tensor {
    if (rows instanceof Tensor) {
      if (rows.rank !== 2) throw new ShapeError('GPT', [rows.shape], `${what} must be (B, T)`);
      if (rows.core !== this.core) throw new ValueError(`GPT: ${what} lives on another core`);
      return rows;
    }
    const [data, shape] = flattenRows(rows, what);
    return Tensor.from(data, shape, { core: this.core });
  }

  /** A (B, T) mask or index as host numbers, checked against the ids' shape. */
  private hostRows(rows: TokenRows, what: string, B: number, T: number): Float32Array {
    const [data, shape] = rows instanceof Tensor ? [rows.toArray(), rows.shape] : flattenRows(rows, what);
    if (shape.length !== 2 || shape[0] !== B || shape[1] !== T) {
      throw new ShapeError('GPT', [shape, [B, T]], `${what} must have the ids' shape ${formatShape([B, T])}`);
    }
    return data;
  }
}

/** Fills in defaults and checks every field; ValueError names the bad one. */
export function resolveGPTConfig(config: GPTConfig): ResolvedGPTConfig {
  if (typeof config !== 'object' || config === null) throw new ValueError('GPT config must be an object');
  for (const key of ['vocabSize', 'nLayer', 'nHead', 'nEmbd', 'nPositions'] as const) {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value < 1) throw new ValueError(`GPT config: ${key} must be a positive integer, got ${String(value)}`);
  }
  const layerNormEpsilon = config.layerNormEpsilon ?? 1e-5;
  if (!(Number.isFinite(layerNormEpsilon) && layerNormEpsilon > 0)) {
    throw new ValueError(`GPT config: layerNormEpsilon must be a finite number > 0, got ${String(layerNormEpsilon)}`);
  }
  if (config.nEmbd % config.nHead !== 0) throw new ValueError(`GPT config: nHead (${config.nHead}) must divide nEmbd (${config.nEmbd})`);
  // ids and positions travel as f32, exact up to 2^24
  if (config.vocabSize > MAX_INDEX || config.nPositions > MAX_INDEX) throw new ValueError('GPT config: vocabSize and nPositions must be at most 2^24');
  const { vocabSize, nLayer, nHead, nEmbd, nPositions } = config;
  return { vocabSize, nLayer, nHead, nEmbd, nPositions, layerNormEpsilon };
}

/**
 * GPT-2's initialisation (transformers' GPT2PreTrainedModel._init_weights): every weight and
 * embedding normal(0, 0.02), biases zero, layer-norm gains one, and the two residual projections
 * (attn.c_proj, mlp.c_proj) normal(0, 0.02 / sqrt(2 nLayer)) so the residual stream's variance
 * does not grow with depth. Draws from the core's generator in parameter order.
 */
function initGPT2(model: GPT): void {
  const std = 0.02;
  const residualStd = std / Math.sqrt(2 * model.config.nLayer);
  for (const [name, p] of model.transformer.namedParameters()) {
    if (name.endsWith('c_proj.weight')) normal_(p, 0, residualStd);
    else if (name.startsWith('wte.') || name.startsWith('wpe.') || name.endsWith('c_attn.weight') || name.endsWith('c_fc.weight')) normal_(p, 0, std);
    // layer-norm gains stay one and every bias zero, as constructed
  }
}

/** log_softmax(logits)[..., target]: logits (B, T, V), targets (B, T) -> (B, T). */
export function tokenLogProbsOf(logits: Tensor, targets: Tensor): Tensor {
  return logits.tokenLogProbs(targets); // fused: no (B, T, V) log-softmax is stored
}

/**
 * Position ids: 0..T-1 per row, or with a mask cumsum(mask) - 1 at real tokens and 1 at padding
 * (transformers' GPT2 prepare_inputs_for_generation).
 */
function defaultPositions(B: number, T: number, mask: Float32Array | undefined): Float32Array {
  const out = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    let seen = 0;
    for (let t = 0; t < T; t++) {
      if (!mask) out[b * T + t] = t;
      else if (mask[b * T + t] === 1) out[b * T + t] = seen++;
      else out[b * T + t] = 1;
    }
  }
  return out;
}

/** The key mask as a tensor for attention, or undefined when it masks nothing (the same result, less work). */
function keyMaskOf(mask: Float32Array | undefined, shape: [number, number], core: Core): Tensor | undefined {
  return mask && !mask.every((m) => m === 1) ? Tensor.from(mask, shape, { core }) : undefined;
}

function checkMask(mask: Float32Array): void {
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 0 && mask[i] !== 1) throw new ValueError(`GPT: attentionMask must hold 0 or 1, got ${mask[i]} at flat index ${i}`);
  }
}

function checkIntegers(what: string, values: Float32Array, bound: number): void {
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (!Number.isInteger(x) || x < 0 || x >= bound) throw new ValueError(`${what}: ${x} at flat index ${i} is not an integer in [0, ${bound})`);
  }
}

/** Rows of equal length as one flat array and its (B, T) shape. */
function flattenRows(rows: readonly (readonly number[])[], what: string): [Float32Array, [number, number]] {
  if (!Array.isArray(rows) || rows.length === 0 || !rows.every((r) => Array.isArray(r))) {
    throw new ValueError(`GPT: ${what} must be a (B, T) tensor or a non-empty array of rows`);
  }
  const T = rows[0]!.length;
  if (T === 0 || rows.some((r) => r.length !== T)) {
    throw new ShapeError('GPT', rows.map((r) => [r.length]), `${what}: every row needs the same, non-zero length`);
  }
  const data = new Float32Array(rows.length * T);
  rows.forEach((r, b) => r.forEach((x, t) => (data[b * T + t] = x)));
  return [data, [rows.length, T]];
}
