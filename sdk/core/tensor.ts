// Tensor: a handle (an id into the core's tensor table) plus a host mirror of its shape.
// Every op checks its operands here, builds the output shape, then makes one call into the
// core, which computes the result and (when gradients are on) records itself on the tape.
//
// Two lifetimes: scratch tensors (op results, Tensor.from) die at core.endStep(); persistent
// tensors (parameters, optimizer state, input buffers) live until free().

import type { Core } from './core';
import { defaultCore } from './core';
import { NumericError, ShapeError, StaleTensorError, ValueError, formatShape } from './errors';
import { broadcastShapes, checkShape, checkSize, describeValue, dims4, normalizeAxis, sameShape, sizeOfShape, type Shape } from './shape';

export interface TensorOptions {
  /** Lives until free() instead of until the end of the step. */
  persistent?: boolean;
  /** Track gradients (persistent tensors get a gradient buffer). */
  requiresGrad?: boolean;
  /** Core to create it on (default: the one init() loaded). */
  core?: Core;
}

export interface CrossEntropyOptions {
  /** Rows whose target equals this are left out of the mean (PyTorch's default -100). */
  ignoreIndex?: number;
}

/**
 * Indices live in f32 tensors, which hold every integer exactly only below 2^24: 2^24 + 1 is
 * stored as 2^24, so such an index would silently select a neighbouring row. Every index is
 * therefore below MAX_INDEX, whatever the size of the table.
 */
export const MAX_INDEX = 2 ** 24;

/** Token ids are indices too: a vocabulary of MAX_INDEX entries or more is refused. */
export const MAX_VOCABULARY = MAX_INDEX;

export interface MatmulOptions {
  /** Read this tensor's last two dims transposed. */
  transA?: boolean;
  /** Read the other tensor's last two dims transposed. */
  transB?: boolean;
}

const PERSISTENT_EPOCH = -1;

export class Tensor {
  readonly size: number;

