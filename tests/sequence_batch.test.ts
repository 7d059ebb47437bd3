// The token-level RLHF layout (sdk/lm/sequence_batch.ts) and the in-process engine
// (sdk/lm/local_engine.ts): the engine's rows come grouped by prompt, and scoring its
// completions with responseForward gives the generator's own log-probs again. They agree to
// float32 rounding, not bit for bit: the cached and the full forward sum attention in a
// different order (tests/generate.test.ts explains the blocks), measured ~5e-7.

import { beforeAll, describe, expect, it } from 'vitest';
import { GPT, LocalCompletionEngine, SequenceBatch, Tokenizer, ValueError, collectLmRollout, frozenReference, init, noGrad, normal_, responseForward, seed, truncatedImportanceWeights, type Core } from '../sdk/index';
import { expectClose } from './util';

const CONFIG = { vocabSize: 37, nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 32 };
const EOS = 0;
let core: Core;

beforeAll(async () => {
  core = await init();
});

function model(): GPT {
  seed(5);
  const m = new GPT(CONFIG, { valueHead: true });
  for (const [name, p] of m.namedParameters()) if (name.endsWith('c_attn.weight') || name.startsWith('transformer.wte')) normal_(p, 0, 0.3);
  return m;
}

describe('SequenceBatch', () => {
  it('left-pads prompts to L and right-pads responses to R', () => {
    const batch = SequenceBatch.fromRows({ promptIds: [[5, 6, 7], [8]], completionIds: [[1, 2], []] }, 9, core);
    expect([batch.rows, batch.promptLength, batch.responseLength]).toEqual([2, 3, 2]);
    expect(Array.from(batch.ids.view())).toEqual([5, 6, 7, 1, 2, 9, 9, 8, 9, 9]);
    expect(Array.from(batch.attentionMask.view())).toEqual([1, 1, 1, 1, 1, 0, 0, 1, 0, 0]);
    expect(Array.from(batch.responseIds.view())).toEqual([1, 2, 9, 9]);
    expect(Array.from(batch.responseMask.view())).toEqual([1, 1, 0, 0]);
    expect(batch.responseLengths).toEqual([2, 0]);
    batch.free();
  });

  it('refuses mismatched or empty rows with a ValueError', () => {
    expect(() => SequenceBatch.fromRows({ promptIds: [[1]], completionIds: [] }, 0, core)).toThrow(ValueError);
    expect(() => SequenceBatch.fromRows({ promptIds: [[]], completionIds: [[1]] }, 0, core)).toThrow(/prompt 0/);
  });
});

describe('LocalCompletionEngine + responseForward', () => {
  it('groups n rows per prompt and rescoring gives the sampled log-probs (temperature 0.7)', async () => {
    const m = model();
    const engine = new LocalCompletionEngine(m);
    const prompts = [[3, 4, 5, 6], [7], [8, 9]];
    const out = await engine.complete({ prompts, n: 3, maxNewTokens: 10, temperature: 0.7, seed: 3, stopTokenIds: [EOS] });
    expect(out.promptIndex).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(out.promptIds[4]).toEqual([7]);
    expect(out.completionIds.every((c, b) => c.length === out.logProbs[b]!.length && c.length >= 1)).toBe(true);
    const batch = SequenceBatch.fromRows(out, EOS, core);
    const { logProbs, values } = noGrad(() => responseForward(m, batch.ids, batch.attentionMask, batch.responseIds, { temperature: 0.7, values: true }), core);
    const R = batch.responseLength;
    const scored = logProbs.toArray();
    for (let b = 0; b < batch.rows; b++) {
      const n = out.completionIds[b]!.length;
      expectClose(scored.subarray(b * R, b * R + n), out.logProbs[b]!, `row ${b}`, 1e-5, 1e-6);
    }
    expect(values!.shape).toEqual([9, R]);
    batch.free();
    m.free();
  });

  it('rejects an aborted request', async () => {
    const m = model();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(new LocalCompletionEngine(m).complete({ prompts: [[1]], maxNewTokens: 2, signal: controller.signal })).rejects.toThrow('stop');
    m.free();
  });
});

describe('collectLmRollout', () => {
  it('scores the local engine\'s completions with the policy and the reference, and the gap is ~0', async () => {
    const tokenizer = Tokenizer.train('the cat sat on the mat. the dog sat on the log. ', { vocabSize: 270 });
    seed(2);
    const policy = new GPT({ vocabSize: tokenizer.vocabSize, nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 32 }, { valueHead: true });
    const reference = frozenReference(policy);
    const prompts = ['the cat', 'the dog sat'].map((text) => ({ text, ids: tokenizer.encode(text), fields: { id: text.length } }));
    const eos = tokenizer.eosTokenId!;
    const rollout = await collectLmRollout({ engine: new LocalCompletionEngine(policy), policy, reference, tokenizer, prompts, n: 2, sampling: { maxNewTokens: 6, temperature: 0.9, seed: 1, stopTokenIds: [eos] }, values: true });
    expect(rollout.promptTexts).toEqual(['the cat', 'the cat', 'the dog sat', 'the dog sat']);
    expect(rollout.extra.fields[2]).toEqual({ id: 11 });
    expect(rollout.completionTexts[0]).toBe(tokenizer.decode(rollout.completions.completionIds[0]!, { skipSpecialTokens: true }));
    const R = rollout.batch.responseLength;
    for (const t of [rollout.oldLogProbs, rollout.refLogProbs!, rollout.values!, rollout.engineLogProbs!]) expect(t.shape).toEqual([4, R]);
    // the reference is a copy: the same log-probs bit for bit (the same forward pass)
    expect(Array.from(rollout.refLogProbs!.view())).toEqual(Array.from(rollout.oldLogProbs.view()));
    expect(rollout.offPolicy!.deltaMax).toBeLessThan(1e-5);
    const w = truncatedImportanceWeights(rollout.oldLogProbs, rollout.engineLogProbs!, 2).toArray();
    const mask = rollout.batch.responseMask.view();
    for (let i = 0; i < w.length; i++) if (mask[i] === 1) expect(Math.abs(w[i]! - 1)).toBeLessThan(1e-5);
    rollout.free();
    policy.free();
    reference.free();
  });
});
