// GRPO with a verifiable reward on the tiny pretrained GPT (the Austen corpus): each prompt ends
// in a title, and the exact checker accepts a completion whose first word is that prompt's
// name ("said Mr." -> Knightley, "said Mrs." -> Weston, ...). The pretrained model already
// names Austen's characters after a title, but picks among them almost at random; GRPO has to
// teach it which name each prompt wants, from a 0/1 reward alone.
//
//   1. load the tiny GPT (checkpoints/tiny-gpt; pretrained on first use)
//   2. exact-match rate and samples before training
//   3. GRPOTrainer: 8 completions per prompt, group-relative advantages, the chosen loss type
//   4. exact-match rate and samples after, and the model saved as a Hugging Face directory
//
//   npx tsx examples/grpo_verifiable.ts                       (lossType dapo, TRL's default)
//   npx tsx examples/grpo_verifiable.ts --lossType grpo --steps 80

import { CompletionsTable, GRPOTrainer, LocalCompletionEngine, PromptDataset, formatCompletionsTable, init, saveHuggingFace, type CompletionRecord, type GRPOConfig, type GRPOLossType, type NamedRewardFunction } from '../sdk/index';
import { loadOrPretrainTinyGpt } from './data/tiny_gpt';

// ---- configuration -------------------------------------------------------------------------

export const config = {
  /** Generation batches (GRPO steps). */
  steps: 80,
  lossType: 'dapo' as GRPOLossType,
  /** Samples per prompt for the exact-match rate (temperature 1, a fixed seed). */
  evalSamples: 64,
  /** Where the trained model goes ('' skips saving); the loss type is appended. */
  outDir: 'checkpoints/grpo-verifiable',
  /** The completions table of every step, as JSON Lines ('' keeps none); the loss type is appended. */
  completionsPath: 'checkpoints/grpo-verifiable-completions',
  logEvery: 5,
  quiet: false,
  grpo: {
    promptsPerStep: 4,
    numGenerations: 8,
    maxNewTokens: 4, // a name is one to three tokens; the checker reads the first word
    temperature: 1,
    learningRate: 3e-4,
    beta: 0,
    seed: 1,
  } as Partial<GRPOConfig>,
};

export type VerifiableConfig = Omit<typeof config, 'grpo'> & { grpo: Partial<GRPOConfig> };

/** Each prompt and the name the checker wants after it. */
export const TASK: readonly { prompt: string; answer: string }[] = [
  { prompt: 'said Mr.', answer: 'Knightley' },
  { prompt: 'said Mrs.', answer: 'Weston' },
  { prompt: 'said Miss', answer: 'Woodhouse' },
  { prompt: 'and Mr.', answer: 'Elton' },
];

/** The completion's first word (letters only). */
export function firstWord(completion: string): string {
  return completion.trim().split(/[^A-Za-z]+/)[0] ?? '';
}

/** The exact checker: 1 when the first word is the prompt's answer, else 0. */
export const exactName: NamedRewardFunction = {
  name: 'exact_name',
  fn: (_prompts, completions, extra) => completions.map((c, i) => (firstWord(c) === extra.fields[i]!['answer'] ? 1 : 0)),
};

