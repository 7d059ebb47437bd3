// `novarl serve` (sdk/serve/cli.ts): its command line, and the server it starts in a child
// process on 127.0.0.1 (port 0: the OS picks one, printed), stopped cleanly by SIGTERM.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE, parseArgs } from '../sdk/serve/cli_args';
import { makeServeDir, type ServeFixture } from './serve_fixture';

let fixture: ServeFixture;
beforeAll(async () => {
  fixture = await makeServeDir();
});
afterAll(() => fixture?.cleanup());

describe('novarl serve', () => {
  it('parses its command line', () => {
    expect(parseArgs(['serve', 'dir'])).toEqual({ dir: 'dir', port: 8000, host: '127.0.0.1' });
    expect(parseArgs(['serve', '--port', '0', 'dir', '--host', '0.0.0.0', '--model-name', 'm', '--seed', '3', '--batch-window-ms', '5'])).toEqual({ dir: 'dir', port: 0, host: '0.0.0.0', modelName: 'm', seed: 3, batchWindowMs: 5 });
    for (const [argv, message] of [
      [[], USAGE],
      [['train'], /unknown command "train"/],
      [['serve'], /directory is missing/],
      [['serve', 'a', 'b'], /unexpected argument "b"/],
      [['serve', 'a', '--port', '70000'], /--port needs an integer in \[0, 65535\]/],
      [['serve', 'a', '--port'], /--port needs an integer/],
      [['serve', 'a', '--verbose'], /unexpected argument "--verbose"/],
    ] as [string[], string | RegExp][]) {
      expect(() => parseArgs(argv), argv.join(' ')).toThrow(message);
    }
  });

  it('serves a directory until SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sdk/serve/cli.ts', 'serve', fixture.dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (d) => (output += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 30 s:\n${output}`)), 30_000);
      child.stdout.on('data', (d) => {
        output += d;
        const found = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
        if (found) (clearTimeout(timer), resolve(found));
      });
      child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`exited (${code}):\n${output}`))));
    });
    try {
      expect(output).toMatch(/as "tiny-gpt"/);
      expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok', model: 'tiny-gpt', weights_version: 0 });
      const r = await fetch(`${url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny-gpt', prompt: [1, 2, 3], max_tokens: 4, ignore_eos: true }) });
      expect(((await r.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(4);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
