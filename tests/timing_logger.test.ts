import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  CallbackSink,
  ConsoleSink,
  formatDuration,
  formatMetric,
  interactiveTerminal,
  JsonlSink,
  Logger,
  ProgressBar,
  Timer,
  ValueError,
} from '../sdk/index';

const scratch = mkdtempSync(join(tmpdir(), 'novarl-logger-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A clock the test moves by hand, in milliseconds. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('Timer', () => {
  it('accumulates seconds per named section until reset', async () => {
    const clock = manualClock();
    const timer = new Timer(clock.now);
    expect(timer.time('rollout', () => (clock.advance(1500), 'batch'))).toBe('batch');
    timer.start('update');
    clock.advance(250);
    timer.start('optimizer'); // sections may nest
    clock.advance(125);
    expect(timer.stop('optimizer')).toBe(0.125);
    expect(timer.stop('update')).toBe(0.375);
    timer.time('rollout', () => clock.advance(500));
    expect(await timer.timeAsync('reward', async () => (clock.advance(2000), 7))).toBe(7);
    expect(timer.seconds('rollout')).toBe(2);
    expect(timer.seconds('never')).toBe(0);
    // Keys in the order the sections first stopped, as `time/<name>`.
    expect(Object.entries(timer.summary())).toEqual([
      ['time/rollout', 2],
      ['time/optimizer', 0.125],
      ['time/update', 0.375],
      ['time/reward', 2],
    ]);
    expect(timer.summary('t_')).toHaveProperty('t_rollout', 2);
    timer.reset();
    expect(timer.summary()).toEqual({});
    timer.time('rollout', () => clock.advance(10));
    expect(timer.summary()).toEqual({ 'time/rollout': 0.01 });
  });

  it('counts a section whose function throws, and rethrows', () => {
    const clock = manualClock();
    const timer = new Timer(clock.now);
    expect(() =>
      timer.time('env', () => {
        clock.advance(300);
        throw new Error('env crashed');
      }),
    ).toThrow('env crashed');
    expect(timer.seconds('env')).toBe(0.3);
    timer.start('env'); // and the section is no longer running
    clock.advance(100);
    expect(timer.stop('env')).toBe(0.1);
  });

  it('refuses to start a running section or stop one that is not running', () => {
    const timer = new Timer();
    timer.start('a');
    expect(() => timer.start('a')).toThrow(ValueError);
    timer.stop('a');
    expect(() => timer.stop('a')).toThrow(/section 'a' is not running/);
    expect(() => timer.stop('b')).toThrow(ValueError);
  });

  it('measures real time with performance.now by default', () => {
    const timer = new Timer();
    const started = Date.now();
    timer.time('spin', () => {
      while (Date.now() - started < 30) {
        // busy-wait 30 ms
      }
    });
    // At least the 30 ms spun (minus Date.now's 1 ms granularity); the upper bound only catches
    // a unit error (ms reported as s), not scheduling delays on a loaded machine.
    expect(timer.seconds('spin')).toBeGreaterThanOrEqual(0.029);
    expect(timer.seconds('spin')).toBeLessThan(10);
  });
});

describe('formatMetric', () => {
  it('keeps integers, 4 significant digits in the usual range, exponents outside', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [42, '42'],
      [-7, '-7'],
      [999999, '999999'],
      [1234567, '1.23e6'],
      [0.51287, '0.5129'],
      [-0.0123456, '-0.01235'],
      [3.14159, '3.142'],
      [0.001, '0.001'],
      [0.000123, '1.23e-4'],
      [-2.5e-7, '-2.50e-7'],
      [NaN, 'nan'],
      [Infinity, 'inf'],
      [-Infinity, '-inf'],
    ];
    for (const [x, text] of cases) expect(formatMetric(x), String(x)).toBe(text);
  });
});

