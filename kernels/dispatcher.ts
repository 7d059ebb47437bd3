// GpuDispatcher: runs an op on the WASM core (through the Tensor method) or on the GPU
// (through gpu.js), chosen per call by shape.
//
//   device 'wasm'  always the core; gpu.js is never loaded.
//   device 'gpu'   always the GPU; throws GpuUnavailableError where gpu.js is missing or would
//                  run in its CPU/WebAssembly modes, GpuGradError where gradients are recorded.
//   device 'auto'  the GPU only where a GL backend exists, no gradient is recorded, and the
//                  cost model (calibrated on first use of each op) predicts it wins with the
//                  transfers counted. Everywhere else, the core.
//
// GPU results are forward-only: the result is a plain scratch tensor written from the GPU's
// output, with no tape record, so no gradient flows through it. The core's backward() walks its
// own tape in one call and has no hook for a host-side backward, so a GPU op in the middle of a
// graph cannot be differentiated; 'auto' therefore leaves every call that records gradients to
// the core. Use the GPU for no-grad work: rollouts, evaluation, reference-model forwards.
//
// GPU results are not bit-identical to the core's (docs/gpu.md).

// A plug-in: the SDK's public entry is all it uses (docs/architecture.md, "Layers").
import { defaultCore, noGrad, Tensor, ValueError, formatShape, type Core, type MatmulOptions, type Shape } from '../sdk/index';
import { GpuGradError, GpuUnavailableError } from './errors';
import { loadGpuJs, detectBackend, backendOf, GL_BACKENDS, type GpuBackendInfo, type GpuJsInstance, type GpuJsModule } from './gpujs';
import { KernelCache, copyResult } from './kernel_cache';
import { gpuMatmul, matmulFlops, matmulTransferFloats, type MatmulDims } from './matmul';
import { gpuUnary, UNARY_OPS, type UnaryOp } from './elementwise';
import { gpuSoftmax, gpuSumLast } from './reduce';
import { fitTransfer, minGpuWork, predict, type Calibration, type CalibrationPoint } from './cost_model';
import { msPerCall } from './timing';

export type Device = 'wasm' | 'gpu' | 'auto';

/** The ops the dispatcher can send to the GPU. */
export type GpuOp = 'matmul' | UnaryOp | 'sumLast' | 'softmax';

export interface GpuDispatcherOptions {
  /** Default device for every call (default 'auto'). */
  device?: Device;
  /** Core the tensors live on (default: the one init() loaded). */
  core?: Core;
  /** The gpu.js module to use; null acts as if gpu.js were not installed. Default: loaded lazily. */
  gpujs?: GpuJsModule | null;
  /**
   * Let device 'gpu' run on gpu.js's WebAssembly or CPU modes (with a warning) instead of
   * throwing GpuUnavailableError. For checking the kernels where no GPU exists; never faster.
   */
  allowFallbackBackend?: boolean;
  /** A calibration saved from `calibration()` on the same backend: skips the timing runs. */
  calibration?: Calibration;
  /** Time limit of one calibration step; larger shapes are skipped past it (default 250 ms). */
  calibrationStepMs?: number;
  /** Where warnings go (default console.warn). */
  warn?: (message: string) => void;
}

export interface DispatchOptions {
  /** Overrides the dispatcher's device for this call. */
  device?: Device;
}

/** What a call ran on and why. */
export interface DispatchChoice {
  op: GpuOp;
  /** The operands' shapes. */
  shapes: readonly Shape[];
  device: 'wasm' | 'gpu';
  reason: 'forced' | 'no-gpu' | 'grad' | 'too-large' | 'fallback' | 'cost';
  /** Model predictions, when the cost model decided. */
  predictedWasmMs?: number;
  predictedGpuMs?: number;
}

