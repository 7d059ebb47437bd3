// GRPO on the tiny pretrained GPT with rollouts from an OpenAI-compatible server (vLLM's
// protocol) and a weight sync after every update. By default it starts NovaRL's own server in
// this process on 127.0.0.1 (its model on its own core), so it runs anywhere:
//
//   npx tsx examples/grpo_openai_engine.ts                          # NovaRL's server, in process
//   npx tsx examples/grpo_openai_engine.ts --compare-local          # also the same run with the local engine
//   npx tsx examples/grpo_openai_engine.ts --base-url http://gpu:8000 --model tiny-gpt --sync novarl
//   npx tsx examples/grpo_openai_engine.ts --base-url http://gpu:8000 --model /mnt/models/tiny-gpt \
//       --sync vllm --vllm-dir /mnt/models/tiny-gpt                     # vLLM, VLLM_SERVER_DEV_MODE=1
//
// The reward is a rule (the share of the letter "e" among the completion's letters), so nothing
// beyond the SDK is needed and it learns within a few steps.

import { GRPOTrainer, NoWeightSync, NovaRLServerWeightSync, OpenAICompatibleEngine, VllmReloadWeightSync, init, loadHuggingFace, type CompletionEngine, type GPT, type NamedRewardFunction, type Tokenizer, type WeightSync } from '../sdk/index';
import { createServeApp, serveNode } from '../sdk/serve/index';
import { loadOrPretrainTinyGpt } from './data/tiny_gpt';
import type { PretrainConfig } from './pretrain_gpt';

// What --sync vllm writes for the server to reload (never the pretrained cache the run starts from)
const VLLM_DIR = 'checkpoints/grpo_openai_engine/served';
const PROMPTS = ['It is a truth universally', 'She was not', 'The evening passed', 'Mr. Darcy', 'Her sister', 'In the morning', 'They walked', 'He said that'];

/** Example settings (command-line flags in brackets). */
interface ExampleConfig {
  /** Server root; none: start NovaRL's server in this process [--base-url]. */
  baseUrl?: string;
  /** Served model name [--model]. */
  model: string;
  /** 'novarl' (POST the weights), 'vllm' (write --vllm-dir, reload), 'none' [--sync]. */
  sync: 'novarl' | 'vllm' | 'none';
  /** Directory vLLM serves, for --sync vllm [--vllm-dir]. */
  vllmDir?: string;
  /** GRPO updates [--steps]. */
  steps: number;
  seed: number;
  /** Run the same training with the in-process engine and print both final rewards [--compare-local]. */
  compareLocal: boolean;
  /** Print nothing per step. */
  quiet?: boolean;
  /** The pretrained tiny GPT's directory (default checkpoints/tiny-gpt) and pretraining overrides (tests use a small one). */
  tinyGptDir?: string;
  tinyGptConfig?: Partial<PretrainConfig>;
}

export interface ExampleResult {
  /** Mean reward per step, rollouts from the server. */
  remote: number[];
  remoteHash: string;
  /** The same with the in-process engine (--compare-local). */
  local?: number[];
  localHash?: string;
}

export function parseArgs(argv: readonly string[]): ExampleConfig {
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    baseUrl: value('base-url'),
    model: value('model') ?? 'tiny-gpt',
    sync: (value('sync') ?? 'novarl') as ExampleConfig['sync'],
    vllmDir: value('vllm-dir'),
    steps: Number(value('steps') ?? 12),
    seed: Number(value('seed') ?? 1),
    compareLocal: argv.includes('--compare-local'),
  };
}

const eShare: NamedRewardFunction = {
  name: 'e_share',
  fn: (_prompts, completions) =>
    completions.map((text) => {
      const letters = text.replace(/[^a-z]/gi, '');
      return letters.length === 0 ? 0 : (letters.match(/e/gi)?.length ?? 0) / letters.length;
    }),
};

