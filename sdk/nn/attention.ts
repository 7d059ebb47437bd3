// Causal self-attention over (B, H, T, D) heads, with an optional past (keys and values from a
// KV cache) and an optional key mask, in two versions kept side by side (as llm.c keeps
// attention_forward next to its reference):
//
//   causalSelfAttention           one fused core op (assembly/ops/attention.ts), forward and
//                                 backward, saving 2 floats per query row
//   causalSelfAttentionReference  the same maths composed from NovaRL primitives: matmul, mul by
//                                 1/sqrt(D), where (causal and key mask), softmax, matmul; it
//                                 stores the (B, H, T, P+T) probabilities for backward
//
// q (B, H, T, D); k, v (B, H, P+T, D), P >= 0; mask (B, P+T) of 0/1. Query i sits at position
// P + i and attends to the keys j <= P + i whose mask is 1. Output (B, H, T, D).
//
// A query row with no allowed key (all its keys masked) gives 0 in the fused op and passes no
// gradient; the composed reference gives NaN there (a softmax over nothing).

import { ShapeError, ValueError } from '../core/errors';
import { Tensor } from '../core/tensor';

export interface AttentionOptions {
  /** Key mask (B, P+T) of 0/1: keys with 0 are excluded (e.g. left padding of batched prompts). */
  mask?: Tensor;
}

/** Checks q, k, v and the mask; returns [B, H, T, S, D]. */
function checkAttention(op: string, q: Tensor, k: Tensor, v: Tensor, mask?: Tensor): [number, number, number, number, number] {
  for (const t of [q, k, v, mask]) {
    if (!t) continue;
    t.assertLive(op);
    if (t.core !== q.core) throw new ValueError(`${op}: operands live on different cores`);
  }
  const shapes = [q.shape, k.shape, v.shape];
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) throw new ShapeError(op, shapes, 'q, k and v must be rank 4: (B, H, T, D) and (B, H, P+T, D)');
  const [b, h, t, d] = q.shape as [number, number, number, number];
  const s = k.shape[2]!;
  if (k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== d) throw new ShapeError(op, shapes, 'k must be (B, H, P+T, D) with q\'s B, H and D');
  if (!v.shape.every((x, i) => x === k.shape[i])) throw new ShapeError(op, shapes, 'v must have k\'s shape');
  if (s < t) throw new ShapeError(op, shapes, `keys (${s}) cannot be fewer than queries (${t}): k holds the P past positions then the T current ones`);
  if (mask) {
    if (mask.rank !== 2 || mask.shape[0] !== b || mask.shape[1] !== s) throw new ShapeError(op, [...shapes, mask.shape], `the key mask must be (B, P+T) = [${b}, ${s}]`);
    const m = mask.view();
    for (let i = 0; i < m.length; i++) {
      if (m[i] !== 0 && m[i] !== 1) throw new ValueError(`${op}: the key mask must hold 0 or 1, got ${m[i]} at flat index ${i}`);
    }
  }
  return [b, h, t, s, d];
}

/**
 * Fused causal self-attention: softmax(q k^T / sqrt(D) + causal and key mask) v, one core op
 * with its own backward. q (B, H, T, D), k and v (B, H, P+T, D) -> (B, H, T, D).
 */
export function causalSelfAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const { mask } = options;
  checkAttention('causalSelfAttention', q, k, v, mask);
  const core = q.core;
  const id = core.exports.opCausalAttention(q.id, k.id, v.id, mask?.id ?? -1);
  return new Tensor(core, core.check(id, 'causalSelfAttention'), [...q.shape], core.epoch);
}

/**
 * The same attention composed from primitives (the readable reference for the fused op; it
 * stores the probabilities). Heads are folded into a rank-3 batch, (B*H, T, D), for matmul.
 */
export function causalSelfAttentionReference(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const { mask } = options;
  const [b, h, t, s, d] = checkAttention('causalSelfAttentionReference', q, k, v, mask);
  const past = s - t;
  const core = q.core;
  // scores (B*H, T, S) = q k^T / sqrt(D)
  const scores = q.reshape([b * h, t, d]).matmul(k.reshape([b * h, s, d]), { transB: true }).mul(1 / Math.sqrt(d));
  // allowed (B, 1, T, S): key j is at or before query i's position P + i, and not masked out
  const keyMask = mask?.view();
  const allowed = new Float32Array(b * t * s);
  for (let bi = 0; bi < b; bi++) {
    for (let i = 0; i < t; i++) {
      for (let j = 0; j <= past + i; j++) allowed[(bi * t + i) * s + j] = keyMask ? keyMask[bi * s + j]! : 1;
    }
  }
  const masked = Tensor.where(Tensor.from(allowed, [b, 1, t, s], { core }), scores.reshape([b, h, t, s]), Tensor.scalar(-Infinity, { core }));
  const probs = masked.softmax().reshape([b * h, t, s]);
  return probs.matmul(v.reshape([b * h, s, d])).reshape([b, h, t, d]);
}
