// Deterministic transcendentals for the host. JavaScript engines differ in the last bit of
// Math.exp, Math.cos and friends; AssemblyScript's Math is software, identical everywhere. Host
// code whose results feed training (environment dynamics, reward shaping) calls these.

/** e^x */
export function mathExp(x: f64): f64 { return Math.exp(x); }
/** natural log */
export function mathLog(x: f64): f64 { return Math.log(x); }
/** sin (radians) */
export function mathSin(x: f64): f64 { return Math.sin(x); }
/** cos (radians) */
export function mathCos(x: f64): f64 { return Math.cos(x); }
/** tanh */
export function mathTanh(x: f64): f64 { return Math.tanh(x); }
/** x^y */
export function mathPow(x: f64, y: f64): f64 { return Math.pow(x, y); }
