// The core as a WASI command: build/novarl.wasi.wasm (assembly/wasi_selftest.ts, built with
// @assemblyscript/wasi-shim by `npm run build:wasi`) runs matmul, softmax, backward and an Adam
// step through the core's own code and prints the numbers. Here node:wasi runs it, and every
// printed number is checked twice: against a float64 TypeScript reference, and bit for bit
// against the same computation through the SDK on the regular SIMD build.

import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI } from 'node:wasi';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, Tensor } from '../sdk/index';
import { loadCores } from './util';

const WASM = fileURLToPath(new URL('../build/novarl.wasi.wasm', import.meta.url));

// The inputs of assembly/wasi_selftest.ts: X (2, 3), W (3, 4), R (2, 4); Adam lr 0.01.
const X = [1, 2, 3, -1, 0.5, 2];
const W0 = [0.1, -0.2, 0.3, 0.05, -0.1, 0.2, 0.0, 0.15, 0.25, -0.05, 0.1, -0.3];
const R = [1, 0.3, -0.4, -1, 0.2, 1, -0.3, -1];
const LR = 0.01;

interface Printed {
  lines: string[];
  values: Record<string, number[]>;
  exitCode: number;
}

async function runSelftest(): Promise<Printed> {
  const dir = mkdtempSync(join(tmpdir(), 'novarl-wasi-'));
  const out = join(dir, 'stdout.txt');
  const fd = openSync(out, 'w');
  try {
    const wasi = new WASI({ version: 'preview1', args: ['novarl-wasi-selftest'], env: {}, stdout: fd, returnOnExit: true });
    const module = await WebAssembly.compile(readFileSync(WASM));
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
    const exitCode = wasi.start(instance);
    closeSync(fd);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const values: Record<string, number[]> = {};
    for (const line of lines) {
      const [name, ...rest] = line.split(' ');
      if (rest.length > 0 && rest.every((x) => Number.isFinite(Number(x)))) values[name!] = rest.map(Number);
    }
    return { lines, values, exitCode };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The selftest in float64 from the same (f32-rounded) inputs. */
function reference() {
  const x = X.map(Math.fround), w = W0.map(Math.fround), r = R.map(Math.fround);
  const logits = new Array<number>(8).fill(0);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) logits[i * 4 + j]! += x[i * 3 + k]! * w[k * 4 + j]!;
  const probs: number[] = [];
  for (let i = 0; i < 2; i++) {
    const row = logits.slice(i * 4, i * 4 + 4);
    const m = Math.max(...row);
    const e = row.map((z) => Math.exp(z - m));
    const s = e.reduce((a, b) => a + b, 0);
    probs.push(...e.map((v) => v / s));
  }
  const loss = probs.reduce((a, p, i) => a + p * r[i]!, 0);
  // d loss / d logits[i, j] = p[i, j] * (r[i, j] - sum_k p[i, k] r[i, k]);  dW = X^T dlogits
  const dLogits: number[] = [];
  for (let i = 0; i < 2; i++) {
    let mean = 0;
    for (let j = 0; j < 4; j++) mean += probs[i * 4 + j]! * r[i * 4 + j]!;
    for (let j = 0; j < 4; j++) dLogits.push(probs[i * 4 + j]! * (r[i * 4 + j]! - mean));
  }
  const grad = new Array<number>(12).fill(0);
  for (let k = 0; k < 3; k++) for (let j = 0; j < 4; j++) for (let i = 0; i < 2; i++) grad[k * 4 + j]! += x[i * 3 + k]! * dLogits[i * 4 + j]!;
  // Adam's first step: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps)
  const adam = w.map((p, i) => p - LR * grad[i]! / (Math.abs(grad[i]!) + 1e-8));
  return { logits, probs, loss: [loss], grad, adam };
}

describe('the core as a WASI module', () => {
  let printed: Printed;

  beforeAll(async () => {
    if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run \`npm run build:wasi\` (npm test does it in pretest)`);
    printed = await runSelftest();
  });

  it('imports only WASI and prints "ok" after its own checks', () => {
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(WASM)));
    expect(new Set(imports.map((i) => i.module))).toEqual(new Set(['wasi_snapshot_preview1']));
    expect(printed.exitCode, printed.lines.join('\n')).toBe(0);
    expect(printed.lines.at(-1)).toBe('ok');
    expect(printed.lines.some((l) => l.startsWith('check rowsum '))).toBe(true);
  });

  it('prints the float64 reference values', () => {
    const ref = reference();
    // Tolerances: a few f32 ulps of O(1) values (ulp 6e-8 on [0.5, 1)): the logits and the
    // gradient are short f32 sums of products, softmax adds Mathf.exp (< 1 ulp) and a division.
    // Adam's new weights (|w| <= 0.3, ulp 3e-8) differ from the f64 rule by about one rounding.
    const tolerance: Record<keyof typeof ref, number> = { logits: 3e-7, probs: 3e-7, loss: 3e-7, grad: 3e-7, adam: 5e-8 };
    for (const name of Object.keys(ref) as (keyof typeof ref)[]) {
      const got = printed.values[name];
      expect(got, `${name} line`).toBeDefined();
      expect(got!.length, name).toBe(ref[name].length);
      got!.forEach((v, i) => expect(Math.abs(v - ref[name][i]!), `${name}[${i}]: ${v} vs ${ref[name][i]}`).toBeLessThanOrEqual(tolerance[name]));
    }
  });

  it('agrees bit for bit with the same ops through the SDK on the SIMD build', async () => {
    const { simd: core } = await loadCores();
    const w = Tensor.from(W0, [3, 4], { persistent: true, requiresGrad: true, core });
    const logits = Tensor.from(X, [2, 3], { core }).matmul(w);
    const probs = logits.softmax();
    const loss = probs.mul(Tensor.from(R, [2, 4], { core })).sum();
    const sdk = { logits: Array.from(logits.toArray()), probs: Array.from(probs.toArray()), loss: [loss.item()] };
    loss.backward();
    const grad = Array.from(w.grad()!);
    core.endStep();
    const adam = new Adam([w], { lr: LR });
    adam.step();
    const after = Array.from(w.toArray());
    // The printed numbers are f32 values widened to f64 (shortest round-trip), so equality is exact.
    expect(printed.values['logits']).toEqual(sdk.logits);
    expect(printed.values['probs']).toEqual(sdk.probs);
    expect(printed.values['loss']).toEqual(sdk.loss);
    expect(printed.values['grad']).toEqual(grad);
    expect(printed.values['adam']).toEqual(after);
    w.free();
  });
});
