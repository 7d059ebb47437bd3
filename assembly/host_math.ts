// Deterministic transcendentals for the host. JavaScript engines differ in the last bit of
// Math.exp, Math.cos and friends. exp, log and tanh are the core's own f32 functions
// (math/det.ts; x is rounded to f32), the ones sdk/core/det_math.ts mirrors bit for bit; sin,
// cos and pow are AssemblyScript's software f64 Math, identical everywhere. Host code whose
// results feed training (environment dynamics, reward shaping) calls these.

import { detExp, detLog, detTanh } from './math/det';

/** e^x in f32 (math/det.ts detExp) */
export function mathExp(x: f64): f64 { return <f64>detExp(<f32>x); }
/** natural log in f32 (math/det.ts detLog) */
export function mathLog(x: f64): f64 { return <f64>detLog(<f32>x); }
/** sin (radians) */
export function mathSin(x: f64): f64 { return Math.sin(x); }
/** cos (radians) */
export function mathCos(x: f64): f64 { return Math.cos(x); }
/** tanh in f32 (math/det.ts detTanh) */
export function mathTanh(x: f64): f64 { return <f64>detTanh(<f32>x); }
/** x^y */
export function mathPow(x: f64, y: f64): f64 { return Math.pow(x, y); }
