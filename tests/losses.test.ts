// The fused losses (assembly/losses/, sdk/core/losses.ts) against float64 references
// (tests/reference/losses.ts) and central finite differences of those references.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Tensor, ShapeError, ValueError, type Core,
  ppoClipLoss, klEstimate, entropyFromLogits, valueLoss, maskedMean, type KlEstimator,
} from '../sdk/index';
import { ppoRef, klRef, entropyRef, valueLossRef, meanRef } from './reference/losses';
import { randomData, finiteDiff, expectClose, expectBitwiseEqual, loadCores, rng, TAIL_SIZES } from './util';

let simd: Core;
let scalar: Core;
beforeAll(async () => {
  ({ simd, scalar } = await loadCores());
});
afterEach(() => {
  simd.endStep();
  scalar.endStep();
});

/** A scratch tensor on `core` (the SIMD one by default). */
function tensor(data: ArrayLike<number>, shape: number[] = [data.length], requiresGrad = false, core: Core = simd): Tensor {
  return Tensor.from(data, shape, { requiresGrad, core });
}

/** A 0/1 mask with roughly `keep` of its entries set, never all zero. */
function randomMask(n: number, seed: number, keep = 0.6): Float64Array {
  const r = rng(seed);
  const m = Float64Array.from({ length: n }, () => (r() < keep ? 1 : 0));
  m[0] = 1;
  return m;
}

/** Moves logp away from the PPO kinks (ratio = 1 +- eps), so finite differences see a smooth function. */
function awayFromKinks(logp: Float64Array, oldLogp: Float64Array, eps: number): Float64Array {
  const out = Float64Array.from(logp);
  for (let i = 0; i < out.length; i++) {
    for (const edge of [1 - eps, 1 + eps]) {
      if (Math.abs(Math.exp(out[i]! - oldLogp[i]!) - edge) < 1e-3) out[i] = Math.fround(out[i]! + 0.01);
    }
  }
  return out;
}

// f32 core vs f64 reference: a sum of n terms in f32 is off by a few ulps of the largest term.
const VALUE_RTOL = 1e-5;
const VALUE_ATOL = 1e-6;
// f32 core gradients vs f64 central differences (h = 1e-6, truncation error ~1e-10).
const GRAD_RTOL = 1e-4;
const GRAD_ATOL = 1e-6;

