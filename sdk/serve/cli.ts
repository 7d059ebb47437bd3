// `novarl serve <hf-dir> [--port 8000] [--host 127.0.0.1] [--model-name NAME] [--seed N]
//  [--batch-window-ms MS]`: NovaRL's OpenAI-compatible server for a Hugging Face model
// directory, on Node (package.json "bin", built to dist/cli.js).

import { loadServeApp, serveNode } from './index';

const USAGE = 'usage: novarl serve <hf-dir> [--port 8000] [--host 127.0.0.1] [--model-name NAME] [--seed N] [--batch-window-ms MS]';

interface CliOptions {
  dir: string;
  port: number;
  host: string;
  modelName?: string;
  seed?: number;
  batchWindowMs?: number;
}

/** Reads the command line; throws a usage message when it is wrong. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const [command, ...rest] = argv;
  if (command !== 'serve') throw new Error(command === undefined ? USAGE : `unknown command ${JSON.stringify(command)}\n${USAGE}`);
  const options: Partial<CliOptions> = { port: 8000, host: '127.0.0.1' };
  const integer = (flag: string, value: string | undefined, min: number, max: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${flag} needs an integer in [${min}, ${max}], got ${JSON.stringify(value)}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const value = rest[i + 1];
    switch (arg) {
      case '--port': options.port = integer(arg, value, 0, 65535); i++; break;
      case '--host': if (!value) throw new Error(`--host needs a value\n${USAGE}`); options.host = value; i++; break;
      case '--model-name': if (!value) throw new Error(`--model-name needs a value\n${USAGE}`); options.modelName = value; i++; break;
      case '--seed': options.seed = integer(arg, value, 0, Number.MAX_SAFE_INTEGER); i++; break;
      case '--batch-window-ms': options.batchWindowMs = integer(arg, value, 0, 10_000); i++; break;
      case '-h': case '--help': throw new Error(USAGE);
      default:
        if (arg.startsWith('-') || options.dir !== undefined) throw new Error(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
        options.dir = arg;
    }
  }
  if (options.dir === undefined) throw new Error(`the model directory is missing\n${USAGE}`);
  return options as CliOptions;
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const { dir, port, host, ...appOptions } = options;
  const app = await loadServeApp(dir, appOptions);
  const server = await serveNode(app, { port, host });
  console.log(`novarl serve: ${dir} as "${appOptions.modelName ?? dir.split(/[\\/]/).filter(Boolean).pop()}" on ${server.url} (POST /v1/completions, /v1/chat/completions, /novarl/update_weights; GET /v1/models, /health)`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`novarl serve: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
