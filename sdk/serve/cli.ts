// `novarl serve <hf-dir> [--port 8000] [--host 127.0.0.1] [--model-name NAME] [--seed N]
//  [--batch-window-ms MS]`: NovaRL's OpenAI-compatible server for a Hugging Face model
// directory, on Node (package.json "bin", built to dist/cli.js).

import { parseArgs, type CliOptions } from './cli_args';
import { loadServeApp, serveNode } from './index';

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
