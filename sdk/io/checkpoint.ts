// Checkpoints: everything needed to resume training, as a directory of checked files.
//
//   dir/manifest.json                   which files make up the checkpoint, with byte sizes and CRC-32s
//   dir/model.<tag>.safetensors         the module's state dict (safetensors, so Python reads it)
//   dir/optimizer.<tag>.safetensors     the optimizer's state (optional)
//   dir/trainer.<tag>.json              step, KL coefficient, PRNG state, config: anything JSON
//
// <tag> is random per save. The manifest maps each part's name ("model.safetensors") to the file
// holding it, and nothing but the manifest says which files are current.
//
// Why this layout: a save must leave the previous checkpoint loadable if the process dies at any
// moment. Each file is written to a temporary name, fsync'ed and renamed into place, and the new
// parts get new names, so the old parts are never touched. The manifest is written the same way,
// last: renaming it over the old one is the single commit point. The crash windows:
//   - before the manifest rename: the old manifest names the old files, all intact, so loading
//     gives the previous checkpoint. The new files are orphans; the next save deletes them.
//   - after the manifest rename: loading gives the new checkpoint, whose files were all synced
//     and renamed before the manifest. The old files are deleted only after that.
//   - power loss: the directory is fsync'ed after the parts are renamed (so their names are on
//     disk before the manifest that refers to them) and after the manifest rename (so the commit
//     is on disk before the old files go).
// (Renaming whole directories cannot do this: POSIX cannot swap a directory over a non-empty one,
// so there would be a moment with no checkpoint at `dir`. Fixed names renamed one by one would
// leave a mix of old and new parts.) Two processes saving into one directory at once is not
// supported: each would delete the other's files.
//
// Without a file system (browsers, workers) encodeCheckpoint() returns the same parts as bytes,
// keyed by part name, and decodeCheckpoint() checks and reads them back.

import { CheckpointError, type CheckpointCheck } from '../core/errors';
import type { StateDict } from '../core/module';
import { dtypeOf, parseSafetensors, serializeSafetensors, setOwn, type SafeTensor, type TensorData } from './safetensors';
import { errorCode, nodeFileSystem, randomTag, syncDirectory, writeNewFileSynced, type FsPromises } from './fs';

/** What a checkpoint holds, as given to saveCheckpoint / encodeCheckpoint. */
export interface CheckpointState {
  /** The module's parameters by name (Module.stateDict()). */
  model: StateDict;
  /** Each parameter's shape, recorded in the safetensors header; a parameter without one is saved 1-D. */
  modelShapes?: Record<string, number[]>;
  /** The optimizer's state (moments, step counts...), each array saved 1-D with its own dtype. */
  optimizer?: Record<string, TensorData>;
  /**
   * Everything else needed to resume: step, KL coefficient, PRNG state, config. Plain objects,
   * arrays, strings, booleans, null and finite numbers only: JSON has no NaN, Infinity,
   * undefined or BigInt, and a class instance would not come back as itself, so these are refused.
   */
  trainer: object;
  /** Free-form strings stored as the model file's safetensors `__metadata__`. */
  metadata?: Record<string, string>;
}

/** A checkpoint as read back. */
export interface LoadedCheckpoint {
  model: StateDict;
  /** Each parameter's shape as recorded in the file. */
  modelShapes: Record<string, number[]>;
  /** Absent when the checkpoint was saved without optimizer state. */
  optimizer?: Record<string, TensorData>;
  trainer: Record<string, unknown>;
  /** The model file's `__metadata__`; empty when it has none. */
  metadata: Record<string, string>;
}

/** One step of saveCheckpoint, reported to SaveOptions.afterEachStep. */
export interface SaveStep {
  /**
   * 'temp-written': a part's bytes are in a synced temporary file. 'renamed': that file now has its
   * final name (for manifest.json this is the commit). 'directory-synced': the directory's entries
   * are on disk. 'removed': a file of an older save, or an orphan, was deleted.
   */
  stage: 'temp-written' | 'renamed' | 'directory-synced' | 'removed';
  /** The file's name within the checkpoint directory. */
  file: string;
}

