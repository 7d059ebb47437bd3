// The safetensors file layout, written and read without dependencies, so Python's `safetensors`
// reads what NovaRL writes and NovaRL reads what Python writes:
//
//   bytes [0, 8)        N, the header's length: an unsigned 64-bit little-endian integer
//   bytes [8, 8 + N)    the header: UTF-8 JSON, padded with spaces to a multiple of 8
//                         {"__metadata__": {"key": "value"},
//                          "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
//   bytes [8 + N, end)  the data section: each tensor's elements, little-endian, row-major, at
//                       [begin, end) counted from the start of the data section
//
// Writing lays tensors out as Python's safetensors does (largest element size first, then by
// name), so every tensor is aligned to its element size and the bytes equal Python's for the same
// tensors and (at most one) metadata entry.
//
// Reading treats the bytes as untrusted. Every check runs on the header before any tensor is
// allocated: the header length against a cap and the file's size, the header as UTF-8 JSON, each
// dtype, shape and byte range, then the ranges as a whole (no overlap, no gap, the data section
// covered exactly). Each failure is a CheckpointError naming the check and the tensor.

import { CheckpointError, formatShape } from '../core/errors';

/** Element types NovaRL reads and writes (safetensors' own names). */
export type SafetensorsDtype = 'F64' | 'F32' | 'U32' | 'I32' | 'U8';

/** The typed array holding a tensor's elements; its class must match the dtype. */
export type TensorData = Float64Array | Float32Array | Uint32Array | Int32Array | Uint8Array;

/** One named tensor of a safetensors file: `data` holds product(shape) elements, row-major. */
export interface SafeTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorData;
}

/** What a safetensors file holds. */
export interface SafetensorsContents {
  tensors: Record<string, SafeTensor>;
  /** The header's `__metadata__` (string values only); empty when the file has none. */
  metadata: Record<string, string>;
}

export interface ParseOptions {
  /** Largest header accepted, in bytes (default 100 MB, Python's limit). */
  maxHeaderBytes?: number;
}

/** Python safetensors' MAX_HEADER_SIZE: a header longer than this is refused unread. */
export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

interface DtypeInfo {
  bytes: number;
  /** Order in the file: Python sorts by its Dtype enum, largest first (F64, F32, U32, I32, U8). */
  order: number;
  create: (length: number) => TensorData;
  isData: (data: TensorData) => boolean;
}

const DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  F64: { bytes: 8, order: 0, create: (n) => new Float64Array(n), isData: (d) => d instanceof Float64Array },
  F32: { bytes: 4, order: 1, create: (n) => new Float32Array(n), isData: (d) => d instanceof Float32Array },
  U32: { bytes: 4, order: 2, create: (n) => new Uint32Array(n), isData: (d) => d instanceof Uint32Array },
  I32: { bytes: 4, order: 3, create: (n) => new Int32Array(n), isData: (d) => d instanceof Int32Array },
  U8: { bytes: 1, order: 4, create: (n) => new Uint8Array(n), isData: (d) => d instanceof Uint8Array },
};

const METADATA_KEY = '__metadata__';

