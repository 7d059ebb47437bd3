import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  crc32,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  parseSafetensors,
  saveCheckpoint,
  serializeSafetensors,
  type CheckpointCheck,
  type LoadedCheckpoint,
  type SafeTensor,
  type SaveStep,
  type TensorData,
} from '../sdk/index';
import { readLittleEndian, writeLittleEndian } from '../sdk/io/safetensors';
import { checkpointState } from './fixtures/checkpoint_states';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'novarl-checkpoint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => join(scratch, `ckpt-${dirCount++}`);

/** Runs fn and returns the CheckpointError it throws, after checking its `check`. */
function checkpointError(fn: () => unknown, check: CheckpointCheck): CheckpointError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).check, (error as Error).message).toBe(check);
    return error as CheckpointError;
  }
  return expect.fail(`expected a CheckpointError (${check})`);
}

async function asyncCheckpointError(promise: Promise<unknown>, check: CheckpointCheck): Promise<CheckpointError> {
  const error = await promise.then(
    () => expect.fail(`expected a CheckpointError (${check})`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as CheckpointError).check, (error as Error).message).toBe(check);
  return error as CheckpointError;
}

/** Byte-for-byte equality of two typed arrays (so -0 and NaN payloads count). */
function bytesOf(data: TensorData): number[] {
  return Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** A safetensors file built by hand from a header (object or raw text) and data bytes. */
function rawFile(header: unknown, data: number[] = [], padTo8 = true): Uint8Array {
  let text = typeof header === 'string' ? header : JSON.stringify(header);
  if (padTo8) text += ' '.repeat((8 - (text.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setUint32(0, headerBytes.length, true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

const entry = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

describe('safetensors', () => {
  it('round-trips every dtype, scalars, empty tensors and special float values', () => {
    const tensors: Record<string, SafeTensor> = {
      f64: { dtype: 'F64', shape: [2, 2], data: Float64Array.of(1e-300, -0, Infinity, 6.02e23) },
      f32: { dtype: 'F32', shape: [3], data: Float32Array.of(NaN, -0, 3.4e38) },
      scalar: { dtype: 'F32', shape: [], data: Float32Array.of(0.1) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      u32: { dtype: 'U32', shape: [1, 2], data: Uint32Array.of(0xffffffff, 7) },
      i32: { dtype: 'I32', shape: [2], data: Int32Array.of(-2147483648, 2147483647) },
      u8: { dtype: 'U8', shape: [5], data: Uint8Array.of(0, 1, 127, 128, 255) }, // odd length: later tensors would be unaligned
      '0': { dtype: 'U8', shape: [1], data: Uint8Array.of(9) }, // integer-like name: JS objects reorder these keys
    };
    const metadatas: (Record<string, string> | undefined)[] = [undefined, {}, { format: 'pt', note: 'ünïcødé' }];
    for (const metadata of metadatas) {
      const back = parseSafetensors(serializeSafetensors(tensors, metadata));
      expect(back.metadata).toEqual(metadata ?? {});
      expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        const got = back.tensors[name]!;
        expect(got.dtype, name).toBe(t.dtype);
        expect(got.shape, name).toEqual(t.shape);
        expect(got.data.constructor, name).toBe(t.data.constructor);
        expect(bytesOf(got.data), name).toEqual(bytesOf(t.data));
      }
    }
  });

  it('writes the exact bytes of a hand-built file (the layout Python safetensors writes)', () => {
    const bytes = serializeSafetensors({ a: { dtype: 'F32', shape: [2], data: Float32Array.of(1, -2) } });
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 54 bytes
    const expected = [
      56, 0, 0, 0, 0, 0, 0, 0, // header length 56 = 54 + 2 spaces of padding, u64 little-endian
      ...Array.from(header, (c) => c.charCodeAt(0)),
      32, 32, // padding to a multiple of 8
      0x00, 0x00, 0x80, 0x3f, // 1.0f little-endian
      0x00, 0x00, 0x00, 0xc0, // -2.0f little-endian
    ];
    expect(Array.from(bytes)).toEqual(expected);
  });

  it("reads a file written by Python's safetensors and writes the same bytes back", () => {
    // Made by tests/fixtures/make_safetensors_fixture.py with safetensors 0.8.0 (numpy).
    const python = new Uint8Array(readFileSync(join(fixtures, 'python_mixed.safetensors')));
    const { tensors, metadata } = parseSafetensors(python);
    expect(metadata).toEqual({ format: 'pt' });
    const expected: Record<string, SafeTensor> = {
      bias: { dtype: 'F64', shape: [2, 3], data: Float64Array.of(0.5, -1.25, 3.0, 1e-300, -0, 6.02e23) },
      scale: { dtype: 'F32', shape: [], data: Float32Array.of(1.5) },
      empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
      counts: { dtype: 'U32', shape: [4], data: Uint32Array.of(0, 1, 4294967295, 123456789) },
      offsets: { dtype: 'I32', shape: [2, 2], data: Int32Array.of(-2147483648, -1, 0, 2147483647) },
      mask: { dtype: 'U8', shape: [5], data: Uint8Array.of(0, 1, 2, 254, 255) },
    };
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, t] of Object.entries(expected)) {
      expect(tensors[name]!.dtype, name).toBe(t.dtype);
      expect(tensors[name]!.shape, name).toEqual(t.shape);
      expect(bytesOf(tensors[name]!.data), name).toEqual(bytesOf(t.data));
    }
    // Same tensors in another insertion order: the writer's ordering must reproduce Python's file.
    const reordered = Object.fromEntries(Object.entries(expected).reverse());
    expect(Array.from(serializeSafetensors(reordered, { format: 'pt' }))).toEqual(Array.from(python));
  });

  it('the explicit DataView byte order gives the same bytes as the little-endian fast path', () => {
    const arrays: TensorData[] = [
      Float64Array.of(1.5, -0, NaN, 1e-310),
      Float32Array.of(3.25, -1e-40, Infinity),
      Uint32Array.of(1, 0x80000000, 0xffffffff),
      Int32Array.of(-1, 5, -2147483648),
      Uint8Array.of(1, 2, 3),
    ];
    const dtypes = ['F64', 'F32', 'U32', 'I32', 'U8'] as const;
    arrays.forEach((data, k) => {
      for (const offset of [0, 3]) { // 3: an unaligned position, as in a file
        const fast = new Uint8Array(offset + data.byteLength);
        const explicit = new Uint8Array(offset + data.byteLength);
        writeLittleEndian(data, fast, offset, true);
        writeLittleEndian(data, explicit, offset, false);
        expect(Array.from(explicit), dtypes[k]).toEqual(Array.from(fast));
        const back = readLittleEndian(explicit, offset, dtypes[k]!, data.length, false);
        expect(bytesOf(back), dtypes[k]).toEqual(bytesOf(data));
      }
    });
    // And the fast path on this (little-endian) host really is little-endian.
    const one = new Uint8Array(4);
    writeLittleEndian(Uint32Array.of(0x01020304), one, 0, true);
    expect(Array.from(one)).toEqual([4, 3, 2, 1]);
  });

  it('accepts header entries in any order, as Python may write them', () => {
    const file = rawFile({ b: entry('U8', [2], [4, 6]), a: entry('F32', [], [0, 4]) }, [0, 0, 0x80, 0x3f, 7, 8]);
    const { tensors } = parseSafetensors(file);
    expect(Array.from(tensors.a!.data)).toEqual([1]);
    expect(Array.from(tensors.b!.data)).toEqual([7, 8]);
  });

  it('keeps a tensor named __proto__ as a tensor', () => {
    const { tensors } = parseSafetensors(rawFile('{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', [42]));
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
  });

  describe('refuses corrupt files, naming the check and the tensor', () => {
    const good = serializeSafetensors({
      w: { dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
      b: { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) },
    });

    it('truncated header length field', () => {
      const e = checkpointError(() => parseSafetensors(good.slice(0, 5)), 'header-length');
      expect(e.message).toMatch(/5 bytes, too short/);
    });

    it('header length past the end of the file', () => {
      const e = checkpointError(() => parseSafetensors(good.slice(0, 40)), 'header-length');
      expect(e.message).toMatch(/runs past the end of the file \(40 bytes/);
    });

    it('header length over the cap (checked before anything is read or allocated)', () => {
      const huge = good.slice();
      new DataView(huge.buffer).setUint32(4, 1, true); // 2^32 + n bytes
      expect(checkpointError(() => parseSafetensors(huge), 'header-length').message).toMatch(/exceeds the cap of 100000000/);
      expect(checkpointError(() => parseSafetensors(good, { maxHeaderBytes: 16 }), 'header-length').message).toMatch(/exceeds the cap of 16/);
    });

    it('header that is not UTF-8, not JSON, or not an object', () => {
      const notUtf8 = good.slice();
      notUtf8[9] = 0xff;
      expect(checkpointError(() => parseSafetensors(notUtf8), 'header-json').message).toMatch(/not valid UTF-8/);
      expect(checkpointError(() => parseSafetensors(rawFile('{"w": {"dtype": "F32",')), 'header-json').message).toMatch(/not valid JSON/);
      expect(checkpointError(() => parseSafetensors(rawFile('[1, 2]')), 'header-json').message).toMatch(/not a JSON object/);
      const e = checkpointError(() => parseSafetensors(rawFile({ w: 5 })), 'header-json');
      expect(e.tensor).toBe('w');
    });

    it('metadata that is not all strings', () => {
      const e = checkpointError(() => parseSafetensors(rawFile({ __metadata__: { step: 5 } })), 'metadata');
      expect(e.message).toMatch(/__metadata__\.step is 5, not a string/);
    });

    it('unknown dtype', () => {
      const e = checkpointError(() => parseSafetensors(rawFile({ w: entry('BF16', [2], [0, 4]) }, [0, 0, 0, 0])), 'dtype');
      expect(e.tensor).toBe('w');
      expect(e.message).toMatch(/tensor 'w': unknown dtype "BF16"/);
    });

    it('shapes that are not lists of non-negative integers', () => {
      for (const shape of [[-1], [1.5], ['2'], 3, [2 ** 53]]) {
        const e = checkpointError(() => parseSafetensors(rawFile({ w: entry('U8', shape, [0, 0]) })), 'shape');
        expect(e.tensor).toBe('w');
      }
    });

    it('byte range that does not match shape x dtype size', () => {
      const e = checkpointError(() => parseSafetensors(rawFile({ w: entry('F32', [3], [0, 8]) }, new Array(8).fill(0))), 'byte-range');
      expect(e.message).toMatch(/tensor 'w': shape \[3\] of F32 needs 12 bytes, data_offsets \[0, 8\] hold 8/);
      // A shape whose size would overflow is refused without computing (or allocating) it.
      const giant = checkpointError(() => parseSafetensors(rawFile({ w: entry('F64', [1e9, 1e9, 1e9], [0, 8]) }, new Array(8).fill(0))), 'byte-range');
      expect(giant.message).toMatch(/needs more than 9007199254740991 bytes/);
    });

    it('malformed data_offsets', () => {
      for (const offsets of [[8, 0], [0], [0, -4], 'x', [0, 1.5]]) {
        const e = checkpointError(() => parseSafetensors(rawFile({ w: entry('U8', [0], offsets) })), 'byte-range');
        expect(e.message).toMatch(/tensor 'w': data_offsets/);
      }
    });

    it('overlapping ranges', () => {
      const file = rawFile({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }, new Array(12).fill(0));
      const e = checkpointError(() => parseSafetensors(file), 'overlap');
      expect(e.message).toMatch(/tensor 'b': data_offsets \[4, 12\] overlap tensor 'a', which ends at 8/);
      // A zero-length tensor inside another's range overlaps too (Python refuses it as well).
      const inside = rawFile({ a: entry('F32', [2], [0, 8]), z: entry('F32', [0], [4, 4]) }, new Array(8).fill(0));
      expect(checkpointError(() => parseSafetensors(inside), 'overlap').tensor).toBe('z');
    });

    it('gaps between ranges and uncovered bytes at the end', () => {
      const between = rawFile({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, new Array(12).fill(0));
      expect(checkpointError(() => parseSafetensors(between), 'gap').message).toMatch(/bytes \[4, 8\) of the data section, before tensor 'b'/);
      const atStart = rawFile({ a: entry('F32', [1], [4, 8]) }, new Array(8).fill(0));
      expect(checkpointError(() => parseSafetensors(atStart), 'gap').tensor).toBe('a');
      const trailing = new Uint8Array([...good, 0, 0]);
      expect(checkpointError(() => parseSafetensors(trailing), 'gap').message).toMatch(/bytes \[19, 21\) at the end/);
    });

    it('truncated data', () => {
      const e = checkpointError(() => parseSafetensors(good.slice(0, good.length - 2)), 'byte-range');
      expect(e.tensor).toBe('b');
      expect(e.message).toMatch(/run past the end of the data section \(17 bytes; truncated data\?\)/);
    });
  });

  it('refuses to write tensors that do not describe their data', () => {
    const write = (t: unknown, name = 'w') => () => serializeSafetensors({ [name]: t as SafeTensor });
    expect(checkpointError(write({ dtype: 'F32', shape: [2], data: Float64Array.of(1, 2) }), 'tensor').message).toMatch(/F32 needs a Float32Array/);
    expect(checkpointError(write({ dtype: 'F32', shape: [3], data: Float32Array.of(1, 2) }), 'tensor').message).toMatch(/holds 3 elements, data has 2/);
    expect(checkpointError(write({ dtype: 'F16', shape: [1], data: Float32Array.of(1) }), 'tensor').message).toMatch(/unknown dtype "F16"/);
    expect(checkpointError(write({ dtype: 'U8', shape: [-1], data: new Uint8Array(0) }), 'tensor').message).toMatch(/non-negative integers/);
    expect(checkpointError(write({ dtype: 'U8', shape: [0], data: new Uint8Array(0) }, '__metadata__'), 'tensor').message).toMatch(/reserved/);
    expect(checkpointError(() => serializeSafetensors({}, { n: 1 } as never), 'metadata').message).toMatch(/__metadata__\.n is 1/);
  });
});

function expectCheckpoint(loaded: LoadedCheckpoint, seed: number): void {
  const state = checkpointState(seed);
  expect(Object.keys(loaded.model).sort()).toEqual(Object.keys(state.model).sort());
  for (const [name, data] of Object.entries(state.model)) {
    expect(loaded.model[name]).toBeInstanceOf(Float32Array);
    expect(bytesOf(loaded.model[name]!), name).toEqual(bytesOf(data));
  }
  expect(loaded.modelShapes).toEqual({ 'layers.0.weight': [3, 2], 'layers.0.bias': [3], 'head.weight': [1, 3] });
  expect(Object.keys(loaded.optimizer!).sort()).toEqual(Object.keys(state.optimizer!).sort());
  for (const [name, data] of Object.entries(state.optimizer!)) {
    expect(loaded.optimizer![name]!.constructor, name).toBe(data.constructor);
    expect(bytesOf(loaded.optimizer![name]!), name).toEqual(bytesOf(data));
  }
  expect(loaded.trainer).toEqual(state.trainer);
  expect(loaded.metadata).toEqual(state.metadata);
}

/** Replaces one part's bytes in an in-memory checkpoint and updates the manifest to match. */
function withPart(files: Map<string, Uint8Array>, part: string, bytes: Uint8Array): Map<string, Uint8Array> {
  const out = new Map(files);
  const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json')));
  manifest.files[part] = { file: part, bytes: bytes.length, crc32: crc32(bytes).toString(16).padStart(8, '0') };
  out.set(part, bytes);
  out.set('manifest.json', new TextEncoder().encode(JSON.stringify(manifest)));
  return out;
}

describe('checkpoints', () => {
  it('CRC-32 matches the standard check value and zlib', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926); // the CRC-32/ISO-HDLC check value
    expect(crc32(new Uint8Array(0))).toBe(0);
    const data = Uint8Array.from({ length: 4099 }, (_, i) => (i * 2654435761) >>> 24);
    const zlibCrc = (zlib as { crc32?: (d: Uint8Array) => number }).crc32; // Node >= 20.15
    if (zlibCrc) expect(crc32(data)).toBe(zlibCrc(data));
  });

  it('encodes and decodes in memory', () => {
    const files = encodeCheckpoint(checkpointState(1));
    expect([...files.keys()].sort()).toEqual(['manifest.json', 'model.safetensors', 'optimizer.safetensors', 'trainer.json']);
    expectCheckpoint(decodeCheckpoint(files), 1);
    // Without optimizer state there is no optimizer part, and none comes back.
    const { optimizer: _unused, ...noOptimizer } = checkpointState(1);
    const bare = encodeCheckpoint(noOptimizer);
    expect(bare.has('optimizer.safetensors')).toBe(false);
    expect(decodeCheckpoint(bare).optimizer).toBeUndefined();
  });

  it('saves to a directory, replaces the previous save, and leaves other files alone', async () => {
    const dir = freshDir();
    await saveCheckpoint(dir, checkpointState(1));
    expectCheckpoint(await loadCheckpoint(dir), 1);
    const first = readdirSync(dir).sort();
    expect(first).toHaveLength(4);
    expect(first).toContain('manifest.json');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    writeFileSync(join(dir, 'model.safetensors'), 'a file of the same part name but not ours');

    await saveCheckpoint(dir, checkpointState(3));
    expectCheckpoint(await loadCheckpoint(dir), 3);
    const second = readdirSync(dir).sort();
    expect(second).toHaveLength(6); // manifest, three new parts, and the two files that are not ours
    expect(second.filter((f) => first.includes(f))).toEqual(['manifest.json']); // the old parts are gone
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('validates everything before writing anything', async () => {
    const dir = freshDir();
    const state = checkpointState(1);
    const nan = { ...state, trainer: { ...state.trainer, klCoef: NaN } };
    expect((await asyncCheckpointError(saveCheckpoint(dir, nan), 'json')).message).toMatch(/trainer\.klCoef is NaN/);
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);

    const cases: [object, RegExp][] = [
      [{ rng: [1, Infinity] }, /trainer\.rng\[1\] is Infinity/],
      [{ seed: 10n }, /trainer\.seed is a BigInt/],
      [{ when: new Date(0) }, /trainer\.when is a Date instance/],
      [{ fn: () => 1 }, /trainer\.fn is function/],
      [{ missing: undefined }, /trainer\.missing is undefined/],
      [[1, 2], /must be a plain object/],
    ];
    for (const [trainer, message] of cases) {
      expect(checkpointError(() => encodeCheckpoint({ ...state, trainer }), 'json').message).toMatch(message);
    }
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(checkpointError(() => encodeCheckpoint({ ...state, trainer: loop }), 'json').message).toMatch(/trainer\.self is a circular reference/);
    const badModel = { ...state, model: { w: Float64Array.of(1) as unknown as Float32Array } };
    expect(checkpointError(() => encodeCheckpoint(badModel), 'tensor').tensor).toBe('w');
    const badShape = { ...state, modelShapes: { 'layers.0.weight': [4, 2] } };
    expect(checkpointError(() => encodeCheckpoint(badShape), 'tensor').message).toMatch(/holds 8 elements, data has 6/);
    const strayShape = { ...state, modelShapes: { nope: [1] } };
    expect(checkpointError(() => encodeCheckpoint(strayShape), 'tensor').message).toMatch(/names 'nope'/);
  });

  describe('loading names what is wrong', () => {
    it('missing directory, manifest or part', async () => {
      const dir = freshDir();
      expect((await asyncCheckpointError(loadCheckpoint(dir), 'missing')).message).toMatch(/does not exist/);
      await saveCheckpoint(dir, checkpointState(1));
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      const trainerFile = manifest.files['trainer.json'].file as string;
      rmSync(join(dir, trainerFile));
      const e = await asyncCheckpointError(loadCheckpoint(dir), 'missing');
      expect(e.file).toBe(trainerFile);
      expect(e.message).toMatch(/the trainer\.json part\) does not exist/);
      rmSync(join(dir, 'manifest.json'));
      expect((await asyncCheckpointError(loadCheckpoint(dir), 'missing')).message).toMatch(/manifest\.json \(the manifest: not a checkpoint/);
    });

    it('truncated or corrupted files', async () => {
      const dir = freshDir();
      await saveCheckpoint(dir, checkpointState(1));
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      const modelFile = manifest.files['model.safetensors'].file as string;
      const optimizerFile = manifest.files['optimizer.safetensors'].file as string;

      const original = readFileSync(join(dir, optimizerFile));
      const flipped = Buffer.from(original);
      flipped[flipped.length - 1]! ^= 0x01;
      writeFileSync(join(dir, optimizerFile), flipped);
      const corrupt = await asyncCheckpointError(loadCheckpoint(dir), 'checksum');
      expect(corrupt.file).toBe(optimizerFile);
      expect(corrupt.message).toMatch(/is corrupt: CRC-32 [0-9a-f]{8}, the manifest says [0-9a-f]{8}/);
      writeFileSync(join(dir, optimizerFile), original);

      truncateSync(join(dir, modelFile), 100);
      const truncated = await asyncCheckpointError(loadCheckpoint(dir), 'size');
      expect(truncated.file).toBe(modelFile);
      expect(truncated.message).toMatch(new RegExp(`${modelFile} \\(the model.safetensors part\\) is truncated: 100 bytes, the manifest says ${manifest.files['model.safetensors'].bytes}`));
    });

    it('malformed manifest', () => {
      const files = encodeCheckpoint(checkpointState(1));
      const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json')));
      const withManifest = (m: unknown) => new Map(files).set('manifest.json', new TextEncoder().encode(typeof m === 'string' ? m : JSON.stringify(m)));
      const cases: [unknown, RegExp][] = [
        ['{"format": ', /not valid UTF-8 JSON/],
        [{ ...manifest, format: 'other' }, /format is "other"/],
        [{ ...manifest, version: 2 }, /version 2 is not one this NovaRL reads/],
        [{ ...manifest, files: { ...manifest.files, 'extra.bin': manifest.files['trainer.json'] } }, /unknown part "extra.bin"/],
        [{ ...manifest, files: { ...manifest.files, 'trainer.json': { ...manifest.files['trainer.json'], file: '../../etc/passwd' } } }, /is not a plain file name/],
        [{ ...manifest, files: { ...manifest.files, 'trainer.json': { ...manifest.files['trainer.json'], bytes: -1 } } }, /bytes -1 is not a byte count/],
        [{ ...manifest, files: { ...manifest.files, 'trainer.json': { ...manifest.files['trainer.json'], crc32: 'xyz' } } }, /crc32 "xyz"/],
        [{ ...manifest, files: { 'trainer.json': manifest.files['trainer.json'] } }, /no "model.safetensors" entry/],
      ];
      for (const [m, message] of cases) {
        expect(checkpointError(() => decodeCheckpoint(withManifest(m)), 'manifest').message).toMatch(message);
      }
    });

    it('malformed trainer.json or model file behind a matching manifest', () => {
      const files = encodeCheckpoint(checkpointState(1));
      const badJson = withPart(files, 'trainer.json', new TextEncoder().encode('{"step": 1,'));
      expect(checkpointError(() => decodeCheckpoint(badJson), 'json').file).toBe('trainer.json');
      const notObject = withPart(files, 'trainer.json', new TextEncoder().encode('[1]'));
      expect(checkpointError(() => decodeCheckpoint(notObject), 'json').message).toMatch(/not a JSON object/);
      const intModel = serializeSafetensors({ w: { dtype: 'I32', shape: [1], data: Int32Array.of(1) } });
      const e = checkpointError(() => decodeCheckpoint(withPart(files, 'model.safetensors', intModel)), 'dtype');
      expect(e.message).toMatch(/model.safetensors: tensor 'w' is I32, a model state dict holds F32/);
      const cut = files.get('model.safetensors')!.slice(0, 60);
      expect(checkpointError(() => decodeCheckpoint(withPart(files, 'model.safetensors', cut)), 'header-length').file).toBe('model.safetensors');
    });
  });

  it('a process killed at any step of a save leaves a loadable checkpoint: the old one before the commit, the new one after', async () => {
    // Every step a save of checkpoint 2 over checkpoint 1 goes through, found by doing one.
    const steps: SaveStep[] = [];
    const probe = freshDir();
    await saveCheckpoint(probe, checkpointState(1));
    await saveCheckpoint(probe, checkpointState(2), { afterEachStep: (step) => void steps.push(step) });
    const commit = steps.findIndex((s) => s.stage === 'renamed' && s.file === 'manifest.json');
    expect(commit).toBeGreaterThan(0);
    expect(steps.filter((s) => s.stage === 'removed')).toHaveLength(3); // the old model, optimizer and trainer files

    const child = fileURLToPath(new URL('./fixtures/checkpoint_crash_child.ts', import.meta.url));
    for (let i = 0; i < steps.length; i++) {
      const dir = freshDir();
      await saveCheckpoint(dir, checkpointState(1));
      const paused = await runUntilPausedThenKill(child, dir, i);
      const [, stage, file] = paused.split(' ');
      expect(stage, `step ${i}`).toBe(steps[i]!.stage);
      if (!/[0-9a-f]{8}/.test(steps[i]!.file)) expect(file, `step ${i}`).toBe(steps[i]!.file); // tagged names differ per save
      expectCheckpoint(await loadCheckpoint(dir), i < commit ? 1 : 2);
      // The next save clears what the killed one left behind.
      await saveCheckpoint(dir, checkpointState(3));
      expectCheckpoint(await loadCheckpoint(dir), 3);
      expect(readdirSync(dir), `step ${i}`).toHaveLength(4);
    }
  });
});

/** Spawns the crash child, waits for it to pause at step `pauseAt`, SIGKILLs it; returns its PAUSED line. */
function runUntilPausedThenKill(script: string, dir: string, pauseAt: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', script, dir, String(pauseAt)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let pausedLine: string | undefined;
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('PAUSED '));
      if (line !== undefined && pausedLine === undefined) {
        pausedLine = line;
        proc.kill('SIGKILL');
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      if (pausedLine !== undefined && signal === 'SIGKILL') resolve(pausedLine);
      else reject(new Error(`child did not pause at step ${pauseAt} (exit ${code}, signal ${signal}): ${out}${err}`));
    });
  });
}