/** One op call: its operands, its cost-model terms, and how to run it on each side. */
interface OpCall {
  op: GpuOp;
  operands: readonly Tensor[];
  /** Shapes the op refuses: the core path runs and throws the typed error. */
  invalid?: boolean;
  work: number;
  floats: number;
  calls: number;
  /** False when a dimension exceeds the GPU's texture size limit. */
  fitsTexture: boolean;
  wasm(): Tensor;
  gpu(): Tensor;
}

function invalidCall(op: GpuOp, operands: readonly Tensor[], wasm: () => Tensor): OpCall {
  const never = () => {
    throw new Error('unreachable: invalid calls run on the core');
  };
  return { op, operands, invalid: true, work: 0, floats: 0, calls: 0, fitsTexture: false, wasm, gpu: never };
}

export class GpuDispatcher {
  /** The choice made by the most recent call. */
  lastChoice: DispatchChoice | null = null;
  /** Calls run on each side since creation. */
  readonly counts = { wasm: 0, gpu: 0 };

  private readonly cache: KernelCache | null;
  private calib: Calibration | null;
  private fallbackDetail: string | null = null;
  /** Per op: work below which the GPU cannot win (set from the calibration). */
  private readonly minGpuWork: Partial<Record<GpuOp, number>> = {};
  private warnedFallbackBackend = false;

  private constructor(
    readonly device: Device,
    readonly core: Core,
    /** What gpu.js runs on here ('none' when it was not loaded). */
    readonly backend: GpuBackendInfo,
    private readonly gpujs: GpuJsModule | null,
    private readonly gpu: GpuJsInstance | null,
    private readonly options: GpuDispatcherOptions,
  ) {
    this.cache = gpu ? new KernelCache(gpu) : null;
    const saved = options.calibration;
    this.calib = saved && saved.backend === backend.name ? structuredClone(saved) : null;
    for (const [op, points] of Object.entries(this.calib?.ops ?? {})) this.minGpuWork[op as GpuOp] = minGpuWork(this.calib!, points);
  }

  /**
   * A dispatcher. With device 'gpu' or 'auto' it loads gpu.js (dynamic import, or the given
   * module) and runs a probe kernel to learn the real backend; with 'wasm' it loads nothing.
   * Throws GpuUnavailableError for device 'gpu' without a usable GPU backend.
   */
  static async create(options: GpuDispatcherOptions = {}): Promise<GpuDispatcher> {
    const device = options.device ?? 'auto';
    const core = options.core ?? defaultCore();
    const none = (detail: string): GpuBackendInfo => ({ name: 'none', gl: false, software: false, detail });
    if (device === 'wasm') return new GpuDispatcher(device, core, none('device is wasm: gpu.js not loaded'), null, null, options);
    const gpujs = await loadGpuJs(options.gpujs);
    if (!gpujs) {
      if (device === 'gpu') {
        throw new GpuUnavailableError("device 'gpu': gpu.js is not installed (npm install gpu.js); use device 'auto' or 'wasm'", 'none');
      }
      return new GpuDispatcher(device, core, none('gpu.js is not installed'), null, null, options);
    }
    const gpu = new gpujs.GPU({ mode: 'gpu' });
    const backend = detectBackend(gpujs, gpu);
    const dispatcher = new GpuDispatcher(device, core, backend, gpujs, gpu, options);
    if (device === 'gpu') {
      try {
        dispatcher.requireGpu();
      } catch (error) {
        dispatcher.destroy();
        throw error;
      }
    }
    return dispatcher;
  }

  /**
   * Whether a call with the default device may run on the GPU, and so give results that differ
   * from the core's in the last bits (docs/gpu.md). False: every result is the core's, bit for bit.
   */
  get mayUseGpu(): boolean {
    if (this.device === 'wasm' || !this.gpu) return false;
    if (this.device === 'gpu') return true;
    return this.backend.gl && !this.fallbackDetail;
  }

  // ---- ops ---------------------------------------------------------------------------------
  // Each op first asks onCore() whether the call can go anywhere but the core; that answer
  // costs a few comparisons, so 'auto' without a usable GPU (Node, CI) or on a product too
  // small to win adds next to nothing to the core's time. Only then is the call described for
  // the decision (OpCall).