/** True where typed arrays store elements little-endian (every mainstream engine and CPU). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isSafetensorsDtype(dtype: unknown): dtype is SafetensorsDtype {
  return typeof dtype === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, dtype);
}

/** The dtype whose typed array class `data` is. */
export function dtypeOf(data: TensorData): SafetensorsDtype {
  for (const [dtype, info] of Object.entries(DTYPES) as [SafetensorsDtype, DtypeInfo][]) {
    if (info.isData(data)) return dtype;
  }
  throw new CheckpointError(`unsupported array type ${Object.prototype.toString.call(data)}; use one of Float64Array, Float32Array, Uint32Array, Int32Array, Uint8Array`, 'tensor');
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Encodes tensors and metadata as one safetensors file. `metadata` undefined writes no
 * `__metadata__`; `{}` writes an empty one (as Python does for each).
 */
export function serializeSafetensors(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  const entries = Object.entries(tensors);
  for (const [name, tensor] of entries) checkTensorToWrite(name, tensor);
  if (metadata !== undefined) checkMetadata(metadata, undefined);

  // Python's order: largest element first, then by name (code point order, as Rust compares strings).
  entries.sort(([nameA, a], [nameB, b]) => DTYPES[a.dtype].order - DTYPES[b.dtype].order || compareCodePoints(nameA, nameB));

  // The header is built by hand, not with JSON.stringify of an object, because JavaScript objects
  // put integer-like keys ("0", "1") first and the order here must be the data order.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const fields = Object.entries(metadata).map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  let dataBytes = 0;
  for (const [name, tensor] of entries) {
    const begin = dataBytes;
    dataBytes += tensor.data.length * DTYPES[tensor.dtype].bytes;
    parts.push(`${JSON.stringify(name)}:{"dtype":${JSON.stringify(tensor.dtype)},"shape":${JSON.stringify(tensor.shape)},"data_offsets":[${begin},${dataBytes}]}`);
  }
  const headerText = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerBytes = headerText.length + ((8 - (headerText.length % 8)) % 8);

  const out = new Uint8Array(8 + headerBytes + dataBytes);
  const view = new DataView(out.buffer);
  writeU64(view, 0, headerBytes);
  out.set(headerText, 8);
  out.fill(0x20, 8 + headerText.length, 8 + headerBytes); // spaces
  let offset = 8 + headerBytes;
  for (const [, tensor] of entries) {
    writeLittleEndian(tensor.data, out, offset, HOST_LITTLE_ENDIAN);
    offset += tensor.data.byteLength;
  }
  return out;
}

function checkTensorToWrite(name: string, tensor: SafeTensor): void {
  const fail = (what: string): never => {
    throw new CheckpointError(`cannot write tensor '${name}': ${what}`, 'tensor', undefined, name);
  };
  if (name === METADATA_KEY) fail(`the name ${METADATA_KEY} is reserved for the metadata`);
  if (typeof tensor !== 'object' || tensor === null) fail('not an object {dtype, shape, data}');
  if (!isSafetensorsDtype(tensor.dtype)) fail(`unknown dtype ${JSON.stringify(tensor.dtype)} (known: ${Object.keys(DTYPES).join(', ')})`);
  if (!DTYPES[tensor.dtype].isData(tensor.data)) {
    fail(`dtype ${tensor.dtype} needs a ${DTYPES[tensor.dtype].create(0).constructor.name}, got ${Object.prototype.toString.call(tensor.data)}`);
  }
  if (!Array.isArray(tensor.shape) || !tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`shape ${JSON.stringify(tensor.shape)} is not a list of non-negative integers`);
  }
  const count = tensor.shape.reduce((n, d) => n * d, 1);
  if (count !== tensor.data.length) fail(`shape ${formatShape(tensor.shape)} holds ${count} elements, data has ${tensor.data.length}`);
}

/** Writes an integer below 2^53 as an unsigned 64-bit little-endian integer. */
function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % 2 ** 32, true);
  view.setUint32(offset + 4, Math.floor(value / 2 ** 32), true);
}

/**
 * Copies `data`'s elements into `out` at `offset`, little-endian. On a little-endian host the
 * bytes already are in file order and are copied whole; elsewhere each element goes through a
 * DataView, which states the byte order explicitly.
 */
export function writeLittleEndian(data: TensorData, out: Uint8Array, offset: number, hostLittleEndian: boolean): void {
  if (hostLittleEndian) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, data.byteLength);
  const n = data.length;
  if (data instanceof Float64Array) for (let i = 0; i < n; i++) view.setFloat64(8 * i, data[i]!, true);
  else if (data instanceof Float32Array) for (let i = 0; i < n; i++) view.setFloat32(4 * i, data[i]!, true);
  else if (data instanceof Uint32Array) for (let i = 0; i < n; i++) view.setUint32(4 * i, data[i]!, true);
  else if (data instanceof Int32Array) for (let i = 0; i < n; i++) view.setInt32(4 * i, data[i]!, true);
  else out.set(data, offset);
}

// ---------------------------------------------------------------------------------------------
// Reading

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Decodes a safetensors file, checking everything about it before allocating any tensor.
 * Throws CheckpointError (with `check` and `tensor` set) at the first failed check.
 * `file` only labels error messages.
 */