describe('ppoClipLoss', () => {
  const cases = [
    { name: 'clipping binds', eps: 0.2, spread: 0.6, masked: false },
    { name: 'clipping binds, masked', eps: 0.2, spread: 0.6, masked: true },
    { name: 'ratios inside the clip range', eps: 0.2, spread: 0.1, masked: false },
    { name: 'clipping off (eps 0)', eps: 0, spread: 0.6, masked: true },
  ];
  for (const c of cases) {
    for (const n of [...TAIL_SIZES, 64]) {
      it(`${c.name}: value, statistics and gradient match float64, n=${n}`, () => {
        const oldLogp = randomData(n, 10 + n, -3, -0.1);
        const delta = randomData(n, 20 + n, -c.spread, c.spread);
        const logp = awayFromKinks(oldLogp.map((o, i) => Math.fround(o + delta[i]!)), oldLogp, c.eps);
        const adv = randomData(n, 30 + n, -2, 2);
        const mask = c.masked ? randomMask(n, 40 + n) : null;

        const logpT = tensor(logp, [n], true);
        const out = ppoClipLoss({
          logp: logpT, oldLogp: tensor(oldLogp), advantages: tensor(adv), mask: mask ? tensor(mask) : undefined, clipRange: c.eps,
        });
        const ref = ppoRef(logp, oldLogp, adv, mask, c.eps);
        expect(out.loss.shape).toEqual([]);
        expectClose([out.loss.item()], [ref.loss], 'loss', VALUE_RTOL, VALUE_ATOL);
        expectClose([out.objectiveUnclipped], [ref.objectiveUnclipped], 'objectiveUnclipped', VALUE_RTOL, VALUE_ATOL);
        // clipfrac counts elements: exact, since no ratio is near the clip edges
        expect(out.clipfrac).toBe(Math.fround(ref.clipfrac));
        expectClose([out.approxKl], [ref.approxKl], 'approxKl', VALUE_RTOL, VALUE_ATOL);
        expectClose([out.oldApproxKl], [ref.oldApproxKl], 'oldApproxKl', VALUE_RTOL, VALUE_ATOL);

        out.loss.backward();
        const fd = finiteDiff((x) => ppoRef(x, oldLogp, adv, mask, c.eps).loss, logp);
        expectClose(logpT.grad()!, fd, 'dloss/dlogp', GRAD_RTOL, GRAD_ATOL);
      });
    }
  }

  it('where clipping binds the gradient is exactly zero, elsewhere it flows', () => {
    const n = 64, eps = 0.2;
    const oldLogp = randomData(n, 1, -2, -0.5);
    const logp = awayFromKinks(oldLogp.map((o, i) => Math.fround(o + randomData(n, 2, -0.6, 0.6)[i]!)), oldLogp, eps);
    const adv = randomData(n, 3, -1, 1);
    const logpT = tensor(logp, [n], true);
    const out = ppoClipLoss({ logp: logpT, oldLogp: tensor(oldLogp), advantages: tensor(adv), clipRange: eps });
    out.loss.backward();
    const g = logpT.grad()!;
    let bound = 0;
    for (let i = 0; i < n; i++) {
      const ratio = Math.exp(logp[i]! - oldLogp[i]!);
      // the clipped branch wins when the advantage pushes the ratio further out of the range
      const binds = (adv[i]! > 0 && ratio > 1 + eps) || (adv[i]! < 0 && ratio < 1 - eps);
      if (binds) {
        bound++;
        expect(g[i], `element ${i}`).toBe(0);
      } else {
        expect(g[i], `element ${i}`).not.toBe(0);
      }
    }
    expect(bound).toBeGreaterThan(5);
    expect(bound).toBeLessThan(n - 5);
    expect(out.clipfrac).toBeGreaterThan(bound / n - 1e-6); // clipped ratios include the non-binding ones
  });

  it('without clipping, the loss is exactly minus the unclipped objective', () => {
    const n = 33;
    const logp = randomData(n, 5, -2, 0), oldLogp = randomData(n, 6, -2, 0), adv = randomData(n, 7);
    const out = ppoClipLoss({ logp: tensor(logp), oldLogp: tensor(oldLogp), advantages: tensor(adv), clipRange: 0 });
    expect(out.loss.item()).toBe(-out.objectiveUnclipped);
    expect(out.clipfrac).toBe(0);
    // identical inputs: ratio 1, so both KL estimates are exactly 0
    const same = ppoClipLoss({ logp: tensor(logp), oldLogp: tensor(logp), advantages: tensor(adv), clipRange: 0.2 });
    expect(same.approxKl).toBe(0);
    expect(same.oldApproxKl).toBe(0);
    expect(same.clipfrac).toBe(0);
  });

  it('a masked-out element changes neither the loss nor gets a gradient', () => {
    const logp = [-1, -0.5, -2, -0.1], oldLogp = [-1.3, -0.4, -1.5, -0.3], adv = [1, -1, 2, 0.5];
    const mask = [1, 1, 0, 1];
    const a = tensor(logp, [4], true);
    const outA = ppoClipLoss({ logp: a, oldLogp: tensor(oldLogp), advantages: tensor(adv), mask: tensor(mask), clipRange: 0.2 });
    outA.loss.backward();
    expect(a.grad()![2]).toBe(0);
    const changed = [...logp];
    changed[2] = 5; // a wild value where the mask is 0
    const outB = ppoClipLoss({ logp: tensor(changed), oldLogp: tensor(oldLogp), advantages: tensor(adv), mask: tensor(mask), clipRange: 0.2 });
    expect(outB.loss.item()).toBe(outA.loss.item());
  });

  it('works on rank-2 inputs (batch, tokens) and accumulates into an existing gradient', () => {
    const shape = [3, 5];
    const logp = randomData(15, 8, -2, -0.2), oldLogp = randomData(15, 9, -2, -0.2), adv = randomData(15, 10);
    const p = Tensor.from(logp, shape, { persistent: true, requiresGrad: true, core: simd });
    try {
      for (let rep = 0; rep < 2; rep++) {
        ppoClipLoss({ logp: p, oldLogp: tensor(oldLogp, shape), advantages: tensor(adv, shape), clipRange: 0.2 }).loss.backward();
      }
      const fd = finiteDiff((x) => 2 * ppoRef(x, oldLogp, adv, null, 0.2).loss, awayFromKinks(logp, oldLogp, 0.2));
      expectClose(p.grad()!, fd, 'twice the gradient', GRAD_RTOL, GRAD_ATOL);
    } finally {
      p.free();
    }
  });

  it('refuses mismatched shapes, a negative clip range and empty masks with typed errors', () => {
    const a = tensor([1, 2, 3]), b = tensor([1, 2]);
    expect(() => ppoClipLoss({ logp: a, oldLogp: b, advantages: a, clipRange: 0.2 })).toThrow(ShapeError);
    expect(() => ppoClipLoss({ logp: a, oldLogp: b, advantages: a, clipRange: 0.2 })).toThrow(/ppoClipLoss: oldLogp.*\[3\] and \[2\]/);
    expect(() => ppoClipLoss({ logp: a, oldLogp: a, advantages: a, clipRange: -0.1 })).toThrow(ValueError);
    expect(() => ppoClipLoss({ logp: a, oldLogp: a, advantages: a, clipRange: NaN })).toThrow(ValueError);
    expect(() => ppoClipLoss({ logp: a, oldLogp: a, advantages: a, mask: tensor([0, 0, 0]), clipRange: 0.2 })).toThrow(/selects no element/);
    expect(() => ppoClipLoss({ logp: a, oldLogp: a, advantages: a, mask: tensor([1, -1, 0]), clipRange: 0.2 })).toThrow(ValueError);
    expect(() => ppoClipLoss({ logp: a, oldLogp: a, advantages: tensor([1, 2, 3], [3, 1]), clipRange: 0.2 })).toThrow(ShapeError);
  });
});