export interface SaveOptions {
  /**
   * Called after each step of the save, in order, and awaited: for progress reports, and for tests
   * that stop the process at a chosen step to check what a crash there leaves behind.
   */
  afterEachStep?: (step: SaveStep) => void | Promise<void>;
}

// Part names: the keys of a manifest's "files" and of encodeCheckpoint's map.
const MODEL = 'model.safetensors';
const OPTIMIZER = 'optimizer.safetensors';
const TRAINER = 'trainer.json';
const MANIFEST = 'manifest.json';
const PARTS = [MODEL, OPTIMIZER, TRAINER] as const;
type PartName = (typeof PARTS)[number];

const FORMAT = 'novarl-checkpoint';
const VERSION = 1;

interface ManifestEntry {
  /** The file holding this part: the part name in memory, a tagged name on disk. */
  file: string;
  bytes: number;
  /** CRC-32 (IEEE, as zlib and Python's zlib.crc32), 8 lowercase hex digits. */
  crc32: string;
}

interface Manifest {
  format: typeof FORMAT;
  version: typeof VERSION;
  files: Partial<Record<PartName, ManifestEntry>>;
}

// ---------------------------------------------------------------------------------------------
// In memory

/**
 * The checkpoint's files as bytes, keyed by part name ('model.safetensors', 'trainer.json',
 * 'optimizer.safetensors' when there is optimizer state, and 'manifest.json').
 */
export function encodeCheckpoint(state: CheckpointState): Map<string, Uint8Array> {
  const parts = encodeParts(state);
  const files = new Map<string, Uint8Array>();
  const manifest: Manifest = { format: FORMAT, version: VERSION, files: {} };
  for (const [part, bytes] of parts) {
    files.set(part, bytes);
    manifest.files[part] = { file: part, bytes: bytes.length, crc32: crc32Hex(bytes) };
  }
  files.set(MANIFEST, encodeManifest(manifest));
  return files;
}

/** Checks and reads the files made by encodeCheckpoint (or read from a checkpoint directory). */
export function decodeCheckpoint(files: Map<string, Uint8Array>): LoadedCheckpoint {
  const manifestBytes = files.get(MANIFEST);
  if (manifestBytes === undefined) throw new CheckpointError(`no ${MANIFEST}: not a checkpoint, or a save that never finished`, 'missing', MANIFEST);
  const manifest = parseManifest(manifestBytes);
  const parts = new Map<PartName, Uint8Array>();
  for (const [part, entry] of manifestEntries(manifest)) {
    const bytes = files.get(entry.file);
    if (bytes === undefined) throw new CheckpointError(`${entry.file} (the ${part} part) is missing`, 'missing', entry.file);
    checkAgainstManifest(bytes, entry, part);
    parts.set(part, bytes);
  }
  return decodeParts(parts, manifest);
}

function encodeParts(state: CheckpointState): [PartName, Uint8Array][] {
  const modelTensors: Record<string, SafeTensor> = {};
  for (const [name, data] of Object.entries(state.model)) {
    if (!(data instanceof Float32Array)) {
      throw new CheckpointError(`model parameter '${name}' is ${Object.prototype.toString.call(data)}, a state dict holds Float32Arrays`, 'tensor', MODEL, name);
    }
    const shape = (state.modelShapes && Object.hasOwn(state.modelShapes, name) ? state.modelShapes[name] : undefined) ?? [data.length];
    setOwn(modelTensors, name, { dtype: 'F32', shape: [...shape], data });
  }
  for (const name of Object.keys(state.modelShapes ?? {})) {
    if (!Object.hasOwn(state.model, name)) throw new CheckpointError(`modelShapes names '${name}', which the model does not have`, 'tensor', MODEL, name);
  }
  const parts: [PartName, Uint8Array][] = [[MODEL, serializeSafetensors(modelTensors, state.metadata)]];
  if (state.optimizer !== undefined) {
    const optimizerTensors: Record<string, SafeTensor> = {};
    for (const [name, data] of Object.entries(state.optimizer)) {
      setOwn(optimizerTensors, name, { dtype: dtypeOf(data), shape: [data.length], data });
    }
    parts.push([OPTIMIZER, serializeSafetensors(optimizerTensors)]);
  }
  checkJsonValue(state.trainer, 'trainer');
  if (typeof state.trainer !== 'object' || state.trainer === null || Array.isArray(state.trainer)) {
    throw new CheckpointError('trainer state must be a plain object', 'json', TRAINER);
  }
  parts.push([TRAINER, new TextEncoder().encode(`${JSON.stringify(state.trainer, null, 2)}\n`)]);
  return parts;
}

