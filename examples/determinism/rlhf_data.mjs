// The RLHF data pipeline, against the public API of the built SDK only (run `npm run build:sdk`
// first): a tokenizer trained in place, a prompt dataset walked for three shuffled epochs, a
// seeded preference-pair split, and the weighted rewards of the sentiment, length and regex
// functions. It prints an FNV-1a hash of the prompt order, the token ids and the rewards' float64
// bits; every runtime must print the same line (docs/architecture.md, "Determinism"). No node:
// import and no file, so it runs in a browser or workerd as it does here:
//   node examples/determinism/rlhf_data.mjs | bun examples/determinism/rlhf_data.mjs
//   deno run --allow-read examples/determinism/rlhf_data.mjs

import { PreferencePairs, PromptDataset, Tokenizer, lengthReward, regexReward, scoreRewards } from 'novarl';
import { sentimentReward } from 'novarl/sentiment';
import { hashArrays } from './hash.mjs';

const CORPUS = 'It was a fine day and she was happy. The evening was dull and cold. He was not pleased. '.repeat(6);
const PROMPTS = ['It was a fine', 'The evening was', 'He was not', 'She was happy and', 'It was cold', 'The day was'];
const COMPLETIONS = [' a lovely day', ' dreadful and sad', ' pleased at all', ' happy', '', ' cold, cold, cold'];

/** The hash of the pipeline's output, the prompt order and the total rewards (host-side only: no core). */
export async function rlhfDataHash() {
  const tokenizer = Tokenizer.train(CORPUS, { vocabSize: 300 });
  const prompts = new PromptDataset(PROMPTS.map((prompt, i) => ({ prompt, answer: String(i) })), { tokenizer, seed: 2026 });
  const rows = prompts.next(3 * PROMPTS.length);
  const pairs = new PreferencePairs(PROMPTS.map((prompt, i) => ({ prompt, chosen: COMPLETIONS[0], rejected: ` no ${i}` })), { tokenizer }).split(0.5, 5);
  const funcs = [sentimentReward(), lengthReward({ target: 8, unit: 'characters', weight: 0.25 }), regexReward(/cold/, { weight: -0.5 })];
  const extra = { fields: rows.slice(0, 6).map((r) => r.fields), promptIndex: [0, 1, 2, 3, 4, 5], completionIds: COMPLETIONS.map((c) => tokenizer.encode(c)), finishReasons: COMPLETIONS.map(() => 'stop') };
  const { total } = await scoreRewards(funcs, rows.slice(0, 6).map((r) => r.text), COMPLETIONS, extra);
  const order = rows.map((r) => Number(r.fields.answer));
  const ids = [...rows.flatMap((r) => r.ids), ...pairs.validation.all().flatMap((p) => [...p.promptIds, ...p.rejectedIds])];
  return { hash: hashArrays([new Float64Array([...order, ...ids, ...total])]), order: order.join(''), total };
}

// Run as a script (Bun and Deno set import.meta.main; Node 20 sets import.meta.filename)
const isMain = import.meta.main ?? (typeof process !== 'undefined' && import.meta.filename !== undefined && import.meta.filename === process.argv[1]);
if (isMain) console.log(`novarl-rlhf-data ${JSON.stringify(await rlhfDataHash())}`);
