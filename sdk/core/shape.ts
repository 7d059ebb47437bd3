// Shape arithmetic mirrored on the host, so every op is checked (and its error message built)
// without calling into WebAssembly.

import { MAX_RANK as CORE_MAX_RANK } from '../../assembly/abi';
import { CoreMemoryError, ShapeError, ValueError } from './errors';

export type Shape = readonly number[];

export const MAX_RANK = CORE_MAX_RANK;

export function sizeOfShape(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Largest element count of one tensor: 2 GiB of f32. wasm32 memory ends at 4 GiB, and the core
 * computes byte counts in 32 bits, so anything larger is refused here rather than wrapped there.
 */
export const MAX_ELEMENTS = 2 ** 29;

/** A short description of a value of the wrong kind, for error messages: "null", "a string ('x')". */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `a string (${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}...` : value)})`;
  if (typeof value === 'object') return `${value.constructor?.name ?? 'an object'}`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
  return `${typeof value} ${String(value)}`;
}

/** Checks a user-given shape: an array, rank <= 4, positive integer dims, a size the core can hold. */
export function checkShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape as unknown)) throw new ValueError(`${op}: a shape must be an array of dimensions, got ${describeValue(shape)}`);
  if (shape.length > MAX_RANK) throw new ShapeError(op, [shape], `rank ${shape.length} exceeds the maximum ${MAX_RANK}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1) throw new ShapeError(op, [shape], `dimension ${d} is not a positive integer`);
  }
  checkSize(op, shape);
}

/** Refuses a tensor of more than MAX_ELEMENTS elements (an op's output included). */
export function checkSize(op: string, shape: Shape): void {
  const size = sizeOfShape(shape);
  if (size > MAX_ELEMENTS) {
    throw new CoreMemoryError(`${op}: a tensor of shape [${shape.join(', ')}] has ${size} elements, more than the ${MAX_ELEMENTS} (2 GiB) one tensor may hold in wasm32 memory`);
  }
}

/** Numpy broadcasting, aligned at the trailing dim. Throws ShapeError naming the op. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let k = 1; k <= rank; k++) {
    let d = 1;
    for (const s of shapes) {
      const ds = s.length >= k ? s[s.length - k]! : 1;
      if (ds === 1) continue;
      if (d !== 1 && d !== ds) {
        throw new ShapeError(op, shapes, `cannot broadcast: dimension -${k} is ${d} in one operand and ${ds} in another`);
      }
      d = ds;
    }
    out.unshift(d);
  }
  checkSize(op, out);
  return out;
}

/** Normalises an axis (negative counts from the back) against a rank. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    throw new ValueError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/** Pads a shape to 4 dims for the core's (rank, s0..s3) arguments. */
export function dims4(shape: Shape): [number, number, number, number] {
  return [shape[0] ?? 1, shape[1] ?? 1, shape[2] ?? 1, shape[3] ?? 1];
}
