// Float64 reference implementations of the fused losses (assembly/losses/), written from the
// formulas (docs/architecture.md, "Algorithms"; CleanRL ppo.py; TRL) and sharing no code with the core. Tests
// compare the core's values to these and its gradients to their central finite differences.

type Vec = ArrayLike<number>;

/** sum(x * mask) / sum(mask), or the plain mean without a mask. */
export function meanRef(x: Vec, mask: Vec | null): number {
  let num = 0, den = 0;
  for (let i = 0; i < x.length; i++) {
    const w = mask ? mask[i]! : 1;
    num += x[i]! * w;
    den += w;
  }
  return num / den;
}

export interface PpoRef {
  loss: number;
  objectiveUnclipped: number;
  clipfrac: number;
  approxKl: number;
  oldApproxKl: number;
}

/** PPO clipped surrogate and CleanRL's statistics; eps <= 0 means no clipping. */
export function ppoRef(logp: Vec, oldLogp: Vec, adv: Vec, mask: Vec | null, eps: number): PpoRef {
  const n = logp.length;
  const pg = new Float64Array(n), obj = new Float64Array(n), clipped = new Float64Array(n);
  const k3 = new Float64Array(n), k1 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const logratio = logp[i]! - oldLogp[i]!;
    const ratio = Math.exp(logratio);
    const a = adv[i]!;
    const pgLoss1 = -a * ratio;
    const pgLoss2 = -a * Math.min(Math.max(ratio, 1 - eps), 1 + eps);
    pg[i] = eps > 0 ? Math.max(pgLoss1, pgLoss2) : pgLoss1;
    obj[i] = a * ratio;
    clipped[i] = eps > 0 && Math.abs(ratio - 1) > eps ? 1 : 0;
    k3[i] = ratio - 1 - logratio;
    k1[i] = -logratio;
  }
  return {
    loss: meanRef(pg, mask),
    objectiveUnclipped: meanRef(obj, mask),
    clipfrac: meanRef(clipped, mask),
    approxKl: meanRef(k3, mask),
    oldApproxKl: meanRef(k1, mask),
  };
}

/** Per-element KL estimate with logr = logpRef - logp. */
export function klRef(logp: Vec, logpRef: Vec, estimator: 'k1' | 'k2' | 'k3'): Float64Array {
  const out = new Float64Array(logp.length);
  for (let i = 0; i < logp.length; i++) {
    const logr = logpRef[i]! - logp[i]!;
    out[i] = estimator === 'k1' ? -logr : estimator === 'k2' ? (logr * logr) / 2 : Math.expm1(logr) - logr;
  }
  return out;
}

/** Categorical entropy per row of `classes` logits (row-major), by the definition -sum p log p. */
export function entropyRef(logits: Vec, classes: number): Float64Array {
  const rows = logits.length / classes;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < classes; j++) m = Math.max(m, logits[r * classes + j]!);
    let z = 0;
    for (let j = 0; j < classes; j++) z += Math.exp(logits[r * classes + j]! - m);
    let h = 0;
    for (let j = 0; j < classes; j++) {
      const p = Math.exp(logits[r * classes + j]! - m) / z;
      if (p > 0) h -= p * Math.log(p);
    }
    out[r] = h;
  }
  return out;
}

export interface ValueRef {
  loss: number;
  clipfrac: number;
}

/** 0.5 * mean((v - R)^2), or with clip > 0 the max with (vOld + clamp(v - vOld) - R)^2. */
export function valueLossRef(values: Vec, oldValues: Vec | null, returns: Vec, mask: Vec | null, clip: number): ValueRef {
  const n = values.length;
  const sq = new Float64Array(n), wins = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const unclipped = (values[i]! - returns[i]!) ** 2;
    sq[i] = unclipped;
    if (clip > 0) {
      const vOld = oldValues![i]!;
      const vClipped = vOld + Math.min(Math.max(values[i]! - vOld, -clip), clip);
      const clippedSq = (vClipped - returns[i]!) ** 2;
      if (clippedSq > unclipped) {
        sq[i] = clippedSq;
        wins[i] = 1;
      }
    }
  }
  return { loss: 0.5 * meanRef(sq, mask), clipfrac: meanRef(wins, mask) };
}