  /** a.matmul(b, options), on the device chosen for this shape. */
  matmul(a: Tensor, b: Tensor, options: MatmulOptions & DispatchOptions = {}): Tensor {
    const device = options.device ?? this.device;
    // 2 M N K per batch entry: a holds batch * M * K values; N is op(B)'s last dim.
    const work = 2 * a.size * (b.shape[options.transB ? b.rank - 2 : b.rank - 1] ?? 0);
    if (this.onCore('matmul', device, work, [a.shape, b.shape])) return a.matmul(b, options);
    return this.run(this.matmulCall(a, b, options), device);
  }

  /** x.exp() / tanh() / sigmoid() / gelu(), on the device chosen for this size. */
  unary(x: Tensor, op: UnaryOp, options: DispatchOptions = {}): Tensor {
    if (!UNARY_OPS.includes(op)) throw new ValueError(`unary: no GPU kernel for '${op}' (have ${UNARY_OPS.join(', ')})`);
    const device = options.device ?? this.device;
    if (this.onCore(op, device, x.size, [x.shape])) return x[op]();
    return this.run(this.unaryCall(x, op), device);
  }

  /** x.sum(-1): the sum over the last axis. */
  sumLast(x: Tensor, options: DispatchOptions = {}): Tensor {
    const device = options.device ?? this.device;
    if (this.onCore('sumLast', device, x.size, [x.shape])) return x.sum(-1);
    return this.run(this.sumLastCall(x), device);
  }

  /** x.softmax(-1): softmax over the last axis. */
  softmax(x: Tensor, options: DispatchOptions = {}): Tensor {
    const device = options.device ?? this.device;
    if (this.onCore('softmax', device, x.size, [x.shape])) return x.softmax(-1);
    return this.run(this.softmaxCall(x), device);
  }

  // ---- each op as an OpCall: its cost-model terms and its two implementations --------------

  private matmulCall(a: Tensor, b: Tensor, options: MatmulOptions): OpCall {
    const wasm = () => a.matmul(b, { transA: options.transA, transB: options.transB });
    const dims = matmulDims(a, b, options);
    if (!dims) return invalidCall('matmul', [a, b], wasm); // the core path throws the ShapeError
    const shape = a.rank === 3 ? [dims.batch, dims.m, dims.n] : [dims.m, dims.n];
    const limit = this.maxTextureSize();
    return {
      op: 'matmul',
      operands: [a, b],
      work: matmulFlops(dims),
      floats: matmulTransferFloats(dims),
      calls: dims.batch,
      fitsTexture: dims.m <= limit && dims.n <= limit,
      wasm,
      gpu: () => this.gpuResult(shape, (out) => gpuMatmul(this.cache!, a.view(), b.view(), out, dims)),
    };
  }

  private unaryCall(x: Tensor, op: UnaryOp): OpCall {
    return {
      op,
      operands: [x],
      work: x.size,
      floats: 2 * x.size,
      calls: 1,
      fitsTexture: true,
      wasm: () => x[op](),
      gpu: () => this.gpuResult(x.shape, (out) => gpuUnary(this.cache!, op, x.view(), out)),
    };
  }

  private sumLastCall(x: Tensor): OpCall {
    const wasm = () => x.sum(-1);
    if (x.rank === 0) return invalidCall('sumLast', [x], wasm);
    const cols = x.shape[x.rank - 1]!;
    const rows = x.size / cols;
    return {
      op: 'sumLast',
      operands: [x],
      work: x.size,
      floats: x.size + rows,
      calls: 1,
      fitsTexture: true,
      wasm,
      gpu: () => this.gpuResult(x.shape.slice(0, -1), (out) => gpuSumLast(this.cache!, x.view(), rows, cols, out)),
    };
  }