describe('klEstimate', () => {
  const estimators: KlEstimator[] = ['k1', 'k2', 'k3'];
  for (const k of estimators) {
    for (const n of [...TAIL_SIZES, 40]) {
      it(`${k}: values and gradients w.r.t. both inputs match float64, n=${n}`, () => {
        const logp = randomData(n, 50 + n, -3, 0), logpRef = randomData(n, 60 + n, -3, 0);
        const w = randomData(n, 70 + n); // weights, so the scalar sum(w * k) sees every element's gradient
        const a = tensor(logp, [n], true), b = tensor(logpRef, [n], true);
        const out = klEstimate(a, b, k);
        expect(out.shape).toEqual([n]);
        expectClose(out.toArray(), klRef(logp, logpRef, k), `${k} values`, VALUE_RTOL, VALUE_ATOL);
        out.mul(tensor(w)).sum().backward();
        const weighted = (x: Float64Array, y: Float64Array): number => klRef(x, y, k).reduce((s, v, i) => s + v * w[i]!, 0);
        expectClose(a.grad()!, finiteDiff((x) => weighted(x, logpRef), logp), `d${k}/dlogp`, GRAD_RTOL, GRAD_ATOL);
        expectClose(b.grad()!, finiteDiff((y) => weighted(logp, y), logpRef), `d${k}/dlogpRef`, GRAD_RTOL, GRAD_ATOL);
      });
    }
  }

  it('a frozen reference gets no gradient while the policy does', () => {
    const a = tensor([-1, -2, -0.5], [3], true), ref = tensor([-1.5, -1, -0.7]);
    klEstimate(a, ref, 'k3').sum().backward();
    expect(a.grad()).not.toBeNull();
    expect(ref.grad()).toBeNull();
  });

  it('k1 can be negative on average; k2 and k3 are non-negative elementwise, even for tiny log-ratios', () => {
    // log-ratios from -2 to 2, plus tiny ones where exp(logr) - 1 - logr cancels badly
    const n = 200;
    const logp = randomData(n, 80, -3, -1);
    const logr = randomData(n, 81, -2, 2);
    for (let i = 0; i < 20; i++) logr[i] = Math.fround((i - 10) * 1e-7);
    const logpRef = logp.map((x, i) => Math.fround(x + logr[i]!));
    // a sample where the reference is more likely than the policy on most elements
    const k1 = klEstimate(tensor(logp.map((x) => x - 0.5)), tensor(logp), 'k1').toArray();
    expect(meanRef(k1, null)).toBeLessThan(0);
    for (const k of ['k2', 'k3'] as const) {
      const v = klEstimate(tensor(logp), tensor(logpRef), k).toArray();
      for (let i = 0; i < n; i++) expect(v[i], `${k}[${i}]`).toBeGreaterThanOrEqual(0);
    }
    // near logr = 0, k3 = expm1(logr) - logr has an absolute error of about one f32 ulp of logr
    // (1e-13 at logr = 1e-6, where k3 ~ 5e-13); the naive exp(logr) - 1 - logr in f32 would be off
    // by an ulp of 1 (6e-8)
    const x = Math.fround(1e-6);
    const tiny = klEstimate(tensor([0]), tensor([x]), 'k3').item();
    expectClose([tiny], [Math.expm1(x) - x], 'k3 at 1e-6', 0, 2.5e-13);
  });

  it('refuses an unknown estimator and mismatched shapes', () => {
    const a = tensor([1, 2]);
    expect(() => klEstimate(a, a, 'k4' as KlEstimator)).toThrow(ValueError);
    expect(() => klEstimate(a, tensor([1, 2, 3]), 'k1')).toThrow(ShapeError);
  });
});

