// Several requests' rows decoded together in one batch, each request keeping its own sampling
// settings and its own random stream: the server's one generation call per batch.
//
//   rows of every group, left-padded to L ──prefill──▶ KV cache
//   per step: logits (B, V) ──narrow per group──▶ sampleTokens(group's temperature, top-k, top-p)
//             with the core's generator set to the group's own state, then saved back
//
// This is generate() (sdk/nn/generate.ts) with one change: sampling is done group by group, so a
// seeded group draws exactly the numbers it would draw alone. generate(model, rows, { seed })
// seeds the core and draws one number per row per step, rows in order; a group here starts
// from seed(s)'s state and draws the same numbers for the same rows, whatever else is in the
// batch. A row's logits do not depend on the other rows as long as it sits in the columns it
// has alone: left padding is masked and every reduction runs in a fixed order by column, so
// when every group's longest prompt is the batch's L (the queue's rule, batching_queue.ts) a
// seeded request batched with others returns what it returns alone, bit for bit
// (tests/serve_batching.test.ts checks it against generate()). Mixed L works too, with log-probs
// that may differ from the lone request's in the last bits.
// Unseeded groups share the server's stream (`stream`), in batch order. The caller's generator
// state is restored after every step, so serving never moves the generator of a trainer that
// shares the core.

import { CachedDecode, GPT, ValueError, detExpF32, detLogF32, getRngState, noGrad, sampleTokens, seed as seedCore, setRngState, type FinishReason } from '../index';

/** One request's rows and sampling settings. */
export interface GenerationGroup {
  /** Token-id prompts, one per row (a request's prompts repeated n times, prompt-major). */
  rows: readonly (readonly number[])[];
  /** Most new tokens per row (>= 1). */
  maxNewTokens: number;
  /** Softmax temperature; 0 is greedy. */
  temperature: number;
  /** Keep the k most likely tokens; 0 is off. */
  topK: number;
  /** Nucleus sampling; 1 is off. */
  topP: number;
  /** Seeds this group's own stream; undefined draws from the server's stream. */
  seed?: number;
  /** Ids that finish a row (kept in its completion). */
  stopTokenIds: readonly number[];
  /** How many top alternatives of the raw distribution to report per token (0: none). */
  topLogprobs: number;
}

/** One group's output, per row. */
export interface GroupOutput {
  completions: number[][];
  /** Log-probs of the sampled tokens under the processed distribution (0 for greedy). */
  logProbs: number[][];
  /** Log-probs of the sampled tokens under log_softmax(logits). */
  rawLogProbs: number[][];
  /** Per row and token, the topLogprobs most likely [id, raw log-prob] pairs (empty when topLogprobs is 0). */
  topLogProbs: [number, number][][][];
  finishReasons: FinishReason[];
}

/** The 4 words of a generator state (getRngState / setRngState). */
export type RngState = number[];

/** The generator state seed(s) gives, without leaving the core's generator moved. */
export function seededState(model: GPT, seed: number): RngState {
  const core = model.core;
  const saved = getRngState(core);
  seedCore(seed, core);
  const state = getRngState(core);
  setRngState(saved, core);
  return state;
}

/**
 * Decodes every group's rows in one batch. `stream` is the server's generator state for
 * unseeded groups; the state after this batch is returned beside the outputs.
 */
