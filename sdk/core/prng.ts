// A small seeded PRNG for host-side code (environments, dataset shuffles): xoshiro128**
// (Blackman and Vigna, prng.di.unimi.it), seeded through splitmix32. Only 32-bit integer
// operations (Math.imul, shifts, xor) and exact float divisions by powers of two, so every
// JavaScript engine produces the same numbers for the same seed.

import { ValueError } from './errors';

/** The four 32-bit words of a generator's state (unsigned). */
export type PrngState = [number, number, number, number];

const TWO_POW_26 = 67108864;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

export class Prng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /**
   * A generator for `seed` (any safe integer). `stream` picks an independent sequence for the
   * same seed, e.g. one per vectorized environment.
   */
  constructor(seed: number, stream = 0) {
    for (const [name, v] of [['seed', seed], ['stream', stream]] as const) {
      if (!Number.isSafeInteger(v)) throw new ValueError(`Prng: ${name} must be a safe integer, got ${v}`);
    }
    // splitmix32 over the seed's two halves and the stream fills the state; its outputs are
    // well mixed even for seeds 0, 1, 2...
    let x = splitmixStep(seed >>> 0);
    x = splitmixStep((x ^ (Math.floor(seed / TWO_POW_32) >>> 0)) >>> 0);
    x = splitmixStep((x ^ (stream >>> 0)) >>> 0);
    x = splitmixStep((x ^ (Math.floor(stream / TWO_POW_32) >>> 0)) >>> 0);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      words.push(splitmixMix(x));
    }
    this.setState(words as PrngState);
  }

  /** A generator with exactly this state (as returned by getState()). */
  static fromState(state: PrngState): Prng {
    const p = new Prng(0);
    p.setState(state);
    return p;
  }

  getState(): PrngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Restores a state from getState(); refuses the all-zero state, which xoshiro never leaves. */
  setState(state: PrngState): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32)) {
      throw new ValueError(`Prng: a state is four unsigned 32-bit integers, got [${state.join(', ')}]`);
    }
    if (state.every((w) => w === 0)) throw new ValueError('Prng: the all-zero state is not valid for xoshiro128**');
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  /** The next unsigned 32-bit integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** A double uniform in [0, 1) with 53 random bits (exact: integer / 2^53). */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * TWO_POW_26 + lo) / TWO_POW_53;
  }

  /** A double uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.nextDouble();
  }

  /** An integer uniform in [0, n), without modulo bias (rejection sampling); 1 <= n <= 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new ValueError(`Prng.nextInt: n must be an integer in [1, 2^32], got ${n}`);
    // Accept only draws below the largest multiple of n that fits in 32 bits.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let u = this.nextUint32();
    while (u >= limit) u = this.nextUint32();
    return u % n;
  }

  /**
   * A near-normal draw with mean 0 and variance 1: the sum of 12 uniforms minus 6 (the
   * Irwin-Hall distribution, bounded to [-6, 6]). Additions only, so it is bit-identical on
   * every engine, unlike Box-Muller, which needs log and cos.
   */
  approxNormal(): number {
    let sum = 0;
    for (let i = 0; i < 12; i++) sum += this.nextDouble();
    return sum - 6;
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<A extends { length: number; [i: number]: number }>(array: A): A;
  shuffle<T>(array: T[]): T[];
  shuffle(array: { length: number; [i: number]: unknown }): unknown {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** One splitmix32 output for a counter value. */
function splitmixStep(x: number): number {
  return splitmixMix((x + 0x9e3779b9) >>> 0);
}

/** splitmix32's finaliser: a bijective mix of a 32-bit word. */
function splitmixMix(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}
