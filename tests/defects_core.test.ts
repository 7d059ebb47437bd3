// Core-level defects found by a review of the public API (issue 8), one test each: the
// allocator near 4 GiB, backward() semantics, "__proto__" in checkpoints, untyped errors, the
// clipGradNorm bound, indices above 2^24, and the crossings of zeroGrad and clipGradNorm.

import { describe, expect, it } from 'vitest';
import {
  ActorCritic,
  CoreInitError,
  CoreMemoryError,
  Linear,
  Module,
  NovaRLError,
  Parameter,
  SGD,
  ShapeError,
  StateDictError,
  Tensor,
  ValueError,
  clipGradNorm,
  decodeCheckpoint,
  encodeCheckpoint,
  init,
  noGrad,
  type Core,
} from '../sdk/index';
import { expectClose, finiteDiff, loadCores, randomData } from './util';

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return expect.fail('expected an error, none was thrown');
}

// ---- 1. the allocator near 4 GiB ---------------------------------------------------------------

describe('allocator near the 4 GiB end of wasm32 memory', () => {
  it('refuses an allocation that would cross 4 GiB with a CoreMemoryError, and every arena stays usable', async () => {
    const core = await init({ setDefault: false });
    const GiB = 2 ** 28; // f32 elements
    const big: Tensor[] = [];
    const errors: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        big.push(Tensor.zeros([GiB], { persistent: true, core }));
      } catch (error) {
        errors.push(error);
      }
    }
    console.log(`five 1 GiB tensors: ${big.length} made, errors: ${errors.map((e) => `${(e as Error).name}: ${(e as Error).message}`).join(' | ')}`);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toBeInstanceOf(CoreMemoryError);
    expect(big.length).toBe(3); // 3 GiB fit below 4 GiB (with the table and the data segment), a fourth does not

    // nothing overlaps: write into the first, a new tensor reads zeros, the first keeps its data
    const first = big[0]!.view();
    first[0] = 7;
    first[GiB - 1] = 8;
    const fresh = Tensor.zeros([1024], { persistent: true, core });
    expect(fresh.toArray().every((v) => v === 0)).toBe(true);
    fresh.set(new Float32Array(1024).fill(3));
    expect(big[0]!.view()[0]).toBe(7);
    expect(big[0]!.view()[GiB - 1]).toBe(8);

    // scratch: a 1 GiB scratch tensor is refused, small ops still run (new chunks, the tape)
    expect(() => Tensor.zeros([GiB], { core })).toThrow(CoreMemoryError);
    const w = Parameter.create([4], core).set([1, 2, 3, 4]);
    const x = Tensor.from([1, 1, 1, 1], [4], { core });
    const loss = w.mul(x).mul(w).sum(); // sum(w^2): dw = 2w
    expect(loss.item()).toBe(30);
    loss.backward(); // the tape and the gradients' scratch buffers
    expect(Array.from(w.grad()!)).toEqual([2, 4, 6, 8]);
    // the argument buffer: an optimizer step and clipping
    expect(clipGradNorm([w], 0)).toBeCloseTo(Math.sqrt(120), 4);
    new SGD([w], { lr: 0.5 }).step();
    expect(Array.from(w.toArray())).toEqual([0, 0, 0, 0]);
    core.endStep();

    // exhaust the top of memory: halve the request until even 64 KiB is refused
    const filler: Tensor[] = [];
    for (let n = 2 ** 27; n >= 2 ** 14; ) {
      try {
        filler.push(Tensor.zeros([n], { persistent: true, core }));
      } catch (error) {
        expect(error).toBeInstanceOf(CoreMemoryError);
        n /= 2;
      }
    }
    const bytes = core.exports.memoryBytes();
    expect(bytes).toBeGreaterThan(2 ** 32 - 2 ** 20);
    // a 4 MiB scratch tensor needs a new chunk, which the top of memory cannot give
    expect(() => Tensor.zeros([2 ** 20], { core })).toThrow(CoreMemoryError);
    // once persistent memory is freed, the free list serves persistent blocks and scratch chunks
    big.pop()!.free();
    const reused = Tensor.zeros([2 ** 20], { persistent: true, core }); // split off the freed gigabyte
    expect(reused.toArray().every((v) => v === 0)).toBe(true);
    const scratch = Tensor.zeros([2 ** 20], { core }).add(1);
    expect(scratch.sum().item()).toBe(2 ** 20);
    expect(core.exports.memoryBytes()).toBe(bytes); // no growth: all of it came from freed memory
    expect(big[0]!.view()[0]).toBe(7);
    expect(big[0]!.view()[GiB - 1]).toBe(8);
    expect(fresh.view()[1023]).toBe(3);
    core.endStep();
  });
});

