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

/**
 * Which check a checkpoint or safetensors file failed. Loading names the first failed check, the
 * file and (where there is one) the tensor, so a corrupt checkpoint says what is wrong with it.
 */
export type CheckpointCheck =
  | 'header-length' // the 8-byte header length field: missing, over the cap, or past the end of the file
  | 'header-json' // the JSON header: not UTF-8, not JSON, not an object, or a malformed entry
  | 'metadata' // __metadata__ is not an object of strings
  | 'dtype' // a dtype this reader does not know
  | 'shape' // a shape that is not a list of non-negative integers
  | 'byte-range' // data_offsets malformed, outside the data section, or not shape x dtype size long
  | 'overlap' // two tensors' byte ranges overlap
  | 'gap' // bytes of the data section that no tensor covers
  | 'tensor' // a tensor given to the writer that does not describe its data
  | 'missing' // a checkpoint directory or file that does not exist
  | 'size' // a file whose byte size differs from the manifest's (truncated or grown)
  | 'checksum' // a file whose CRC-32 differs from the manifest's
  | 'manifest' // manifest.json malformed or naming files it may not name
  | 'json' // trainer.json malformed, or trainer state that JSON cannot carry
  | 'io' // the file system refused a read or a write
  | 'mismatch'; // a valid checkpoint that does not fit what it is loaded into

/** A checkpoint or safetensors file that cannot be written or read; `check` says which check failed. */
export class CheckpointError extends NovaRLError {
  override name = 'CheckpointError';
  constructor(
    message: string,
    readonly check: CheckpointCheck,
    /** The file concerned, when there is one. */
    readonly file?: string,
    /** The tensor concerned, when there is one. */
    readonly tensor?: string,
  ) {
    super(message);
  }
}

/** Which check a Hugging Face model directory (sdk/io/huggingface.ts) failed. */
export type HuggingFaceProblem =
  | 'missing-file' // config.json or model.safetensors is absent (or the directory itself)
  | 'config' // config.json is not JSON, or a field is missing, malformed or describes another model
  | 'generation-config' // generation_config.json is not a JSON object
  | 'tokenizer' // a tokenizer file is not UTF-8 text, or a tokenizer gave a file name it may not use
  | 'missing-tensor' // a parameter of the model has no tensor in model.safetensors
  | 'unexpected-tensor' // model.safetensors holds a tensor the model does not have (or an untied lm_head)
  | 'tensor-shape' // a tensor's shape differs from the config's
  | 'tensor-dtype' // a tensor is not F32
  | 'io'; // the file system refused a read or a write, or the target is not a model directory

const HUGGING_FACE_CHECKS: Record<HuggingFaceProblem, CheckpointCheck> = {
  'missing-file': 'missing',
  config: 'json',
  'generation-config': 'json',
  tokenizer: 'json',
  'missing-tensor': 'mismatch',
  'unexpected-tensor': 'mismatch',
  'tensor-shape': 'mismatch',
  'tensor-dtype': 'dtype',
  io: 'io',
};

/**
 * A Hugging Face model directory that cannot be written or read. A CheckpointError (so one
 * catch covers corrupt safetensors bytes too), with the finer `problem` and, for config.json,
 * the `field` concerned.
 */
export class HuggingFaceError extends CheckpointError {
  override name = 'HuggingFaceError';
  constructor(
    message: string,
    readonly problem: HuggingFaceProblem,
    file?: string,
    tensor?: string,
    /** The config.json field concerned, when there is one. */
    readonly field?: string,
  ) {
    super(message, HUGGING_FACE_CHECKS[problem], file, tensor);
  }
}

/**
 * A tokenizer that cannot be built, read or written: Hugging Face files that are malformed or
 * inconsistent (a merge naming a token the vocabulary lacks...), or a file system that is missing.
 */
export class TokenizerError extends NovaRLError {
  override name = 'TokenizerError';
  constructor(
    message: string,
    /** The file concerned (`tokenizer.json`, `merges.txt`...), when there is one. */
    readonly file?: string,
  ) {
    super(file === undefined ? message : `${file}: ${message}`);
  }
}

/** How a reward function failed (sdk/rewards/reward_funcs.ts). */
export type RewardFunctionProblem =
  | 'threw' // the function threw or its promise rejected (the original error is `cause`)
  | 'not-array' // it returned something other than an array of numbers
  | 'wrong-length' // its array does not have one reward per completion
  | 'not-finite'; // a reward is NaN, infinite or not a number

/** A reward function that failed; names the function, and the row and value where there is one. */
export class RewardFunctionError extends NovaRLError {
  override name = 'RewardFunctionError';
  constructor(
    message: string,
    /** The failing function's name (NamedRewardFunction.name). */
    readonly functionName: string,
    readonly problem: RewardFunctionProblem,
    /** The completion row concerned ('not-finite'). */
    readonly row?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Remote completion engines (sdk/engines/openai_compatible.ts, sdk/engines/weight_sync.ts)

/**
 * A completion server's response that cannot be used: malformed JSON, a missing or mistyped
 * field, ids outside the vocabulary, a log-prob count that differs from the token count...
 * `field` names the offending field as a path into the response (`choices[3].token_ids[7]`).
 */
export class EngineResponseError extends NovaRLError {
  override name = 'EngineResponseError';
  constructor(
    message: string,
    /** Where in the response the problem is, e.g. `choices[2].logprobs.token_logprobs`. */
    readonly field: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * A request to a completion server that failed for good: a 4xx that is not worth retrying, or
 * a 429 / 5xx / timeout / dropped connection that was still failing after every attempt.
 */
export class EngineRequestError extends NovaRLError {
  override name = 'EngineRequestError';
  constructor(
    message: string,
    /** The last HTTP status, or undefined when no response came (timeout, reset connection). */
    readonly status: number | undefined,
    /** How many attempts were made. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A weight sync that failed after its retries: the server holds weights the trainer cannot
 * vouch for, so the engine serves no rollout until a later sync succeeds.
 */
export class WeightSyncError extends NovaRLError {
  override name = 'WeightSyncError';
  constructor(
    message: string,
    /** The update index the sync was for. */
    readonly updateIndex: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
