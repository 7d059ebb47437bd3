// The tiny GPT's Hugging Face files as one embedded blob: build.ts packs them as the U8 tensors
// of one safetensors file (one tensor per file, named by file), config.capnp embeds it as a data
// module, and the worker unpacks it on its first request.

import { CheckpointError, parseSafetensors, serializeSafetensors, type SafeTensor } from '../../../sdk/index';

const FORMAT = 'novarl-model-files';

export function packModelFiles(files: Record<string, Uint8Array>): Uint8Array {
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, bytes] of Object.entries(files)) tensors[name] = { dtype: 'U8', shape: [bytes.length], data: bytes };
  return serializeSafetensors(tensors, { format: FORMAT });
}

export function unpackModelFiles(bytes: Uint8Array): Record<string, Uint8Array> {
  const { tensors, metadata } = parseSafetensors(bytes, { maxHeaderBytes: 8192 }, 'tiny-gpt.bin');
  if (metadata['format'] !== FORMAT) throw new CheckpointError(`tiny-gpt.bin: metadata format is ${JSON.stringify(metadata['format'])}, expected "${FORMAT}"`, 'mismatch', 'tiny-gpt.bin');
  const files: Record<string, Uint8Array> = {};
  for (const [name, tensor] of Object.entries(tensors)) files[name] = tensor.data as Uint8Array;
  return files;
}
