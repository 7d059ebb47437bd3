// Tensor: a handle (an id into the core's tensor table) plus a host mirror of its shape.
// Every op checks its operands here, builds the output shape, then makes one call into the
// core, which computes the result and (when gradients are on) records itself on the tape.
//
// Two lifetimes: scratch tensors (op results, Tensor.from) die at core.endStep(); persistent
// tensors (parameters, optimizer state, input buffers) live until free().

import type { Core } from './core';
import { defaultCore } from './core';
import { NumericError, ShapeError, StaleTensorError, ValueError, formatShape } from './errors';
import { broadcastShapes, checkShape, checkSize, dims4, normalizeAxis, sameShape, sizeOfShape, type Shape } from './shape';

export interface TensorOptions {
  /** Lives until free() instead of until the end of the step. */
  persistent?: boolean;
  /** Track gradients (persistent tensors get a gradient buffer). */
  requiresGrad?: boolean;
  /** Core to create it on (default: the one init() loaded). */
  core?: Core;
}

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
    const core = options.core ?? defaultCore();
    const [s0, s1, s2, s3] = dims4(shape);
    const id = core.check(
      core.exports.tensorNew(shape.length, s0, s1, s2, s3, options.persistent ? 1 : 0, options.requiresGrad ? 1 : 0),
      'zeros',
    );
    return new Tensor(core, id, [...shape], options.persistent ? PERSISTENT_EPOCH : core.epoch);
  }

  /** A tensor holding a copy of `data` (rounded to f32). Shape defaults to [data.length]. */
  static from(data: ArrayLike<number>, shape: Shape = [data.length], options: TensorOptions = {}): Tensor {
    if (sizeOfShape(shape) !== data.length) {
      throw new ShapeError('from', [shape], `${data.length} values do not fill shape ${formatShape(shape)}`);
    }
    const t = Tensor.zeros(shape, options);
    t.set(data);
    return t;
  }

  /** A rank-0 tensor. */
  static scalar(value: number, options: TensorOptions = {}): Tensor {
    return Tensor.from([value], [], options);
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

  /** Runs the tape backward from this tensor (usually a scalar loss). */
  backward(): void {
    this.assertLive('backward');
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
    if (x.core !== this.core) throw new ValueError(`${op}: operands live on different cores`);
    x.assertLive(op);
    return x;
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
    for (const t of [cond, a, b]) t.assertLive('where');
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
   * integers in [0, lastDim).
   */
  gather(index: Tensor): Tensor {
    this.assertLive('gather');
    index.assertLive('gather');
    const expected = this.shape.slice(0, -1);
    if (this.rank === 0 || !sameShape(index.shape, expected)) {
      throw new ShapeError('gather', [this.shape, index.shape], `index must have shape ${formatShape(expected)}`);
    }
    checkIndices('gather', index, this.shape[this.rank - 1]!);
    return this.result(this.core.exports.opGather(this.id, index.id), expected, 'gather');
  }

  /** Rows of a (V, D) table: out (..., D) = weight[index[...]]. Also selects minibatch rows. */
  static embedding(weight: Tensor, index: Tensor): Tensor {
    weight.assertLive('embedding');
    index.assertLive('embedding');
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
    const c = this.shape[this.rank - 1]!;
    for (const p of [gamma, beta]) {
      if (!p) continue;
      p.assertLive('layerNorm');
      if (!sameShape(p.shape, [c])) throw new ShapeError('layerNorm', [this.shape, p.shape], `gamma and beta must have shape [${c}]`);
    }
    return this.result(this.core.exports.opLayerNorm(this.id, gamma?.id ?? -1, beta?.id ?? -1, eps), this.shape, 'layerNorm');
  }

  // ---- shape ops ---------------------------------------------------------------------------

  /** Same data, new shape (one dim may be -1). Shares memory; has its own gradient. */
  reshape(shape: Shape): Tensor {
    this.assertLive('reshape');
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
    if (tensors.length === 0) throw new ValueError('concat: needs at least one tensor');
    const first = tensors[0]!;
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
   * Matrix product over the last two dims, batched over one leading dim:
   * (M, K) x (K, N), (B, M, K) x (B, K, N) or (B, M, K) x (K, N).
   */
  matmul(other: Tensor, options: MatmulOptions = {}): Tensor {
    this.assertLive('matmul');
    other.assertLive('matmul');
    const { transA = false, transB = false } = options;
    const a = this.shape, b = other.shape;
    if (a.length < 2 || a.length > 3 || b.length < 2 || b.length > a.length) {
      throw new ShapeError('matmul', [a, b], 'operands must be (M, K) x (K, N), (B, M, K) x (B, K, N) or (B, M, K) x (K, N)');
    }
    if (a.length === 3 && b.length === 3 && a[0] !== b[0]) {
      throw new ShapeError('matmul', [a, b], `batch sizes differ (${a[0]} vs ${b[0]})`);
    }
    const m = transA ? a[a.length - 1]! : a[a.length - 2]!;
    const k = transA ? a[a.length - 2]! : a[a.length - 1]!;
    const kb = transB ? b[b.length - 1]! : b[b.length - 2]!;
    const n = transB ? b[b.length - 2]! : b[b.length - 1]!;
    if (k !== kb) throw new ShapeError('matmul', [a, b], `inner dimensions differ (${k} vs ${kb})`);
    const shape = a.length === 3 ? [a[0]!, m, n] : [m, n];
    checkSize('matmul', shape);
    return this.result(this.core.exports.opMatmul(this.id, other.id, transA ? 1 : 0, transB ? 1 : 0), shape, 'matmul');
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)}${this.persistent ? ', persistent' : ''})`;
  }
}

/** Checks that an index tensor holds integers in [0, bound). */
function checkIndices(op: string, index: Tensor, bound: number): void {
  const v = index.view();
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isInteger(x) || x < 0 || x >= bound) {
      throw new ValueError(`${op}: index ${x} at position ${i} is out of range [0, ${bound})`);
    }
  }
}
