// Optimizers and gradient clipping (assembly/optim/, sdk/core/optim.ts) against float64
// reference implementations of PyTorch's update rules, written below from torch.optim's
// _single_tensor_sgd / _single_tensor_adam and torch.nn.utils.clip_grad_norm_.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Tensor, Parameter, ValueError, StateDictError, type Core,
  SGD, Adam, AdamW, clipGradNorm, type Optimizer,
} from '../sdk/index';
import { randomData, expectClose, expectBitwiseEqual, loadCores, TAIL_SIZES } from './util';

let simd: Core;
let scalar: Core;
beforeAll(async () => {
  ({ simd, scalar } = await loadCores());
});
afterEach(() => {
  simd.endStep();
  scalar.endStep();
});

// ---- float64 references (PyTorch's rules; hyperparameters rounded to f32 as the core sees them) --

interface SgdConfig { momentum: number; weightDecay: number; nesterov: boolean }

/** torch.optim.SGD, dampening 0: the momentum buffer is created as a clone of d on the first step. */
class SgdRef {
  buffers: (Float64Array | null)[];
  constructor(readonly params: Float64Array[], readonly config: SgdConfig) {
    this.buffers = params.map(() => null);
  }
  step(grads: Float64Array[], lr: number): void {
    const f = Math.fround;
    const momentum = f(this.config.momentum), wd = f(this.config.weightDecay);
    this.params.forEach((p, k) => {
      const g = grads[k]!;
      const d = p.map((x, i) => g[i]! + wd * x);
      if (momentum !== 0) {
        let buf = this.buffers[k];
        if (!buf) buf = this.buffers[k] = Float64Array.from(d);
        else for (let i = 0; i < buf.length; i++) buf[i] = momentum * buf[i]! + d[i]!;
        for (let i = 0; i < d.length; i++) d[i] = this.config.nesterov ? d[i]! + momentum * buf[i]! : buf[i]!;
      }
      for (let i = 0; i < p.length; i++) p[i] = p[i]! - f(lr) * d[i]!;
    });
  }
}

interface AdamConfig { betas: [number, number]; eps: number; weightDecay: number; decoupled: boolean }

/** torch.optim.Adam / AdamW (amsgrad off), with PyTorch's lerp form of the first moment. */
class AdamRef {
  m: Float64Array[];
  v: Float64Array[];
  t = 0;
  constructor(readonly params: Float64Array[], readonly config: AdamConfig) {
    this.m = params.map((p) => new Float64Array(p.length));
    this.v = params.map((p) => new Float64Array(p.length));
  }
  step(grads: Float64Array[], lrIn: number): void {
    const f = Math.fround;
    const [b1, b2] = [f(this.config.betas[0]), f(this.config.betas[1])];
    const eps = f(this.config.eps), wd = f(this.config.weightDecay), lr = f(lrIn);
    this.t++;
    const bc1 = 1 - b1 ** this.t, bc2 = 1 - b2 ** this.t;
    this.params.forEach((p, k) => {
      const m = this.m[k]!, v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        let g = grads[k]![i]!;
        if (this.config.decoupled) p[i] = p[i]! * (1 - lr * wd);
        else g = g + wd * p[i]!;
        m[i] = m[i]! + (1 - b1) * (g - m[i]!);
        v[i] = b2 * v[i]! + (1 - b2) * g * g;
        p[i] = p[i]! - (lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + eps));
      }
    });
  }
}

/** clip_grad_norm_: returns the total norm and the clipped gradients. */
function clipRef(grads: Float64Array[], maxNorm: number): { norm: number; grads: Float64Array[] } {
  let sq = 0;
  for (const g of grads) for (const x of g) sq += x * x;
  const norm = Math.sqrt(sq);
  const coef = maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  return { norm, grads: grads.map((g) => g.map((x) => x * coef)) };
}

// ---- helpers -----------------------------------------------------------------------------------

const SIZES = [...TAIL_SIZES, 64];

function makeParams(core: Core, seed: number): Parameter[] {
  return SIZES.map((n, k) => {
    const p = Parameter.create(n === 64 ? [8, 8] : [n], core);
    p.set(randomData(n, seed + k));
    return p;
  });
}

/** Writes a gradient straight into a parameter's gradient buffer, as backward() would leave it. */
function setGrad(p: Tensor, data: ArrayLike<number>): void {
  const ptr = p.core.exports.tensorGrad(p.id);
  p.core.f32.set(data, ptr >>> 2);
}

/** Deterministic per-step gradients, f32-rounded so the reference sees what the core sees. */
function gradsFor(step: number, seed: number): Float64Array[] {
  return SIZES.map((n, k) => randomData(n, seed * 1000 + step * 37 + k, -2, 2));
}