function decodeParts(parts: Map<PartName, Uint8Array>, manifest: Manifest): LoadedCheckpoint {
  const file = (part: PartName): string => manifest.files[part]!.file;

  const { tensors, metadata } = parseSafetensors(parts.get(MODEL)!, {}, file(MODEL));
  const model: StateDict = {};
  const modelShapes: Record<string, number[]> = {};
  for (const [name, tensor] of Object.entries(tensors)) {
    if (!(tensor.data instanceof Float32Array)) {
      throw new CheckpointError(`${file(MODEL)}: tensor '${name}' is ${tensor.dtype}, a model state dict holds F32`, 'dtype', file(MODEL), name);
    }
    // own entries: a tensor named "__proto__" stays a tensor (and an unexpected name downstream)
    setOwn(model, name, tensor.data);
    setOwn(modelShapes, name, tensor.shape);
  }

  let optimizer: Record<string, TensorData> | undefined;
  const optimizerBytes = parts.get(OPTIMIZER);
  if (optimizerBytes !== undefined) {
    optimizer = {};
    for (const [name, tensor] of Object.entries(parseSafetensors(optimizerBytes, {}, file(OPTIMIZER)).tensors)) setOwn(optimizer, name, tensor.data);
  }

  let trainer: unknown;
  try {
    trainer = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(parts.get(TRAINER)!));
  } catch (error) {
    throw new CheckpointError(`${file(TRAINER)}: not valid UTF-8 JSON (${(error as Error).message})`, 'json', file(TRAINER));
  }
  if (typeof trainer !== 'object' || trainer === null || Array.isArray(trainer)) {
    throw new CheckpointError(`${file(TRAINER)}: trainer state is not a JSON object`, 'json', file(TRAINER));
  }
  const loaded: LoadedCheckpoint = { model, modelShapes, trainer: trainer as Record<string, unknown>, metadata };
  if (optimizer !== undefined) loaded.optimizer = optimizer;
  return loaded;
}

/** Refuses what JSON.stringify would drop or change, naming where it is (`trainer.kl.coef`). */
function checkJsonValue(value: unknown, path: string, seen: Set<object> = new Set()): void {
  const fail = (what: string): never => {
    throw new CheckpointError(`${path} is ${what}, which JSON cannot hold`, 'json', TRAINER);
  };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(String(value));
    return;
  }
  if (typeof value !== 'object') fail(typeof value === 'bigint' ? 'a BigInt (store it as a string)' : typeof value);
  const object = value as object;
  if (seen.has(object)) fail('a circular reference');
  seen.add(object);
  if (Array.isArray(object)) {
    object.forEach((item, i) => checkJsonValue(item, `${path}[${i}]`, seen));
  } else {
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) fail(`a ${object.constructor?.name ?? 'class'} instance (only plain objects come back as they were)`);
    for (const [key, item] of Object.entries(object)) checkJsonValue(item, `${path}.${key}`, seen);
  }
  seen.delete(object);
}

// ---------------------------------------------------------------------------------------------
// The manifest

function encodeManifest(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}

