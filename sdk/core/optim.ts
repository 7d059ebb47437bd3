// Optimizers, as torch.optim: SGD, Adam and AdamW, plus global gradient-norm clipping. Each
// step is one call into the core (assembly/optim/), which updates every parameter in place;
// the tensor ids travel through the core's i32 argument buffer. Optimizer state (momentum
// buffers, Adam moments) lives in persistent tensors, saved and restored with stateDict().

import type { Core } from './core';
import { ShapeError, ValueError } from './errors';
import { StateDictError, type StateDict } from './module';
import { describeValue } from './shape';
import { Tensor } from './tensor';

/** An optimizer's state for checkpoints: its counters and its per-parameter buffers. */
export interface OptimizerState {
  /** Steps taken so far (Adam's bias correction depends on it). */
  stepCount: number;
  /** The learning rate when the state was saved. */
  lr: number;
  /** Buffers by name: 'momentum_buffer.<i>' (SGD), 'exp_avg.<i>' and 'exp_avg_sq.<i>' (Adam), i the parameter's index. */
  tensors: StateDict;
}

/** What every optimizer shares: parameters, lr, step count, state buffers and the argument buffer. */
export abstract class Optimizer {
  readonly params: readonly Tensor[];
  protected readonly core: Core;
  /** Buffer name -> one persistent tensor per parameter (shape of the parameter). */
  protected readonly buffers: ReadonlyMap<string, readonly Tensor[]>;
  private lrValue = 0;
  private steps = 0;
  private readonly paramIds: readonly number[];

  protected constructor(
    private readonly name: string,
    params: readonly Tensor[],
    lr: number,
    bufferNames: readonly string[],
  ) {
    this.params = checkParams(name, params);
    this.core = this.params[0]!.core;
    checkArgCapacity(name, this.core, this.params.length * (1 + bufferNames.length));
    this.paramIds = this.params.map((p) => p.id);
    this.lr = lr;
    const buffers = new Map<string, Tensor[]>();
    for (const b of bufferNames) {
      buffers.set(b, this.params.map((p) => Tensor.zeros(p.shape, { persistent: true, core: this.core })));
    }
    this.buffers = buffers;
  }

