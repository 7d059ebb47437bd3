// Training a GPT must not grow the core's memory: after the first steps have reached their
// high-water mark, every later step reuses the same wasm memory (scratch tensors go at
// endStep(), the optimizer's state is allocated once). The bench (bench/gpt_train.ts) reports
// the bytes per parameter at the pretraining-size config.

import { describe, expect, it } from 'vitest';
import { AdamW, clipGradNorm, GPT, init, seed } from '../sdk/index';
import { rng } from './util';

const CONFIG = { vocabSize: 64, nLayer: 2, nHead: 2, nEmbd: 32, nPositions: 32 };
const [B, T, STEPS] = [4, 16, 200];

describe('GPT training memory', () => {
  it(`memoryBytes() after step 10 equals that after step ${STEPS} of AdamW with clipping`, async () => {
    const core = await init({ simd: true });
    seed(3);
    const model = new GPT(CONFIG);
    const params = model.parameters();
    const optimizer = new AdamW(params, { lr: 1e-2 });
    const next = rng(5);
    // one fixed batch (targets: ids shifted by one) so the loss must fall if the steps train
    const stream = Array.from({ length: B * (T + 1) }, () => Math.floor(next() * CONFIG.vocabSize));
    const ids = Array.from({ length: B }, (_, b) => stream.slice(b * (T + 1), b * (T + 1) + T));
    const targets = Array.from({ length: B }, (_, b) => stream.slice(b * (T + 1) + 1, (b + 1) * (T + 1)));
    const losses: number[] = [];
    let bytesAtStep10 = 0;
    for (let step = 1; step <= STEPS; step++) {
      optimizer.zeroGrad();
      const loss = model.loss(ids, targets);
      loss.backward();
      clipGradNorm(params, 1.0);
      optimizer.step();
      losses.push(loss.item());
      core.endStep();
      if (step === 10) bytesAtStep10 = core.exports.memoryBytes();
    }
    expect(bytesAtStep10).toBeGreaterThan(0);
    expect(core.exports.memoryBytes()).toBe(bytesAtStep10);
    // the steps did train: the loss on the fixed batch fell well below its start
    expect(losses[STEPS - 1]!).toBeLessThan(0.5 * losses[0]!);
    model.free();
  });
});