describe('Logger and sinks', () => {
  it('ConsoleSink prints one compact line per update with the chosen keys', () => {
    const lines: string[] = [];
    const chosen = new ConsoleSink({ keys: ['charts/reward', 'losses/policy', 'absent', 'time/rollout'], print: (l) => lines.push(l) });
    const all = new ConsoleSink({ print: (l) => lines.push(l) });
    const logger = new Logger([chosen, all]);
    logger.log(12, { 'losses/policy': -0.0123456, 'charts/reward': 0.51287, 'time/rollout': 0.000123, other: NaN });
    expect(lines).toEqual([
      'step=12 charts/reward=0.5129 losses/policy=-0.01235 time/rollout=1.23e-4',
      'step=12 losses/policy=-0.01235 charts/reward=0.5129 time/rollout=1.23e-4 other=nan',
    ]);
  });

  it('ConsoleSink prints through console.log by default', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      new Logger([new ConsoleSink()]).log(3, { kl: 0.25 });
      expect(log).toHaveBeenCalledWith('step=3 kl=0.25');
    } finally {
      log.mockRestore();
    }
  });

  it('CallbackSink receives each step and its metrics', () => {
    const seen: [number, Record<string, number>][] = [];
    const logger = new Logger([new CallbackSink((step, metrics) => seen.push([step, { ...metrics }]))]);
    logger.log(0, { 'losses/value': 1.5 });
    logger.log(1, { 'losses/value': 0.75, 'charts/SPS': 320 });
    expect(seen).toEqual([
      [0, { 'losses/value': 1.5 }],
      [1, { 'losses/value': 0.75, 'charts/SPS': 320 }],
    ]);
  });

  it('JsonlSink appends one JSON object per line, non-finite values as null listed in `nonfinite`', async () => {
    const path = join(scratch, 'run', 'metrics.jsonl'); // the directory does not exist yet
    const logger = new Logger([await JsonlSink.open(path)]);
    logger.log(1, { 'losses/policy': 0.5, 'charts/reward': 2 });
    logger.log(2, { 'losses/policy': NaN, 'charts/reward': Infinity, 'losses/value': -Infinity, kl: 0.01 });
    await logger.flush();
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(3); // written as logged, before close
    await logger.close();
    expect(() => logger.log(3, {})).toThrow(/after close/);

    const text = readFileSync(path, 'utf8');
    expect(text).toBe(
      '{"step":1,"losses/policy":0.5,"charts/reward":2}\n' +
        '{"step":2,"losses/policy":null,"charts/reward":null,"losses/value":null,"kl":0.01,' +
        '"nonfinite":{"losses/policy":"NaN","charts/reward":"Infinity","losses/value":"-Infinity"}}\n',
    );

    // Reopening appends; { append: false } starts the file over.
    const again = await JsonlSink.open(path);
    again.write(3, { kl: 0.02 });
    again.close();
    expect(readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step)).toEqual([1, 2, 3]);
    const fresh = await JsonlSink.open(path, { append: false });
    fresh.write(9, { kl: 0 });
    fresh.close();
    expect(readFileSync(path, 'utf8')).toBe('{"step":9,"kl":0}\n');
    expect(() => fresh.write(10, {})).toThrow(ValueError);
  });

  it('refuses bad steps, reserved names and values that are not numbers', () => {
    const logger = new Logger([new CallbackSink(() => expect.fail('a refused log reached a sink'))]);
    expect(() => logger.log(-1, {})).toThrow(/non-negative integer/);
    expect(() => logger.log(1.5, {})).toThrow(ValueError);
    expect(() => logger.log(1, { step: 3 })).toThrow(/'step' is a reserved key/);
    expect(() => logger.log(1, { nonfinite: 0 })).toThrow(/reserved/);
    expect(() => logger.log(1, { '': 0 })).toThrow(/empty name/);
    expect(() => logger.log(1, { kl: '0.1' as unknown as number })).toThrow(/metric 'kl' is string "0.1", not a number/);
  });
});

