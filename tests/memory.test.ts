// Once warm, memory does not grow: the scratch arena is rewound every step and reuses its
// chunks, parameters and optimizer state are allocated once.

import { describe, expect, it } from 'vitest';
import { Adam, MLP, Tensor, clipGradNorm, init, seed } from '../sdk/index';
import { randomData } from './util';

describe('memory', () => {
  it('stays the same size from step 10 to step 1000 of MLP training', async () => {
    const core = await init();
    seed(3);
    const mlp = new MLP([16, 64, 64, 4], { activation: 'tanh' });
    const optimizer = new Adam(mlp.parameters(), { lr: 1e-3 });
    const x = Tensor.from(randomData(128 * 16, 1), [128, 16], { persistent: true });
    const y = Tensor.from(randomData(128 * 4, 2), [128, 4], { persistent: true });
    let bytesAtStep10 = 0;
    let scratchAtStep10 = 0;
    let firstLoss = 0;
    let lastLoss = 0;
    for (let step = 1; step <= 1000; step++) {
      const diff = mlp.forward(x).sub(y);
      const loss = diff.mul(diff).mean();
      loss.backward();
      clipGradNorm(mlp.parameters(), 1);
      optimizer.step();
      optimizer.zeroGrad();
      if (step === 1) firstLoss = loss.item();
      lastLoss = loss.item();
      core.endStep();
      if (step === 10) {
        bytesAtStep10 = core.exports.memoryBytes();
        scratchAtStep10 = core.exports.scratchBytes();
      }
    }
    console.log(`wasm memory: ${bytesAtStep10} bytes after step 10, ${core.exports.memoryBytes()} after step 1000; scratch high-water ${scratchAtStep10}`);
    expect(core.exports.memoryBytes()).toBe(bytesAtStep10);
    expect(core.exports.scratchBytes()).toBe(scratchAtStep10);
    expect(lastLoss).toBeLessThan(firstLoss * 0.5); // it really trained
  });

  it('reuses freed persistent memory', async () => {
    const core = await init();
    Tensor.zeros([1], { persistent: true }).free(); // the first tensor allocates the tensor table
    const before = core.exports.persistentBytes();
    for (let i = 0; i < 100; i++) Tensor.zeros([256, 256], { persistent: true, requiresGrad: true }).free();
    expect(core.exports.persistentBytes()).toBe(before);
    const size = core.exports.memoryBytes();
    for (let i = 0; i < 100; i++) Tensor.zeros([256, 256], { persistent: true }).free();
    expect(core.exports.memoryBytes()).toBe(size);
  });
});

describe('memory errors', () => {
  it('a full scratch tensor table is a CoreMemoryError that says to end the step', async () => {
    const { CoreMemoryError } = await import('../sdk/index');
    const core = await init({ setDefault: false });
    const made = () => {
      for (let i = 0; i < 70_000; i++) Tensor.zeros([1], { core });
    };
    expect(made).toThrow(CoreMemoryError);
    expect(made).toThrow(/tensor table is full: call endStep\(\)/);
    core.endStep();
    expect(() => Tensor.zeros([4], { core })).not.toThrow(); // usable again after the step ends
  });

  it('a tensor larger than wasm32 memory can hold is refused before the core sees it', async () => {
    const { CoreMemoryError } = await import('../sdk/index');
    await init();
    expect(() => Tensor.zeros([40_000, 40_000])).toThrow(CoreMemoryError);
    const column = Tensor.zeros([40_000, 1]);
    const row = Tensor.zeros([1, 40_000]);
    expect(() => column.add(row)).toThrow(/1600000000 elements/); // broadcast output
    expect(() => column.matmul(row)).toThrow(CoreMemoryError);
  });
});
