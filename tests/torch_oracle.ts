// What the PyTorch oracle tests share: the python that has torch (NOVARL_TORCH_PYTHON, default
// Debian's python3-torch in /usr/bin/python3), the skip with an install hint where it has none
// (a failure under CI=true), running a peer script of tests/peers/ on a JSON batch, and the error
// measure the tests compare with.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'vitest';

const run = promisify(execFile);
const CI = process.env['CI'] === 'true' || process.env['CI'] === '1';
export const TORCH_PYTHON = process.env['NOVARL_TORCH_PYTHON'] ?? '/usr/bin/python3';

/** Why the oracle cannot run (the peers need torch and numpy), or undefined when it can. */
async function torchMissing(): Promise<string | undefined> {
  try {
    await run(TORCH_PYTHON, ['-c', 'import torch, numpy'], { timeout: 60_000 });
    return undefined;
  } catch (error) {
    return `${TORCH_PYTHON} cannot import torch (${(error as Error).message.split('\n')[0]})`;
  }
}

/** Skips the test (vitest's `skip` from its context) when torch is missing, failing under CI; true when skipped. */
export async function skipWithoutTorch(skip: (note: string) => void): Promise<boolean> {
  const missing = await torchMissing();
  if (!missing) return false;
  const message = `${missing}; install it with: apt-get install python3-torch (Debian), or set NOVARL_TORCH_PYTHON`;
  if (CI) expect.fail(`CI=true and ${message}`);
  console.warn(`skipped: ${message}`);
  skip(message);
  return true;
}

/**
 * Runs tests/peers/<peer> on `batch`: writes <dir>/batch.json, calls
 * `python <peer> [...leadingArgs] batch.json torch.json` and returns torch.json parsed.
 */
export async function runTorchPeer<T>(peer: string, dir: string, batch: object, leadingArgs: readonly string[] = []): Promise<T> {
  const script = fileURLToPath(new URL(`./peers/${peer}`, import.meta.url));
  const batchFile = join(dir, 'batch.json'), outFile = join(dir, 'torch.json');
  writeFileSync(batchFile, JSON.stringify(batch));
  await run(TORCH_PYTHON, [script, ...leadingArgs, batchFile, outFile], { timeout: 120_000 });
  return JSON.parse(readFileSync(outFile, 'utf8')) as T;
}

/** max |a - e| / max |e|: the error relative to the tensor's scale (robust where e is near 0). */
export function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}
