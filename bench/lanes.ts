// Libraries timed side by side in rounds: one sample of each per round, so that a change of a
// shared machine's speed hits them alike; the figures are the medians over the rounds. A lane
// is a library in this process (syncLane) or a child that times itself
// (bench/peers/serving_peer.ts).

import type { TimingOptions } from './util';

/** Seconds per call by the wall clock and by CPU time. */
export interface WallAndCpu {
  wall: number;
  cpu: number;
}

/**
 * A library being timed: `calls` calls per sample, each sample seconds per call by the wall
 * clock and by CPU time (user + system of the whole process). On a machine shared with other
 * processes the wall clock also counts the time spent waiting for a core, CPU time does not, so
 * cpu_ratio is the steadier comparison when it is loaded. CPU time counts every thread of the
 * process, so V8's background compilation and GC helper threads count against the library
 * measured.
 */
export interface Lane {
  name: string;
  calls: number;
  sample: (calls: number) => Promise<WallAndCpu>;
}

/** Calls per sample so that a sample lasts about sampleMs (as bench/util.ts medianSeconds). */
export function callsFor(secondsPerCall: number, timing: Required<TimingOptions>): number {
  return Math.max(1, Math.ceil(timing.sampleMs / 1000 / secondsPerCall));
}

/** A lane for a function run in this process, warmed up here for timing.warmupMs and at least minWarmupCalls calls. */
export function syncLane(name: string, fn: () => unknown, timing: Required<TimingOptions>, minWarmupCalls: number): Lane {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < timing.warmupMs || calls < minWarmupCalls) {
    fn();
    calls++;
  }
  const secondsPerCall = (performance.now() - start) / 1000 / calls;
  return {
    name,
    calls: calls > 0 ? callsFor(secondsPerCall, timing) : 1,
    sample: async (n) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn();
      const wall = (performance.now() - t0) / 1000 / n;
      const c = process.cpuUsage(c0);
      return { wall, cpu: (c.user + c.system) / 1e6 / n };
    },
  };
}

/** Medians of the wall and the CPU figures, each taken separately. */
export function medianOf(samples: WallAndCpu[]): WallAndCpu {
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  return { wall: median(samples.map((s) => s.wall)), cpu: median(samples.map((s) => s.cpu)) };
}

/**
 * `rounds` rounds of one sample of every lane, in order; `beforeSample` runs before each sample,
 * outside its timing. Returns each lane's samples by name.
 */
export async function sampleInRounds(lanes: readonly Lane[], rounds: number, beforeSample?: () => void): Promise<Map<string, WallAndCpu[]>> {
  const samples = new Map<string, WallAndCpu[]>(lanes.map((l) => [l.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const lane of lanes) {
      beforeSample?.();
      samples.get(lane.name)!.push(await lane.sample(lane.calls));
    }
  }
  return samples;
}