  private softmaxCall(x: Tensor): OpCall {
    const wasm = () => x.softmax(-1);
    if (x.rank === 0) return invalidCall('softmax', [x], wasm);
    const cols = x.shape[x.rank - 1]!;
    const rows = x.size / cols;
    const limit = this.maxTextureSize();
    return {
      op: 'softmax',
      operands: [x],
      work: x.size,
      floats: 2 * x.size,
      calls: 1,
      fitsTexture: rows <= limit && cols <= limit,
      wasm,
      gpu: () => this.gpuResult(x.shape, (out) => gpuSoftmax(this.cache!, x.view(), rows, cols, out)),
    };
  }

  // ---- the decision ------------------------------------------------------------------------

  /**
   * The quick answer: true (and the choice recorded) when this call goes to the core without
   * further thought: device 'wasm'; or 'auto' with no usable GPU, or with less work than the
   * GPU could ever win on (below `minGpuWork`, known once the op is calibrated).
   */
  private onCore(op: GpuOp, device: Device, work: number, shapes: readonly Shape[]): boolean {
    if (device === 'gpu') return false;
    let reason: DispatchChoice['reason'];
    if (device === 'wasm') reason = 'forced';
    else if (!this.backend.gl) reason = 'no-gpu';
    else if (this.fallbackDetail) reason = 'fallback';
    else if (work < (this.minGpuWork[op] ?? 0)) reason = 'cost';
    else return false;
    this.lastChoice = { op, shapes, device: 'wasm', reason };
    this.counts.wasm++;
    return true;
  }

  /** Where a call would run and why (calibrating the op on its first use under 'auto'). */
  private choose(call: OpCall, device: Device): DispatchChoice {
    const base = { op: call.op, shapes: call.operands.map((t) => t.shape) };
    const gradRecorded = this.core.gradEnabled && call.operands.some((t) => requiresGrad(t));
    const what = () => `${call.op} ${base.shapes.map(formatShape).join(' x ')}`;
    if (device === 'gpu') {
      this.requireGpu();
      if (gradRecorded) {
        throw new GpuGradError(`${what()}: device 'gpu' on operands that record gradients; GPU results have no backward. Run it under noGrad(), or use device 'auto' or 'wasm'`);
      }
      if (!call.fitsTexture) {
        throw new GpuUnavailableError(`${what()}: a dimension exceeds the GPU's texture size limit ${this.maxTextureSize()}`, this.backend.name);
      }
      return { ...base, device: 'gpu', reason: 'forced' };
    }
    if (gradRecorded) return { ...base, device: 'wasm', reason: 'grad' };
    if (!call.fitsTexture) return { ...base, device: 'wasm', reason: 'too-large' };
    const points = this.calibrated(call.op);
    if (!points) return { ...base, device: 'wasm', reason: 'fallback' };
    const p = predict(this.calib!, points, call);
    return { ...base, device: p.gpu ? 'gpu' : 'wasm', reason: 'cost', predictedWasmMs: p.wasmMs, predictedGpuMs: p.gpuMs };
  }

  private run(call: OpCall, device: Device): Tensor {
    if (call.invalid || call.operands.some((t) => t.core !== this.core)) return call.wasm(); // throws the typed error
    for (const t of call.operands) t.assertLive(call.op);
    const choice = this.choose(call, device);
    this.lastChoice = choice;
    this.counts[choice.device]++;
    if (choice.device === 'wasm') return call.wasm();
    const out = call.gpu();
    this.checkForFallback();
    return out;
  }

  /** A fresh scratch tensor of `shape`, filled by `fill` with the GPU's result. */
  private gpuResult(shape: readonly number[], fill: (out: Float32Array) => void): Tensor {
    // Allocate first: growing wasm memory would detach the operand views taken inside fill.
    const out = Tensor.zeros(shape, { core: this.core });
    fill(out.view());
    return out;
  }