/** FNV-1a (32-bit) over the parameters' float32 bytes: equal hashes, equal weights. */
function parameterHash(model: GPT): string {
  let h = 0x811c9dc5;
  for (const [, p] of model.namedParameters()) {
    const bytes = new Uint8Array(p.toArray().buffer);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

async function train(label: string, policy: GPT, tokenizer: Tokenizer, engine: CompletionEngine | undefined, sync: WeightSync | undefined, c: ExampleConfig): Promise<number[]> {
  const dataset = PROMPTS.map((text) => ({ text, ids: tokenizer.encode(text), fields: {} }));
  const trainer = new GRPOTrainer({
    policy,
    tokenizer,
    dataset,
    rewardFuncs: [eShare],
    engine,
    weightSync: sync, // after every update: the server holds the trainer's weights before the next rollout
    config: { promptsPerStep: 4, numGenerations: 4, maxNewTokens: 24, temperature: 1, learningRate: 3e-3, seed: c.seed },
  });
  const rewards: number[] = [];
  try {
    for (let s = 0; s < c.steps; s++) {
      const m = await trainer.step();
      rewards.push(m['reward']!);
      const gap = m['engine/logprob_delta_max'] === undefined ? '' : `  |dlogp| max ${m['engine/logprob_delta_max'].toExponential(2)}`;
      if (!c.quiet) console.log(`${label} step ${trainer.updates}: reward ${m['reward']!.toFixed(4)}  kl ${(m['objective/kl'] ?? 0).toFixed(4)}  generation ${m['timing/generation_s']!.toFixed(2)} s${gap}`);
    }
  } finally {
    trainer.free();
  }
  return rewards;
}

export async function main(c: ExampleConfig): Promise<ExampleResult> {
  await init();
  const tiny = { dir: c.tinyGptDir, config: c.tinyGptConfig, verbose: false };
  const { model: policy, tokenizer } = await loadOrPretrainTinyGpt(tiny);
  const modelDir = c.tinyGptDir ?? 'checkpoints/tiny-gpt';

  let stopServer = async () => {};
  let baseUrl = c.baseUrl;
  if (!baseUrl) {
    // NovaRL's server in this process, its model on its own core (serving never draws from the trainer's generator)
    const served = await loadHuggingFace(modelDir, { core: await init({ setDefault: false }), valueHead: false });
    const app = createServeApp({ model: served.model, tokenizer, modelName: c.model });
    const server = await serveNode(app, { port: 0 });
    baseUrl = server.url;
    stopServer = async () => {
      await server.close();
      app.close({ freeModel: true });
    };
    if (!c.quiet) console.log(`NovaRL's server on ${baseUrl}`);
  }
  const engine = new OpenAICompatibleEngine({ baseUrl, model: c.model, vocabSize: tokenizer.vocabSize, tokenizer, maxPromptsPerRequest: 8 });
  const sync: WeightSync =
    c.sync === 'none' ? new NoWeightSync()
    : c.sync === 'vllm' ? new VllmReloadWeightSync(engine, { directory: c.vllmDir ?? VLLM_DIR, tokenizer })
    : new NovaRLServerWeightSync(engine);
  try {
    // start from a server that provably holds the trainer's weights
    await sync.afterUpdate(policy, 0);
    const result: ExampleResult = { remote: await train('remote', policy, tokenizer, engine, sync, c), remoteHash: parameterHash(policy) };
    console.log(`remote: reward ${result.remote[0]!.toFixed(4)} -> ${result.remote[result.remote.length - 1]!.toFixed(4)}, parameters ${result.remoteHash}`);
    if (c.compareLocal) {
      const { model: fresh } = await loadOrPretrainTinyGpt(tiny);
      result.local = await train('local ', fresh, tokenizer, undefined, undefined, c);
      result.localHash = parameterHash(fresh);
      console.log(`local:  reward ${result.local[0]!.toFixed(4)} -> ${result.local[result.local.length - 1]!.toFixed(4)}, parameters ${result.localHash}`);
      fresh.free();
    }
    return result;
  } finally {
    await stopServer();
    policy.free();
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('grpo_openai_engine.ts')) {
  await main(parseArgs(process.argv.slice(2)));
}
