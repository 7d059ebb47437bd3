// Composed expressions checked against @tensorflow/tfjs (CPU backend, float32): values and
// gradients of an MLP, log-softmax, and the PPO loss with a KL term and an entropy bonus.
// Both sides compute in float32 with different summation orders, so values agree to a few
// ulps of the largest intermediate: rtol 1e-4 / atol 1e-5 leaves room for that and nothing more.

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { Parameter, Tensor, entropyFromLogits, init, klEstimate, ppoClipLoss } from '../sdk/index';
import { expectClose, randomData } from './util';

const RTOL = 1e-4;
const ATOL = 1e-5;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await init();
});

function param(data: Float64Array, shape: number[]): Parameter {
  const p = Parameter.create(shape);
  p.set(data);
  return p;
}

describe('composed expressions vs tfjs', () => {
  it('MLP: tanh(x W1^T + b1) W2^T + b2, weighted sum', () => {
    const [B, I, H, O] = [9, 5, 17, 3];
    const x = randomData(B * I, 1), w1 = randomData(H * I, 2), b1 = randomData(H, 3), w2 = randomData(O * H, 4), b2 = randomData(O, 5);
    const weights = randomData(B * O, 6);

    const W1 = param(w1, [H, I]), B1 = param(b1, [H]), W2 = param(w2, [O, H]), B2 = param(b2, [O]);
    const y = Tensor.from(x, [B, I]).matmul(W1, { transB: true }).add(B1).tanh().matmul(W2, { transB: true }).add(B2);
    const loss = y.mul(Tensor.from(weights, [B, O])).sum();
    loss.backward();

    const tx = tf.tensor2d(Float32Array.from(x), [B, I]);
    const tw = tf.tensor2d(Float32Array.from(weights), [B, O]);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.sum(tf.mul(tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(tx, a, false, true), b)), c, false, true), d), tw)) as tf.Scalar;
    const inputs = [tf.tensor2d(Float32Array.from(w1), [H, I]), tf.tensor1d(Float32Array.from(b1)), tf.tensor2d(Float32Array.from(w2), [O, H]), tf.tensor1d(Float32Array.from(b2))];
    const { value, grads } = tf.valueAndGrads(f as (...t: tf.Tensor[]) => tf.Scalar)(inputs);
    expectClose([loss.item()], value.dataSync(), 'loss', RTOL, ATOL);
    [W1, B1, W2, B2].forEach((p, i) => expectClose(p.grad()!, grads[i]!.dataSync(), `grad ${i}`, RTOL, ATOL));
  });

  it('log-softmax with large logits, weighted sum', () => {
    const [B, A] = [6, 7];
    const logits = randomData(B * A, 7, -30, 30);
    const weights = randomData(B * A, 8);
    const L = param(logits, [B, A]);
    const loss = L.logSoftmax().mul(Tensor.from(weights, [B, A])).sum();
    loss.backward();
    const tw = tf.tensor2d(Float32Array.from(weights), [B, A]);
    const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(l), tw)) as tf.Scalar)(tf.tensor2d(Float32Array.from(logits), [B, A]));
    expectClose([loss.item()], value.dataSync(), 'loss', RTOL, 1e-4);
    expectClose(L.grad()!, grad.dataSync(), 'grad', RTOL, ATOL);
  });

  for (const clipRange of [0.2, 0]) {
    it(`PPO loss + 0.1 k3 KL - 0.01 entropy (clipRange ${clipRange})`, () => {
      const [B, A] = [33, 4];
      const logits = randomData(B * A, 9, -2, 2);
      const refLogits = randomData(B * A, 10, -2, 2);
      const actions = Float64Array.from(randomData(B, 11, 0, A), Math.floor);
      const adv = randomData(B, 12, -1, 1);
      // old log-probs a little away from the current ones so that clipping binds for some rows
      const logSoftmax64 = (l: Float64Array, r: number, a: number) => {
        const row = l.subarray(r * A, r * A + A);
        const m = Math.max(...row);
        const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
        return row[a]! - m - Math.log(z);
      };
      const jitter = randomData(B, 13, -0.4, 0.4);
      const oldLogp = Float64Array.from({ length: B }, (_, r) => Math.fround(logSoftmax64(logits, r, actions[r]!) + jitter[r]!));
      const refLogp = Float64Array.from({ length: B }, (_, r) => Math.fround(logSoftmax64(refLogits, r, actions[r]!)));

      const L = param(logits, [B, A]);
      const logp = L.logSoftmax().gather(Tensor.from(actions, [B]));
      const pg = ppoClipLoss({ logp, oldLogp: Tensor.from(oldLogp, [B]), advantages: Tensor.from(adv, [B]), clipRange });
      const kl = klEstimate(logp, Tensor.from(refLogp, [B]), 'k3').mean();
      const ent = entropyFromLogits(L).mean();
      const loss = pg.loss.add(kl.mul(0.1)).sub(ent.mul(0.01));
      loss.backward();

      const oneHot = tf.oneHot(tf.tensor1d(Int32Array.from(actions), 'int32'), A);
      const tOld = tf.tensor1d(Float32Array.from(oldLogp)), tRef = tf.tensor1d(Float32Array.from(refLogp)), tAdv = tf.tensor1d(Float32Array.from(adv));
      const f = (l: tf.Tensor) => {
        const ls = tf.logSoftmax(l);
        const lp = tf.sum(tf.mul(ls, oneHot), -1);
        const ratio = tf.exp(tf.sub(lp, tOld));
        const clipped = clipRange > 0 ? tf.clipByValue(ratio, 1 - clipRange, 1 + clipRange) : ratio;
        const pgLoss = tf.mean(tf.maximum(tf.mul(tf.neg(tAdv), ratio), tf.mul(tf.neg(tAdv), clipped)));
        const logr = tf.sub(tRef, lp);
        const k3 = tf.mean(tf.sub(tf.sub(tf.exp(logr), 1), logr));
        const entropy = tf.mean(tf.neg(tf.sum(tf.mul(tf.exp(ls), ls), -1)));
        return tf.sub(tf.add(pgLoss, tf.mul(k3, 0.1)), tf.mul(entropy, 0.01)) as tf.Scalar;
      };
      const { value, grad } = tf.valueAndGrad(f)(tf.tensor2d(Float32Array.from(logits), [B, A]));
      expectClose([loss.item()], value.dataSync(), 'loss', RTOL, ATOL);
      expectClose(L.grad()!, grad.dataSync(), 'grad', RTOL, ATOL);
    });
  }
});