  /** Throws GpuUnavailableError unless GPU kernels can run here. */
  private requireGpu(): void {
    if (!this.gpu || !this.gpujs) {
      throw new GpuUnavailableError(`device 'gpu': ${this.backend.detail}`, this.backend.name);
    }
    if (this.backend.gl) return;
    if (this.options.allowFallbackBackend && this.backend.name !== 'unknown') {
      if (!this.warnedFallbackBackend) {
        this.warnedFallbackBackend = true;
        (this.options.warn ?? console.warn)(`NovaRL: device 'gpu' runs on gpu.js's ${this.backend.name} mode, which is no GPU and slower than the WASM core (allowFallbackBackend is set)`);
      }
      return;
    }
    throw new GpuUnavailableError(
      `device 'gpu': ${this.backend.detail}. It would be slower than the WASM core, so it is refused; use device 'auto' or 'wasm', or set allowFallbackBackend to check kernels anyway`,
      this.backend.name,
    );
  }

  /** gpu.js swaps a kernel whose shader fails to compile for a CPU one; from then on auto avoids the GPU. */
  private checkForFallback(): void {
    if (!this.backend.gl || this.fallbackDetail) return;
    for (const kernel of this.cache!.all()) {
      const name = backendOf(this.gpujs!, kernel);
      if (!GL_BACKENDS.includes(name)) {
        this.fallbackDetail = `a kernel fell back to gpu.js's ${name} mode`;
        (this.options.warn ?? console.warn)(`NovaRL: ${this.fallbackDetail}; device 'auto' now uses the WASM core`);
        return;
      }
    }
  }

  private maxTextureSize(): number {
    return this.backend.maxTextureSize ?? Number.POSITIVE_INFINITY;
  }

  // ---- calibration -------------------------------------------------------------------------

  /** The calibration so far (JSON): pass it as options.calibration to skip timing next time. */
  calibration(): Calibration | null {
    return this.calib ? structuredClone(this.calib) : null;
  }

  /**
   * Runs the calibration of `ops` now rather than on their first use (which would add its
   * time to that call). Does nothing without a GL backend.
   */
  calibrate(ops: readonly GpuOp[] = ['matmul']): Calibration | null {
    if (!this.backend.gl) return null;
    for (const op of ops) this.calibrated(op);
    return this.calibration();
  }

  /**
   * The smallest square matmul size n (a power of two, 16..8192) that auto sends to the GPU,
   * or null when it sends none (no GPU, or the GPU never wins). Calibrates matmul if needed.
   */
  matmulCrossover(): number | null {
    if (!this.backend.gl) return null;
    const points = this.calibrated('matmul');
    if (!points) return null;
    for (let n = 16; n <= Math.min(8192, this.maxTextureSize()); n *= 2) {
      if (predict(this.calib!, points, { work: 2 * n * n * n, floats: 3 * n * n, calls: 1 }).gpu) return n;
    }
    return null;
  }

  /** The calibration points of `op`, timing them on first use; null when the GPU path fails. */
  private calibrated(op: GpuOp): CalibrationPoint[] | null {
    const existing = this.calib?.ops[op];
    if (existing) return existing;
    try {
      return noGrad(() => {
        this.calib ??= { backend: this.backend.name, renderer: this.backend.renderer, transfer: this.measureTransfer(), ops: {} };
        const points = this.measureOp(op);
        this.calib.ops[op] = points;
        this.minGpuWork[op] = minGpuWork(this.calib, points);
        return points;
      }, this.core);
    } catch (error) {
      this.fallbackDetail = `calibrating ${op} on the GPU failed: ${(error as Error).message}`;
      (this.options.warn ?? console.warn)(`NovaRL: ${this.fallbackDetail}; device 'auto' now uses the WASM core`);
      return null;
    }
  }

  /** Times a copy kernel at two sizes: each moves its size up and back down. */
  private measureTransfer(): Calibration['transfer'] {
    const COPY = `function copy(x) {
  return x[this.thread.x];
}`;
    const time = (size: number) => {
      const x = new Float32Array(size).fill(1);
      const dst = new Float32Array(size);
      const kernel = this.cache!.get(COPY, { output: [size] });
      return { floats: 2 * size, ms: msPerCall(() => copyResult(kernel(x), dst, 0, size), { budgetMs: this.stepMs() }) };
    };
    return fitTransfer(time(1 << 12), time(1 << 18));
  }

