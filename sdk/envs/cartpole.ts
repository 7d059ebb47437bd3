// CartPole-v1 exactly as Gymnasium defines it (gymnasium/envs/classic_control/cartpole.py, with
// the TimeLimit of 500 steps), vectorized over numEnvs and auto-resetting. A pole is hinged to
// a cart on a frictionless track; each step pushes the cart left (action 0) or right (action 1)
// with a fixed force; reward 1 per step until the pole leans past 12 degrees or the cart
// leaves the track. Useful to check that PPO works at all: CleanRL's ppo.py reaches ~490.
//
// The state is kept in float64 as Gymnasium does; observations are its float32 rounding.
// cos and sin come from the core's deterministic math, so episodes are bit-identical on every
// JavaScript engine (Math.cos differs in the last bit between engines).

import type { DetMath } from '../core/det_math';
import { detMath } from '../core/det_math';
import { NovaRLError, ValueError } from '../core/errors';
import { Prng, type PrngState } from '../core/prng';
import type { EnvInfo, Environment, StepResult } from '../interfaces/environment';
import { checkActions, intOption, seedOption } from './validate';

export interface CartPoleOptions {
  /** Environments stepped together. Default 1. */
  numEnvs?: number;
  /** Seeds each environment's initial states (environment i uses stream i). Default 0. */
  seed?: number;
  /** Steps after which an episode is truncated (Gymnasium's TimeLimit). Default 500. */
  maxEpisodeSteps?: number;
  /** cos and sin; default: the loaded core's detMath() (call `await init()` first). */
  math?: DetMath;
}

// Gymnasium's constants, same names.
const GRAVITY = 9.8;
const MASSCART = 1.0;
const MASSPOLE = 0.1;
const TOTAL_MASS = MASSPOLE + MASSCART;
const LENGTH = 0.5; // half the pole's length
const POLEMASS_LENGTH = MASSPOLE * LENGTH;
const FORCE_MAG = 10.0;
const TAU = 0.02; // seconds between state updates
const THETA_THRESHOLD_RADIANS = (12 * 2 * Math.PI) / 360;
const X_THRESHOLD = 2.4;
const INIT_BOUND = 0.05; // initial state uniform in [-0.05, 0.05)

const NAME = 'CartPoleEnvironment';
const OBS = 4; // x, x_dot, theta, theta_dot

/** JSON-serialisable state of a CartPoleEnvironment. */
export interface CartPoleState {
  rngs: PrngState[];
  physics: number[];
  lengths: number[];
  returns: number[];
  started: boolean;
}

export class CartPoleEnvironment implements Environment {
  readonly numEnvs: number;
  readonly observationSize = OBS;
  readonly actionCount = 2;
  readonly maxEpisodeSteps: number;
  private readonly math: DetMath;
  private seed: number;
  private rngs: Prng[];
  /** state: (numEnvs, 4) float64 */
  private readonly physics: Float64Array;
  /** steps taken and reward gathered in each running episode: (numEnvs) */
  private readonly lengths: Int32Array;
  private readonly returns: Float64Array;
  private started = false;

  constructor(options: CartPoleOptions = {}) {
    this.numEnvs = intOption(NAME, 'numEnvs', options.numEnvs, 1, 1);
    this.maxEpisodeSteps = intOption(NAME, 'maxEpisodeSteps', options.maxEpisodeSteps, 500, 1);
    this.seed = seedOption(NAME, options.seed, 0);
    this.math = options.math ?? detMath();
    this.rngs = this.makeRngs();
    this.physics = new Float64Array(this.numEnvs * OBS);
    this.lengths = new Int32Array(this.numEnvs);
    this.returns = new Float64Array(this.numEnvs);
  }

  /** Starts every environment afresh. observations: (numEnvs, 4) */
  reset(seed?: number): Float32Array {
    if (seed !== undefined) {
      this.seed = seedOption(NAME, seed, 0);
      this.rngs = this.makeRngs();
    }
    for (let i = 0; i < this.numEnvs; i++) this.resetOne(i);
    this.started = true;
    return Float32Array.from(this.physics);
  }

