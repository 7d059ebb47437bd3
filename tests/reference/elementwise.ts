// Float64 reference implementations of the elementwise ops (assembly/ops/unary.ts, binary.ts,
// where.ts), written plainly and independently of the core: textbook formulas, numpy
// broadcasting by explicit index arithmetic. Tests compare the core against these and
// differentiate them with finite differences. (Math.exp and friends are fine here: this
// code checks results and never feeds training.)

export type Shape = readonly number[];

export interface RefTensor {
  data: Float64Array;
  shape: number[];
}

// ---- unary ---------------------------------------------------------------------------------

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export const unaryRef = {
  neg: (x: number) => -x,
  exp: (x: number) => Math.exp(x),
  log: (x: number) => Math.log(x),
  tanh: (x: number) => Math.tanh(x),
  relu: (x: number) => Math.max(x, 0),
  /** GELU, tanh approximation, exactly as written in the papers. */
  gelu: (x: number) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  sqrt: (x: number) => Math.sqrt(x),
  square: (x: number) => x * x,
  abs: (x: number) => Math.abs(x),
} as const;

export type UnaryName = keyof typeof unaryRef;

/** x^p in float64 (Math.pow: IEEE pow's rules for signs, zeros and infinities). */
export function powRef(x: number, p: number): number {
  return Math.pow(x, p);
}

// ---- float64 references over the whole f32 range, and ULP errors -------------------------------

/**
 * References that stay accurate over the whole f32 range, for the accuracy checks of the core's
 * deterministic transcendentals (assembly/math/det.ts). GELU is written x / (1 + exp(-2u)),
 * equal to 0.5 x (1 + tanh(u)) in exact arithmetic, because the tanh form cancels to 0 in
 * float64 too once x < -6 or so, where the f32 result is still a normal number.
 */
export const wideRef = {
  exp: (x: number) => Math.exp(x),
  expm1: (x: number) => Math.expm1(x),
  log: (x: number) => Math.log(x),
  tanh: (x: number) => Math.tanh(x),
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  gelu: (x: number) => {
    const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    return x === 0 ? x : x / (1 + Math.exp(-2 * u));
  },
} as const;

export type WideName = keyof typeof wideRef;

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The spacing of f32 numbers in the binade of the real number |r| (2^-149 below 2^-126). */
export function f32UlpAt(r: number): number {
  const a = Math.abs(r);
  f32Scratch[0] = a;
  let e = (u32Scratch[0]! >>> 23) & 0xff;
  // rounding to f32 may have carried |r| up into the next binade (e.g. to a power of 2)
  if (f32Scratch[0]! > a && (u32Scratch[0]! & 0x7fffff) === 0 && e > 1) e -= 1;
  return e <= 1 ? 2 ** -149 : 2 ** (e - 150);
}

/**
 * |y - r| in f32 units in the last place at the exact value r: at most 0.5 when y is r rounded to
 * f32 (both overflowing to the same infinity counts as 0.5), Infinity when y is an infinity r is not.
 */
export function ulpError(y: number, r: number): number {
  if (y === Math.fround(r)) return y === r ? 0 : Math.min(0.5, Math.abs(y - r) / f32UlpAt(r));
  if (!Number.isFinite(y) || !Number.isFinite(r)) return Infinity;
  return Math.abs(y - r) / f32UlpAt(r);
}

export function clampRef(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}

export function mapRef(x: ArrayLike<number>, f: (v: number) => number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]!);
  return out;
}

// ---- broadcasting --------------------------------------------------------------------------

/** The numpy broadcast shape, or null when the shapes do not broadcast. */
export function broadcastShapeRef(...shapes: Shape[]): number[] | null {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = new Array<number>(rank).fill(1);
  for (let axis = 0; axis < rank; axis++) {
    for (const s of shapes) {
      const k = axis - (rank - s.length); // s's own axis aligned with the trailing dims
      if (k < 0) continue;
      const d = s[k]!;
      if (d === 1) continue;
      if (out[axis] !== 1 && out[axis] !== d) return null;
      out[axis] = d;
    }
  }
  return out;
}

/** Flat index into a tensor of `shape` for the output multi-index `index` (broadcast). */
function sourceIndex(shape: Shape, index: readonly number[]): number {
  let flat = 0;
  const offset = index.length - shape.length;
  for (let k = 0; k < shape.length; k++) {
    const d = shape[k]!;
    flat = flat * d + (d === 1 ? 0 : index[offset + k]!);
  }
  return flat;
}

/** Calls visit(outFlat, multiIndex) for every element of `shape` in row-major order. */
function forEachIndex(shape: Shape, visit: (flat: number, index: number[]) => void): void {
  const size = shape.reduce((p, d) => p * d, 1);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    visit(flat, index);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++index[k]! < shape[k]!) break;
      index[k] = 0;
    }
  }
}

/** out[i] = f(x0[i0], x1[i1], ...) with every operand broadcast to the common shape. */
export function broadcastMapRef(
  operands: readonly { data: ArrayLike<number>; shape: Shape }[],
  f: (...values: number[]) => number,
): RefTensor {
  const shape = broadcastShapeRef(...operands.map((o) => o.shape));
  if (!shape) throw new Error(`reference: shapes ${operands.map((o) => JSON.stringify(o.shape)).join(', ')} do not broadcast`);
  const data = new Float64Array(shape.reduce((p, d) => p * d, 1));
  forEachIndex(shape, (flat, index) => {
    data[flat] = f(...operands.map((o) => o.data[sourceIndex(o.shape, index)]!));
  });
  return { data, shape };
}

// ---- binary and where ------------------------------------------------------------------------

export const binaryRef = {
  add: (x: number, y: number) => x + y,
  sub: (x: number, y: number) => x - y,
  mul: (x: number, y: number) => x * y,
  div: (x: number, y: number) => x / y,
  minimum: (x: number, y: number) => Math.min(x, y),
  maximum: (x: number, y: number) => Math.max(x, y),
} as const;

export type BinaryName = keyof typeof binaryRef;

export function binaryOpRef(op: BinaryName, a: ArrayLike<number>, shapeA: Shape, b: ArrayLike<number>, shapeB: Shape): RefTensor {
  return broadcastMapRef([{ data: a, shape: shapeA }, { data: b, shape: shapeB }], binaryRef[op]);
}

export function whereRef(
  cond: ArrayLike<number>, shapeCond: Shape,
  a: ArrayLike<number>, shapeA: Shape,
  b: ArrayLike<number>, shapeB: Shape,
): RefTensor {
  return broadcastMapRef(
    [{ data: cond, shape: shapeCond }, { data: a, shape: shapeA }, { data: b, shape: shapeB }],
    (c, x, y) => (c !== 0 ? x : y),
  );
}

/** sum_i y[i] * w[i]: the scalar loss whose gradient the tests check. */
export function weightedSum(y: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
  return s;
}
