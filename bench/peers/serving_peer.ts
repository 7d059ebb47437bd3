// A PyTorch peer that stays up between timed samples, so that the benchmark can take one of its
// samples in each round beside NovaRL's (the same load on a shared machine for both). The child
// is `python3 SCRIPT --serve`, with one thread, speaking one line per message:
//
//   in:  the spec, one JSON object (weights, data, warmup settings; the script's docstring)
//   out: one JSON object: the script's first results (the same-work check) and its warmup's
//        seconds per call
//   in:  n, the calls in one sample (0 ends the child)
//   out: {"wall_s", "cpu_s"}: seconds per call over those n calls, timed inside the child
//
// bench/peers/ppo_step.py and bench/peers/attention.py serve this protocol.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { WallAndCpu } from '../lanes';

const PYTHON = '/usr/bin/python3';
/** One thread for every BLAS PyTorch may use, as torch.set_num_threads(1) in the scripts. */
const ONE_THREAD = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };

export class ServingPeer<Ready> {
  private buffered = '';
  private pending?: { resolve: (line: string) => void; reject: (error: Error) => void };
  private stderr = '';
  private exited = false;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly label: string,
    private readonly script: string,
    /** The child's reply to the spec. */
    public ready = undefined as unknown as Ready,
  ) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      this.buffered += chunk;
      const newline = this.buffered.indexOf('\n');
      if (newline < 0) return;
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(line);
    });
    child.stderr.on('data', (chunk: string) => (this.stderr += chunk));
    child.on('close', () => {
      this.exited = true;
      this.pending?.reject(this.failure());
    });
  }

  /**
   * Starts `script --serve` and sends it `spec`; null, with a printed line naming `label`, when
   * torch does not import (the benchmark then runs without this peer).
   */
  static async start<Ready>(label: string, script: string, spec: unknown): Promise<ServingPeer<Ready> | null> {
    const env = { ...process.env, ...ONE_THREAD };
    const probe = spawnSync(PYTHON, ['-c', 'import torch'], { env, encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      const why = probe.error?.message ?? probe.stderr.trim().split('\n').pop();
      console.error(`${label}: skipping the PyTorch peer: \`${PYTHON} -c 'import torch'\` failed (${why})`);
      return null;
    }
    const peer = new ServingPeer<Ready>(spawn(PYTHON, [script, '--serve'], { env }), label, script);
    peer.ready = JSON.parse(await peer.request(JSON.stringify(spec))) as Ready;
    return peer;
  }

  /** Seconds per call over `calls` calls, timed inside the child. */
  async sample(calls: number): Promise<WallAndCpu> {
    const reply = JSON.parse(await this.request(String(calls))) as { wall_s: number; cpu_s: number };
    return { wall: reply.wall_s, cpu: reply.cpu_s };
  }

  /** Asks the child to exit. */
  close(): void {
    if (!this.exited) this.child.stdin.end('0\n');
  }

  /** Sends one line; resolves with the next line the child prints (one request at a time). */
  private request(line: string): Promise<string> {
    if (this.exited) return Promise.reject(this.failure());
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.stdin.write(line + '\n');
    });
  }

  private failure(): Error {
    return new Error(`${this.label}: ${this.script} exited (status ${this.child.exitCode}):\n${this.stderr}`);
  }
}