  constructor(
    readonly core: Core,
    readonly id: number,
    readonly shape: Shape,
    /** Step epoch a scratch tensor belongs to; -1 for persistent tensors. */
    readonly epoch: number,
  ) {
    this.size = sizeOfShape(shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get persistent(): boolean {
    return this.epoch === PERSISTENT_EPOCH;
  }

  // ---- creation ----------------------------------------------------------------------------

  /** A zero-filled tensor. */
  static zeros(shape: Shape, options: TensorOptions = {}): Tensor {
    checkShape('zeros', shape);
    if (typeof options !== 'object' || options === null) throw new ValueError(`zeros: options must be an object, got ${describeValue(options)}`);
    const core = options.core ?? defaultCore();
    const [s0, s1, s2, s3] = dims4(shape);
    const id = core.check(
      core.exports.tensorNew(shape.length, s0, s1, s2, s3, options.persistent ? 1 : 0, options.requiresGrad ? 1 : 0),
      'zeros',
    );
    return new Tensor(core, id, [...shape], options.persistent ? PERSISTENT_EPOCH : core.epoch);
  }

  /** A tensor holding a copy of `data` (rounded to f32). Shape defaults to [data.length]. */
  static from(data: ArrayLike<number>, shape?: Shape, options: TensorOptions = {}): Tensor {
    checkData('from', data);
    shape ??= [data.length];
    checkShape('from', shape);
    if (sizeOfShape(shape) !== data.length) {
      throw new ShapeError('from', [shape], `${data.length} values do not fill shape ${formatShape(shape)}`);
    }
    const t = Tensor.zeros(shape, options);
    t.set(data);
    return t;
  }

  /** A rank-0 tensor. */
  static scalar(value: number, options: TensorOptions = {}): Tensor {
    if (typeof value !== 'number') throw new ValueError(`scalar: the value must be a number, got ${describeValue(value)}`);
    return Tensor.from([value], [], options);
  }

  /**
   * An index tensor (for gather, embedding...) from host ids, each checked to be an integer in
   * [0, 2^24) before it is stored as f32, which holds no larger integer exactly.
   */
  static indices(ids: ArrayLike<number>, shape?: Shape, options: TensorOptions = {}): Tensor {
    checkData('indices', ids);
    checkIndexValues('indices', ids, MAX_INDEX);
    return Tensor.from(ids, shape, options);
  }

  /** Frees a persistent tensor (scratch tensors are freed by endStep()). */
  free(): void {
    if (!this.persistent) throw new ValueError('free: only persistent tensors are freed by hand; scratch ones go at endStep()');
    this.core.exports.tensorFree(this.id);
    (this as { epoch: number }).epoch = -2; // any later use is stale
  }

  // ---- host access -------------------------------------------------------------------------

  /** Throws StaleTensorError when the tensor's step has ended or it was freed. */
  assertLive(op = 'use'): void {
    if (this.epoch === PERSISTENT_EPOCH || this.epoch === this.core.epoch) return;
    throw new StaleTensorError(
      this.epoch === -2
        ? `${op}: tensor ${formatShape(this.shape)} was freed`
        : `${op}: scratch tensor ${formatShape(this.shape)} is from step ${this.epoch}, which ended (now ${this.core.epoch}); keep data across steps in a persistent tensor`,
    );
  }

  /** A live view of the data in wasm memory: valid until the memory grows or the step ends. */
  view(): Float32Array {
    this.assertLive('view');
    const ptr = this.core.exports.tensorData(this.id);
    return this.core.f32.subarray(ptr >>> 2, (ptr >>> 2) + this.size);
  }

  /** A copy of the data. */
  toArray(): Float32Array {
    return this.view().slice();
  }

  /** Overwrites the data with `data` (rounded to f32). */
  set(data: ArrayLike<number>): this {
    checkData('set', data);
    if (data.length !== this.size) {
      throw new ShapeError('set', [this.shape], `${data.length} values do not fill the tensor`);
    }
    this.view().set(data);
    return this;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError('item', [this.shape], 'item() needs a tensor with exactly one element');
    return this.view()[0]!;
  }

  /** A copy of the gradient, or null when none has been computed. */
  grad(): Float32Array | null {
    this.assertLive('grad');
    const ptr = this.core.exports.tensorGrad(this.id);
    if (ptr === 0) return null;
    return this.core.f32.slice(ptr >>> 2, (ptr >>> 2) + this.size);
  }

  /** Turns gradient tracking on or off (persistent tensors get a gradient buffer). */
  setRequiresGrad(on: boolean): this {
    this.assertLive('setRequiresGrad');
    this.core.check(this.core.exports.tensorSetRequiresGrad(this.id, on ? 1 : 0), 'setRequiresGrad');
    return this;
  }

  /** Zeroes the gradient buffer (persistent tensors). */
  zeroGrad(): void {
    this.assertLive('zeroGrad');
    this.core.exports.tensorZeroGrad(this.id);
  }

  /** Throws NumericError naming `what` and the first NaN or infinite element. */
  assertFinite(what = 'tensor'): this {
    const v = this.view();
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i]!)) throw new NumericError(`${what} has a non-finite value ${v[i]} at flat index ${i} (shape ${formatShape(this.shape)})`);
    }
    return this;
  }

  /**
   * Computes the gradient of this one-element loss with respect to every tensor it was built
   * from that requires a gradient, adding it to their gradients (as PyTorch's backward()).
   *
   * - Several losses of one step add up: `l1.backward(); l2.backward()` leaves the gradient of
   *   l1 + l2 in the parameters, whether or not the two share a forward (the tape is kept until
   *   endStep(), as with PyTorch's `retain_graph=True`). Gradients of op results (non-leaves)
   *   hold only the latest backward's contribution.
   * - The same loss may run backward once per step: a second call is a ValueError (PyTorch
   *   refuses it too, unless retain_graph); call endStep() and run a new forward instead.
   * - A loss that does not require a gradient (made under noGrad, or from tensors none of which
   *   requires one) is a ValueError, and a loss of more than one element a ShapeError (reduce
   *   it with sum() or mean() first), as in PyTorch.
   * - Gradients are read from the values the tensors hold when backward runs: do not change
   *   parameters (optimizer.step()) between a forward and its backward.
   */
  backward(): void {
    this.assertLive('backward');
    if (this.size !== 1) {
      throw new ShapeError('backward', [this.shape], 'needs a loss with one element (a gradient is only implied for a scalar): reduce it with sum() or mean() first');
    }
    if (!this.core.requiresGrad(this.id)) {
      throw new ValueError('backward: this loss does not require a gradient: it was made under noGrad, or from tensors none of which requires a gradient, so there is nothing to differentiate');
    }
    if (this.core.differentiated.has(this.id)) {
      throw new ValueError('backward: this loss was already differentiated in this step; running it again would add its gradient twice. Sum the losses first, or call endStep() and run a new forward');
    }
    this.core.differentiated.add(this.id);
    this.core.check(this.core.exports.backward(this.id), 'backward');
  }

  // ---- internal helpers --------------------------------------------------------------------

  /** Wraps a result id from the core. */
  private result(id: number, shape: Shape, op: string): Tensor {
    return new Tensor(this.core, this.core.check(id, op), shape, this.core.epoch);
  }

  /** A tensor operand, or a number turned into a rank-0 tensor. */
  private operand(x: Tensor | number, op: string): Tensor {
    if (typeof x === 'number') return Tensor.scalar(x, { core: this.core });
    return tensorArg(op, 'the other operand', x, this.core, 'a Tensor or a number');
  }

  private binary(op: string, other: Tensor | number, fn: (a: number, b: number) => number): Tensor {
    this.assertLive(op);
    const b = this.operand(other, op);
    const shape = broadcastShapes(op, this.shape, b.shape);
    return this.result(fn(this.id, b.id), shape, op);
  }

  private unary(op: string, fn: (a: number) => number): Tensor {
    this.assertLive(op);
    return this.result(fn(this.id), this.shape, op);
  }

  private lastAxis(op: string, axis: number): void {
    if (this.rank === 0) throw new ShapeError(op, [this.shape], 'needs a tensor of rank >= 1');
    if (normalizeAxis(op, axis, this.rank) !== this.rank - 1) {
      throw new ValueError(`${op}: only the last axis is supported (got axis ${axis} for rank ${this.rank})`);
    }
  }

  // ---- elementwise binary ops (broadcasting) -----------------------------------------------

  add(other: Tensor | number): Tensor {
    return this.binary('add', other, this.core.exports.opAdd);
  }
  sub(other: Tensor | number): Tensor {
    return this.binary('sub', other, this.core.exports.opSub);
  }
  mul(other: Tensor | number): Tensor {
    return this.binary('mul', other, this.core.exports.opMul);
  }
  div(other: Tensor | number): Tensor {
    return this.binary('div', other, this.core.exports.opDiv);
  }
  /** Elementwise min; on ties the gradient goes to this tensor. */
  minimum(other: Tensor | number): Tensor {
    return this.binary('minimum', other, this.core.exports.opMinimum);
  }
  /** Elementwise max; on ties the gradient goes to this tensor. */
  maximum(other: Tensor | number): Tensor {
    return this.binary('maximum', other, this.core.exports.opMaximum);
  }

  /** cond ? a : b elementwise (cond nonzero counts as true), broadcasting all three. */
  static where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
    tensorArg('where', 'a', a);
    tensorArg('where', 'cond', cond, a.core);
    tensorArg('where', 'b', b, a.core);
    const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
    return a.result(a.core.exports.opWhere(cond.id, a.id, b.id), shape, 'where');
  }

  // ---- elementwise unary ops ---------------------------------------------------------------

  neg(): Tensor {
    return this.unary('neg', this.core.exports.opNeg);
  }
  exp(): Tensor {
    return this.unary('exp', this.core.exports.opExp);
  }
  log(): Tensor {
    return this.unary('log', this.core.exports.opLog);
  }
  tanh(): Tensor {
    return this.unary('tanh', this.core.exports.opTanh);
  }
  relu(): Tensor {
    return this.unary('relu', this.core.exports.opRelu);
  }
  /** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
  gelu(): Tensor {
    return this.unary('gelu', this.core.exports.opGelu);
  }
  sigmoid(): Tensor {
    return this.unary('sigmoid', this.core.exports.opSigmoid);
  }
  /** Clamps into [lo, hi]; the gradient passes where lo <= x <= hi. */
  clamp(lo = -Infinity, hi = Infinity): Tensor {
    if (typeof lo !== 'number' || typeof hi !== 'number') throw new ValueError(`clamp: lo and hi must be numbers, got ${describeValue(lo)} and ${describeValue(hi)}`);
    if (!(lo <= hi)) throw new ValueError(`clamp: lo (${lo}) must not exceed hi (${hi})`);
    return this.unary('clamp', (a) => this.core.exports.opClamp(a, lo, hi));
  }
  /** sqrt(x), correctly rounded (NaN below 0); the gradient is inf at 0. */
  sqrt(): Tensor {
    return this.unary('sqrt', this.core.exports.opSqrt);
  }
  /** x * x. */
  square(): Tensor {
    return this.unary('square', this.core.exports.opSquare);
  }
  /** |x|; the gradient is sign(x), 0 at 0. */
  abs(): Tensor {
    return this.unary('abs', this.core.exports.opAbs);
  }
  /**
   * x^p for a constant, finite exponent p. p in {0, 1, 2, 3, 0.5, -1, -2, -0.5} is computed by
   * one or two IEEE operations (x*x, sqrt, 1/x, ...); any other p as exp(p log|x|) with the
   * core's deterministic exp and log (sign kept for odd integer p, NaN for x < 0 and
   * non-integer p). p is rounded to f32. The gradient is p x^(p-1), 0 for p = 0.
   */
  pow(p: number): Tensor {
    if (typeof p !== 'number' || !Number.isFinite(p)) throw new ValueError(`pow: the exponent must be a finite number, got ${String(p)}`);
    return this.unary('pow', (a) => this.core.exports.opPow(a, p));
  }

  // ---- reductions --------------------------------------------------------------------------

  /** Sum of every element (rank 0), or over the last axis when axis is -1 (or rank-1). */
  sum(axis?: number): Tensor {
    if (axis === undefined) return this.unary('sum', this.core.exports.opSum).withShape([]);
    this.lastAxis('sum', axis);
    return this.unary('sum', this.core.exports.opSumLast).withShape(this.shape.slice(0, -1));
  }
  /** Mean of every element, or over the last axis. */
  mean(axis?: number): Tensor {
    if (axis === undefined) return this.unary('mean', this.core.exports.opMean).withShape([]);
    this.lastAxis('mean', axis);
    return this.unary('mean', this.core.exports.opMeanLast).withShape(this.shape.slice(0, -1));
  }
  /** Max over the last axis; the gradient goes to the first maximal element. */
  max(axis = -1): Tensor {
    this.lastAxis('max', axis);
    return this.unary('max', this.core.exports.opMaxLast).withShape(this.shape.slice(0, -1));
  }
  /** Softmax over the last axis (max-subtracted). */
  softmax(axis = -1): Tensor {
    this.lastAxis('softmax', axis);
    return this.unary('softmax', this.core.exports.opSoftmax);
  }
  /** Log-softmax over the last axis (max-subtracted). */
  logSoftmax(axis = -1): Tensor {
    this.lastAxis('logSoftmax', axis);
    return this.unary('logSoftmax', this.core.exports.opLogSoftmax);
  }

  /** The same handle with another shape mirror (same element count; internal). */
  private withShape(shape: Shape): Tensor {
    return new Tensor(this.core, this.id, shape, this.epoch);
  }

  // ---- indexing ----------------------------------------------------------------------------

  /**
   * out[...] = this[..., index[...]]: one element per row of the last axis, e.g. the log-prob
   * of the taken action. index has this tensor's shape without the last axis and holds
   * integers in [0, lastDim), below 2^24 (see checkIndices).
   */
  gather(index: Tensor): Tensor {
    this.assertLive('gather');
    tensorArg('gather', 'index', index, this.core);
    const expected = this.shape.slice(0, -1);
    if (this.rank === 0 || !sameShape(index.shape, expected)) {
      throw new ShapeError('gather', [this.shape, index.shape], `index must have shape ${formatShape(expected)}`);
    }
    checkIndices('gather', index, this.shape[this.rank - 1]!);
    return this.result(this.core.exports.opGather(this.id, index.id), expected, 'gather');
  }

  /**
   * Rows of a (V, D) table: out (..., D) = weight[index[...]]. Also selects minibatch rows.
   * Indices are integers in [0, V), below 2^24 (see checkIndices).
   */
  static embedding(weight: Tensor, index: Tensor): Tensor {
    tensorArg('embedding', 'weight', weight);
    tensorArg('embedding', 'index', index, weight.core);
    if (weight.rank !== 2) throw new ShapeError('embedding', [weight.shape, index.shape], 'the table must be rank 2 (V, D)');
    if (index.rank > 3) throw new ShapeError('embedding', [weight.shape, index.shape], 'the index must have rank <= 3');
    checkSize('embedding', [...index.shape, weight.shape[1]!]);
    checkIndices('embedding', index, weight.shape[0]!);
    return weight.result(weight.core.exports.opEmbedding(weight.id, index.id), [...index.shape, weight.shape[1]!], 'embedding');
  }

  // ---- normalisation -----------------------------------------------------------------------

  /** Layer norm over the last axis, with optional gain and bias of shape [C]. */
  layerNorm(gamma?: Tensor, beta?: Tensor, eps = 1e-5): Tensor {
    this.assertLive('layerNorm');
    if (this.rank === 0) throw new ShapeError('layerNorm', [this.shape], 'needs a tensor of rank >= 1');
    if (typeof eps !== 'number' || !(eps >= 0) || eps === Infinity) throw new ValueError(`layerNorm: eps must be a finite number >= 0, got ${describeValue(eps)}`);
    const c = this.shape[this.rank - 1]!;
    for (const [name, p] of [['gamma', gamma], ['beta', beta]] as const) {
      if (p === undefined) continue;
      tensorArg('layerNorm', name, p, this.core);
      if (!sameShape(p.shape, [c])) throw new ShapeError('layerNorm', [this.shape, p.shape], `gamma and beta must have shape [${c}]`);
    }
    return this.result(this.core.exports.opLayerNorm(this.id, gamma?.id ?? -1, beta?.id ?? -1, eps), this.shape, 'layerNorm');
  }

  // ---- shape ops ---------------------------------------------------------------------------

  /** Same data, new shape (one dim may be -1). Shares memory; has its own gradient. */
  reshape(shape: Shape): Tensor {
    this.assertLive('reshape');
    if (!Array.isArray(shape as unknown)) throw new ValueError(`reshape: a shape must be an array of dimensions, got ${describeValue(shape)}`);
    const known = shape.filter((d) => d !== -1);
    const free = shape.length - known.length;
    const knownSize = sizeOfShape(known);
    if (free > 1 || (free === 1 && this.size % knownSize !== 0)) {
      throw new ShapeError('reshape', [this.shape, shape], 'cannot infer the -1 dimension');
    }
    const target = shape.map((d) => (d === -1 ? this.size / knownSize : d));
    checkShape('reshape', target);
    if (sizeOfShape(target) !== this.size) {
      throw new ShapeError('reshape', [this.shape, target], `${this.size} elements do not fit the new shape`);
    }
    const [s0, s1, s2, s3] = dims4(target);
    return this.result(this.core.exports.opReshape(this.id, target.length, s0, s1, s2, s3), target, 'reshape');
  }

  /** Swaps two axes (default: the last two), copying. */
  transpose(dim0 = -2, dim1 = -1): Tensor {
    this.assertLive('transpose');
    const a = normalizeAxis('transpose', dim0, this.rank);
    const b = normalizeAxis('transpose', dim1, this.rank);
    const shape = [...this.shape];
    [shape[a], shape[b]] = [shape[b]!, shape[a]!];
    return this.result(this.core.exports.opTranspose(this.id, a, b), shape, 'transpose');
  }

  /** Concatenates tensors along `axis`; all other dims must match. */
  static concat(tensors: readonly Tensor[], axis = -1): Tensor {
    if (!Array.isArray(tensors as unknown)) throw new ValueError(`concat: needs an array of tensors, got ${describeValue(tensors)}`);
    if (tensors.length === 0) throw new ValueError('concat: needs at least one tensor');
    const first = tensorArg('concat', 'tensors[0]', tensors[0]);
    tensors.forEach((t, i) => tensorArg('concat', `tensors[${i}]`, t, first.core));
    const ax = normalizeAxis('concat', axis, first.rank);
    let out = first;
    for (const t of tensors.slice(1)) {
      out.assertLive('concat');
      t.assertLive('concat');
      if (t.rank !== out.rank || t.shape.some((d, i) => i !== ax && d !== out.shape[i])) {
        throw new ShapeError('concat', [out.shape, t.shape], `all dims but axis ${ax} must match`);
      }
      const shape = [...out.shape];
      shape[ax] = out.shape[ax]! + t.shape[ax]!;
      out = out.result(out.core.exports.opConcat(out.id, t.id, ax), shape, 'concat');
    }
    return out;
  }

  // ---- matmul ------------------------------------------------------------------------------

  /**
   * Matrix product over the last two dims, batched over up to two leading dims:
   * (M, K) x (K, N), (B, M, K) x (B, K, N), (B, H, M, K) x (B, H, K, N) (attention's
   * (B, H, T, D) x (B, H, D, T)), or a (K, N) right operand shared by every batch:
   * (B, M, K) x (K, N), (B, H, M, K) x (K, N). The options read either operand's last two dims
   * transposed (no copy is made).
   */
  matmul(other: Tensor, options: MatmulOptions = {}): Tensor {
    this.assertLive('matmul');
    tensorArg('matmul', 'the other operand', other, this.core);
    const { transA = false, transB = false } = options;
    const a = this.shape, b = other.shape;
    if (a.length < 2 || a.length > 4 || (b.length !== 2 && b.length !== a.length)) {
      throw new ShapeError(
        'matmul',
        [a, b],
        'operands must be (M, K) x (K, N), (B, M, K) x (B, K, N), (B, H, M, K) x (B, H, K, N), or (B, M, K) / (B, H, M, K) x a shared (K, N)',
      );
    }
    const batch = a.slice(0, -2);
    if (b.length > 2 && b.slice(0, -2).some((d, i) => d !== batch[i])) {
      throw new ShapeError('matmul', [a, b], `batch dims differ (${formatShape(batch)} vs ${formatShape(b.slice(0, -2))})`);
    }
    const m = transA ? a[a.length - 1]! : a[a.length - 2]!;
    const k = transA ? a[a.length - 2]! : a[a.length - 1]!;
    const kb = transB ? b[b.length - 1]! : b[b.length - 2]!;
    const n = transB ? b[b.length - 2]! : b[b.length - 1]!;
    if (k !== kb) {
      const flags = transA || transB ? ` with${transA ? ' transA' : ''}${transB ? ' transB' : ''}` : '';
      throw new ShapeError('matmul', [a, b], `inner dimensions differ (${k} vs ${kb}${flags})`);
    }
    const shape = [...batch, m, n];
    checkSize('matmul', shape);
    return this.result(this.core.exports.opMatmul(this.id, other.id, transA ? 1 : 0, transB ? 1 : 0), shape, 'matmul');
  }

  // ---- transformer ops: narrow, writeInto, cross-entropy, token log-probs, argmax ------------

  /** this[..., start:start+length, ...] along `axis` (a copy); backward adds the gradient back into that range. */
  narrow(axis: number, start: number, length: number): Tensor {
    this.assertLive('narrow');
    if (this.rank === 0) throw new ShapeError('narrow', [this.shape], 'needs a tensor of rank >= 1');
    const ax = normalizeAxis('narrow', axis, this.rank);
    const dim = this.shape[ax]!;
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 1 || start + length > dim) {
      throw new ValueError(`narrow: start ${start}, length ${length} is not a non-empty range inside axis ${ax} of size ${dim}`);
    }
    const shape = [...this.shape];
    shape[ax] = length;
    return this.result(this.core.exports.opNarrow(this.id, ax, start, length), shape, 'narrow');
  }

  /** this[..., start:end, ...] along `axis`: narrow(axis, start, end - start). */
  slice(axis: number, start: number, end: number): Tensor {
    return this.narrow(axis, start, end - start);
  }

  /**
   * Copies this tensor into target[..., start:start+L, ...] along `axis`, in place (L is this
   * tensor's size on that axis; every other dim must match): e.g. one step's keys into a KV
   * cache (B, H, Tmax, D) that stays in the core. The target must be persistent. Nothing is
   * recorded for backward, so the write is refused while gradients are recorded for either
   * tensor: run generation under noGrad. Returns target.
   */
  writeInto(target: Tensor, axis: number, start: number): Tensor {
    this.assertLive('writeInto');
    target.assertLive('writeInto');
    if (target.core !== this.core) throw new ValueError('writeInto: source and target live on different cores');
    if (!target.persistent) {
      throw new ValueError(`writeInto: the target ${formatShape(target.shape)} is a scratch tensor, which endStep() discards; write into a persistent tensor`);
    }
    if (target.rank === 0 || this.rank !== target.rank) {
      throw new ShapeError('writeInto', [this.shape, target.shape], 'source and target must have the same rank (>= 1)');
    }
    const ax = normalizeAxis('writeInto', axis, target.rank);
    if (this.shape.some((d, i) => i !== ax && d !== target.shape[i])) {
      throw new ShapeError('writeInto', [this.shape, target.shape], `all dims but axis ${ax} must match`);
    }
    const length = this.shape[ax]!, dim = target.shape[ax]!;
    if (!Number.isInteger(start) || start < 0 || start + length > dim) {
      throw new ValueError(`writeInto: rows [${start}, ${start + length}) of axis ${ax} do not fit in the target's ${dim}`);
    }
    if (this.core.gradEnabled && (this.core.requiresGrad(this.id) || this.core.requiresGrad(target.id))) {
      throw new ValueError('writeInto: no gradient flows through an in-place write, and one of the tensors requires a gradient; call it inside noGrad()');
    }
    const src = this.core.exports.tensorData(this.id), dst = this.core.exports.tensorData(target.id);
    if (src < dst + target.size * 4 && dst < src + this.size * 4) {
      throw new ValueError('writeInto: source and target share memory (a view of the target cannot be written into it)');
    }
    this.core.exports.opWriteInto(target.id, this.id, ax, start);
    return target;
  }

  /**
   * Cross-entropy of logits (..., V) against integer targets (...): the mean over the rows whose
   * target is not `ignoreIndex` of -log_softmax(logits)[target], a rank-0 tensor (0, with a zero
   * gradient, when every row is ignored). One fused op: softmax is computed once in forward and
   * once in backward, never stored.
   */
  crossEntropy(targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
    const { ignoreIndex = -100 } = options;
    if (!Number.isInteger(ignoreIndex) || Math.abs(ignoreIndex) >= 2 ** 31) {
      throw new ValueError(`crossEntropy: ignoreIndex must be a 32-bit integer, got ${ignoreIndex}`);
    }
    const v = this.checkTokenRows('crossEntropy', targets);
    checkIndices('crossEntropy', targets, v, ignoreIndex);
    return this.result(this.core.exports.lossCrossEntropy(this.id, targets.id, ignoreIndex), [], 'crossEntropy');
  }

  /**
   * log_softmax(logits)[token] for each row: logits (..., V), tokens (...) -> (...), with its
   * backward (the per-token log-probs RLHF needs over whole sequences).
   */
  tokenLogProbs(tokens: Tensor): Tensor {
    const v = this.checkTokenRows('tokenLogProbs', tokens);
    checkIndices('tokenLogProbs', tokens, v);
    return this.result(this.core.exports.opTokenLogProb(this.id, tokens.id), this.shape.slice(0, -1), 'tokenLogProbs');
  }

  /** The first index of the max over the last axis, as floats (a NaN counts as the max); no gradient. */
  argmax(axis = -1): Tensor {
    this.assertLive('argmax');
    this.lastAxis('argmax', axis);
    checkVocabulary('argmax', this.shape);
    return this.result(this.core.exports.opArgmax(this.id), this.shape.slice(0, -1), 'argmax');
  }

  /** Checks logits (..., V) and a token tensor of shape (...); returns V. */
  private checkTokenRows(op: string, tokens: Tensor): number {
    this.assertLive(op);
    tokens.assertLive(op);
    if (tokens.core !== this.core) throw new ValueError(`${op}: operands live on different cores`);
    const expected = this.shape.slice(0, -1);
    if (this.rank === 0 || !sameShape(tokens.shape, expected)) {
      throw new ShapeError(op, [this.shape, tokens.shape], `logits (..., V) need tokens of shape ${formatShape(expected)}`);
    }
    checkVocabulary(op, this.shape);
    return this.shape[this.rank - 1]!;
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}${this.persistent ? ', persistent' : ''})`;
  }
}


/** Checks that host-side indices are integers in [0, min(bound, 2^24)) (or equal to `allowed`), before they become f32. */
function checkIndexValues(op: string, values: ArrayLike<number>, bound: number, allowed?: number): void {
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x === allowed) continue; // e.g. crossEntropy's ignore index
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= bound) {
      throw new ValueError(`${op}: index ${describeIndex(x)} at position ${i} is out of range [0, ${bound})`);
    }
    if (x >= MAX_INDEX) {
      throw new ValueError(`${op}: index ${x} at position ${i} is 2^24 or more, which an f32 index tensor cannot hold exactly (2^24 + 1 would be stored as 2^24): indices must be below ${MAX_INDEX}`);
    }
  }
}

/** Refuses a last axis (a vocabulary) of 2^24 or more entries: its ids would not be exact in f32. */
export function checkVocabulary(op: string, shape: Shape): void {
  const v = shape[shape.length - 1]!;
  if (v >= MAX_VOCABULARY) {
    throw new ValueError(`${op}: a vocabulary of ${v} entries is too large; token ids are stored as f32, exact only below 2^24`);
  }
}

/** Checks that an index tensor holds integers in [0, bound) (or equal to `allowed`), below 2^24 (for every index-taking op). */
export function checkIndices(op: string, index: Tensor, bound: number, allowed?: number): void {
  checkIndexValues(op, index.view(), bound, allowed);
}

function describeIndex(x: unknown): string {
  return typeof x === 'number' ? String(x) : describeValue(x);
}

/** `x` as a live Tensor (on `core`, when given), or a ValueError naming the argument. */
function tensorArg(op: string, what: string, x: unknown, core?: Core, expected = 'a Tensor'): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${op}: ${what} must be ${expected}, got ${describeValue(x)}`);
  if (core !== undefined && x.core !== core) throw new ValueError(`${op}: ${what} lives on a different core`);
  x.assertLive(op);
  return x;
}

/** Host data for a tensor: a typed array, or an array of numbers. */
function checkData(op: string, data: unknown): asserts data is ArrayLike<number> {
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) throw new ValueError(`${op}: data must hold numbers, got a ${data.constructor.name}`);
    return;
  }
  if (!Array.isArray(data)) throw new ValueError(`${op}: data must be an array of numbers or a typed array, got ${describeValue(data)}`);
  for (let i = 0; i < data.length; i++) {
    if (typeof data[i] !== 'number') throw new ValueError(`${op}: data[${i}] is ${describeValue(data[i])}, not a number`);
  }
}
