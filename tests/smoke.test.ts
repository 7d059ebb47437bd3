import { describe, expect, it } from 'vitest';
import { init, Tensor } from '../sdk/index';

describe('smoke', () => {
  it('adds, multiplies and differentiates', async () => {
    const core = await init();
    const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], { persistent: true, requiresGrad: true });
    const b = Tensor.from([10, 20, 30], [3], { persistent: true, requiresGrad: true });
    const y = a.add(b).relu().mul(a).sum();
    expect(y.item()).toBe(11 + 44 + 99 + 14*4 + 25*5 + 36*6);
    y.backward();
    expect(Array.from(a.grad()!)).toEqual([12, 24, 36, 18, 30, 42]);
    expect(Array.from(b.grad()!)).toEqual([5, 7, 9]);
    const m = Tensor.from([1, 2, 3, 4], [2, 2]).matmul(Tensor.from([5, 6, 7, 8], [2, 2]));
    expect(Array.from(m.toArray())).toEqual([19, 22, 43, 50]);
    core.endStep();
    expect(() => m.toArray()).toThrow(/step 0/);
  });
});