describe('entropyFromLogits', () => {
  for (const classes of [...TAIL_SIZES, 64]) {
    it(`uniform logits give log(A), A=${classes}`, () => {
      const h = entropyFromLogits(tensor(new Array(2 * classes).fill(3.5), [2, classes])).toArray();
      // log(A) in f32 through a softmax: a few ulps
      expectClose(h, [Math.log(classes), Math.log(classes)], 'entropy', 1e-6, 1e-6);
    });
  }

  for (const shape of [[7], [3, 5], [2, 3, 17], [2, 2, 2, 9]]) {
    it(`values and gradients match float64, shape [${shape}]`, () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const classes = shape[shape.length - 1]!;
      const logits = randomData(size, 90 + size, -4, 4);
      const rows = size / classes;
      const w = randomData(rows, 91 + size);
      const x = tensor(logits, shape, true);
      const h = entropyFromLogits(x);
      expect(h.shape).toEqual(shape.slice(0, -1));
      expectClose(h.toArray(), entropyRef(logits, classes), 'entropy', VALUE_RTOL, VALUE_ATOL);
      h.mul(tensor(w, shape.slice(0, -1))).sum().backward();
      const fd = finiteDiff((z) => entropyRef(z, classes).reduce((s, v, i) => s + v * w[i]!, 0), logits);
      expectClose(x.grad()!, fd, 'dH/dlogits', GRAD_RTOL, GRAD_ATOL);
    });
  }

  it('is stable for huge logits and ignores -Infinity (masked) classes', () => {
    const h = entropyFromLogits(tensor([1000, 1000, 1000, 1000, -Infinity, 1000, 1000, -Infinity], [2, 4], true));
    expectClose(h.toArray(), [Math.log(4), Math.log(2)], 'entropy', 1e-6, 1e-6);
    const x = tensor([0, 0, -Infinity], [3], true);
    entropyFromLogits(x).backward();
    for (const g of x.grad()!) expect(Number.isFinite(g)).toBe(true);
    expect(x.grad()![2]).toBe(0);
  });

  it('refuses a rank-0 tensor', () => {
    expect(() => entropyFromLogits(Tensor.scalar(1, { core: simd }))).toThrow(ShapeError);
  });
});