// ---- 2. backward() ---------------------------------------------------------------------------------

describe('backward()', () => {
  // loss1 = mean(tanh(x W)^2), loss2 = sum(tanh(x W)) / 2: two losses sharing the forward h = tanh(x W)
  const X = randomData(3 * 4, 21); // (3, 4)
  const W0 = randomData(4 * 2, 22); // (4, 2)
  function h64(w: Float64Array): number[] {
    const h: number[] = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += X[i * 4 + k]! * w[k * 2 + j]!;
        h.push(Math.tanh(s));
      }
    }
    return h;
  }
  const loss1 = (w: Float64Array) => h64(w).reduce((s, v) => s + v * v, 0) / 6;
  const loss2 = (w: Float64Array) => h64(w).reduce((s, v) => s + v, 0) / 2;

  it('accumulates the gradients of two losses of one step (shared forward), as PyTorch does', async () => {
    const { simd } = await loadCores();
    simd.endStep();
    const w = Parameter.create([4, 2], simd).set(W0);
    try {
      const h = Tensor.from(X, [3, 4], { core: simd }).matmul(w).tanh();
      const l1 = h.mul(h).mean();
      const l2 = h.sum().mul(0.5);
      l1.backward();
      l2.backward();
      const expected = finiteDiff((v) => loss1(v) + loss2(v), W0);
      expectClose(w.grad()!, expected, 'dW of l1 + l2', 1e-4, 1e-6);
    } finally {
      simd.endStep();
      w.free();
    }
  });

  it('accumulates across two separate forwards of one step, into parameters and scratch leaves', async () => {
    const { simd } = await loadCores();
    simd.endStep();
    const w = Parameter.create([4, 2], simd).set(W0);
    try {
      const x = Tensor.from(X, [3, 4], { core: simd, requiresGrad: true });
      const h1 = x.matmul(w).tanh();
      h1.mul(h1).mean().backward();
      const h2 = x.matmul(w).tanh();
      h2.sum().mul(0.5).backward();
      expectClose(w.grad()!, finiteDiff((v) => loss1(v) + loss2(v), W0), 'dW', 1e-4, 1e-6);
      // dx of l1 + l2 through the same formulas, with W fixed
      const lossX = (xs: Float64Array) => {
        let s1 = 0, s2 = 0;
        for (let i = 0; i < 3; i++) {
          for (let j = 0; j < 2; j++) {
            let s = 0;
            for (let k = 0; k < 4; k++) s += xs[i * 4 + k]! * W0[k * 2 + j]!;
            const t = Math.tanh(s);
            s1 += t * t;
            s2 += t;
          }
        }
        return s1 / 6 + s2 / 2;
      };
      expectClose(x.grad()!, finiteDiff(lossX, X), 'dx', 1e-4, 1e-6);
    } finally {
      simd.endStep();
      w.free();
    }
  });

  it('refuses a second backward() from the same loss in one step, with a ValueError that says why', async () => {
    const { simd } = await loadCores();
    simd.endStep();
    const w = Parameter.create([2], simd).set([1, 2]);
    try {
      const loss = w.mul(w).sum();
      loss.backward();
      const error = thrown(() => loss.backward());
      console.log(`backward twice: ${String(error)}`);
      expect(error).toBeInstanceOf(ValueError);
      expect((error as Error).message).toMatch(/already/);
      expect(Array.from(w.grad()!)).toEqual([2, 4]); // unchanged by the refused call
      simd.endStep();
      // a new step: allowed again, and accumulates into the parameter as PyTorch does
      w.mul(w).sum().backward();
      expect(Array.from(w.grad()!)).toEqual([4, 8]);
    } finally {
      simd.endStep();
      w.free();
    }
  });

  it('refuses backward() on a loss that does not require a gradient (made under noGrad)', async () => {
    const { simd } = await loadCores();
    simd.endStep();
    const w = Parameter.create([2], simd).set([1, 2]);
    try {
      const loss = noGrad(() => w.mul(w).sum(), simd);
      const error = thrown(() => loss.backward());
      console.log(`backward under noGrad: ${String(error)}`);
      expect(error).toBeInstanceOf(ValueError);
      expect((error as Error).message).toMatch(/noGrad|does not require a gradient/);
    } finally {
      simd.endStep();
      w.free();
    }
  });

  it('refuses backward() on a non-scalar, as PyTorch does (grad can only be implied for one element)', async () => {
    const { simd } = await loadCores();
    simd.endStep();
    const w = Parameter.create([3], simd).set([1, 2, 3]);
    try {
      const error = thrown(() => w.mul(2).backward());
      console.log(`backward on [3]: ${String(error)}`);
      expect(error).toBeInstanceOf(ShapeError);
      expect(w.grad()!.every((v) => v === 0)).toBe(true); // nothing ran
      w.mul(2).sum().reshape([1, 1]).backward(); // one element, any rank: accepted
      expect(Array.from(w.grad()!)).toEqual([2, 2, 2]);
    } finally {
      simd.endStep();
      w.free();
    }
  });
});

