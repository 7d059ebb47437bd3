// scoreRewards and the built-in reward functions (sdk/rewards/): the weighted total, every way a
// reward function can fail turned into a RewardFunctionError naming it, and the sentiment
// scorer against the sentiment package's documented AFINN results, from source and from the
// built `novarl/sentiment` subpath.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RewardFunctionError,
  ValueError,
  containsReward,
  eosReward,
  exactMatchReward,
  lengthReward,
  regexReward,
  ruleReward,
  scoreRewards,
  type NamedRewardFunction,
  type RewardExtra,
} from '../sdk/index';
import { sentimentReward, sentimentScore } from '../sdk/rewards/sentiment';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** RewardExtra for `rows` completions of one prompt each. */
function extraFor(rows: number, overrides: Partial<RewardExtra> = {}): RewardExtra {
  return {
    fields: Array.from({ length: rows }, () => ({})),
    promptIndex: Array.from({ length: rows }, (_, i) => i),
    completionIds: Array.from({ length: rows }, () => [1, 2, 0]),
    finishReasons: Array.from({ length: rows }, () => 'stop' as const),
    ...overrides,
  };
}

const constant = (name: string, value: number, weight?: number): NamedRewardFunction => ({ name, fn: (_p, c) => c.map(() => value), ...(weight === undefined ? {} : { weight }) });

async function rewardError(promise: Promise<unknown>): Promise<RewardFunctionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RewardFunctionError);
  return error as RewardFunctionError;
}