export async function main(overrides: Partial<VerifiableConfig> = {}) {
  const c = { ...config, ...overrides, grpo: { ...config.grpo, ...overrides.grpo } };
  await init();
  const say = (...args: unknown[]) => !c.quiet && console.log(...args);
  const started = performance.now();

  // Step 1: the tiny GPT and its byte-level BPE tokenizer.
  const { model: policy, tokenizer } = await loadOrPretrainTinyGpt({ verbose: !c.quiet });
  // A completion ends at EOS or at the punctuation after a name, so lengths vary and the loss types differ
  const stopTokenIds = [tokenizer.eosTokenId!, ...[',', '.', '\n', ';', '!', '?'].map((p) => tokenizer.encode(p)).filter((ids) => ids.length === 1).map((ids) => ids[0]!)];
  const dataset = new PromptDataset(TASK.map(({ prompt, answer }) => ({ prompt, answer })), { tokenizer, seed: 1 });
  const prompts = dataset.all();

  // Step 2: how often the pretrained model already names the right character.
  const engine = new LocalCompletionEngine(policy);
  const evaluate = async () => {
    const out = await engine.complete({ prompts: prompts.map((p) => p.ids), n: c.evalSamples, maxNewTokens: c.grpo.maxNewTokens ?? 4, temperature: 1, seed: 12345, stopTokenIds });
    const texts = out.completionIds.map((ids) => tokenizer.decode(ids, { skipSpecialTokens: true }));
    const perPrompt = prompts.map((p, k) => texts.slice(k * c.evalSamples, (k + 1) * c.evalSamples).filter((t) => firstWord(t) === p.fields['answer']).length / c.evalSamples);
    return { exactMatch: perPrompt.reduce((s, x) => s + x, 0) / perPrompt.length, perPrompt, samples: prompts.map((p, k) => texts.slice(k * c.evalSamples, k * c.evalSamples + 3)) };
  };
  const show = (label: string, e: Awaited<ReturnType<typeof evaluate>>) => {
    say(`${label}: exact-match ${(100 * e.exactMatch).toFixed(1)}% (${e.perPrompt.map((x) => (100 * x).toFixed(0) + '%').join(', ')})`);
    prompts.forEach((p, k) => say(`  ${JSON.stringify(p.text)} -> ${e.samples[k]!.map((s) => JSON.stringify(s)).join('  ')}   [wants ${p.fields['answer']}]`));
  };
  const before = await evaluate();
  show('before', before);

  // Step 3: GRPO, every step's completions kept in the table (a JSONL file; a few rows shown below)
  let lastRows: readonly CompletionRecord[] = [];
  const table = c.completionsPath ? await CompletionsTable.open(`${c.completionsPath}-${c.lossType}.jsonl`, { consoleRows: 0, onRows: (_s, r) => (lastRows = r) }) : new CompletionsTable({ consoleRows: 0, onRows: (_s, r) => (lastRows = r) });
  const trainer = new GRPOTrainer({ policy, tokenizer, dataset, rewardFuncs: [exactName], completionsTable: table, config: { stopTokenIds, ...c.grpo, lossType: c.lossType } });
  const history: Record<string, number>[] = [];
  for (let step = 1; step <= c.steps; step++) {
    const m = await trainer.step();
    history.push(m);
    if (step % c.logEvery === 0 || step === c.steps) {
      say(`step ${String(step).padStart(3)}  reward ${m['reward']!.toFixed(3)}  frac_reward_zero_std ${m['frac_reward_zero_std']!.toFixed(2)}  entropy ${m['entropy']!.toFixed(3)}  length ${m['completions/mean_length']!.toFixed(2)}  clip ${m['clip_ratio/region_mean']!.toFixed(3)}  tokens ${m['tokens/generated']}  ${m['timing/step_s']!.toFixed(2)}s/step`);
      for (const line of formatCompletionsTable(lastRows.slice(0, 2))) say(`    ${line}`);
    }
  }
  table.close();
  if (table.path) say(`completions of every step: ${table.path}`);

  // Step 4: after, and the Hugging Face directory.
  const after = await evaluate();
  show('after', after);
  const outDir = c.outDir ? `${c.outDir}-${c.lossType}` : '';
  if (outDir) {
    await saveHuggingFace(outDir, policy, { tokenizer, eosTokenId: tokenizer.eosTokenId });
    say(`saved ${outDir}`);
  }
  const seconds = (performance.now() - started) / 1000;
  say(`${c.lossType}: exact-match ${(100 * before.exactMatch).toFixed(1)}% -> ${(100 * after.exactMatch).toFixed(1)}% in ${c.steps} steps, ${seconds.toFixed(1)} s`);
  trainer.free();
  return { before, after, history, seconds, outDir };
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lossType = flag('lossType') as GRPOLossType | undefined;
  const steps = flag('steps');
  await main({ ...(lossType ? { lossType } : {}), ...(steps ? { steps: Number(steps) } : {}) });
}
