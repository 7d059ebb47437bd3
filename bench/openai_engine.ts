// The OpenAI-compatible engine against a server on 127.0.0.1, beside the in-process engine, with
// the tiny pretrained GPT (checkpoints/tiny-gpt): one collectLmRollout per timed call, 8 prompts x
// n = 4, 32 new tokens, temperature 0.9, EOS stops. Prints rollouts/s (completions per second of
// generation), generated tokens/s, and the engine-trainer log-prob gap (collectLmRollout's
// offPolicy stats; ~0 expected at equal weights and sampling settings). One untimed warm-up
// rollout per engine first.
//
//   npx tsx bench/openai_engine.ts                       # starts NovaRL's server in this process
//   npx tsx bench/openai_engine.ts --base-url http://host:8000 --model name
//
// The in-process server runs on the same thread as the trainer, so the remote figure is the
// local one plus HTTP, JSON and validation overhead, not a measure of a separate machine.

import { LocalCompletionEngine, OpenAICompatibleEngine, collectLmRollout, init, loadHuggingFace, type CompletionEngine, type PromptRow } from '../sdk/index';
import { createServeApp, serveNode } from '../sdk/serve/index';
import { loadOrPretrainTinyGpt } from '../examples/data/tiny_gpt';

const PROMPTS = ['It is a truth universally', 'She was not', 'The evening passed', 'Mr. Darcy', 'Her sister', 'In the morning', 'They walked', 'He said that'];
const N = 4, NEW_TOKENS = 32, TEMPERATURE = 0.9, REPEATS = 3;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  await init();
  const { model: policy, tokenizer } = await loadOrPretrainTinyGpt({ verbose: false });
  const rows: PromptRow[] = PROMPTS.map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
  const sampling = { maxNewTokens: NEW_TOKENS, temperature: TEMPERATURE, topP: 1, topK: 0, stopTokenIds: [tokenizer.eosTokenId!] };
  const baseUrl = arg('base-url');
  // NovaRL's server on its own core, with the same weights as the trainer's policy
  const app = baseUrl ? undefined : createServeApp({ model: (await loadHuggingFace('checkpoints/tiny-gpt', { core: await init({ setDefault: false }), valueHead: false })).model, tokenizer, modelName: 'tiny-gpt' });
  const server = app && (await serveNode(app, { port: 0 }));
  const remote = new OpenAICompatibleEngine({ baseUrl: baseUrl ?? server!.url, model: arg('model') ?? 'tiny-gpt', vocabSize: tokenizer.vocabSize, maxPromptsPerRequest: 8, maxConcurrency: 2 });

  const run = async (label: string, engine: CompletionEngine) => {
    (await collectLmRollout({ engine, policy, tokenizer, prompts: rows, n: N, sampling: { ...sampling, seed: 99 } })).free(); // warm-up, untimed
    let seconds = 0, tokens = 0, completions = 0, deltaMax = 0, deltaMean = 0, ratioMin = Infinity, ratioMax = -Infinity;
    for (let r = 0; r < REPEATS; r++) {
      const rollout = await collectLmRollout({ engine, policy, tokenizer, prompts: rows, n: N, sampling: { ...sampling, seed: 100 + r } });
      seconds += rollout.generationSeconds;
      tokens += rollout.completions.completionIds.reduce((s, c) => s + c.length, 0);
      completions += rollout.completions.completionIds.length;
      const off = rollout.offPolicy!;
      deltaMax = Math.max(deltaMax, off.deltaMax);
      deltaMean += off.deltaMean / REPEATS;
      ratioMin = Math.min(ratioMin, off.ratioMin);
      ratioMax = Math.max(ratioMax, off.ratioMax);
      rollout.free();
    }
    console.log(`${label.padEnd(34)} ${(completions / seconds).toFixed(1).padStart(7)} rollouts/s ${(tokens / seconds).toFixed(0).padStart(6)} tokens/s   |dlogp| mean ${deltaMean.toExponential(2)} max ${deltaMax.toExponential(2)}   ratio [${ratioMin.toFixed(6)}, ${ratioMax.toFixed(6)}]`);
  };
  console.log(`tiny GPT (V=${tokenizer.vocabSize}), ${PROMPTS.length} prompts x n=${N}, ${NEW_TOKENS} new tokens, temperature ${TEMPERATURE}, ${REPEATS} rollouts each`);
  await run('local engine', new LocalCompletionEngine(policy));
  await run(baseUrl ? `remote ${baseUrl}` : 'remote (127.0.0.1, same process)', remote);
  await server?.close();
  app?.close({ freeModel: true });
  policy.free();
}

await main();
