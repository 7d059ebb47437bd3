// Float64 reference implementations of the reduction, softmax, indexing, normalisation and
// shape ops (assembly/ops/reduce.ts, softmax.ts, index_ops.ts, norm.ts, shape.ts). Written
// for plainness, not speed, and independently of the core: plain loops over flat row-major
// arrays, the obvious formula for each op. Math.exp/log are fine here: nothing here feeds
// training, it only judges the core.

/** sum of every element */
export function sum(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v;
  return s;
}

/** mean of every element */
export function mean(x: Float64Array): number {
  return sum(x) / x.length;
}

/** x: (rows, c) -> (rows); f maps one row to a number */
function perRow(x: Float64Array, c: number, f: (row: Float64Array) => number): Float64Array {
  const rows = x.length / c;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = f(x.subarray(r * c, (r + 1) * c));
  return out;
}

/** x: (rows, c) -> (rows, c); f maps one row to a row */
function mapRows(x: Float64Array, c: number, f: (row: Float64Array) => Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / c; r++) out.set(f(x.subarray(r * c, (r + 1) * c)), r * c);
  return out;
}

export function sumLast(x: Float64Array, c: number): Float64Array {
  return perRow(x, c, sum);
}

export function meanLast(x: Float64Array, c: number): Float64Array {
  return perRow(x, c, mean);
}

export function maxLast(x: Float64Array, c: number): Float64Array {
  return perRow(x, c, (row) => Math.max(...row));
}

/** softmax over rows of length c: exp(x_j) / sum_k exp(x_k), computed max-shifted */
export function softmax(x: Float64Array, c: number): Float64Array {
  return mapRows(x, c, (row) => {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = sum(e);
    return e.map((v) => v / s);
  });
}

/** log-softmax over rows of length c: x_j - log(sum_k exp(x_k)), computed max-shifted */
export function logSoftmax(x: Float64Array, c: number): Float64Array {
  return mapRows(x, c, (row) => {
    const m = Math.max(...row);
    const logSum = Math.log(sum(row.map((v) => Math.exp(v - m))));
    return row.map((v) => v - m - logSum);
  });
}

/** a: (rows, c), index: (rows) -> (rows); out[r] = a[r, index[r]] */
export function gather(a: Float64Array, c: number, index: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: index.length }, (_, r) => a[r * c + index[r]!]!);
}

/** weight: (V, d), index: (n) -> (n, d); out[i] = weight[index[i]] */
export function embedding(weight: Float64Array, d: number, index: ArrayLike<number>): Float64Array {
  const out = new Float64Array(index.length * d);
  for (let i = 0; i < index.length; i++) out.set(weight.subarray(index[i]! * d, (index[i]! + 1) * d), i * d);
  return out;
}

/** layer norm over rows of length c: (x - mean) / sqrt(var + eps) * gamma + beta (biased var) */
export function layerNorm(x: Float64Array, c: number, gamma: Float64Array | null, beta: Float64Array | null, eps: number): Float64Array {
  return mapRows(x, c, (row) => {
    const m = mean(row);
    const variance = mean(row.map((v) => (v - m) * (v - m)));
    const rstd = 1 / Math.sqrt(variance + eps);
    return row.map((v, j) => (v - m) * rstd * (gamma ? gamma[j]! : 1) + (beta ? beta[j]! : 0));
  });
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1]! * shape[d + 1]!;
  return s;
}

/** Every multi-index of a shape, in row-major order. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((p, d) => p * d, 1);
  const strides = stridesOf(shape);
  for (let flat = 0; flat < n; flat++) yield shape.map((d, k) => Math.floor(flat / strides[k]!) % d);
}

/** x with axes dim0 and dim1 swapped: out[.., i, .., j, ..] = x[.., j, .., i, ..] */
export function transpose(x: Float64Array, shape: readonly number[], dim0: number, dim1: number): Float64Array {
  const outShape = [...shape];
  [outShape[dim0], outShape[dim1]] = [shape[dim1]!, shape[dim0]!];
  const inStrides = stridesOf(shape);
  const out = new Float64Array(x.length);
  let k = 0;
  for (const idx of indices(outShape)) {
    [idx[dim0], idx[dim1]] = [idx[dim1]!, idx[dim0]!];
    out[k++] = x[idx.reduce((off, i, d) => off + i * inStrides[d]!, 0)]!;
  }
  return out;
}

/** a and b joined along axis: out[.., i, ..] = i < A ? a[.., i, ..] : b[.., i - A, ..] */
export function concat(a: Float64Array, shapeA: readonly number[], b: Float64Array, shapeB: readonly number[], axis: number): Float64Array {
  const outShape = [...shapeA];
  outShape[axis] = shapeA[axis]! + shapeB[axis]!;
  const sa = stridesOf(shapeA), sb = stridesOf(shapeB);
  const out = new Float64Array(a.length + b.length);
  let k = 0;
  for (const idx of indices(outShape)) {
    const fromA = idx[axis]! < shapeA[axis]!;
    if (!fromA) idx[axis] = idx[axis]! - shapeA[axis]!;
    out[k++] = fromA ? a[idx.reduce((off, i, d) => off + i * sa[d]!, 0)]! : b[idx.reduce((off, i, d) => off + i * sb[d]!, 0)]!;
  }
  return out;
}
