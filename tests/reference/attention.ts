// Float64 references for the transformer ops (assembly/ops/slice.ts, attention.ts), written
// plainly from the definitions with explicit index arithmetic, independent of the core.

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1]! * shape[d + 1]!;
  return s;
}

/** Flat index -> multi-index. */
function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

/** x[..., start:start+length, ...] along axis. */
export function narrowRef(x: Float64Array, shape: readonly number[], axis: number, start: number, length: number): Float64Array {
  const outShape = [...shape];
  outShape[axis] = length;
  const st = stridesOf(shape);
  const n = outShape.reduce((p, d) => p * d, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, outShape);
    idx[axis] = idx[axis]! + start;
    out[i] = x[idx.reduce((p, v, d) => p + v * st[d]!, 0)]!;
  }
  return out;
}

/** A copy of target with src written at [start, start + L) along axis. */
export function writeIntoRef(target: Float64Array, targetShape: readonly number[], src: Float64Array, srcShape: readonly number[], axis: number, start: number): Float64Array {
  const out = Float64Array.from(target);
  const st = stridesOf(targetShape);
  for (let i = 0; i < src.length; i++) {
    const idx = unravel(i, srcShape);
    idx[axis] = idx[axis]! + start;
    out[idx.reduce((p, v, d) => p + v * st[d]!, 0)] = src[i]!;
  }
  return out;
}

/**
 * Causal self-attention: q (B, H, T, D), k and v (B, H, S, D), S = P + T, mask (B, S) or
 * undefined. Query i attends to keys j <= P + i with mask 1; a row with no such key gives 0.
 */
export function attentionRef(q: Float64Array, k: Float64Array, v: Float64Array, dims: { b: number; h: number; t: number; s: number; d: number }, mask?: Float64Array): Float64Array {
  const { b, h, t, s, d } = dims;
  const past = s - t;
  const scale = 1 / Math.sqrt(d);
  const out = new Float64Array(b * h * t * d);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const head = bi * h + hi;
      for (let i = 0; i < t; i++) {
        const keys: number[] = [];
        const scores: number[] = [];
        for (let j = 0; j <= past + i; j++) {
          if (mask && mask[bi * s + j] === 0) continue;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q[(head * t + i) * d + c]! * k[(head * s + j) * d + c]!;
          keys.push(j);
          scores.push(dot * scale);
        }
        if (keys.length === 0) continue; // no allowed key: the row stays 0
        const m = Math.max(...scores);
        const e = scores.map((z) => Math.exp(z - m));
        const total = e.reduce((p, x) => p + x, 0);
        for (let c = 0; c < d; c++) {
          let acc = 0;
          keys.forEach((j, n) => (acc += (e[n]! / total) * v[(head * s + j) * d + c]!));
          out[(head * t + i) * d + c] = acc;
        }
      }
    }
  }
  return out;
}
