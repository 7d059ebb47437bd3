// The command line of `novarl serve` (sdk/serve/cli.ts), parsed into typed options: a wrong
// one is an error whose message ends with the usage line.

export const USAGE = 'usage: novarl serve <hf-dir> [--port 8000] [--host 127.0.0.1] [--model-name NAME] [--seed N] [--batch-window-ms MS]';

export interface CliOptions {
  /** The Hugging Face model directory to serve. */
  dir: string;
  /** Default 8000 (vLLM's); 0 picks a free one (printed). */
  port: number;
  /** Default 127.0.0.1 (loopback only). */
  host: string;
  /** The name clients send as `model`; default the directory's name. */
  modelName?: string;
  /** Seed of the stream unseeded requests draw from; default 0. */
  seed?: number;
  /** How long a batch's first request waits for others, ms; default 2. */
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