describe('scoreRewards', () => {
  it('sums the weighted rewards of every function and keeps each one unweighted', async () => {
    const byLength: NamedRewardFunction = { name: 'chars', fn: (_p, c) => c.map((s) => s.length) };
    const asyncPrompt: NamedRewardFunction = { name: 'prompt_len', weight: -0.5, fn: async (p) => p.map((s) => s.length) };
    const { total, perFunction } = await scoreRewards([byLength, asyncPrompt, constant('bonus', 1, 2)], ['ab', 'abcd'], ['xyz', ''], extraFor(2));
    expect(perFunction).toEqual({ chars: [3, 0], prompt_len: [2, 4], bonus: [1, 1] });
    expect(total).toEqual([3 - 1 + 2, 0 - 2 + 2]);
  });

  it('property: the total is the weighted sum in list order, as a float64 loop computes it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.double({ min: -10, max: 10, noNaN: true }), fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 3, maxLength: 3 })), { minLength: 1, maxLength: 4 }),
        async (specs) => {
          const funcs = specs.map(([weight, values], k) => ({ name: `f${k}`, weight, fn: () => values }));
          const { total } = await scoreRewards(funcs, ['a', 'b', 'c'], ['x', 'y', 'z'], extraFor(3));
          const expected = [0, 1, 2].map((i) => specs.reduce((sum, [w, values]) => sum + w * values[i]!, 0));
          expect(total).toEqual(expected);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('accepts typed arrays', async () => {
    const { perFunction } = await scoreRewards([{ name: 'typed', fn: () => new Float32Array([0.5, 2]) as unknown as number[] }], ['a', 'b'], ['x', 'y'], extraFor(2));
    expect(perFunction.typed).toEqual([0.5, 2]);
  });

  it('turns each failure into a RewardFunctionError naming the function, the row and the value', async () => {
    const prompts = ['p', 'q'];
    const completions = ['x', 'y'];
    const cause = new Error('model server down');
    const threw = await rewardError(scoreRewards([constant('ok', 1), { name: 'remote', fn: async () => Promise.reject(cause) }], prompts, completions, extraFor(2)));
    expect([threw.functionName, threw.problem, threw.cause]).toEqual(['remote', 'threw', cause]);
    expect(threw.message).toBe("reward function 'remote' threw: model server down");

    const nan = await rewardError(scoreRewards([{ name: 'judge', fn: () => [0.1, NaN] }], prompts, completions, extraFor(2)));
    expect([nan.functionName, nan.problem, nan.row]).toEqual(['judge', 'not-finite', 1]);
    expect(nan.message).toMatch(/'judge' gave row 1 the reward NaN/);

    const inf = await rewardError(scoreRewards([{ name: 'inf', fn: () => [Infinity, 0] }], prompts, completions, extraFor(2)));
    expect([inf.problem, inf.row, inf.message]).toEqual(['not-finite', 0, expect.stringMatching(/reward Infinity/)]);
    const text = await rewardError(scoreRewards([{ name: 'str', fn: () => [1, '2'] as never }], prompts, completions, extraFor(2)));
    expect(text.message).toMatch(/row 1 the reward the string "2"/);

    const short = await rewardError(scoreRewards([{ name: 'short', fn: () => [1] }], prompts, completions, extraFor(2)));
    expect([short.problem, short.message]).toEqual(['wrong-length', "reward function 'short' returned 1 rewards for 2 completions"]);

    const notArray = await rewardError(scoreRewards([{ name: 'scalar', fn: () => 3 as never }], prompts, completions, extraFor(2)));
    expect([notArray.problem, notArray.message]).toEqual(['not-array', "reward function 'scalar' returned 3, not an array of numbers"]);
    expect((await rewardError(scoreRewards([{ name: 'none', fn: () => undefined as never }], prompts, completions, extraFor(2)))).problem).toBe('not-array');
  });

  it('refuses a bad list of functions with a ValueError', async () => {
    const ok = constant('a', 1);
    await expect(scoreRewards([], ['p'], ['c'], extraFor(1))).rejects.toThrow(ValueError);
    await expect(scoreRewards([ok, constant('a', 2)], ['p'], ['c'], extraFor(1))).rejects.toThrow(/two reward functions are named 'a'/);
    await expect(scoreRewards([constant('', 1)], ['p'], ['c'], extraFor(1))).rejects.toThrow(/name must be a non-empty string/);
    await expect(scoreRewards([{ name: 'w', fn: ok.fn, weight: NaN }], ['p'], ['c'], extraFor(1))).rejects.toThrow(/weight NaN/);
    await expect(scoreRewards([{ name: 'nofn' } as never], ['p'], ['c'], extraFor(1))).rejects.toThrow(/has no fn/);
    await expect(scoreRewards([ok], ['p', 'q'], ['c'], extraFor(1))).rejects.toThrow(/2 prompts but 1 completions/);
  });
});

describe('built-in rewards', () => {
  const score = async (f: NamedRewardFunction, completions: string[], extra: RewardExtra = extraFor(completions.length)) =>
    (await scoreRewards([f], completions.map(() => 'prompt'), completions, extra)).perFunction[f.name];

  it('ruleReward applies the rule per row with the entry fields', async () => {
    const f = ruleReward('echo', (prompt, completion, fields) => prompt.length + completion.length + Number(fields.bonus ?? 0), { weight: 3 });
    expect(f.weight).toBe(3);
    expect(await score(f, ['ab', 'c'], extraFor(2, { fields: [{ bonus: 10 }, {}] }))).toEqual([18, 7]);
    expect(() => ruleReward('bad', 5 as never)).toThrow(ValueError);
  });

  it('lengthReward: -|length - target| / scale over tokens (without the stop token) or characters', async () => {
    const tokens = lengthReward({ target: 2, scale: 4 });
    // Rows of 3 ids ending with a stop token (2 tokens) and 3 ids cut by length (3 tokens).
    const extra = extraFor(2, { completionIds: [[5, 6, 0], [5, 6, 7]], finishReasons: ['stop', 'length'] });
    const [atTarget, over] = (await score(tokens, ['a', 'b'], extra))!;
    expect(Object.is(atTarget, 0)).toBe(true); // +0, not -0
    expect(over).toBe(-0.25);
    const chars = lengthReward({ target: 3, unit: 'characters', name: 'chars' });
    expect(await score(chars, ['abc', 'é', 'abcdef'])).toEqual([0, -2 / 3, -1]);
    expect(() => lengthReward({ target: -1 })).toThrow(/target/);
    expect(() => lengthReward({ target: 4, scale: 0 })).toThrow(/scale/);
    expect(() => lengthReward({ target: 4, unit: 'words' as never })).toThrow(/unit/);
  });

  it('containsReward and regexReward score 1 on a match', async () => {
    expect(await score(containsReward('happy'), ['so happy', 'Happy', 'sad'])).toEqual([1, 0, 0]);
    expect(await score(containsReward('happy', { ignoreCase: true }), ['so happy', 'Happy', 'sad'])).toEqual([1, 1, 0]);
    // A global regex keeps no lastIndex between rows.
    expect(await score(regexReward(/\d+/g), ['a1', 'b2', 'c3', 'd'])).toEqual([1, 1, 1, 0]);
    expect(() => containsReward('')).toThrow(ValueError);
  });

  it('exactMatchReward compares the first line with the entry field; a missing field names the function', async () => {
    const f = exactMatchReward();
    const extra = extraFor(3, { fields: [{ answer: '42' }, { answer: 42 }, { answer: '7' }] });
    expect(await score(f, [' 42 \nbecause', '42', '8'], extra)).toEqual([1, 1, 0]);
    const error = await rewardError(scoreRewards([f], ['p'], ['42'], extraFor(1)));
    expect(error.functionName).toBe('exact_match');
    expect(error.message).toMatch(/row 0's prompt entry has no field "answer"/);
  });

  it('eosReward scores 1 for a completion ended by a stop token', async () => {
    expect(await score(eosReward(), ['a', 'b'], extraFor(2, { finishReasons: ['stop', 'length'] }))).toEqual([1, 0]);
  });
});

describe('sentimentReward (AFINN-165 via the sentiment package)', () => {
  // The package README's worked example: love +3, allergic -2, 9 tokens.
  it("gives the package's documented scores", () => {
    expect(sentimentScore('I love cats, but I am allergic to them.', 'score')).toBe(1);
    expect(sentimentScore('I love cats, but I am allergic to them.')).toBe(1 / 9);
    expect(sentimentScore('Cats are stupid.', 'score')).toBe(-2);
    expect(sentimentScore('Cats are stupid.')).toBe(-2 / 3);
    expect(sentimentScore('This is not good', 'score')).toBe(-3); // good +3 after a negator
  });

  it('scores a completion without words 0, and scores a batch', async () => {
    for (const empty of ['', '   ', '...', '\n']) expect(sentimentScore(empty)).toBe(0);
    const { perFunction, total } = await scoreRewards([sentimentReward({ weight: 2 })], ['p', 'p'], ['a happy day', 'a sad day'], extraFor(2));
    expect(perFunction.sentiment).toEqual([3 / 3, -2 / 3]);
    expect(total).toEqual([2, -4 / 3]);
    expect(() => sentimentReward({ measure: 'mean' as never })).toThrow(ValueError);
  });

  it("loads from the built subpath 'novarl/sentiment' under node, with the SDK's own ValueError", () => {
    if (!existsSync(join(ROOT, 'dist/sentiment.js'))) throw new Error('dist/sentiment.js is missing: run `npm run build:sdk` first');
    const script = `import { sentimentReward, sentimentScore } from 'novarl/sentiment';
import { ValueError } from 'novarl';
let sameError = false;
try { sentimentReward({ measure: 'x' }); } catch (e) { sameError = e instanceof ValueError; }
console.log(JSON.stringify({ url: import.meta.resolve('novarl/sentiment'), score: sentimentScore('Cats are stupid.', 'score'), sameError }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const seen = JSON.parse(run.stdout);
    expect(seen.url).toMatch(/\/dist\/sentiment\.js$/);
    expect([seen.score, seen.sameError]).toEqual([-2, true]);
  });
});