function freeAll(params: Tensor[], opt?: Optimizer): void {
  opt?.free();
  for (const p of params) p.free();
}

// Parameters after several f32 steps vs the float64 rule: each step rounds p (~1) to f32
// (~6e-8) and computes the update with a relative error of a few ulps.
const PARAM_RTOL = 1e-5;
const PARAM_ATOL = 2e-6;

// ---- SGD -----------------------------------------------------------------------------------------

describe('SGD matches torch.optim.SGD over several steps with a changing lr', () => {
  const configs: SgdConfig[] = [
    { momentum: 0, weightDecay: 0, nesterov: false },
    { momentum: 0, weightDecay: 0.1, nesterov: false },
    { momentum: 0.9, weightDecay: 0, nesterov: false },
    { momentum: 0.9, weightDecay: 0.05, nesterov: false },
    { momentum: 0.8, weightDecay: 0.05, nesterov: true },
  ];
  for (const config of configs) {
    it(`momentum ${config.momentum}, weight decay ${config.weightDecay}, nesterov ${config.nesterov}`, () => {
      const params = makeParams(simd, 1);
      const ref = new SgdRef(params.map((p) => Float64Array.from(p.view())), config);
      const opt = new SGD(params, { lr: 0.1, ...config });
      try {
        for (let step = 1; step <= 6; step++) {
          const lr = 0.1 / step; // a schedule: the lr changes every step
          opt.lr = lr;
          const grads = gradsFor(step, 2);
          params.forEach((p, k) => setGrad(p, grads[k]!));
          opt.step();
          ref.step(grads, lr);
          params.forEach((p, k) => expectClose(p.view(), ref.params[k]!, `step ${step} param ${k}`, PARAM_RTOL, PARAM_ATOL));
        }
        expect(opt.stepCount).toBe(6);
        if (config.momentum > 0) {
          const state = opt.stateDict().tensors;
          params.forEach((_, k) => expectClose(state[`momentum_buffer.${k}`]!, ref.buffers[k]!, `buffer ${k}`, PARAM_RTOL, PARAM_ATOL));
        } else {
          expect(Object.keys(opt.stateDict().tensors)).toEqual([]);
        }
      } finally {
        freeAll(params, opt);
      }
    });
  }
});

// ---- Adam and AdamW ------------------------------------------------------------------------------

describe('Adam and AdamW match torch.optim over several steps with a changing lr', () => {
  const configs: (AdamConfig & { name: string })[] = [
    { name: 'Adam', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, decoupled: false },
    { name: 'Adam, L2 weight decay', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1, decoupled: false },
    { name: 'Adam, other betas and eps', betas: [0.5, 0.9], eps: 1e-3, weightDecay: 0, decoupled: false },
    { name: 'AdamW', betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, decoupled: true },
    { name: 'AdamW, strong decay', betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.5, decoupled: true },
  ];
  for (const config of configs) {
    it(config.name, () => {
      const params = makeParams(simd, 3);
      const ref = new AdamRef(params.map((p) => Float64Array.from(p.view())), config);
      const options = { lr: 0.01, betas: config.betas, eps: config.eps, weightDecay: config.weightDecay };
      const opt = config.decoupled ? new AdamW(params, options) : new Adam(params, options);
      try {
        for (let step = 1; step <= 8; step++) {
          const lr = step % 2 ? 0.01 : 0.003; // the lr changes between steps
          opt.lr = lr;
          const grads = gradsFor(step, 4);
          params.forEach((p, k) => setGrad(p, grads[k]!));
          opt.step();
          ref.step(grads, lr);
          params.forEach((p, k) => expectClose(p.view(), ref.params[k]!, `step ${step} param ${k}`, PARAM_RTOL, PARAM_ATOL));
        }
        const state = opt.stateDict();
        expect(state.stepCount).toBe(8);
        params.forEach((_, k) => {
          expectClose(state.tensors[`exp_avg.${k}`]!, ref.m[k]!, `exp_avg ${k}`, PARAM_RTOL, PARAM_ATOL);
          // v ~ g^2 (up to 4): same relative accuracy
          expectClose(state.tensors[`exp_avg_sq.${k}`]!, ref.v[k]!, `exp_avg_sq ${k}`, PARAM_RTOL, PARAM_ATOL);
        });
      } finally {
        freeAll(params, opt);
      }
    });
  }

  it('AdamW defaults to weight decay 0.01 and Adam to 0, and they differ', () => {
    const a = makeParams(simd, 5), b = makeParams(simd, 5);
    const adam = new Adam(a, { lr: 0.01 }), adamw = new AdamW(b, { lr: 0.01 });
    try {
      expect(adam.weightDecay).toBe(0);
      expect(adamw.weightDecay).toBe(0.01);
      const grads = gradsFor(1, 6);
      a.forEach((p, k) => setGrad(p, grads[k]!));
      b.forEach((p, k) => setGrad(p, grads[k]!));
      adam.step();
      adamw.step();
      expect(Array.from(a[5]!.view())).not.toEqual(Array.from(b[5]!.view()));
    } finally {
      freeAll(a, adam);
      freeAll(b, adamw);
    }
  });

  it('minimises a real loss through backward(): sum((p - target)^2) reaches the target', () => {
    const target = randomData(17, 7, -3, 3);
    const p = Parameter.create([17], simd);
    const opt = new Adam([p], { lr: 0.05 });
    try {
      for (let step = 0; step < 400; step++) {
        opt.zeroGrad();
        const diff = p.sub(Tensor.from(target, [17], { core: simd }));
        diff.mul(diff).sum().backward();
        opt.step();
        simd.endStep();
      }
      // Adam settles within a few lr-sized oscillations damped by its moments
      expectClose(p.view(), target, 'p', 0, 1e-2);
    } finally {
      freeAll([p], opt);
    }
  });
});

