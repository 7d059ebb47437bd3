// One byte string for a whole checkpoint, for GET and PUT /checkpoint.
//
// encodeCheckpoint gives a checkpoint as named parts (manifest.json with each part's size and
// CRC-32, model.safetensors, optimizer.safetensors, trainer.json). An HTTP body is one blob, so
// the parts travel as the U8 tensors of one safetensors file, named by part, with
// {"format": "novarl-checkpoint-parts"} as its metadata. Python reads it with
// safetensors.numpy.load(); each array's bytes are the part's file. Unpacking checks the outer
// file's structure, decodeCheckpoint then checks each part against the manifest's size and
// CRC-32 (which catches flipped bits in the weights, where a bare safetensors file has no
// checksum) and parses it.

import { CheckpointError, parseSafetensors, serializeSafetensors, type SafeTensor } from '../../../sdk/index';

const FORMAT = 'novarl-checkpoint-parts';

export function packCheckpoint(files: Map<string, Uint8Array>): Uint8Array<ArrayBuffer> {
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, bytes] of files) tensors[name] = { dtype: 'U8', shape: [bytes.length], data: bytes };
  // serializeSafetensors allocates a fresh ArrayBuffer; the type says so, for Response bodies
  return serializeSafetensors(tensors, { format: FORMAT }) as Uint8Array<ArrayBuffer>;
}

export function unpackCheckpoint(bytes: Uint8Array): Map<string, Uint8Array> {
  // a checkpoint's outer header names four parts: a few hundred bytes
  const { tensors, metadata } = parseSafetensors(bytes, { maxHeaderBytes: 4096 }, 'checkpoint');
  if (metadata['format'] !== FORMAT) {
    throw new CheckpointError(`checkpoint: metadata format is ${JSON.stringify(metadata['format'])}, expected "${FORMAT}"`, 'mismatch', 'checkpoint');
  }
  const files = new Map<string, Uint8Array>();
  for (const [name, tensor] of Object.entries(tensors)) {
    if (tensor.dtype !== 'U8' || tensor.shape.length !== 1) {
      throw new CheckpointError(`checkpoint: part ${name} is ${tensor.dtype} of shape [${tensor.shape.join(', ')}], expected 1-D U8 bytes`, 'tensor', 'checkpoint', name);
    }
    files.set(name, tensor.data as Uint8Array);
  }
  return files;
}