export function generateGroups(model: GPT, groups: readonly GenerationGroup[], stream: RngState): { outputs: GroupOutput[]; stream: RngState } {
  if (groups.length === 0) throw new ValueError('generateGroups: no groups');
  const { vocabSize, nPositions } = model.config;
  const rows = groups.flatMap((g) => g.rows);
  const B = rows.length;
  const L = Math.max(...rows.map((r) => r.length));
  const steps = Math.max(...groups.map((g) => g.maxNewTokens));
  if (L + steps > nPositions) throw new ValueError(`generateGroups: the longest prompt (${L}) + the most new tokens (${steps}) exceed nPositions (${nPositions})`);
  const core = model.core;
  const padTokenId = 0; // masked everywhere it is fed, so its value does not matter

  // Where each group's rows sit in the batch, and its own generator state
  const starts: number[] = [];
  groups.reduce((start, g) => (starts.push(start), start + g.rows.length), 0);
  const states: (RngState | undefined)[] = groups.map((g) => (g.seed === undefined ? undefined : seededState(model, g.seed)));
  let serverStream = [...stream];

  const outputs: GroupOutput[] = groups.map((g) => ({
    completions: g.rows.map(() => []),
    logProbs: g.rows.map(() => []),
    rawLogProbs: g.rows.map(() => []),
    topLogProbs: g.rows.map(() => []),
    finishReasons: g.rows.map(() => 'length' as FinishReason),
  }));
  const done = rows.map(() => false);
  const stops = groups.map((g) => new Set(g.stopTokenIds));

  const callerState = getRngState(core);
  const decode = new CachedDecode(model, rows, padTokenId, steps);
  try {
    noGrad(() => {
      let logits = decode.prefill(); // (B, V)
      for (let step = 0; step < steps; step++) {
        const ids = new Array<number>(B).fill(padTokenId);
        const fed = new Array<boolean>(B).fill(false); // rows that produced a token this step
        groups.forEach((g, i) => {
          const start = starts[i]!, n = g.rows.length;
          if (step >= g.maxNewTokens || done.slice(start, start + n).every(Boolean)) return; // finished: draws nothing more
          setRngState(states[i] ?? serverStream, core);
          const part = logits.narrow(0, start, n); // (n, V)
          const sampled = sampleTokens(part, { temperature: g.temperature, topK: g.topK, topP: g.topP });
          if (states[i]) states[i] = getRngState(core);
          else serverStream = getRngState(core);
          const gid = sampled.ids.view(), lp = sampled.logProbs.view(), raw = sampled.rawLogProbs.view();
          const top = g.topLogprobs > 0 ? topRawLogProbs(part.view(), n, vocabSize, g.topLogprobs) : undefined;
          const out = outputs[i]!;
          for (let r = 0; r < n; r++) {
            if (done[start + r]) continue;
            const id = gid[r]!;
            ids[start + r] = id;
            fed[start + r] = true;
            out.completions[r]!.push(id);
            out.logProbs[r]!.push(lp[r]!);
            out.rawLogProbs[r]!.push(raw[r]!);
            if (top) out.topLogProbs[r]!.push(top[r]!);
            if (stops[i]!.has(id)) {
              done[start + r] = true;
              out.finishReasons[r] = 'stop';
            } else if (step === g.maxNewTokens - 1) {
              done[start + r] = true;
            }
          }
        });
        setRngState(callerState, core);
        decode.append(ids, fed); // a row finished before this step is fed padding, masked out
        core.endStep();
        if (done.every(Boolean)) break;
        logits = decode.next();
      }
    }, core);
  } finally {
    decode.free();
    setRngState(callerState, core);
    core.endStep();
  }
  return { outputs, stream: serverStream };
}

/** Per row of (n, V) logits, the k most likely ids with log_softmax(logits), ties by id. */
function topRawLogProbs(logits: Float32Array, n: number, V: number, k: number): [number, number][][] {
  const out: [number, number][][] = [];
  for (let r = 0; r < n; r++) {
    const row = logits.subarray(r * V, (r + 1) * V);
    const order = Array.from({ length: V }, (_, j) => j).sort((a, b) => row[b]! - row[a]! || a - b);
    // log_softmax(x)_j = x_j - max - log(sum exp(x - max)), in f32 with the deterministic exp/log
    const max = row[order[0]!]!;
    let sum = 0;
    for (let i = 0; i < V; i++) sum = Math.fround(sum + detExpF32(Math.fround(row[i]! - max)));
    const logSum = detLogF32(sum);
    out.push(order.slice(0, Math.min(k, V)).map((id) => [id, Math.fround(Math.fround(row[id]! - max) - logSum)]));
  }
  return out;
}