describe('valueLoss', () => {
  const cases = [
    { name: 'unclipped', clip: 0, masked: false },
    { name: 'unclipped, masked', clip: 0, masked: true },
    { name: 'clipped', clip: 0.2, masked: false },
    { name: 'clipped, masked', clip: 0.2, masked: true },
  ];
  for (const c of cases) {
    for (const n of [...TAIL_SIZES, 64]) {
      it(`${c.name}: value, clipfrac and gradient match float64, n=${n}`, () => {
        const returns = randomData(n, 100 + n, -2, 2);
        const oldValues = randomData(n, 110 + n, -2, 2);
        const values = awayFromValueKinks(oldValues.map((o, i) => Math.fround(o + randomData(n, 120 + n, -0.6, 0.6)[i]!)), oldValues, returns, c.clip);
        const mask = c.masked ? randomMask(n, 130 + n) : null;
        const v = tensor(values, [n], true);
        const out = valueLoss({
          values: v, returns: tensor(returns), oldValues: c.clip > 0 ? tensor(oldValues) : undefined,
          mask: mask ? tensor(mask) : undefined, clipRange: c.clip,
        });
        const ref = valueLossRef(values, c.clip > 0 ? oldValues : null, returns, mask, c.clip);
        expectClose([out.loss.item()], [ref.loss], 'value loss', VALUE_RTOL, VALUE_ATOL);
        expect(out.clipfrac).toBe(Math.fround(ref.clipfrac)); // counts, far from ties
        out.loss.backward();
        const fd = finiteDiff((x) => valueLossRef(x, c.clip > 0 ? oldValues : null, returns, mask, c.clip).loss, values);
        expectClose(v.grad()!, fd, 'dloss/dvalues', GRAD_RTOL, GRAD_ATOL);
      });
    }
  }

  it('clipping changes the loss where it binds (a real case, not a no-op)', () => {
    // v moved 1.0 away from vOld, towards... past R: clipped value vOld + 0.2 is farther from R
    const out = valueLoss({ values: tensor([1]), oldValues: tensor([0]), returns: tensor([0.9]), clipRange: 0.2 });
    expectClose([out.loss.item()], [0.5 * 0.7 * 0.7], 'clipped loss', 1e-6, 0);
    expect(out.clipfrac).toBe(1);
  });

  it('inside the clip range, clipping changes nothing: same loss bits, clipfrac 0, same gradient', () => {
    const n = 257;
    // values near 0, old values up to 0.19 away: in f32, vOld + (v - vOld) is off from v by up to
    // an ulp of vOld, far more than an ulp of v (CleanRL's form would then clip spuriously)
    const values = randomData(n, 170, -1e-3, 1e-3);
    const oldValues = values.map((v, i) => Math.fround(v + randomData(n, 171, -0.19, 0.19)[i]!));
    const returns = randomData(n, 172, -3, 3);
    const run = (clip: number) => {
      const v = tensor(values, [n], true);
      const out = valueLoss({ values: v, oldValues: tensor(oldValues), returns: tensor(returns), clipRange: clip });
      out.loss.backward();
      return { loss: out.loss.toArray(), clipfrac: out.clipfrac, grad: v.grad()! };
    };
    const clipped = run(0.2), plain = run(0);
    expect(clipped.clipfrac).toBe(0);
    expectBitwiseEqual(clipped.loss, plain.loss, 'loss');
    expectBitwiseEqual(clipped.grad, plain.grad, 'gradient');
  });

  it('refuses clipping without old values, a negative clip range and mismatched shapes', () => {
    const a = tensor([1, 2]);
    expect(() => valueLoss({ values: a, returns: a, clipRange: 0.2 })).toThrow(/needs oldValues/);
    expect(() => valueLoss({ values: a, returns: a, oldValues: a, clipRange: -1 })).toThrow(ValueError);
    expect(() => valueLoss({ values: a, returns: tensor([1, 2, 3]) })).toThrow(ShapeError);
  });
});

/** Moves values away from the clipped value loss's kinks (|v - vOld| = clip, equal branches). */
function awayFromValueKinks(values: Float64Array, oldValues: Float64Array, returns: Float64Array, clip: number): Float64Array {
  const out = Float64Array.from(values);
  if (clip <= 0) return out;
  for (let i = 0; i < out.length; i++) {
    for (let tries = 0; tries < 10; tries++) {
      const delta = out[i]! - oldValues[i]!;
      const vClipped = oldValues[i]! + Math.min(Math.max(delta, -clip), clip);
      const gap = Math.abs((out[i]! - returns[i]!) ** 2 - (vClipped - returns[i]!) ** 2);
      if (Math.abs(Math.abs(delta) - clip) > 1e-3 && (Math.abs(delta) <= clip || gap > 1e-3)) break;
      out[i] = Math.fround(out[i]! + 0.013);
    }
  }
  return out;
}

