// Deterministic transcendentals for host code that feeds training (docs/architecture.md, "Determinism"):
// JavaScript engines disagree in the last bit of Math.exp/log/sin/cos/tanh/pow; the core's
// software versions give the same bits on every runtime. + - * / and Math.sqrt are exact in
// JavaScript already and need no help.

import type { Core } from './core';
import { defaultCore } from './core';

export interface DetMath {
  exp(x: number): number;
  log(x: number): number;
  sin(x: number): number;
  cos(x: number): number;
  tanh(x: number): number;
  pow(x: number, y: number): number;
}

/** The deterministic math functions of a core (default: the one init() loaded). */
export function detMath(core: Core = defaultCore()): DetMath {
  const e = core.exports;
  return { exp: e.mathExp, log: e.mathLog, sin: e.mathSin, cos: e.mathCos, tanh: e.mathTanh, pow: e.mathPow };
}