// ---- clipGradNorm ----------------------------------------------------------------------------------

describe('clipGradNorm', () => {
  it('returns the global L2 norm and scales every gradient by maxNorm / (norm + 1e-6) when it exceeds maxNorm', () => {
    const params = makeParams(simd, 8);
    try {
      const grads = gradsFor(1, 9);
      params.forEach((p, k) => setGrad(p, grads[k]!));
      const ref = clipRef(grads, 1.5);
      expect(ref.norm).toBeGreaterThan(1.5); // the case where clipping binds
      const norm = clipGradNorm(params, 1.5);
      expectClose([norm], [ref.norm], 'norm', 1e-6, 0); // an f32 sum of squares of ~120 terms
      params.forEach((p, k) => expectClose(p.grad()!, ref.grads[k]!, `grad ${k}`, 1e-6, 1e-7));
      // after clipping the norm is (just below) maxNorm
      expectClose([clipGradNorm(params, 0)], [1.5], 'norm after', 1e-5, 0);
    } finally {
      freeAll(params);
    }
  });

  it('leaves gradients untouched (bit for bit) when the norm is below maxNorm, or maxNorm is 0', () => {
    const params = makeParams(simd, 10);
    try {
      const grads = gradsFor(2, 11);
      params.forEach((p, k) => setGrad(p, grads[k]!));
      const before = params.map((p) => p.grad()!);
      const ref = clipRef(grads, 0);
      for (const maxNorm of [ref.norm * 2, 0]) {
        expectClose([clipGradNorm(params, maxNorm)], [ref.norm], `norm (maxNorm ${maxNorm})`, 1e-6, 0);
        params.forEach((p, k) => expectBitwiseEqual(p.grad()!, before[k]!, `grad ${k} (maxNorm ${maxNorm})`));
      }
    } finally {
      freeAll(params);
    }
  });

  it('refuses NaN, negative or infinite maxNorm, scratch tensors and more parameters than the argument buffer holds', () => {
    const params = makeParams(simd, 12);
    try {
      for (const maxNorm of [NaN, -1, Infinity]) expect(() => clipGradNorm(params, maxNorm)).toThrow(ValueError);
      expect(() => clipGradNorm([Tensor.zeros([3], { core: simd, requiresGrad: true })], 1)).toThrow(/persistent with requiresGrad/);
      expect(clipGradNorm([], 1)).toBe(0);
    } finally {
      freeAll(params);
    }
    const capacity = simd.exports.argCapacity();
    const many = Array.from({ length: capacity + 1 }, () => Parameter.create([1], simd));
    try {
      expect(() => clipGradNorm(many, 1)).toThrow(/argument slots/);
    } finally {
      freeAll(many);
    }
  });
});

// ---- checkpoints and validation ------------------------------------------------------------------