// ---- 3. "__proto__" in checkpoints and state dicts -------------------------------------------------

describe('a tensor named "__proto__"', () => {
  function withProto(value: Float32Array, rest: Record<string, Float32Array>): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = { ...rest };
    Object.defineProperty(out, '__proto__', { value, enumerable: true, writable: true, configurable: true });
    return out;
  }

  it('survives a checkpoint round trip as a tensor', () => {
    const model = withProto(new Float32Array([1, 2]), { w: new Float32Array([3]) });
    const loaded = decodeCheckpoint(encodeCheckpoint({ model, optimizer: withProto(new Float32Array([5]), {}), trainer: {} }));
    expect(Object.keys(loaded.model).sort()).toEqual(['__proto__', 'w']);
    expect(Object.getPrototypeOf(loaded.model)).not.toBeInstanceOf(Float32Array);
    expect(Array.from(Object.getOwnPropertyDescriptor(loaded.model, '__proto__')!.value as Float32Array)).toEqual([1, 2]);
    expect(Object.keys(loaded.optimizer!)).toEqual(['__proto__']);
  });

  it('is refused as unexpected by Module.loadStateDict', async () => {
    const { simd } = await loadCores();
    const layer = new Linear(1, 1, { core: simd });
    try {
      const loaded = decodeCheckpoint(encodeCheckpoint({ model: withProto(new Float32Array([9]), layer.stateDict()), trainer: {} }));
      const error = thrown(() => layer.loadStateDict(loaded.model));
      console.log(`loadStateDict with __proto__: ${String(error)}`);
      expect(error).toBeInstanceOf(StateDictError);
      expect((error as Error).message).toMatch(/unexpected \[__proto__\]/);
    } finally {
      layer.free();
    }
  });

  it('a parameter called like an Object.prototype member is not found there', async () => {
    const { simd } = await loadCores();
    class Odd extends Module {
      constructor(core: Core) {
        super();
        Object.defineProperty(this, 'toString', { value: Parameter.create([1], core), enumerable: true });
      }
    }
    const odd = new Odd(simd);
    try {
      expect(() => odd.loadStateDict({})).toThrow(/missing \[toString\]/);
    } finally {
      odd.free();
    }
  });
});

// ---- 4. typed errors at the public API --------------------------------------------------------------