  private stepMs(): number {
    return this.options.calibrationStepMs ?? 250;
  }

  /**
   * Times `op` on both sides at its calibration shapes, smallest first, through the same code
   * path as a real call (allocation of the result and the copy into wasm memory included).
   * Larger shapes are skipped once the GPU's time, scaled up, would overrun a step: a GPU that
   * slow loses to the core at every size.
   */
  private measureOp(op: GpuOp): CalibrationPoint[] {
    const shapes: number[][] = op === 'matmul' ? [[128, 128], [256, 256], [512, 512]] : op === 'sumLast' || op === 'softmax' ? [[128, 256], [512, 512]] : [[1 << 15], [1 << 18]];
    const points: CalibrationPoint[] = [];
    for (let i = 0; i < shapes.length; i++) {
      const point = this.measureShape(op, shapes[i]!);
      points.push(point);
      const next = shapes[i + 1];
      if (next && point.gpuMs * (workOf(op, next) / point.work) > this.stepMs()) break;
    }
    return points;
  }

  private measureShape(op: GpuOp, shape: number[]): CalibrationPoint {
    const inputs: Tensor[] = [];
    const input = (dims: number[]) => {
      const t = Tensor.zeros(dims, { core: this.core, persistent: true });
      const v = t.view();
      for (let i = 0; i < v.length; i++) v[i] = ((i * 7919) % 2001) / 1000 - 1; // deterministic spread over [-1, 1]
      inputs.push(t);
      return t;
    };
    try {
      const call =
        op === 'matmul' ? this.matmulCall(input(shape), input(shape), {})
        : op === 'sumLast' ? this.sumLastCall(input(shape))
        : op === 'softmax' ? this.softmaxCall(input(shape))
        : this.unaryCall(input(shape), op);
      const gpuMs = msPerCall(call.gpu, { budgetMs: this.stepMs() });
      const wasmMs = msPerCall(call.wasm, { budgetMs: this.stepMs(), warmupMs: 30 });
      return { label: shape.join('x'), work: call.work, floats: call.floats, calls: call.calls, wasmMs, gpuMs };
    } finally {
      for (const t of inputs) t.free();
    }
  }

  /** Frees the kernels and the GPU context. */
  destroy(): void {
    this.cache?.clear();
    this.gpu?.destroy();
  }
}

/** Work of a calibration shape: flops of the square matmul, else elements. */
function workOf(op: GpuOp, shape: readonly number[]): number {
  if (op === 'matmul') return 2 * shape[0]! ** 3;
  return shape.reduce((p, d) => p * d, 1);
}

/** Whether a tensor records gradients (its flag in the core's tensor table). */
export function requiresGrad(t: Tensor): boolean {
  return t.core.requiresGrad(t.id);
}

/** The product's dimensions, or null when the shapes are invalid (Tensor.matmul then throws). */
function matmulDims(a: Tensor, b: Tensor, options: MatmulOptions): MatmulDims | null {
  const { transA = false, transB = false } = options;
  const as = a.shape, bs = b.shape;
  if (as.length < 2 || as.length > 3 || bs.length < 2 || bs.length > as.length) return null;
  if (as.length === 3 && bs.length === 3 && as[0] !== bs[0]) return null;
  const m = transA ? as[as.length - 1]! : as[as.length - 2]!;
  const k = transA ? as[as.length - 2]! : as[as.length - 1]!;
  const kb = transB ? bs[bs.length - 1]! : bs[bs.length - 2]!;
  const n = transB ? bs[bs.length - 2]! : bs[bs.length - 1]!;
  if (k !== kb) return null;
  return { m, n, k, batch: as.length === 3 ? as[0]! : 1, bBatched: bs.length === 3, transA, transB };
}
