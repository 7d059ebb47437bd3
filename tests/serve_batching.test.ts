// generateGroups (sdk/serve/batch_generate.ts): several requests in one generation call, each
// with its own sampling settings and seed, each getting bit for bit what generate() gives it
// alone; the caller's generator is left where it was.

import { beforeAll, describe, expect, it } from 'vitest';
import { GPT, generate, getRngState, init, loadHuggingFace, seed, type Core } from '../sdk/index';
import { generateGroups, type GenerationGroup } from '../sdk/serve/batch_generate';
import { makeServeDir } from './serve_fixture';

let core: Core;
let model: GPT;
let eos: number;

beforeAll(async () => {
  core = await init({ setDefault: false });
  const fixture = await makeServeDir();
  model = (await loadHuggingFace(fixture.dir, { core, valueHead: false })).model;
  eos = fixture.tokenizer.eosTokenId!;
  fixture.cleanup();
});

const group = (rows: number[][], settings: Partial<GenerationGroup>): GenerationGroup => ({ rows, maxNewTokens: 10, temperature: 1, topK: 0, topP: 1, stopTokenIds: [eos], topLogprobs: 0, ...settings });

describe('generateGroups', () => {
  it('gives each seeded group of equal longest prompt what generate() gives it alone', () => {
    const groups = [
      group([[46, 77, 120], [91, 258, 5]], { seed: 1, temperature: 0.8, topP: 0.9 }),
      group([[12, 13, 14]], { seed: 2, topK: 20, maxNewTokens: 4 }),
      group([[7], [8, 9, 10], [8, 9, 10]], { seed: 3, temperature: 0, maxNewTokens: 12 }),
      group([[200, 201, 202]], { temperature: 1.3 }), // unseeded: the server's stream
      group([[46, 77, 120]], { seed: 1, temperature: 0.8, topP: 0.9, stopTokenIds: [10, eos] }),
    ];
    seed(42, core);
    const callerState = getRngState(core);
    const { outputs, stream } = generateGroups(model, groups, [1, 2, 3, 4]);
    expect(getRngState(core)).toEqual(callerState);
    expect(stream).not.toEqual([1, 2, 3, 4]); // the unseeded group drew from it
    groups.forEach((g, i) => {
      if (g.seed === undefined) return;
      const alone = generate(model, g.rows, { maxNewTokens: g.maxNewTokens, temperature: g.temperature, topK: g.topK, topP: g.topP, seed: g.seed, stopTokenIds: g.stopTokenIds });
      expect(outputs[i]!.completions, `group ${i}`).toEqual(alone.completions);
      expect(outputs[i]!.logProbs, `group ${i}`).toEqual(alone.logProbs);
      expect(outputs[i]!.rawLogProbs, `group ${i}`).toEqual(alone.rawLogProbs);
      expect(outputs[i]!.finishReasons, `group ${i}`).toEqual(alone.finishReasons);
    });
    expect(outputs[2]!.completions.every((c) => c.length <= 12)).toBe(true);
    expect(outputs[1]!.completions[0]!.length).toBeLessThanOrEqual(4);
  });

  it('reports the k most likely raw tokens with log_softmax values', () => {
    const { outputs } = generateGroups(model, [group([[46, 77, 120]], { seed: 5, topLogprobs: 3, maxNewTokens: 3 })], [1, 2, 3, 4]);
    const out = outputs[0]!;
    out.topLogProbs[0]!.forEach((top, t) => {
      expect(top).toHaveLength(3);
      const values = top.map(([, lp]) => lp);
      expect(values).toEqual([...values].sort((a, b) => b - a));
      // the sampled token's raw log-prob is at most the best alternative's
      expect(out.rawLogProbs[0]![t]!).toBeLessThanOrEqual(values[0]! + 1e-6);
      const sampled = top.find(([id]) => id === out.completions[0]![t]);
      if (sampled) expect(Math.abs(sampled[1] - out.rawLogProbs[0]![t]!)).toBeLessThan(1e-5);
    });
  });
});