describe('typed errors at the public API', () => {
  it('init() with bytes that are not a core is a CoreInitError', async () => {
    const error = await init({ source: new Uint8Array([1, 2, 3, 4]), setDefault: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    console.log(`init(bad bytes): ${String(error)}`);
    expect(error).toBeInstanceOf(CoreInitError);
    // a valid module that is not the NovaRL core
    const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    await expect(init({ source: empty, setDefault: false })).rejects.toThrow(CoreInitError);
  });

  it('bad operands and shapes are ValueError / ShapeError naming the argument, never TypeError', async () => {
    const { simd } = await loadCores();
    simd.endStep();
    const t = Tensor.from([1, 2, 3], [3], { core: simd });
    const bad: [string, () => unknown][] = [
      ['Tensor.zeros(3)', () => Tensor.zeros(3 as unknown as number[], { core: simd })],
      ['Tensor.zeros([2.5])', () => Tensor.zeros([2.5], { core: simd })],
      ['Tensor.zeros([NaN])', () => Tensor.zeros([NaN], { core: simd })],
      ['Tensor.zeros([2], null)', () => Tensor.zeros([2], null as unknown as object)],
      ['Tensor.from(null)', () => Tensor.from(null as unknown as number[], [1], { core: simd })],
      ['Tensor.from([1, "x"])', () => Tensor.from([1, 'x'] as unknown as number[], [2], { core: simd })],
      ['t.set(undefined)', () => t.set(undefined as unknown as number[])],
      ['t.add(null)', () => t.add(null as unknown as Tensor)],
      ["t.add('x')", () => t.add('x' as unknown as Tensor)],
      ['t.mul({})', () => t.mul({} as unknown as Tensor)],
      ['t.matmul(null)', () => t.matmul(null as unknown as Tensor)],
      ['Tensor.concat([t, 5])', () => Tensor.concat([t, 5 as unknown as Tensor])],
      ['Tensor.concat(t)', () => Tensor.concat(t as unknown as Tensor[])],
      ['Tensor.where(t, null, t)', () => Tensor.where(t, null as unknown as Tensor, t)],
      ['t.gather(null)', () => t.reshape([1, 3]).gather(null as unknown as Tensor)],
      ['Tensor.embedding(t, [0])', () => Tensor.embedding(t.reshape([3, 1]), [0] as unknown as Tensor)],
      ['t.reshape(3)', () => t.reshape(3 as unknown as number[])],
      ["t.clamp('a', 'b')", () => t.clamp('a' as unknown as number, 'b' as unknown as number)],
      ['t.layerNorm(5)', () => t.layerNorm(5 as unknown as Tensor)],
      ['t.layerNorm(undefined, undefined, -1)', () => t.layerNorm(undefined, undefined, -1)],
      ['new SGD(params, null)', () => new SGD([Parameter.create([1], simd)], null as unknown as object)],
      ["new SGD(params, { lr: '5' })", () => new SGD([Parameter.create([1], simd)], { lr: '5' as unknown as number })],
      ['clipGradNorm(params, "1")', () => clipGradNorm([Parameter.create([1], simd)], '1' as unknown as number)],
      ['loadStateDict(null)', () => new Linear(1, 1, { core: simd }).loadStateDict(null as unknown as Record<string, Float32Array>)],
      ['loadStateDict({ weight: 3 })', () => new Linear(1, 1, { core: simd, bias: false }).loadStateDict({ weight: 3 as unknown as Float32Array })],
      ['SGD.loadStateDict(null)', () => new SGD([Parameter.create([1], simd)]).loadStateDict(null as unknown as never)],
      ['copyInto(null)', () => new Linear(1, 1, { core: simd }).copyInto(null as unknown as Module)],
    ];
    const report: string[] = [];
    const errors = bad.map(([label, fn]) => {
      let error: unknown = 'no error';
      try {
        fn();
      } catch (e) {
        error = e;
      }
      report.push(`${label} -> ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      return error;
    });
    console.log(report.join('\n'));
    errors.forEach((error, i) => expect(error, bad[i]![0]).toBeInstanceOf(NovaRLError));
    expect(report.find((r) => r.startsWith("t.add('x')"))).not.toMatch(/different cores/);
    simd.endStep();
  });
});

// ---- 5. clipGradNorm's bound -------------------------------------------------------------------------

describe('clipGradNorm maxNorm', () => {
  it('refuses a negative or non-finite maxNorm with a ValueError', async () => {
    const { simd } = await loadCores();
    const p = Parameter.create([2], simd);
    try {
      for (const maxNorm of [-1, -Infinity, Infinity, NaN]) {
        const error = thrown(() => clipGradNorm([p], maxNorm));
        expect(error, `maxNorm ${maxNorm}`).toBeInstanceOf(ValueError);
        expect((error as Error).message).toMatch(/maxNorm/);
      }
      expect(clipGradNorm([p], 0)).toBe(0); // 0 measures only
    } finally {
      p.free();
    }
  });
});

// ---- 6. indices above 2^24 ----------------------------------------------------------------------------

describe('indices that f32 cannot hold exactly', () => {
  it('embedding and gather refuse an index of 2^24 or more instead of reading a neighbouring row', async () => {
    const { simd } = await loadCores();
    simd.endStep();
    const rows = 2 ** 24 + 2; // a (2^24 + 2, 1) table, its row i holding i
    const table = Tensor.zeros([rows, 1], { persistent: true, core: simd });
    try {
      const v = table.view();
      for (let i = 2 ** 24 - 2; i < rows; i++) v[i] = i - 2 ** 24; // -2, -1, 0, 1 near the top
      expect(Tensor.embedding(table, Tensor.from([2 ** 24 - 1], [1], { core: simd })).item()).toBe(-1);
      const error = thrown(() => Tensor.embedding(table, Tensor.from([2 ** 24 + 1], [1], { core: simd })));
      console.log(`embedding(id 2^24 + 1): ${String(error)}`);
      expect(error).toBeInstanceOf(ValueError);
      expect((error as Error).message).toMatch(/2\^24/);
      // gather: the same bound on the last axis
      const wide = Tensor.zeros([1, 2 ** 24 + 2], { core: simd });
      expect(() => wide.gather(Tensor.from([2 ** 24], [1], { core: simd }))).toThrow(/2\^24/);
      // a host array of ids is checked before it is rounded to f32
      const hostError = thrown(() => Tensor.indices([3, 2 ** 24 + 1], [2], { core: simd }));
      expect(hostError).toBeInstanceOf(ValueError);
      expect((hostError as Error).message).toMatch(/16777217 at position 1/);
      expect(Array.from(Tensor.indices([3, 0], [2], { core: simd }).toArray())).toEqual([3, 0]);
      expect(() => Tensor.indices([1.5], [1], { core: simd })).toThrow(ValueError);
    } finally {
      simd.endStep();
      table.free();
    }
  });
});

// ---- 9. crossings of zeroGrad and clipGradNorm -----------------------------------------------------

describe('calls into the core', () => {
  it('zeroGrad and clipGradNorm make one call each, whatever the number of parameters', async () => {
    const core = await init({ setDefault: false });
    const policy = new ActorCritic({ observationSize: 6, actionCount: 4, hidden: [16, 16], core });
    const params = policy.parameters();
    expect(params.length).toBeGreaterThanOrEqual(12);
    const raw = core.exports;
    const counts = new Map<string, number>();
    const counted = Object.fromEntries(
      Object.entries(raw).map(([name, value]) => [
        name,
        typeof value === 'function' ? (...args: number[]) => (counts.set(name, (counts.get(name) ?? 0) + 1), (value as (...a: number[]) => number)(...args)) : value,
      ]),
    );
    (core as { exports: unknown }).exports = counted;
    const optimizer = new SGD(params, { lr: 0.1 });
    clipGradNorm(params, 1); // warm: the argument buffer's address and capacity are read once per core
    optimizer.zeroGrad();
    counts.clear();
    clipGradNorm(params, 1);
    optimizer.zeroGrad();
    policy.zeroGrad();
    const calls = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(`clipGradNorm + Optimizer.zeroGrad + Module.zeroGrad over ${params.length} parameters: ${calls} calls ${JSON.stringify(Object.fromEntries(counts))}`);
    expect(calls).toBe(3);
  });
});
