// The GPT module and its Hugging Face directory: parameter names and layouts, GPT-2's init,
// the tied head, left padding, the value head, log-probs, typed errors, a bit-exact save/load
// round trip, every refusal of a corrupt or mismatched directory, and crash safety. Values and
// gradients against an independent implementation are in tests/gpt_torch.test.ts (PyTorch).

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  GPT,
  HuggingFaceError,
  ShapeError,
  Tensor,
  ValueError,
  decodeHuggingFace,
  encodeHuggingFace,
  getRngState,
  loadHuggingFace,
  noGrad,
  tokenLogProbsOf,
  parseSafetensors,
  saveHuggingFace,
  seed,
  serializeSafetensors,
  type Core,
  type HuggingFaceProblem,
  type HuggingFaceSaveStep,
  type SafeTensor,
} from '../sdk/index';
import { FAKE_TOKENIZER, SMALL_GPT, seededGPT } from './fixtures/huggingface_states';
import { expectBitwiseEqual, expectClose, loadCores, rng } from './util';

let core: Core;
let root: string;
let dirCount = 0;
const freshDir = (): string => join(root, `model-${dirCount++}`);

beforeAll(async () => {
  core = (await loadCores()).simd; // both builds; the SIMD one is the default core
  root = mkdtempSync(join(tmpdir(), 'novarl-gpt-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** GPT2LMHeadModel's state-dict keys and shapes for a config, in transformers' order (without the tied lm_head). */
function expectedParameters(c: typeof SMALL_GPT): [string, number[]][] {
  const C = c.nEmbd;
  const out: [string, number[]][] = [['transformer.wte.weight', [c.vocabSize, C]], ['transformer.wpe.weight', [c.nPositions, C]]];
  for (let i = 0; i < c.nLayer; i++) {
    const p = `transformer.h.${i}.`;
    out.push(
      [`${p}ln_1.weight`, [C]], [`${p}ln_1.bias`, [C]],
      [`${p}attn.c_attn.weight`, [C, 3 * C]], [`${p}attn.c_attn.bias`, [3 * C]],
      [`${p}attn.c_proj.weight`, [C, C]], [`${p}attn.c_proj.bias`, [C]],
      [`${p}ln_2.weight`, [C]], [`${p}ln_2.bias`, [C]],
      [`${p}mlp.c_fc.weight`, [C, 4 * C]], [`${p}mlp.c_fc.bias`, [4 * C]],
      [`${p}mlp.c_proj.weight`, [4 * C, C]], [`${p}mlp.c_proj.bias`, [C]],
    );
  }
  out.push(['transformer.ln_f.weight', [C]], ['transformer.ln_f.bias', [C]]);
  return out;
}

function stats(x: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const v of x) s += v;
  const mean = s / x.length;
  let q = 0;
  for (const v of x) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / x.length) };
}

const ids2 = [
  [5, 17, 3, 44, 90, 12],
  [8, 1, 64, 23, 7, 70],
];

describe('GPT module', () => {
  it('has exactly GPT2LMHeadModel\'s parameter names and shapes, plus TRL\'s v_head when asked', () => {
    seed(1);
    const model = new GPT(SMALL_GPT);
    expect(model.namedParameters().map(([n, p]) => [n, [...p.shape]])).toEqual(expectedParameters(SMALL_GPT));
    const withHead = new GPT(SMALL_GPT, { valueHead: true });
    expect(withHead.namedParameters().map(([n, p]) => [n, [...p.shape]])).toEqual([
      ...expectedParameters(SMALL_GPT),
      ['v_head.summary.weight', [1, SMALL_GPT.nEmbd]],
      ['v_head.summary.bias', [1]],
    ]);
    expect(model.namedParameters().some(([n]) => n.includes('lm_head'))).toBe(false); // tied, not a parameter
    expect(model.lmHeadWeight).toBe(model.transformer.wte.weight);
    model.free();
    withHead.free();
  });

  it('initialises as GPT-2: normal 0.02, residual projections 0.02 / sqrt(2 nLayer), zero biases, unit gains; seeded', () => {
    const config = { vocabSize: 512, nLayer: 4, nHead: 4, nEmbd: 64, nPositions: 64 };
    seed(5);
    const model = new GPT(config);
    const residual = 0.02 / Math.sqrt(2 * config.nLayer);
    for (const [name, p] of model.namedParameters()) {
      const v = p.toArray();
      if (name.endsWith('.bias')) expect(v.every((x) => x === 0), name).toBe(true);
      else if (/ln_\d\.weight$|ln_f\.weight$/.test(name)) expect(v.every((x) => x === 1), name).toBe(true);
      else {
        const { mean, std } = stats(v);
        const target = name.endsWith('c_proj.weight') ? residual : 0.02;
        // n >= 4096 samples: the sample std is within ~3% of sigma (3 standard errors), the mean within 3 sigma/sqrt(n)
        expect(Math.abs(std / target - 1), `${name} std ${std}`).toBeLessThan(0.05);
        expect(Math.abs(mean), `${name} mean ${mean}`).toBeLessThan((3 * target) / Math.sqrt(v.length));
      }
    }
    seed(5);
    const again = new GPT(config);
    for (const [[name, a], [, b]] of model.namedParameters().map((e, i) => [e, again.namedParameters()[i]!] as const)) {
      expectBitwiseEqual(a.toArray(), b.toArray(), name);
    }
    // init: false draws nothing and leaves zeros (models about to be loaded)
    const state = getRngState();
    const blank = new GPT(config, { init: false, valueHead: true });
    expect(getRngState()).toEqual(state);
    expect(blank.transformer.wte.weight.toArray().every((x) => x === 0)).toBe(true);
    expect(blank.v_head!.summary.weight.toArray().every((x) => x === 0)).toBe(true);
    for (const m of [model, again, blank]) m.free();
  });

  it('gives logits (B, T, V) = ln_f(hidden) wte^T (the tied head), log-probs and the loss of given targets', () => {
    const model = seededGPT(3);
    const [B, T, V, C] = [2, 6, SMALL_GPT.vocabSize, SMALL_GPT.nEmbd];
    const hidden = model.hidden(ids2);
    const logits = model.forward(ids2);
    expect(hidden.shape).toEqual([B, T, C]);
    expect(logits.shape).toEqual([B, T, V]);
    // the head in float64 from the hidden state and the embedding table
    const h = hidden.toArray(), w = model.transformer.wte.weight.toArray();
    const expected = new Float64Array(B * T * V);
    for (let r = 0; r < B * T; r++) for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += h[r * C + c]! * w[v * C + c]!;
      expected[r * V + v] = s;
    }
    expectClose(logits.toArray(), expected, 'logits = h wte^T', 1e-5, 1e-6); // length-32 f32 dot products

    const targets = ids2.map((row) => [...row.slice(1), 0]);
    const logp = model.tokenLogProbs(ids2, targets);
    expect(logp.shape).toEqual([B, T]);
    const l = logits.toArray();
    const expectedLogp = new Float64Array(B * T);
    for (let r = 0; r < B * T; r++) {
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, l[r * V + v]!);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(l[r * V + v]! - max);
      expectedLogp[r] = l[r * V + targets[Math.floor(r / T)]![r % T]!]! - max - Math.log(z);
    }
    expectClose(logp.toArray(), expectedLogp, 'log-probs', 1e-5, 1e-6);
    const mean = expectedLogp.reduce((a, b) => a + b, 0) / (B * T);
    expectClose([model.loss(ids2, targets).item()], [-mean], 'loss', 1e-5, 1e-6);
    // with a loss mask: the mean over the selected targets only
    const lossMask = [[0, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 0]];
    let s = 0, n = 0;
    lossMask.flat().forEach((m, i) => { if (m) { s += expectedLogp[i]!; n++; } });
    expectClose([model.loss(ids2, targets, { lossMask }).item()], [-s / n], 'masked loss', 1e-5, 1e-6);

    // the tied head takes gradient too: token 96 is never an input, yet its row gets one
    model.loss(ids2, targets).backward();
    const g = model.transformer.wte.weight.grad()!;
    expect(g.slice(96 * C, 97 * C).some((x) => x !== 0)).toBe(true);
    core.endStep();
    model.free();
  });

  it('left padding: a padded row gives, at its real positions, the logits of the same row alone; padding rows stay finite', () => {
    const model = seededGPT(4);
    const [V, PAD] = [SMALL_GPT.vocabSize, 3];
    const real = [11, 22, 33, 44, 55];
    const other = [1, 2, 3, 4, 5, 6, 7, 8];
    const padded = [...Array(PAD).fill(0), ...real];
    const mask = [Array(8).fill(1), [...Array(PAD).fill(0), ...Array(5).fill(1)]];
    const batch = model.forward([other, padded], { attentionMask: mask }).toArray();
    const alone = model.forward([real]).toArray();
    expect(batch.every(Number.isFinite)).toBe(true); // padding queries see only masked keys: attention gives 0, not NaN
    // The fused attention skips masked keys, so the sums differ at most in which SIMD lane adds
    // which term: measured bit-identical here, allowed a few float32 ulps.
    const realPart = batch.slice((8 + PAD) * V, 16 * V);
    expectClose(realPart, alone, 'padded row at real positions vs the row alone', 1e-6, 1e-7);
    // what sits under the mask does not matter at all: other pad tokens give the same bits
    const otherPads = model.forward([other, [90, 91, 92, ...real]], { attentionMask: mask }).toArray();
    expectBitwiseEqual(otherPads.slice((8 + PAD) * V), batch.slice((8 + PAD) * V), 'real positions with other pad tokens');
    // explicit position ids equal to the mask-derived ones give the same result
    const positionIds = [[0, 1, 2, 3, 4, 5, 6, 7], [1, 1, 1, 0, 1, 2, 3, 4]];
    expectBitwiseEqual(model.forward([other, padded], { attentionMask: mask, positionIds }).toArray(), batch, 'explicit positions');
    // the first row, unpadded, is unaffected by the second's padding
    expectClose(batch.slice(0, 8 * V), model.forward([other]).toArray(), 'unpadded row', 1e-6, 1e-7);
    // masks and ids may come as tensors
    const asTensors = model.forward(Tensor.from([...other, ...padded], [2, 8]), { attentionMask: Tensor.from(mask.flat(), [2, 8]) }).toArray();
    expectBitwiseEqual(asTensors, batch, 'tensor inputs');
    core.endStep();
    model.free();
  });

  it('value head: values (B, T) = hidden v_head.summary.weight^T + bias, one pass with the logits', () => {
    const model = seededGPT(6, true);
    const { logits, values } = model.forwardWithValues(ids2);
    expect(values.shape).toEqual([2, 6]);
    expectBitwiseEqual(logits.toArray(), model.forward(ids2).toArray(), 'logits with and without values');
    const h = model.hidden(ids2).toArray(), w = model.v_head!.summary.weight.toArray(), b = model.v_head!.summary.bias!.toArray()[0]!;
    const expected = Array.from({ length: 12 }, (_, r) => {
      let s = b;
      for (let c = 0; c < 32; c++) s += h[r * 32 + c]! * w[c]!;
      return s;
    });
    expectClose(values.toArray(), expected, 'values', 1e-5, 1e-6);
    values.sum().backward();
    expect(model.v_head!.summary.weight.grad()!.some((x) => x !== 0)).toBe(true);
    core.endStep();
    const plain = seededGPT(6);
    expect(() => plain.valuesOf(plain.hidden(ids2))).toThrow(ValueError);
    core.endStep();
    model.free();
    plain.free();
  });

  it('every parameter\'s gradient matches a central finite difference of the loss along a random direction', () => {
    // A check that needs no PyTorch (tests/gpt_torch.test.ts compares every element against
    // float64 PyTorch). The loss is evaluated in float32 (~1e-6 absolute rounding), so with h = 1e-2
    // along a unit direction the difference quotient carries ~1e-4 of rounding and ~h^2 of
    // truncation; measured worst 0.3% (3e-5 absolute). 1% + 1e-4 still catches a wrong, missing or
    // misplaced gradient, which is off by O(1).
    const model = seededGPT(13, true);
    for (const [, p] of model.namedParameters()) p.set(p.toArray().map((x, i) => x + 0.05 * Math.sin(7 * i + p.size))); // move off the init's zeros and ones
    const ids = [[0, 0, 5, 17, 3, 44, 90, 12], [8, 1, 64, 23, 7, 70, 2, 9]];
    const targets = ids.map((row) => [...row.slice(1), 11]);
    const attentionMask = [[0, 0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]];
    const objective = (): Tensor => {
      const { logits, values } = model.forwardWithValues(ids, { attentionMask });
      const ce = tokenLogProbsOf(logits, Tensor.from(targets.flat(), [2, 8])).mean().neg();
      return ce.add(values.mul(values).mean().mul(0.5)); // the value head gets a gradient too
    };
    model.zeroGrad();
    objective().backward();
    const grads = new Map(model.namedParameters().map(([n, p]) => [n, p.grad()!]));
    core.endStep();
    const r = rng(99);
    const h = 1e-2;
    for (const [name, p] of model.namedParameters()) {
      const original = p.toArray();
      const u = Float64Array.from({ length: p.size }, () => r() - 0.5);
      const norm = Math.sqrt(u.reduce((a, x) => a + x * x, 0));
      const at = (sign: number): number => {
        p.set(original.map((x, i) => x + sign * h * u[i]! / norm));
        const value = noGrad(() => objective().item());
        core.endStep();
        return value;
      };
      const numeric = (at(1) - at(-1)) / (2 * h);
      p.set(original);
      const g = grads.get(name)!;
      const analytic = g.reduce((a, x, i) => a + x * u[i]! / norm, 0);
      expect(Math.abs(numeric - analytic), `${name}: finite difference ${numeric}, gradient ${analytic}`).toBeLessThan(0.01 * Math.abs(analytic) + 1e-4);
    }
    model.free();
  });

  it('the SIMD and the scalar build give the same bits: init, logits, loss and every gradient', async () => {
    const { simd, scalar } = await loadCores();
    const results = [simd, scalar].map((c) => {
      seed(14, c);
      const model = new GPT(SMALL_GPT, { valueHead: true, core: c });
      const ids = [[0, 0, 5, 17, 3, 44, 90, 12], [8, 1, 64, 23, 7, 70, 2, 9]];
      const attentionMask = [[0, 0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]];
      const { logits, values } = model.forwardWithValues(ids, { attentionMask });
      const loss = tokenLogProbsOf(logits, Tensor.from(ids.flat(), [2, 8], { core: c })).mean().neg().add(values.mean());
      loss.backward();
      const out = { logits: logits.toArray(), loss: Float32Array.of(loss.item()), params: model.namedParameters().map(([n, p]) => [n, p.toArray(), p.grad()!] as const) };
      c.endStep();
      model.free();
      return out;
    });
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    expectBitwiseEqual(a.logits, b.logits, 'logits');
    expectBitwiseEqual(a.loss, b.loss, 'loss');
    a.params.forEach(([name, value, grad], i) => {
      expectBitwiseEqual(value, b.params[i]![1], `${name} init`);
      expectBitwiseEqual(grad, b.params[i]![2], `${name} gradient`);
    });
  });

  it('refuses bad configs and inputs with typed errors', () => {
    const bad: [object, RegExp][] = [
      [{ ...SMALL_GPT, nHead: 3 }, /nHead \(3\) must divide nEmbd \(32\)/],
      [{ ...SMALL_GPT, vocabSize: 0 }, /vocabSize must be a positive integer/],
      [{ ...SMALL_GPT, nLayer: 1.5 }, /nLayer must be a positive integer/],
      [{ ...SMALL_GPT, layerNormEpsilon: -1 }, /layerNormEpsilon must be a finite number > 0/],
    ];
    for (const [config, message] of bad) expect(() => new GPT(config as typeof SMALL_GPT)).toThrow(message);
    const model = seededGPT(7);
    const long = [Array(17).fill(1)];
    expect(() => model.forward(long)).toThrow(ShapeError); // T 17 > nPositions 16
    expect(() => model.forward([[1, 97]])).toThrow(/ids: 97 at flat index 1 is not an integer in \[0, 97\)/);
    expect(() => model.forward([[1, 2.5]])).toThrow(ValueError);
    expect(() => model.forward([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => model.forward([[1, 2]], { attentionMask: [[1, 2]] })).toThrow(/attentionMask must hold 0 or 1/);
    expect(() => model.forward([[1, 2]], { attentionMask: [[1, 1, 1]] })).toThrow(ShapeError);
    expect(() => model.forward([[1, 2]], { positionIds: [[0, 16]] })).toThrow(/positionIds: 16/);
    expect(() => model.forward(Tensor.from([1, 2, 3], [3]))).toThrow(ShapeError);
    expect(() => model.tokenLogProbs([[1, 2]], [[1, 200]])).toThrow(ValueError);
    core.endStep();
    model.free();
  });
});

describe('Hugging Face directory', () => {
  it('round-trips bit for bit, with config.json, generation_config.json, the tokenizer files and no lm_head', async () => {
    const model = seededGPT(8, true);
    const dir = freshDir();
    await saveHuggingFace(dir, model, { tokenizer: FAKE_TOKENIZER, bosTokenId: 96, eosTokenId: 96, generation: { topK: 50, maxNewTokens: 32 } });
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'generation_config.json', 'merges.txt', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([]); // no temporary siblings left

    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 97, n_positions: 16, n_ctx: 16, n_embd: 32, n_layer: 2, n_head: 2,
      n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0,
      initializer_range: 0.02, bos_token_id: 96, eos_token_id: 96, tie_word_embeddings: true, scale_attn_weights: true, use_cache: true, torch_dtype: 'float32',
    });
    expect(typeof config.transformers_version).toBe('string');
    expect(JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'))).toMatchObject({ bos_token_id: 96, eos_token_id: 96, do_sample: true, temperature: 1, top_k: 50, top_p: 1, max_new_tokens: 32 });

    const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    expect(metadata).toEqual({ format: 'pt' });
    expect(Object.keys(tensors).sort()).toEqual(model.namedParameters().map(([n]) => n).sort()); // lm_head.weight not stored
    expect(Object.values(tensors).every((t) => t.dtype === 'F32')).toBe(true);
    expect(tensors['transformer.h.1.attn.c_attn.weight']!.shape).toEqual([32, 96]);

    const loaded = await loadHuggingFace(dir);
    expect(loaded.model.v_head).toBeDefined();
    expect(loaded.model.config).toEqual({ ...SMALL_GPT, layerNormEpsilon: 1e-5 });
    for (const [name, p] of model.namedParameters()) expectBitwiseEqual(loaded.model.stateDict()[name]!, p.toArray(), name);
    expect(loaded.tokenizerFiles).toEqual(FAKE_TOKENIZER.huggingFaceFiles());
    expect(loaded.generationConfig?.['top_k']).toBe(50);
    expect(loaded.ignoredTensors).toEqual([]);
    expectBitwiseEqual(loaded.model.forward(ids2).toArray(), model.forward(ids2).toArray(), 'logits after loading');

    // in memory: the same bytes as on disk, and decoding them gives the same model
    const files = encodeHuggingFace(model, { tokenizer: FAKE_TOKENIZER, bosTokenId: 96, eosTokenId: 96, generation: { topK: 50, maxNewTokens: 32 } });
    for (const name of readdirSync(dir)) expect(Array.from(files[name]!), name).toEqual(Array.from(readFileSync(join(dir, name))));
    const decoded = decodeHuggingFace(files, { valueHead: false });
    expect(decoded.model.v_head).toBeUndefined();
    expect(decoded.ignoredTensors).toEqual(['v_head.summary.bias', 'v_head.summary.weight']);
    core.endStep();
    for (const m of [model, loaded.model, decoded.model]) m.free();
  });

  it('loading draws nothing from the generator, unless it must initialise a missing value head (as TRL)', async () => {
    const model = seededGPT(9);
    const files = encodeHuggingFace(model);
    seed(123);
    const before = getRngState();
    const plain = decodeHuggingFace(files);
    expect(plain.model.v_head).toBeUndefined();
    expect(getRngState()).toEqual(before);
    const withHead = decodeHuggingFace(files, { valueHead: true });
    expect(getRngState()).not.toEqual(before);
    const w = withHead.model.v_head!.summary.weight.toArray();
    const bound = 1 / Math.sqrt(32);
    expect(w.every((x) => Math.abs(x) <= bound) && w.some((x) => x !== 0)).toBe(true);
    for (const m of [model, plain.model, withHead.model]) m.free();
  });

  it('accepts the mask buffers of older checkpoints, a tied lm_head.weight and GPT2Model names; refuses an untied head', () => {
    const model = seededGPT(10);
    const tensors = weightsOf(model);
    const causal = new Float32Array(16 * 16).map((_, i) => (i % 16 <= Math.floor(i / 16) ? 1 : 0));
    const withBuffers: Record<string, SafeTensor> = { ...tensors, 'lm_head.weight': { ...tensors['transformer.wte.weight']! } };
    for (const i of [0, 1]) {
      withBuffers[`transformer.h.${i}.attn.bias`] = { dtype: 'F32', shape: [1, 1, 16, 16], data: causal };
      withBuffers[`transformer.h.${i}.attn.masked_bias`] = { dtype: 'F32', shape: [], data: new Float32Array([-1e4]) };
    }
    const loaded = decodeHuggingFace(withWeights(model, withBuffers));
    expect(loaded.ignoredTensors).toEqual(['lm_head.weight', 'transformer.h.0.attn.bias', 'transformer.h.0.attn.masked_bias', 'transformer.h.1.attn.bias', 'transformer.h.1.attn.masked_bias']);
    expectBitwiseEqual(loaded.model.transformer.wte.weight.toArray(), model.transformer.wte.weight.toArray(), 'wte');

    const baseModel: Record<string, SafeTensor> = {};
    for (const [name, t] of Object.entries(tensors)) baseModel[name.replace(/^transformer\./, '')] = t;
    const fromBase = decodeHuggingFace(withWeights(model, baseModel));
    expectBitwiseEqual(fromBase.model.transformer.h[1]!.mlp.c_fc.weight.toArray(), model.transformer.h[1]!.mlp.c_fc.weight.toArray(), 'prefixless names');

    const untied = { ...tensors, 'lm_head.weight': { dtype: 'F32' as const, shape: [97, 32], data: new Float32Array(97 * 32).fill(0.5) } };
    expectRefused(() => decodeHuggingFace(withWeights(model, untied)), 'unexpected-tensor', /lm_head\.weight' differs from transformer\.wte\.weight/);
    for (const m of [model, loaded.model, fromBase.model]) m.free();
  });

  it('refuses every corrupt or mismatched directory with a typed error naming the problem', () => {
    const model = seededGPT(11);
    const tensors = weightsOf(model);
    const C = 'transformer.h.0.attn.c_attn.weight';

    const { [C]: _dropped, ...missing } = tensors;
    expectRefused(() => decodeHuggingFace(withWeights(model, missing)), 'missing-tensor', /'transformer\.h\.0\.attn\.c_attn\.weight' is missing/, C);
    // transposed (PyTorch Linear's (out, in) instead of Conv1D's (in, out))
    const wrongShape = { ...tensors, [C]: { ...tensors[C]!, shape: [96, 32] } };
    expectRefused(() => decodeHuggingFace(withWeights(model, wrongShape)), 'tensor-shape', /has shape \[96, 32\], config\.json's model needs \[32, 96\]/, C);
    const f64 = { ...tensors, [C]: { dtype: 'F64' as const, shape: [32, 96], data: Float64Array.from(tensors[C]!.data) } };
    expectRefused(() => decodeHuggingFace(withWeights(model, f64)), 'tensor-dtype', /is F64; NovaRL reads F32 only/, C);
    const extra = { ...tensors, 'transformer.h.2.ln_1.weight': { dtype: 'F32' as const, shape: [32], data: new Float32Array(32) } };
    expectRefused(() => decodeHuggingFace(withWeights(model, extra)), 'unexpected-tensor', /'transformer\.h\.2\.ln_1\.weight' is not a parameter/, 'transformer.h.2.ln_1.weight');
    // an F16 checkpoint (a dtype the safetensors reader does not know): refused with a conversion hint
    expectRefused(() => decodeHuggingFace({ ...encodeHuggingFace(model), 'model.safetensors': f16File() }), 'tensor-dtype', /F16.*model\.float\(\)\.save_pretrained/);
    // truncated weights: the safetensors reader's own CheckpointError
    const good = encodeHuggingFace(model);
    const truncated = { ...good, 'model.safetensors': good['model.safetensors']!.subarray(0, 1000) };
    expect(() => decodeHuggingFace(truncated)).toThrow(CheckpointError);

    const badConfigs: [Record<string, unknown>, string, RegExp][] = [
      [{ model_type: 'llama' }, 'model_type', /model_type is "llama"/],
      [{ n_head: 5 }, 'n_head', /n_head \(5\) does not divide n_embd \(32\)/],
      [{ n_embd: 0 }, 'n_embd', /n_embd is 0, not a positive integer/],
      [{ vocab_size: '97' }, 'vocab_size', /vocab_size is "97"/],
      [{ n_inner: 64 }, 'n_inner', /n_inner is 64/],
      [{ activation_function: 'relu' }, 'activation_function', /activation_function is "relu"/],
      [{ tie_word_embeddings: false }, 'tie_word_embeddings', /tie_word_embeddings is false/],
      [{ scale_attn_by_inverse_layer_idx: true }, 'scale_attn_by_inverse_layer_idx', /scale_attn_by_inverse_layer_idx is true/],
      [{ layer_norm_epsilon: 0 }, 'layer_norm_epsilon', /layer_norm_epsilon is 0/],
      [{ eos_token_id: 97 }, 'eos_token_id', /eos_token_id is 97/],
    ];
    const config = JSON.parse(new TextDecoder().decode(good['config.json']));
    for (const [patch, field, message] of badConfigs) {
      const files = { ...good, 'config.json': new TextEncoder().encode(JSON.stringify({ ...config, ...patch })) };
      const error = expectRefused(() => decodeHuggingFace(files), 'config', message);
      expect(error.field).toBe(field);
    }
    // a config for another size: every tensor's shape is then wrong, the first one is named
    const bigger = { ...good, 'config.json': new TextEncoder().encode(JSON.stringify({ ...config, n_embd: 64 })) };
    expectRefused(() => decodeHuggingFace(bigger), 'tensor-shape', /config\.json's model needs/);
    expectRefused(() => decodeHuggingFace({ ...good, 'config.json': new TextEncoder().encode('{"model_type": ') }), 'config', /not valid UTF-8 JSON/);
    expectRefused(() => decodeHuggingFace({ ...good, 'generation_config.json': new TextEncoder().encode('[1]') }), 'generation-config', /not a JSON object/);
    expectRefused(() => decodeHuggingFace({ ...good, 'tokenizer.json': new Uint8Array([0xff, 0xfe]) }), 'tokenizer', /not UTF-8 text/);
    const { 'config.json': _c, ...noConfig } = good;
    expectRefused(() => decodeHuggingFace(noConfig), 'missing-file', /config\.json is missing/);
    const { 'model.safetensors': _w, ...noWeights } = good;
    expectRefused(() => decodeHuggingFace(noWeights), 'missing-file', /model\.safetensors is missing/);
    // and on the way out: a tokenizer file name that would escape the directory or clobber the model
    expectRefused(() => encodeHuggingFace(model, { tokenizer: { huggingFaceFiles: () => ({ '../x.json': '{}' }) } }), 'tokenizer', /not a plain file name/);
    expectRefused(() => encodeHuggingFace(model, { tokenizer: { huggingFaceFiles: () => ({ 'config.json': '{}' }) } }), 'tokenizer', /one of the model's own files/);
    expectRefused(() => encodeHuggingFace(model, { eosTokenId: 97 }), 'config', /eosTokenId 97 is not a token id/);
    expectRefused(() => encodeHuggingFace(model, { generation: { topP: 0 } }), 'generation-config', /topP must be in \(0, 1\]/);
    model.free();
  });

  it('on disk: a missing directory is refused, and a save will not replace a directory that is not a model', async () => {
    await expect(loadHuggingFace(join(root, 'nowhere'))).rejects.toThrow(HuggingFaceError);
    const notModel = freshDir();
    mkdirSync(notModel);
    writeFileSync(join(notModel, 'notes.txt'), 'keep me');
    const model = seededGPT(12);
    await expect(saveHuggingFace(notModel, model)).rejects.toThrow(/refusing to replace .* not a model directory/);
    expect(readFileSync(join(notModel, 'notes.txt'), 'utf8')).toBe('keep me');
    // an empty directory is fine, and replacing a model directory drops files the save does not write
    const empty = freshDir();
    mkdirSync(empty);
    await saveHuggingFace(empty, model, { tokenizer: FAKE_TOKENIZER });
    await saveHuggingFace(empty, model);
    expect(readdirSync(empty).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors']);
    model.free();
  });

  it('a process killed at any step of a save leaves a loadable model: the old one before the swap, the new one after', async () => {
    // Every step of a save of model 2 over model 1, found by doing one.
    const steps: HuggingFaceSaveStep[] = [];
    const probe = freshDir();
    const one = seededGPT(1);
    const two = seededGPT(2);
    const three = seededGPT(3);
    await saveHuggingFace(probe, one, { tokenizer: FAKE_TOKENIZER });
    await saveHuggingFace(probe, two, { tokenizer: FAKE_TOKENIZER, afterEachStep: (s) => void steps.push(s) });
    expect(steps.map((s) => s.stage)).toEqual(['written', 'written', 'written', 'written', 'written', 'written', 'synced', 'moved-aside', 'installed', 'removed']);
    const commit = steps.findIndex((s) => s.stage === 'installed');

    const child = fileURLToPath(new URL('./fixtures/huggingface_crash_child.ts', import.meta.url));
    for (let i = 0; i < steps.length; i++) {
      const parent = join(root, `crash-${i}`);
      const dir = join(parent, 'model');
      await saveHuggingFace(dir, one, { tokenizer: FAKE_TOKENIZER });
      const paused = await runUntilPausedThenKill(child, dir, i);
      expect(paused.split(' ')[1], `step ${i}`).toBe(steps[i]!.stage);
      const loaded = await loadHuggingFace(dir);
      expectSameModel(loaded.model, i < commit ? one : two, `killed after step ${i} (${steps[i]!.stage})`);
      expect(loaded.fromPrevious ?? false, `step ${i}`).toBe(steps[i]!.stage === 'moved-aside');
      expect(loaded.tokenizerFiles).toEqual(FAKE_TOKENIZER.huggingFaceFiles());
      loaded.model.free();
      // The next save repairs what the killed one left behind.
      await saveHuggingFace(dir, three);
      const again = await loadHuggingFace(dir);
      expectSameModel(again.model, three, `saved again after step ${i}`);
      again.model.free();
      expect(readdirSync(parent), `step ${i}`).toEqual(['model']);
    }
    for (const m of [one, two, three]) m.free();
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------

function weightsOf(model: GPT): Record<string, SafeTensor> {
  const out: Record<string, SafeTensor> = {};
  for (const [name, p] of model.namedParameters()) out[name] = { dtype: 'F32', shape: [...p.shape], data: p.toArray() };
  return out;
}

/** The model's directory files with model.safetensors replaced by these tensors. */
function withWeights(model: GPT, tensors: Record<string, SafeTensor>): Record<string, Uint8Array> {
  return { ...encodeHuggingFace(model), 'model.safetensors': serializeSafetensors(tensors, { format: 'pt' }) };
}

/** A one-tensor safetensors file of dtype F16, written by hand (the writer knows no F16). */
function f16File(): Uint8Array {
  const header = new TextEncoder().encode('{"transformer.wte.weight":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}');
  const out = new Uint8Array(8 + header.length + 4);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 8);
  return out;
}

function expectRefused(fn: () => unknown, problem: HuggingFaceProblem, message: RegExp, tensor?: string): HuggingFaceError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a HuggingFaceError (${problem})`).toBeInstanceOf(HuggingFaceError);
  const error = caught as HuggingFaceError;
  expect(error).toBeInstanceOf(CheckpointError);
  expect(error.problem, error.message).toBe(problem);
  expect(error.message).toMatch(message);
  if (tensor !== undefined) expect(error.tensor).toBe(tensor);
  return error;
}

function expectSameModel(actual: GPT, expected: GPT, label: string): void {
  const a = actual.stateDict();
  for (const [name, p] of expected.namedParameters()) expectBitwiseEqual(a[name]!, p.toArray(), `${label}: ${name}`);
}

/** Spawns the crash child, waits for it to pause at step `pauseAt`, SIGKILLs it; returns its PAUSED line. */
function runUntilPausedThenKill(script: string, dir: string, pauseAt: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', script, dir, String(pauseAt)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let pausedLine: string | undefined;
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('PAUSED '));
      if (line !== undefined && pausedLine === undefined) {
        pausedLine = line;
        proc.kill('SIGKILL');
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (pausedLine !== undefined && signal === 'SIGKILL') resolve(pausedLine);
      else reject(new Error(`child did not pause at step ${pauseAt} (exit ${code}, signal ${signal}): ${out}${err}`));
    });
  });
}