describe('ProgressBar', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.unstubAllGlobals();
  });

  it('prints plain lines every N steps and at the end when not on a terminal', () => {
    const clock = manualClock();
    const lines: string[] = [];
    const bar = new ProgressBar({ total: 10, every: 3, keys: ['reward', 'absent'], mode: 'plain', print: (l) => lines.push(l), clock: clock.now });
    for (let step = 1; step <= 10; step++) {
      clock.advance(500); // 2 steps per second
      bar.update(step, { reward: step / 10, kl: 1 });
    }
    bar.update(11, { reward: 9 }); // after the end: ignored
    expect(lines).toEqual([
      '3/10 2 it/s ETA 0:04 reward=0.3', // 7 steps left at 2/s = 3.5 s, rounded
      '6/10 2 it/s ETA 0:02 reward=0.6',
      '9/10 2 it/s ETA 0:01 reward=0.9',
      '10/10 2 it/s ETA 0:00 reward=1',
    ]);
  });

  it('redraws one line with a carriage return on a terminal, at most 10 times a second', () => {
    const clock = manualClock();
    let out = '';
    const bar = new ProgressBar({ total: 4, width: 8, keys: ['kl'], mode: 'tty', write: (t) => (out += t), clock: clock.now });
    clock.advance(1000);
    bar.update(1, { kl: 0.5 });
    clock.advance(50);
    bar.update(2, { kl: 0.25 }); // 50 ms after the last draw: skipped
    clock.advance(950);
    bar.update(3, { kl: 0.125 });
    clock.advance(10);
    bar.update(4, {}); // the last step is always drawn, then a newline
    const frames = out.split('\r').slice(1);
    expect(frames).toEqual([
      '[##......]  1/4  1 it/s  ETA 0:03  kl=0.5',
      '[######..]  3/4  1.5 it/s  ETA 0:01  kl=0.125',
      '[########]  4/4  1.99 it/s  ETA 0:00         \n', // padded over the longer previous frame
    ]);
  });

  it('auto mode draws a bar only on a terminal without CI or NO_COLOR', () => {
    vi.stubEnv('CI', '');
    vi.stubEnv('NO_COLOR', '');
    const stdout = process.stdout as { isTTY?: boolean };
    const wasTTY = stdout.isTTY;
    try {
      stdout.isTTY = true;
      expect(interactiveTerminal()).toBe(true);
      expect(new ProgressBar({ total: 5 }).mode).toBe('tty');
      vi.stubEnv('NO_COLOR', '1');
      expect(interactiveTerminal()).toBe(false);
      vi.stubEnv('NO_COLOR', '');
      vi.stubEnv('CI', 'true');
      expect(new ProgressBar({ total: 5 }).mode).toBe('plain');
      vi.stubEnv('CI', 'false');
      expect(interactiveTerminal()).toBe(true);
      stdout.isTTY = false;
      expect(interactiveTerminal()).toBe(false);
    } finally {
      stdout.isTTY = wasTTY;
    }
  });

  it('works without a Node process object, printing through console.log', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      vi.stubGlobal('process', undefined);
      const bar = new ProgressBar({ total: 2, every: 1 });
      expect(bar.mode).toBe('plain');
      bar.update(1);
      bar.update(2);
      vi.unstubAllGlobals();
      expect(log).toHaveBeenCalledTimes(2);
      expect(log.mock.calls[1]![0]).toMatch(/^2\/2 /);
    } finally {
      vi.unstubAllGlobals();
      log.mockRestore();
    }
  });

  it('formats durations and refuses a bad total', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65.4)).toBe('1:05');
    expect(formatDuration(3 * 3600 + 62)).toBe('3:01:02');
    expect(formatDuration(NaN)).toBe('?');
    expect(() => new ProgressBar({ total: 0 })).toThrow(ValueError);
    expect(() => new ProgressBar({ total: 5, every: 0 })).toThrow(ValueError);
  });
});

describe('Logger.warn', () => {
  it('goes to the sinks that take warnings, and to console.warn when none does', () => {
    const lines: string[] = [];
    const got: string[] = [];
    new Logger([new ConsoleSink({ print: (l) => lines.push(l) }), new CallbackSink(() => {})]).warn('k1 in the loss');
    expect(lines).toEqual(['warning: k1 in the loss']);
    const original = console.warn;
    console.warn = (m: string) => got.push(m);
    try {
      new Logger([new CallbackSink(() => {})]).warn('nobody listens');
    } finally {
      console.warn = original;
    }
    expect(got).toEqual(['nobody listens']);
  });
});
