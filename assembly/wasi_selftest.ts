// A WASI command (build/novarl.wasi.wasm, built with @assemblyscript/wasi-shim: `npm run
// build:wasi`) that runs the core's own code, no host in between, on one small softmax-policy
// step, then prints every number and a verdict through the shim's console:
//   logits = X W               X: (2, 3) constant, W: (3, 4) parameter
//   probs  = softmax(logits)   over the 4 actions of each row
//   loss   = sum(probs * R)    R: (2, 4) constant rewards
//   backward, then one Adam step on W (lr 0.01)
// Its own checks: each probs row sums to 1, backward matches central finite differences of the
// loss, Adam's first step moves each weight by lr * g / (|g| + eps). tests/wasi.test.ts runs it
// with node:wasi and checks every printed number against a float64 TypeScript reference and,
// bit for bit, against the same ops through the SDK on the regular build.
//
// The top-level code below is the module's _start (asconfig.json's wasi target: exportStart).
// It shares the core's options (runtime stub, no abort import). Memory: the stub
// runtime's allocator and the core's arenas both start at __heap_base (the core itself never
// allocates managed objects), so all core work is done first, with the results kept in static
// memory; only then are strings built and printed.

import { tensorNew, tensorData, tensorGrad, endStep, backward, setGradEnabled, argBuffer } from './index';
import { opMatmul, opSoftmax, opMul, opSum, adamStep } from './index';

const X: StaticArray<f32> = [1, 2, 3, -1, 0.5, 2];
const W0: StaticArray<f32> = [0.1, -0.2, 0.3, 0.05, -0.1, 0.2, 0.0, 0.15, 0.25, -0.05, 0.1, -0.3];
const R: StaticArray<f32> = [1, 0.3, -0.4, -1, 0.2, 1, -0.3, -1];
const LR: f32 = 0.01;
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;
// f32 central differences: step 1e-2 keeps rounding noise (~1e-7 / 1e-2) and the O(h^2)
// truncation (the loss is smooth, derivatives of order 1) both well under 1e-3.
const FD_STEP: f32 = 1e-2;
const FD_TOLERANCE: f64 = 1e-3;
// |row sum - 1| of an f32 softmax over 4 entries: a few ulps of 1.
const ROW_SUM_TOLERANCE: f64 = 1e-6;
// Adam's first step is lr * g / (|g| + eps) up to f32 rounding of the moments and bias corrections.
const ADAM_TOLERANCE: f64 = 1e-7;

// Results, stored before any string exists (see the top comment).
const logits = memory.data(8 << 2, 16); // (2, 4) f32
const probs = memory.data(8 << 2, 16); // (2, 4) f32
const grads = memory.data(12 << 2, 16); // (3, 4) f32
const adamW = memory.data(12 << 2, 16); // (3, 4) f32
let lossValue: f32 = 0;
let worstRowSum: f64 = 0;
let worstFd: f64 = 0;
let worstAdam: f64 = 0;
let failedStep = ''; // a static string literal: no allocation

function fromArray(values: StaticArray<f32>, rows: i32, cols: i32, requiresGrad: bool): i32 {
  const id = tensorNew(2, rows, cols, 1, 1, true, requiresGrad);
  for (let i = 0; i < values.length; i++) store<f32>(tensorData(id) + (<usize>i << 2), values[i]);
  return id;
}

function copyOut(id: i32, to: usize, n: i32): void {
  memory.copy(to, tensorData(id), <usize>n << 2);
}

// loss = sum(softmax(X W) * R); returns the loss tensor (scratch, valid until endStep)
function lossOf(x: i32, w: i32, r: i32): i32 {
  const z = opMatmul(x, w, false, false);
  return opSum(opMul(opSoftmax(z), r));
}

function run(): void {
  const x = fromArray(X, 2, 3, false);
  const w = fromArray(W0, 3, 4, true);
  const r = fromArray(R, 2, 4, false);
  if (x < 0 || w < 0 || r < 0) { failedStep = 'allocation'; return; }

  // forward, keeping the intermediate results
  const z = opMatmul(x, w, false, false);
  const p = opSoftmax(z);
  const loss = opSum(opMul(p, r));
  if (z < 0 || p < 0 || loss < 0) { failedStep = 'forward'; return; }
  copyOut(z, logits, 8);
  copyOut(p, probs, 8);
  lossValue = load<f32>(tensorData(loss));
  for (let row = 0; row < 2; row++) {
    let s: f64 = 0;
    for (let j = 0; j < 4; j++) s += <f64>load<f32>(probs + (<usize>(row * 4 + j) << 2));
    worstRowSum = Math.max(worstRowSum, Math.abs(s - 1));
  }

  if (backward(loss) != 0) { failedStep = 'backward'; return; }
  memory.copy(grads, tensorGrad(w), 12 << 2);
  endStep();

  // central finite differences of the same loss, recording off
  setGradEnabled(false);
  for (let i = 0; i < 12; i++) {
    const at = tensorData(w) + (<usize>i << 2);
    const w0 = load<f32>(at);
    store<f32>(at, w0 + FD_STEP);
    const up = load<f32>(tensorData(lossOf(x, w, r)));
    endStep();
    store<f32>(at, w0 - FD_STEP);
    const down = load<f32>(tensorData(lossOf(x, w, r)));
    endStep();
    store<f32>(at, w0);
    const fd = (<f64>up - <f64>down) / (2 * <f64>FD_STEP);
    worstFd = Math.max(worstFd, Math.abs(fd - <f64>load<f32>(grads + (<usize>i << 2))));
  }
  setGradEnabled(true);

  // one Adam step: the argument buffer holds the parameter id, then its two moment tensors
  const m = tensorNew(2, 3, 4, 1, 1, true, false);
  const v = tensorNew(2, 3, 4, 1, 1, true, false);
  store<i32>(argBuffer(), w);
  store<i32>(argBuffer() + 4, m);
  store<i32>(argBuffer() + 8, v);
  adamStep(1, LR, BETA1, BETA2, EPS, 0, false, 1);
  copyOut(w, adamW, 12);
  for (let i = 0; i < 12; i++) {
    const g = <f64>load<f32>(grads + (<usize>i << 2));
    const expected = <f64>W0[i] - <f64>LR * g / (Math.abs(g) + <f64>EPS);
    worstAdam = Math.max(worstAdam, Math.abs(<f64>load<f32>(adamW + (<usize>i << 2)) - expected));
  }
}

function line(name: string, at: usize, n: i32): void {
  let s = name;
  for (let i = 0; i < n; i++) s += ' ' + (<f64>load<f32>(at + (<usize>i << 2))).toString();
  console.log(s);
}

run();
if (failedStep.length > 0) {
  console.log('FAIL ' + failedStep + ' returned an error code');
  process.exit(1);
}
line('logits', logits, 8);
line('probs', probs, 8);
console.log('loss ' + (<f64>lossValue).toString());
line('grad', grads, 12);
line('adam', adamW, 12);
console.log('check rowsum ' + worstRowSum.toString() + ' fd ' + worstFd.toString() + ' adam ' + worstAdam.toString());
if (worstRowSum <= ROW_SUM_TOLERANCE && worstFd <= FD_TOLERANCE && worstAdam <= ADAM_TOLERANCE) {
  console.log('ok');
} else {
  console.log('FAIL checks out of tolerance');
  process.exit(1);
}