export function parseSafetensors(bytes: Uint8Array, options: ParseOptions = {}, file?: string): SafetensorsContents {
  const where = file === undefined ? '' : `${file}: `;
  const fail = (check: ConstructorParameters<typeof CheckpointError>[1], message: string, tensor?: string): never => {
    throw new CheckpointError(`${where}${message}`, check, file, tensor);
  };
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;

  // 1. The header length field.
  if (bytes.length < 8) fail('header-length', `file is ${bytes.length} bytes, too short for the 8-byte header length (truncated header)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthLow = view.getUint32(0, true);
  const lengthHigh = view.getUint32(4, true);
  const headerBytes = lengthHigh * 2 ** 32 + lengthLow; // above 2^53 this rounds, but is then far over any cap
  if (headerBytes > maxHeaderBytes) fail('header-length', `header length ${headerBytes} exceeds the cap of ${maxHeaderBytes} bytes`);
  if (8 + headerBytes > bytes.length) fail('header-length', `header length ${headerBytes} runs past the end of the file (${bytes.length} bytes; truncated header?)`);
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.length - dataStart;

  // 2. The header as a JSON object.
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    return fail('header-json', 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    return fail('header-json', `header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header-json', 'header is not a JSON object');

  // 3. Each entry: metadata, or a tensor's dtype, shape and byte range.
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      checkMetadata(value, file);
      for (const [key, text] of Object.entries(value as Record<string, string>)) setOwn(metadata, key, text);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('header-json', `tensor '${name}': entry is not an object`, name);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isSafetensorsDtype(dtype)) fail('dtype', `tensor '${name}': unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPES).join(', ')})`, name);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail('shape', `tensor '${name}': shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      fail('byte-range', `tensor '${name}': data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`, name);
    }
    const [begin, end] = offsets as [number, number];
    const dims = shape as number[];
    const size = DTYPES[dtype as SafetensorsDtype].bytes;
    const needed = byteSize(dims, size);
    if (needed !== end - begin) {
      fail('byte-range', `tensor '${name}': shape ${formatShape(dims)} of ${dtype} needs ${needed ?? `more than ${Number.MAX_SAFE_INTEGER}`} bytes, data_offsets [${begin}, ${end}] hold ${end - begin}`, name);
    }
    if (end > dataBytes) {
      fail('byte-range', `tensor '${name}': data_offsets [${begin}, ${end}] run past the end of the data section (${dataBytes} bytes; truncated data?)`, name);
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: dims, begin, end });
  }

  // 4. The ranges together cover the data section exactly: sorted by offset (JSON object order
  // carries no meaning, and Python writes its header in any order), each begins where the last ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: string | undefined;
  for (const entry of entries) {
    if (entry.begin < cursor) {
      fail('overlap', `tensor '${entry.name}': data_offsets [${entry.begin}, ${entry.end}] overlap tensor '${previous}', which ends at ${cursor}`, entry.name);
    }
    if (entry.begin > cursor) fail('gap', `bytes [${cursor}, ${entry.begin}) of the data section, before tensor '${entry.name}', belong to no tensor`, entry.name);
    cursor = entry.end;
    previous = entry.name;
  }
  if (cursor !== dataBytes) fail('gap', `bytes [${cursor}, ${dataBytes}) at the end of the data section belong to no tensor`);

  // 5. Only now: allocate and copy.
  const tensors: Record<string, SafeTensor> = {};
  for (const entry of entries) {
    const data = readLittleEndian(bytes, dataStart + entry.begin, entry.dtype, (entry.end - entry.begin) / DTYPES[entry.dtype].bytes, HOST_LITTLE_ENDIAN);
    setOwn(tensors, entry.name, { dtype: entry.dtype, shape: entry.shape, data });
  }
  return { tensors, metadata };
}

/**
 * product(shape) * elementBytes, or undefined when it exceeds 2^53 - 1 (no byte range is that
 * long); stopping there keeps every product exact.
 */
function byteSize(shape: number[], elementBytes: number): number | undefined {
  if (shape.includes(0)) return 0;
  let bytes = elementBytes;
  for (const d of shape) {
    bytes *= d;
    if (bytes > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return bytes;
}

function checkMetadata(metadata: unknown, file: string | undefined): void {
  const where = file === undefined ? '' : `${file}: `;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new CheckpointError(`${where}${METADATA_KEY} is not an object of strings`, 'metadata', file);
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new CheckpointError(`${where}${METADATA_KEY}.${key} is ${JSON.stringify(value)}, not a string`, 'metadata', file);
    }
  }
}

/**
 * `count` elements of `dtype` stored little-endian in `bytes` at `offset`, copied into a new
 * array. The copy also aligns them: in a file, a tensor may start at any byte.
 */
export function readLittleEndian(bytes: Uint8Array, offset: number, dtype: SafetensorsDtype, count: number, hostLittleEndian: boolean): TensorData {
  const out = DTYPES[dtype].create(count);
  if (hostLittleEndian || dtype === 'U8') {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + out.byteLength));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, out.byteLength);
  if (out instanceof Float64Array) for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  else if (out instanceof Float32Array) for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (out instanceof Uint32Array) for (let i = 0; i < count; i++) out[i] = view.getUint32(4 * i, true);
  else if (out instanceof Int32Array) for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
  return out;
}

/** Defines an own property, so a name like "__proto__" is stored and not taken as the prototype. */
export function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Orders strings by code point, as Rust orders Strings (JavaScript's < compares UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  const ca = Array.from(a, (c) => c.codePointAt(0)!);
  const cb = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i]! - cb[i]!;
  return ca.length - cb.length;
}
