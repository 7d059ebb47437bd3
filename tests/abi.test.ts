// The ABI constants (assembly/abi.ts) are the one source both sides import. This test keeps it
// that way: abi.ts stays plain `export const NAME = integer;` lines (so it compiles as
// AssemblyScript and as TypeScript), no other file declares its own copy of one, and
// a real core's tensor table has the layout it describes.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as abi from '../assembly/abi';
import { Tensor } from '../sdk/index';
import { loadCores } from './util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ABI = abi as unknown as Record<string, number>;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** `const NAME(: type) = <integer>;` in a file: its value, or undefined when not declared so. */
function declared(text: string, name: string): number | undefined {
  const match = new RegExp(`\\bconst ${name}(?:\\s*:\\s*\\w+)?\\s*=\\s*(-?\\d+)\\s*;`).exec(text);
  return match ? Number(match[1]) : undefined;
}

describe('ABI constants', () => {
  it('assembly/abi.ts holds only `export const NAME = integer;` lines', () => {
    const lines = readFileSync(join(ROOT, 'assembly/abi.ts'), 'utf8').split('\n');
    const code = lines.filter((l) => l.trim() !== '' && !l.trim().startsWith('//') && !/^\s*\/\*\*.*\*\/\s*$/.test(l));
    for (const line of code) expect(line, 'abi.ts line').toMatch(/^export const [A-Z][A-Z0-9_]* = -?\d+;$/);
    expect(code.length).toBe(Object.keys(ABI).length);
  });

  it('no file in assembly/, sdk/ or kernels/ declares its own copy of an ABI constant', () => {
    const files = [...sources('assembly'), ...sources('sdk'), ...sources('kernels')].filter((f) => f !== join('assembly', 'abi.ts'));
    const copies: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [name, value] of Object.entries(ABI)) {
        const copy = declared(text, name);
        if (copy === undefined) continue;
        copies.push(`${relative('.', file)}:${name}=${copy} (abi.ts: ${value})`);
      }
    }
    expect(copies, 'import these from assembly/abi.ts instead').toEqual([]);
  });

  it("a real core's tensor table and capacities are the ones abi.ts describes", async () => {
    const { simd, scalar } = await loadCores();
    for (const core of [simd, scalar]) {
      expect(core.exports.persistentCapacity()).toBe(abi.PERSISTENT_CAP);
      expect(core.exports.argCapacity()).toBe(abi.ARG_CAPACITY);
      const t = Tensor.zeros([2, 3, 5], { persistent: true, requiresGrad: true, core });
      try {
        const word = (offset: number) => core.i32[((core.exports.tableBase() >>> 0) + t.id * abi.SLOT_BYTES + offset) >>> 2]!;
        expect(word(abi.SLOT_DATA) >>> 0).toBe(core.exports.tensorData(t.id) >>> 0);
        expect(word(abi.SLOT_GRAD) >>> 0).toBe(core.exports.tensorGrad(t.id) >>> 0);
        expect(word(abi.SLOT_GRAD)).not.toBe(0);
        expect(word(abi.SLOT_SIZE)).toBe(30);
        expect(word(abi.SLOT_RANK)).toBe(3);
        expect([0, 1, 2, 3].map((d) => word(abi.SLOT_SHAPE + 4 * d))).toEqual([2, 3, 5, 1]);
        expect(word(abi.SLOT_FLAGS)).toBe(abi.FLAG_REQUIRES_GRAD | abi.FLAG_PERSISTENT | abi.FLAG_LIVE);
        expect(core.requiresGrad(t.id)).toBe(true);
        t.setRequiresGrad(false);
        expect(core.requiresGrad(t.id)).toBe(false);
      } finally {
        t.free();
      }
      const scratch = Tensor.zeros([1], { core });
      expect(scratch.id).toBeGreaterThanOrEqual(abi.PERSISTENT_CAP);
      core.endStep();
    }
  });

  it('the error codes reach the host as the typed errors they name', async () => {
    const { simd } = await loadCores();
    expect(() => simd.check(abi.ERR_OUT_OF_MEMORY, 'op')).toThrow(/ran out of memory/);
    expect(() => simd.check(abi.ERR_TABLE_FULL, 'op')).toThrow(/tensor table is full/);
  });
});
