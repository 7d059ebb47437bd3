// FNV-1a, 32 bits, over the bytes of typed arrays: integer math only (Math.imul), so every engine
// and both builds print the same hex. Every determinism script hashes through this module.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The bytes a typed array views (no copy). */
export const bytes = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** FNV-1a of `data` (bytes), continuing from `hash`. */
export function fnv1a(data, hash = FNV_OFFSET) {
  let h = hash >>> 0;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i];
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h;
}

/** A 32-bit hash as 8 hex digits. */
export function hex32(h) {
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The hex FNV-1a of the arrays' bytes, one after the other (e.g. a model's f32 parameters). */
export function hashArrays(arrays) {
  let hash = FNV_OFFSET;
  for (const a of arrays) hash = fnv1a(bytes(a), hash);
  return hex32(hash);
}