describe('maskedMean', () => {
  for (const n of [...TAIL_SIZES, 100]) {
    it(`value and gradient match float64, n=${n}`, () => {
      const x = randomData(n, 140 + n), mask = randomMask(n, 150 + n);
      const xt = tensor(x, [n], true);
      const out = maskedMean(xt, tensor(mask));
      expect(out.shape).toEqual([]);
      expectClose([out.item()], [meanRef(x, mask)], 'masked mean', VALUE_RTOL, VALUE_ATOL);
      out.backward();
      expectClose(xt.grad()!, finiteDiff((z) => meanRef(z, mask), x), 'dmean/dx', GRAD_RTOL, GRAD_ATOL);
    });
  }

  it('takes fractional weights and refuses an all-zero mask', () => {
    const out = maskedMean(tensor([1, 2, 3]), tensor([0.5, 0, 1.5]));
    expectClose([out.item()], [(0.5 + 4.5) / 2], 'weighted mean', 1e-7, 0);
    expect(() => maskedMean(tensor([1, 2]), tensor([0, 0]))).toThrow(ValueError);
    expect(() => maskedMean(tensor([1, 2]), tensor([1, 1, 1]))).toThrow(ShapeError);
  });
});

describe('SIMD and scalar builds agree bit for bit', () => {
  // the entropy's SIMD loops take 8 classes a step, then 4, then the scalar tail: every mix
  for (const classes of [3, 4, 7, 8, 12, 13, 17, 33, 64]) {
    it(`entropyFromLogits and its gradient, ${classes} classes`, () => {
      const rows = 6;
      const logits = randomData(rows * classes, 170 + classes, -6, 6);
      logits[0] = -Infinity; // p = 0 takes the selection in both loops
      const w = randomData(rows, 171 + classes);
      const [a, b] = [simd, scalar].map((core) => {
        const x = tensor(logits, [rows, classes], true, core);
        const h = entropyFromLogits(x);
        h.mul(tensor(w, [rows], false, core)).sum().backward();
        return { h: h.toArray(), grad: x.grad()! };
      }) as [{ h: Float32Array; grad: Float32Array }, { h: Float32Array; grad: Float32Array }];
      expectBitwiseEqual(a.h, b.h, 'entropy');
      expectBitwiseEqual(a.grad, b.grad, 'gradient');
      expect(a.h.every(Number.isFinite)).toBe(true);
    });
  }

  for (const n of [...TAIL_SIZES, 257, 1024]) {
    it(`every loss, its statistics and its gradient, n=${n}`, () => {
      const oldLogp = randomData(n, 160 + n, -3, -0.1);
      const logp = oldLogp.map((o, i) => Math.fround(o + randomData(n, 161 + n, -0.5, 0.5)[i]!));
      const adv = randomData(n, 162 + n, -2, 2), mask = randomMask(n, 163 + n);
      const classes = 5;
      const logits = randomData(n * classes, 164 + n, -4, 4);
      const results = [simd, scalar].map((core) => {
        const lp = tensor(logp, [n], true, core);
        const ppo = ppoClipLoss({ logp: lp, oldLogp: tensor(oldLogp, [n], false, core), advantages: tensor(adv, [n], false, core), mask: tensor(mask, [n], false, core), clipRange: 0.2 });
        const v = tensor(logp, [n], true, core);
        const value = valueLoss({ values: v, oldValues: tensor(oldLogp, [n], false, core), returns: tensor(adv, [n], false, core), mask: tensor(mask, [n], false, core), clipRange: 0.1 });
        const kls = (['k1', 'k2', 'k3'] as const).map((k) => klEstimate(lp, tensor(oldLogp, [n], false, core), k));
        const x = tensor(logits, [n, classes], true, core);
        const ent = entropyFromLogits(x);
        const mm = maskedMean(ent, tensor(mask, [n], false, core));
        const total = kls.reduce((s, k) => s.add(k.sum()), ppo.loss.add(value.loss).add(mm));
        total.backward();
        const stats = [ppo.objectiveUnclipped, ppo.clipfrac, ppo.approxKl, ppo.oldApproxKl, value.clipfrac];
        return {
          values: Float32Array.from([ppo.loss.item(), value.loss.item(), mm.item(), ...stats]),
          kl: Float32Array.from(kls.flatMap((k) => [...k.toArray()])),
          entropy: ent.toArray(),
          grads: Float32Array.from([...lp.grad()!, ...v.grad()!, ...x.grad()!]),
        };
      });
      const [a, b] = results as [typeof results[0], typeof results[0]];
      expectBitwiseEqual(a.values, b.values, 'losses and statistics');
      expectBitwiseEqual(a.kl, b.kl, 'kl');
      expectBitwiseEqual(a.entropy, b.entropy, 'entropy');
      expectBitwiseEqual(a.grads, b.grads, 'gradients');
    });
  }
});