describe('optimizer state and arguments', () => {
  const makers: [string, (ps: Parameter[]) => Optimizer][] = [
    ['SGD', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true })],
    ['AdamW', (ps) => new AdamW(ps, { lr: 0.01 })],
  ];
  for (const [name, make] of makers) {
    it(`stateDict / loadStateDict resumes bit for bit (${name})`, () => {
      const params = makeParams(simd, 13);
      const opt = make(params);
      const copies = makeParams(simd, 13);
      let resumed: Optimizer | undefined;
      try {
        for (let step = 1; step <= 3; step++) {
          params.forEach((p, k) => setGrad(p, gradsFor(step, 14)[k]!));
          opt.step();
        }
        const saved = opt.stateDict();
        const savedParams = params.map((p) => p.toArray());
        opt.lr = 0.02; // continue with a changed lr on both sides
        for (let step = 4; step <= 5; step++) {
          params.forEach((p, k) => setGrad(p, gradsFor(step, 14)[k]!));
          opt.step();
        }
        copies.forEach((p, k) => p.set(savedParams[k]!));
        resumed = make(copies);
        resumed.loadStateDict(saved);
        expect(resumed.stepCount).toBe(3);
        resumed.lr = 0.02;
        for (let step = 4; step <= 5; step++) {
          copies.forEach((p, k) => setGrad(p, gradsFor(step, 14)[k]!));
          resumed.step();
        }
        params.forEach((p, k) => expectBitwiseEqual(copies[k]!.toArray(), p.toArray(), `param ${k}`));
        // a state that does not fit is refused
        const bad = { ...saved, tensors: { ...saved.tensors } };
        const first = Object.keys(bad.tensors)[0]!;
        bad.tensors[first] = new Float32Array(2);
        expect(() => resumed!.loadStateDict(bad)).toThrow(/values/);
        delete bad.tensors[first];
        expect(() => resumed!.loadStateDict(bad)).toThrow(StateDictError);
        expect(() => resumed!.loadStateDict({ ...saved, stepCount: -1 })).toThrow(StateDictError);
      } finally {
        freeAll(params, opt);
        freeAll(copies, resumed);
      }
    });
  }

  it('refuses bad hyperparameters, bad parameter lists and too many parameters with ValueError', () => {
    const params = makeParams(simd, 15);
    try {
      expect(() => new SGD(params, { lr: NaN })).toThrow(ValueError);
      expect(() => new SGD(params, { lr: -1 })).toThrow(ValueError);
      expect(() => new SGD(params, { momentum: -0.1 })).toThrow(ValueError);
      expect(() => new SGD(params, { nesterov: true })).toThrow(/nesterov/);
      expect(() => new Adam(params, { betas: [1, 0.999] })).toThrow(/betas\[0\]/);
      expect(() => new Adam(params, { betas: [0.9, -0.1] })).toThrow(/betas\[1\]/);
      expect(() => new AdamW(params, { eps: -1 })).toThrow(ValueError);
      expect(() => new AdamW(params, { weightDecay: Infinity })).toThrow(ValueError);
      expect(() => new Adam([])).toThrow(/non-empty/);
      expect(() => new Adam([params[0]!, params[0]!])).toThrow(/twice/);
      expect(() => new Adam([Tensor.zeros([2], { core: simd })])).toThrow(/persistent with requiresGrad/);
      const opt = new SGD(params, { lr: 0.1 });
      expect(() => (opt.lr = NaN)).toThrow(ValueError);
      expect(opt.lr).toBe(0.1);
    } finally {
      freeAll(params);
    }
    // Adam passes 3 ids per parameter
    const count = Math.floor(simd.exports.argCapacity() / 3) + 1;
    const many = Array.from({ length: count }, () => Parameter.create([1], simd));
    try {
      expect(() => new Adam(many)).toThrow(/argument slots/);
    } finally {
      freeAll(many);
    }
  });

  it('skips nothing silently: a freed parameter makes step() throw', () => {
    const params = makeParams(simd, 16);
    const opt = new SGD(params, { lr: 0.1 });
    params[0]!.free();
    expect(() => opt.step()).toThrow(/freed/);
    opt.free();
    for (const p of params.slice(1)) p.free();
  });
});

// ---- SIMD vs scalar ----------------------------------------------------------------------------------

describe('SIMD and scalar builds agree bit for bit', () => {
  const makers: [string, (ps: Parameter[]) => Optimizer][] = [
    ['SGD nesterov + wd', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true })],
    ['Adam + L2', (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.1 })],
    ['AdamW', (ps) => new AdamW(ps, { lr: 0.01 })],
  ];
  for (const [name, make] of makers) {
    it(`${name} with clipping, 5 steps`, () => {
      const results = [simd, scalar].map((core) => {
        const params = makeParams(core, 17);
        const opt = make(params);
        const norms: number[] = [];
        try {
          for (let step = 1; step <= 5; step++) {
            params.forEach((p, k) => setGrad(p, gradsFor(step, 18)[k]!));
            norms.push(clipGradNorm(params, 2));
            opt.lr = opt.lr * 0.9;
            opt.step();
          }
          return { params: Float32Array.from(params.flatMap((p) => [...p.view()])), norms: Float32Array.from(norms) };
        } finally {
          freeAll(params, opt);
        }
      });
      expectBitwiseEqual(results[0]!.params, results[1]!.params, 'params');
      expectBitwiseEqual(results[0]!.norms, results[1]!.norms, 'norms');
    });
  }
});
