// Typed errors. Every bad input is refused on the TypeScript side with one of these, before
// anything reaches the WebAssembly core, so users never see a raw trap.

/** Base class of every error NovaRL throws on purpose. */
export class NovaRLError extends Error {
  override name = 'NovaRLError';
}

/** Operand shapes that do not fit an op; names the op and every shape involved. */
export class ShapeError extends NovaRLError {
  override name = 'ShapeError';
  constructor(
    readonly op: string,
    readonly shapes: readonly (readonly number[])[],
    detail: string,
  ) {
    super(`${op}: ${detail} (shapes ${shapes.map(formatShape).join(' and ')})`);
  }
}

/** NaN or infinity where a finite number is required. */
export class NumericError extends NovaRLError {
  override name = 'NumericError';
}

/** A value outside what an argument accepts (an action out of range, a negative size...). */
export class ValueError extends NovaRLError {
  override name = 'ValueError';
}

/** A scratch tensor used after endStep(), or a freed persistent tensor. */
export class StaleTensorError extends NovaRLError {
  override name = 'StaleTensorError';
}

/** The core could not allocate memory or a tensor slot. */
export class CoreMemoryError extends NovaRLError {
  override name = 'CoreMemoryError';
}

/** The core was used before init() or its .wasm could not be loaded. */
export class CoreInitError extends NovaRLError {
  override name = 'CoreInitError';
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
