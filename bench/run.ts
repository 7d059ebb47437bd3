// Runs every benchmark in one process and prints a table, or with --json one JSON object per
// line. `npm run bench`, `npm run bench -- --json`, `npm run bench -- --quick`, and a name to
// run only some: `npm run bench -- matmul`.
//
// A benchmark is a module exporting an async function that returns rows (bench/util.ts);
// add new ones to BENCHES.

import { benchAttention } from './attention';
import { benchGenerate } from './generate';
import { benchGptTrain } from './gpt_train';
import { benchElementwise } from './elementwise';
import { benchMatmul } from './matmul';
import { benchPpoStep } from './ppo_step';
import { benchServeLoad } from './serve_load';
import { printJsonLines, printTable, type BenchFn, type BenchRow } from './util';

const BENCHES: { name: string; run: BenchFn }[] = [
  { name: 'matmul', run: benchMatmul },
  { name: 'ppo_step', run: benchPpoStep },
  { name: 'attention', run: benchAttention },
  { name: 'generate', run: benchGenerate },
  { name: 'gpt_train', run: benchGptTrain },
  { name: 'elementwise', run: benchElementwise },
  { name: 'serve_load', run: (options) => benchServeLoad(options) },
];

async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  const quick = argv.includes('--quick');
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
  }
  const selected = names.length > 0 ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
  const rows: BenchRow[] = [];
  for (const bench of selected) {
    const result = await bench.run({ quick });
    if (json) printJsonLines(result);
    rows.push(...result);
  }
  if (!json) {
    console.log(`node ${process.version}, one thread; figures from the median of timed samples; ratio: above 1 means NovaRL is faster`);
    printTable(rows);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