  /**
   * Pushes each cart (0: left, 1: right). At an episode's end the environment resets itself
   * and its info carries episodeReturn, episodeLength, truncated (hit maxEpisodeSteps without
   * falling), terminated, and finalObservation (the last state, for bootstrapping a
   * truncated episode's value).
   */
  step(actions: Int32Array): StepResult {
    if (!this.started) throw new NovaRLError(`${NAME}.step: call reset() before the first step()`);
    checkActions(NAME, actions, this.numEnvs, this.actionCount);
    const rewards = new Float32Array(this.numEnvs);
    const dones = new Uint8Array(this.numEnvs);
    const infos: EnvInfo[] = [];
    const s = this.physics;
    for (let i = 0; i < this.numEnvs; i++) {
      const o = i * OBS;
      const terminated = this.integrate(o, actions[i]!);
      // Reward 1 for every step, the terminating one included.
      rewards[i] = 1;
      this.returns[i] += 1;
      this.lengths[i]! += 1;
      const truncated = !terminated && this.lengths[i]! >= this.maxEpisodeSteps;
      if (terminated || truncated) {
        dones[i] = 1;
        infos.push({
          episodeReturn: this.returns[i]!,
          episodeLength: this.lengths[i]!,
          truncated,
          terminated,
          finalObservation: Float32Array.from(s.subarray(o, o + OBS)),
        });
        this.resetOne(i);
      } else {
        infos.push({});
      }
    }
    return { observations: Float32Array.from(s), rewards, dones, infos };
  }

  /** Per-environment PRNGs, physics and episode progress: resumes the stream exactly. */
  state(): CartPoleState {
    return {
      rngs: this.rngs.map((r) => r.getState()),
      physics: Array.from(this.physics),
      lengths: Array.from(this.lengths),
      returns: Array.from(this.returns),
      started: this.started,
    };
  }

  loadState(state: unknown): void {
    const s = state as CartPoleState;
    if (!s || !Array.isArray(s.rngs) || s.rngs.length !== this.numEnvs || !Array.isArray(s.physics) || s.physics.length !== this.numEnvs * OBS) {
      throw new ValueError(`${NAME}.loadState: the saved state does not fit ${this.numEnvs} environments`);
    }
    this.rngs = s.rngs.map((r) => Prng.fromState(r));
    this.physics.set(s.physics);
    this.lengths.set(s.lengths);
    this.returns.set(s.returns);
    this.started = s.started;
  }

  /** A copy of the float64 state (the observations are its float32 rounding): (numEnvs, 4) */
  physicalState(): Float64Array {
    return this.physics.slice();
  }

  /** One Euler step of Gymnasium's equations for the environment at state offset o; returns terminated. */
  private integrate(o: number, action: number): boolean {
    const s = this.physics;
    let x = s[o]!, xDot = s[o + 1]!, theta = s[o + 2]!, thetaDot = s[o + 3]!;
    const force = action === 1 ? FORCE_MAG : -FORCE_MAG;
    const costheta = this.math.cos(theta);
    const sintheta = this.math.sin(theta);
    // Florian (2007), "Correct equations for the dynamics of the cart-pole system".
    const temp = (force + POLEMASS_LENGTH * (thetaDot * thetaDot) * sintheta) / TOTAL_MASS;
    const thetaacc = (GRAVITY * sintheta - costheta * temp) / (LENGTH * (4.0 / 3.0 - (MASSPOLE * (costheta * costheta)) / TOTAL_MASS));
    const xacc = temp - (POLEMASS_LENGTH * thetaacc * costheta) / TOTAL_MASS;
    // Euler: positions move with the old velocities, velocities with the new accelerations.
    x = x + TAU * xDot;
    xDot = xDot + TAU * xacc;
    theta = theta + TAU * thetaDot;
    thetaDot = thetaDot + TAU * thetaacc;
    s[o] = x;
    s[o + 1] = xDot;
    s[o + 2] = theta;
    s[o + 3] = thetaDot;
    return x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD_RADIANS || theta > THETA_THRESHOLD_RADIANS;
  }

  private resetOne(i: number): void {
    for (let k = 0; k < OBS; k++) this.physics[i * OBS + k] = this.rngs[i]!.uniform(-INIT_BOUND, INIT_BOUND);
    this.lengths[i] = 0;
    this.returns[i] = 0;
  }

  private makeRngs(): Prng[] {
    return Array.from({ length: this.numEnvs }, (_, i) => new Prng(this.seed, i));
  }
}
