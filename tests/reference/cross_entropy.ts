// Float64 references for cross-entropy, token log-probs and token sampling (assembly/losses/
// cross_entropy.ts, assembly/sampling.ts), written from the definitions, independent of the core.

/** log_softmax of one row. */
export function logSoftmaxRow(x: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < x.length; j++) m = Math.max(m, x[j]!);
  let s = 0;
  for (let j = 0; j < x.length; j++) s += Math.exp(x[j]! - m);
  const lz = m + Math.log(s);
  return Float64Array.from(x, (v) => v - lz);
}

/** log_softmax(logits)[token] per row: logits (N, V), tokens (N) -> (N). */
export function tokenLogProbsRef(logits: Float64Array, tokens: ArrayLike<number>, v: number): Float64Array {
  const n = logits.length / v;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) out[r] = logSoftmaxRow(logits.subarray(r * v, (r + 1) * v))[tokens[r]!]!;
  return out;
}

/** Mean over non-ignored rows of -logp_target; 0 when all rows are ignored. */
export function crossEntropyRef(logits: Float64Array, targets: ArrayLike<number>, v: number, ignoreIndex = -100): number {
  const n = logits.length / v;
  let total = 0;
  let count = 0;
  for (let r = 0; r < n; r++) {
    if (targets[r] === ignoreIndex) continue;
    total -= logSoftmaxRow(logits.subarray(r * v, (r + 1) * v))[targets[r]!]!;
    count++;
  }
  return count === 0 ? 0 : total / count;
}

export interface SamplingRefOptions {
  temperature: number;
  topK: number;
  topP: number;
}

/**
 * The processed distribution of one row, as Hugging Face's warpers define it: z = x / T, top-k
 * keeps z >= the k-th largest, top-p sorts descending (ties: lower index first) and drops from
 * the least probable end while the dropped mass stays <= 1 - p (always keeping the top token).
 * Returns probabilities over the whole vocabulary (0 for dropped tokens).
 */
export function processedDistributionRef(x: ArrayLike<number>, o: SamplingRefOptions): Float64Array {
  const v = x.length;
  const z = Float64Array.from(x, (a) => a / o.temperature);
  const order = [...Array(v).keys()].sort((a, b) => (z[b]! - z[a]!) || a - b);
  let kept = v;
  if (o.topK > 0 && o.topK < v) {
    const threshold = z[order[o.topK - 1]!]!;
    kept = order.filter((j) => z[j]! >= threshold).length;
  }
  const softmaxOf = (ids: number[]): Map<number, number> => {
    const m = Math.max(...ids.map((j) => z[j]!));
    const e = ids.map((j) => Math.exp(z[j]! - m));
    const s = e.reduce((p, a) => p + a, 0);
    return new Map(ids.map((j, n) => [j, e[n]! / s]));
  };
  if (o.topP < 1) {
    const q = softmaxOf(order.slice(0, kept));
    let tail = 0;
    let cut = kept;
    for (let i = kept - 1; i >= 1; i--) {
      tail += q.get(order[i]!)!;
      if (tail > 1 - o.topP) break;
      cut = i;
    }
    kept = cut;
  }
  const p = softmaxOf(order.slice(0, kept));
  return Float64Array.from({ length: v }, (_, j) => p.get(j) ?? 0);
}
