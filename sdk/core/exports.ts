// The WebAssembly core's exported functions, as the host sees them (assembly/index.ts).
// Booleans cross as 0/1 numbers. A returned id below 0 is an error code (see core.ts).

type Id = number;

export interface CoreExports {
  memory: WebAssembly.Memory;

  // memory and tensors
  memoryBytes(): number;
  persistentBytes(): number;
  scratchBytes(): number;
  tableBase(): number;
  persistentCapacity(): number;
  tensorNew(rank: number, s0: number, s1: number, s2: number, s3: number, persistent: number, requiresGrad: number): Id;
  tensorFree(id: Id): void;
  tensorData(id: Id): number;
  tensorGrad(id: Id): number;
  tensorSetRequiresGrad(id: Id, on: number): number;
  tensorZeroGrad(id: Id): void;

  // steps and autodiff
  endStep(): void;
  setGradEnabled(on: number): void;
  backward(loss: Id): number;
  tapeLength(): number;
  scratchTensorCount(): number;

  // ops: binary (broadcast)
  opAdd(a: Id, b: Id): Id;
  opSub(a: Id, b: Id): Id;
  opMul(a: Id, b: Id): Id;
  opDiv(a: Id, b: Id): Id;
  opMinimum(a: Id, b: Id): Id;
  opMaximum(a: Id, b: Id): Id;
  /** cond ? a : b, broadcasting all three */
  opWhere(cond: Id, a: Id, b: Id): Id;

  // ops: unary (assembly/ops/unary.ts)
  opNeg(a: Id): Id;
  opExp(a: Id): Id;
  opLog(a: Id): Id;
  opTanh(a: Id): Id;
  opRelu(a: Id): Id;
  opGelu(a: Id): Id;
  opSigmoid(a: Id): Id;
  opClamp(a: Id, lo: number, hi: number): Id;
  opSqrt(a: Id): Id;
  opSquare(a: Id): Id;
  opAbs(a: Id): Id;
  /** x^p for a constant, finite p (exact for p in {0, 1, 2, 3, 0.5, -1, -2, -0.5}). */
  opPow(a: Id, p: number): Id;

  // ops: reductions and softmax (assembly/ops/reduce.ts, softmax.ts)
  opSum(a: Id): Id;
  opMean(a: Id): Id;
  opSumLast(a: Id): Id;
  opMeanLast(a: Id): Id;
  opMaxLast(a: Id): Id;
  opSoftmax(a: Id): Id;
  opLogSoftmax(a: Id): Id;

  // ops: indexing, normalisation, shape (assembly/ops/index_ops.ts, norm.ts, shape.ts)
  opGather(a: Id, index: Id): Id;
  opEmbedding(weight: Id, index: Id): Id;
  opLayerNorm(x: Id, gamma: Id, beta: Id, eps: number): Id;
  opReshape(a: Id, rank: number, s0: number, s1: number, s2: number, s3: number): Id;
  opTranspose(a: Id, dim0: number, dim1: number): Id;
  opConcat(a: Id, b: Id, axis: number): Id;

  // ops: matmul (assembly/ops/matmul.ts)
  opMatmul(a: Id, b: Id, transA: number, transB: number): Id;

  // losses (assembly/losses/)
  /** PPO clipped surrogate (clipEps <= 0: unclipped); scalar loss. Stats via lossStat. mask -1: none. */
  lossPpo(logp: Id, oldLogp: Id, advantages: Id, mask: Id, clipEps: number): Id;
  /** Statistics of the last lossPpo / lossValue call (see assembly/losses/ppo.ts). */
  lossStat(index: number): number;
  /** Per-element KL estimate between log-probs: estimator 1 (k1), 2 (k2), 3 (k3). */
  opKl(logp: Id, logpRef: Id, estimator: number): Id;
  /** Categorical entropy of logits over the last axis: shape[:-1]. */
  opEntropy(logits: Id): Id;
  /** 0.5 * mean of (v - R)^2, or of the max with the clipped version when clip > 0. */
  lossValue(values: Id, oldValues: Id, returns: Id, mask: Id, clip: number): Id;
  /** sum(x * mask) / sum(mask). */
  opMaskedMean(x: Id, mask: Id): Id;

  // optimizers (assembly/optim/): ids are passed in the i32 argument buffer
  argBuffer(): number;
  argCapacity(): number;
  /** args: n params then n momentum buffers. */
  sgdStep(n: number, lr: number, momentum: number, weightDecay: number, nesterov: number): void;
  /** args: n params, n first moments, n second moments. decoupled: AdamW. */
  adamStep(n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: number, step: number): void;
  /** args: n params. Scales gradients so their global L2 norm is <= maxNorm; returns the norm before. */
  clipGradNorm(n: number, maxNorm: number): number;
  /** args: n tensors. Zeroes each one's gradient buffer, if it has one. */
  zeroGrads(n: number): void;

  // randomness (assembly/random.ts)
  rngSeed(lo: number, hi: number): void;
  rngGetState(word: number): number;
  rngSetState(s0: number, s1: number, s2: number, s3: number): void;
  randUniform(id: Id, lo: number, hi: number): void;
  randNormal(id: Id, mean: number, std: number): void;
  initOrthogonal(id: Id, gain: number): number;
  /** One sample per row of logits (last axis), as f32 indices: shape[:-1]. */
  sampleCategorical(logits: Id): Id;
  /** A scratch rank-1 tensor holding a random permutation of 0..n-1. */
  randPermutation(n: number): Id;

  // deterministic math for the host (assembly/host_math.ts)
  mathExp(x: number): number;
  mathLog(x: number): number;
  mathSin(x: number): number;
  mathCos(x: number): number;
  mathTanh(x: number): number;
  mathPow(x: number, y: number): number;

  // transformer ops (assembly/ops/slice.ts, attention.ts, losses/cross_entropy.ts, sampling.ts)
  /** a[..., start:start+length, ...] along axis (a copy), with its backward. */
  opNarrow(a: Id, axis: number, start: number, length: number): Id;
  /** target[..., start:start+L, ...] = src along axis, in place; no tape record. */
  opWriteInto(target: Id, src: Id, axis: number, start: number): void;
  /** Fused causal attention: q (B, H, T, D), k, v (B, H, P+T, D), mask (B, P+T) or -1 -> (B, H, T, D). */
  opCausalAttention(q: Id, k: Id, v: Id, mask: Id): Id;
  /** Mean over non-ignored rows of -log_softmax(logits)[target]: logits (N, V), targets (N) -> (). */
  lossCrossEntropy(logits: Id, targets: Id, ignoreIndex: number): Id;
  /** log_softmax(logits)[token] per row: logits (..., V), tokens (...) -> (...). */
  opTokenLogProb(logits: Id, tokens: Id): Id;
  /** First index of the max over the last axis, as f32: (..., V) -> (...). */
  opArgmax(a: Id): Id;
  /** Samples one token per row of logits (N, V) into ids, logpProcessed, logpRaw (each (N)); 0 or an error code. */
  sampleTokens(logits: Id, temperature: number, topK: number, topP: number, ids: Id, logpProcessed: Id, logpRaw: Id): number;
  // the no-FMA arithmetic ceiling, for bench/matmul.ts (assembly/peak.ts)
  /** steps x (10 f32x4 multiplies + 10 adds) on L1-resident operands (80 flops a step); returns their sum. */
  peakMulAdd(steps: number): number;
}