// A part's file must be a plain name inside the checkpoint directory: no separators, no "..".
const SAFE_FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function parseManifest(bytes: Uint8Array): Manifest {
  const fail = (what: string): never => {
    throw new CheckpointError(`${MANIFEST}: ${what}`, 'manifest', MANIFEST);
  };
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    return fail(`not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) fail('not a JSON object');
  const { format, version, files } = manifest as Record<string, unknown>;
  if (format !== FORMAT) fail(`format is ${JSON.stringify(format)}, expected "${FORMAT}"`);
  if (version !== VERSION) fail(`version ${JSON.stringify(version)} is not one this NovaRL reads (${VERSION})`);
  if (typeof files !== 'object' || files === null || Array.isArray(files)) fail('"files" is not an object');
  for (const [part, entry] of Object.entries(files as Record<string, unknown>)) {
    if (!(PARTS as readonly string[]).includes(part)) fail(`unknown part "${part}" (known: ${PARTS.join(', ')})`);
    if (typeof entry !== 'object' || entry === null) fail(`files["${part}"] is not an object`);
    const { file, bytes: size, crc32 } = entry as Record<string, unknown>;
    if (typeof file !== 'string' || !SAFE_FILE_NAME.test(file)) fail(`files["${part}"].file ${JSON.stringify(file)} is not a plain file name`);
    if (!Number.isSafeInteger(size) || (size as number) < 0) fail(`files["${part}"].bytes ${JSON.stringify(size)} is not a byte count`);
    if (typeof crc32 !== 'string' || !/^[0-9a-f]{8}$/.test(crc32)) fail(`files["${part}"].crc32 ${JSON.stringify(crc32)} is not 8 hex digits`);
  }
  for (const part of [MODEL, TRAINER]) {
    if (!(part in (files as object))) fail(`no "${part}" entry`);
  }
  return manifest as Manifest;
}

function manifestEntries(manifest: Manifest): [PartName, ManifestEntry][] {
  return PARTS.filter((part) => manifest.files[part] !== undefined).map((part) => [part, manifest.files[part]!]);
}

function checkAgainstManifest(bytes: Uint8Array, entry: ManifestEntry, part: PartName): void {
  checkSize(bytes.length, entry, part);
  const actual = crc32Hex(bytes);
  if (actual !== entry.crc32) {
    throw new CheckpointError(`${entry.file} (the ${part} part) is corrupt: CRC-32 ${actual}, the manifest says ${entry.crc32}`, 'checksum', entry.file);
  }
}

function checkSize(size: number, entry: ManifestEntry, part: PartName): void {
  if (size !== entry.bytes) {
    const what = size < entry.bytes ? 'truncated' : 'longer than written';
    throw new CheckpointError(`${entry.file} (the ${part} part) is ${what}: ${size} bytes, the manifest says ${entry.bytes}`, 'size', entry.file);
  }
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the checksum of zlib, gzip, PNG and
// Python's zlib.crc32, so a manifest can be checked with any of them.

let crcTable: Uint32Array | undefined;

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 of `bytes` as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array): number {
  const table = (crcTable ??= makeCrcTable());
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function crc32Hex(bytes: Uint8Array): string {
  return crc32(bytes).toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------
// On disk

async function fileSystem(what: string): Promise<{ fs: FsPromises; join: (a: string, b: string) => string }> {
  const { fs, path } = await nodeFileSystem(() => new CheckpointError(`${what} needs a file system (node:fs); without one, use encodeCheckpoint / decodeCheckpoint`, 'io'));
  return { fs, join: path.join };
}

function ioError(action: string, file: string, error: unknown): CheckpointError {
  return new CheckpointError(`could not ${action} ${file}: ${(error as Error).message}`, 'io', file);
}


// Files that saveCheckpoint writes: only these are ever deleted from a checkpoint directory.
const OWN_FILE = /^(?:(?:model|optimizer)\.[0-9a-f]{8}\.safetensors|trainer\.[0-9a-f]{8}\.json|\..+\.tmp-[0-9a-f]{8})$/;

/**
 * Saves a checkpoint into `dir` (created if missing), replacing the one there atomically: if the
 * process dies at any point, loadCheckpoint(dir) gives either the previous checkpoint or this one,
 * whole. Everything is validated before the first byte is written.
 */
export async function saveCheckpoint(dir: string, state: CheckpointState, options: SaveOptions = {}): Promise<void> {
  const parts = encodeParts(state);
  const { fs, join } = await fileSystem('saveCheckpoint');
  const notify = async (step: SaveStep): Promise<void> => {
    await options.afterEachStep?.(step);
  };
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    throw ioError('create the checkpoint directory', dir, error);
  }

  // A tag no file in the directory uses yet, so no file of the current checkpoint is overwritten.
  const existing = new Set(await fs.readdir(dir));
  let tag = randomTag();
  while ([...existing].some((name) => name.includes(`.${tag}.`))) tag = randomTag();

  const manifest: Manifest = { format: FORMAT, version: VERSION, files: {} };
  for (const [part, bytes] of parts) {
    const file = part.replace('.', `.${tag}.`); // model.safetensors -> model.<tag>.safetensors
    await writeFileDurably(fs, join, dir, file, bytes, notify);
    manifest.files[part] = { file, bytes: bytes.length, crc32: crc32Hex(bytes) };
  }
  await syncDirectory(fs, dir, (error) => ioError('sync the directory', dir, error));
  await notify({ stage: 'directory-synced', file: '.' });

  await writeFileDurably(fs, join, dir, MANIFEST, encodeManifest(manifest), notify); // the commit
  await syncDirectory(fs, dir, (error) => ioError('sync the directory', dir, error));
  await notify({ stage: 'directory-synced', file: '.' });

  // Old parts and orphans of interrupted saves: ours by name, and not in the new manifest.
  const current = new Set(Object.values(manifest.files).map((entry) => entry.file));
  for (const name of await fs.readdir(dir)) {
    if (!OWN_FILE.test(name) || current.has(name)) continue;
    try {
      await fs.rm(join(dir, name), { force: true });
    } catch (error) {
      throw ioError('remove the old file', join(dir, name), error);
    }
    await notify({ stage: 'removed', file: name });
  }
}

/** Writes `bytes` to a temporary file beside `file`, syncs it, then renames it to `file`. */
async function writeFileDurably(
  fs: FsPromises,
  join: (a: string, b: string) => string,
  dir: string,
  file: string,
  bytes: Uint8Array,
  notify: (step: SaveStep) => Promise<void>,
): Promise<void> {
  const temp = `.${file}.tmp-${randomTag()}`;
  const tempPath = join(dir, temp);
  try {
    await writeNewFileSynced(fs, tempPath, bytes);
  } catch (error) {
    await fs.rm(tempPath, { force: true }).catch(() => undefined);
    throw ioError('write', tempPath, error);
  }
  await notify({ stage: 'temp-written', file: temp });
  try {
    await fs.rename(tempPath, join(dir, file));
  } catch (error) {
    throw ioError('rename into place', join(dir, file), error);
  }
  await notify({ stage: 'renamed', file });
}

/**
 * Loads the checkpoint in `dir`, checking each file's size (before reading it) and CRC-32 against
 * the manifest, then each file's contents. Any failure is a CheckpointError naming the file.
 */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { fs, join } = await fileSystem('loadCheckpoint');
  const fail = (check: CheckpointCheck, message: string, file?: string): never => {
    throw new CheckpointError(message, check, file);
  };
  try {
    if (!(await fs.stat(dir)).isDirectory()) fail('missing', `checkpoint ${dir} is not a directory`, dir);
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    if (errorCode(error) === 'ENOENT') fail('missing', `checkpoint directory ${dir} does not exist`, dir);
    throw ioError('open the checkpoint directory', dir, error);
  }

  const read = async (file: string, what: string, maxBytes?: number): Promise<Uint8Array> => {
    const path = join(dir, file);
    try {
      const size = (await fs.stat(path)).size;
      if (maxBytes !== undefined && size > maxBytes) fail('size', `${path} is ${size} bytes, over the ${maxBytes} allowed`, file);
      const data = await fs.readFile(path);
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      if (errorCode(error) === 'ENOENT') fail('missing', `${path} (${what}) does not exist`, file);
      throw ioError('read', path, error);
    }
  };

  const manifestBytes = await read(MANIFEST, 'the manifest: not a checkpoint, or a save that never finished', 1_000_000);
  const manifest = parseManifest(manifestBytes);
  const files = new Map<string, Uint8Array>([[MANIFEST, manifestBytes]]);
  for (const [part, entry] of manifestEntries(manifest)) {
    // The size check runs on stat's answer, before the file is read into memory.
    let size: number;
    try {
      size = (await fs.stat(join(dir, entry.file))).size;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') fail('missing', `${join(dir, entry.file)} (the ${part} part) does not exist`, entry.file);
      throw ioError('read', join(dir, entry.file), error);
    }
    checkSize(size!, entry, part);
    files.set(entry.file, await read(entry.file, `the ${part} part`, entry.bytes));
  }
  return decodeCheckpoint(files);
}