  /** The learning rate, read on every step (change it between steps for a schedule). */
  get lr(): number {
    return this.lrValue;
  }
  set lr(value: number) {
    checkNonNegative(this.name, 'lr', value);
    this.lrValue = value;
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** Updates every parameter from its gradient. */
  step(): void {
    for (const p of this.params) p.assertLive(`${this.name}.step`);
    this.steps++;
    this.update(this.writeArgs());
  }

  /** The core call for one step, with n parameters' ids already in the argument buffer. */
  protected abstract update(n: number): void;

  /** Zeroes every parameter's gradient, in one call into the core. */
  zeroGrad(): void {
    for (const p of this.params) p.assertLive(`${this.name}.zeroGrad`);
    this.core.zeroGrads(this.paramIds);
  }

  /** Copies of the state (see OptimizerState). */
  stateDict(): OptimizerState {
    const tensors: StateDict = {};
    for (const [b, list] of this.buffers) list.forEach((t, i) => (tensors[`${b}.${i}`] = t.toArray()));
    return { stepCount: this.steps, lr: this.lrValue, tensors };
  }

  /** Restores a state from stateDict(); names and sizes must match these parameters. */
  loadStateDict(state: OptimizerState): void {
    if (typeof state !== 'object' || state === null) throw new StateDictError(`${this.name}.loadStateDict: needs an OptimizerState object, got ${describeValue(state)}`);
    if (!Number.isSafeInteger(state.stepCount) || state.stepCount < 0) {
      throw new StateDictError(`${this.name}.loadStateDict: stepCount must be a non-negative integer, got ${state.stepCount}`);
    }
    checkNonNegative(`${this.name}.loadStateDict`, 'lr', state.lr);
    if (typeof state.tensors !== 'object' || state.tensors === null) {
      throw new StateDictError(`${this.name}.loadStateDict: tensors must be an object of Float32Arrays, got ${describeValue(state.tensors)}`);
    }
    const expected: string[] = [];
    for (const [b, list] of this.buffers) list.forEach((_, i) => expected.push(`${b}.${i}`));
    const missing = expected.filter((n) => !Object.hasOwn(state.tensors, n));
    const unexpected = Object.keys(state.tensors).filter((n) => !expected.includes(n));
    if (missing.length || unexpected.length) {
      throw new StateDictError(`${this.name}.loadStateDict: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
    }
    for (const [b, list] of this.buffers) {
      list.forEach((t, i) => {
        const data: unknown = state.tensors[`${b}.${i}`];
        if (!(data instanceof Float32Array)) throw new StateDictError(`${this.name}.loadStateDict: ${b}.${i} is ${describeValue(data)}, not a Float32Array`);
        if (data.length !== t.size) {
          throw new ShapeError(`${this.name}.loadStateDict`, [t.shape], `${b}.${i} has ${data.length} values, the parameter needs ${t.size}`);
        }
      });
    }
    for (const [b, list] of this.buffers) list.forEach((t, i) => t.set(state.tensors[`${b}.${i}`]!));
    this.steps = state.stepCount;
    this.lrValue = state.lr;
  }

  /** Frees the state tensors (not the parameters); the optimizer is unusable afterwards. */
  free(): void {
    for (const list of this.buffers.values()) for (const t of list) t.free();
  }

  /** Writes the parameter ids, then each buffer group's ids, into the argument buffer; returns n. */
  private writeArgs(): number {
    this.core.writeArgs(this.name, this.paramIds);
    let at = this.paramIds.length;
    for (const list of this.buffers.values()) {
      this.core.writeArgs(this.name, list.map((t) => t.id), at);
      at += list.length;
    }
    return this.params.length;
  }
}

// ---- SGD ---------------------------------------------------------------------------------------

export interface SGDOptions {
  /** Learning rate (default 1e-3, as torch.optim.SGD). */
  lr?: number;
  /** Momentum factor (default 0: plain SGD). */
  momentum?: number;
  /** L2 penalty added to the gradient: g + weightDecay * p (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0). */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent as torch.optim.SGD (dampening 0):
 * d = g + wd * p; buf = momentum * buf + d; d = nesterov ? d + momentum * buf : buf; p -= lr * d.
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: readonly Tensor[], options: SGDOptions = {}) {
    checkOptions('SGD', options);
    const { lr = 1e-3, momentum = 0, weightDecay = 0, nesterov = false } = options;
    checkNonNegative('SGD', 'momentum', momentum);
    checkNonNegative('SGD', 'weightDecay', weightDecay);
    if (typeof nesterov !== 'boolean') throw new ValueError(`SGD: nesterov must be true or false, got ${describeValue(nesterov)}`);
    if (nesterov && momentum <= 0) throw new ValueError('SGD: nesterov needs momentum > 0');
    super('SGD', params, lr, momentum > 0 ? ['momentum_buffer'] : []);
    this.momentum = momentum;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  protected update(n: number): void {
    this.core.exports.sgdStep(n, this.lr, this.momentum, this.weightDecay, this.nesterov ? 1 : 0);
  }
}

// ---- Adam and AdamW ----------------------------------------------------------------------------

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay p *= 1 - lr * wd (default 0.01). */
  weightDecay?: number;
}

/** Adam and AdamW: the same update, differing only in how weight decay enters. */
export abstract class AdamBase extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Decoupled weight decay (AdamW) instead of an L2 term in the gradient (Adam). */
  readonly decoupled: boolean;

  protected constructor(name: string, decoupled: boolean, params: readonly Tensor[], options: AdamOptions) {
    checkOptions(name, options);
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = decoupled ? 0.01 : 0 } = options;
    if (!Array.isArray(betas as unknown) || betas.length !== 2) throw new ValueError(`${name}: betas must be a pair [beta1, beta2], got ${describeValue(betas)}`);
    for (const [i, beta] of betas.entries()) {
      if (typeof beta !== 'number' || !(beta >= 0 && beta < 1)) throw new ValueError(`${name}: betas[${i}] must be in [0, 1), got ${describeValue(beta)}`);
    }
    checkNonNegative(name, 'eps', eps);
    checkNonNegative(name, 'weightDecay', weightDecay);
    super(name, params, lr, ['exp_avg', 'exp_avg_sq']);
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.decoupled = decoupled;
  }

  protected update(n: number): void {
    const [beta1, beta2] = this.betas;
    this.core.exports.adamStep(n, this.lr, beta1, beta2, this.eps, this.weightDecay, this.decoupled ? 1 : 0, this.stepCount);
  }
}

/**
 * Adam as torch.optim.Adam: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). Weight decay (default 0) is an
 * L2 term added to the gradient; see AdamW for the decoupled form.
 */
export class Adam extends AdamBase {
  constructor(params: readonly Tensor[], options: AdamOptions = {}) {
    super('Adam', false, params, options);
  }
}

/**
 * AdamW (Loshchilov and Hutter) as torch.optim.AdamW: Adam with decoupled weight decay,
 * p *= 1 - lr * wd before the update (default wd 0.01).
 */
export class AdamW extends AdamBase {
  constructor(params: readonly Tensor[], options: AdamOptions = {}) {
    super('AdamW', true, params, options);
  }
}

// ---- gradient clipping -------------------------------------------------------------------------

/**
 * Scales all gradients together so their global L2 norm is at most maxNorm
 * (torch.nn.utils.clip_grad_norm_: g *= maxNorm / (norm + 1e-6) when norm > maxNorm).
 * Returns the norm before clipping. maxNorm must be a finite number >= 0; 0 only measures the
 * norm (as PPOConfig.maxGradNorm 0 means no clipping). One call into the core.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0) || maxNorm === Infinity) {
    throw new ValueError(`clipGradNorm: maxNorm must be a finite number >= 0 (0 only measures the norm), got ${describeValue(maxNorm)}`);
  }
  if (Array.isArray(params) && params.length === 0) return 0;
  const checked = checkParams('clipGradNorm', params);
  const core = checked[0]!.core;
  core.writeArgs('clipGradNorm', checked.map((p) => p.id));
  return core.exports.clipGradNorm(checked.length, maxNorm);
}

// ---- checks ------------------------------------------------------------------------------------

function checkNonNegative(op: string, what: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0) || value === Infinity) throw new ValueError(`${op}: ${what} must be a finite number >= 0, got ${describeValue(value)}`);
}

function checkOptions(op: string, options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new ValueError(`${op}: options must be an object, got ${describeValue(options)}`);
}

/** Non-empty, live, persistent, with a gradient buffer, on one core, no duplicates. */
function checkParams(op: string, params: readonly Tensor[]): Tensor[] {
  if (!Array.isArray(params) || params.length === 0) throw new ValueError(`${op}: needs a non-empty array of parameters`);
  const core = params[0]!.core;
  const seen = new Set<number>();
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new ValueError(`${op}: parameter ${i} is not a Tensor`);
    p.assertLive(op);
    if (p.core !== core) throw new ValueError(`${op}: parameter ${i} lives on a different core than parameter 0`);
    if (!p.persistent || core.gradAddress(p.id) === 0) {
      throw new ValueError(`${op}: parameter ${i} ${p} must be persistent with requiresGrad (a Parameter)`);
    }
    if (seen.has(p.id)) throw new ValueError(`${op}: parameter ${i} appears twice`);
    seen.add(p.id);
  });
  return [...params];
}

function checkArgCapacity(op: string, core: Core, slots: number): void {
  const capacity = core.argCapacity;
  if (slots > capacity) {
    throw new ValueError(`${op}: needs ${slots} argument slots for its tensors, the core has ${capacity}; use fewer (larger) parameter tensors`);
  }
}
