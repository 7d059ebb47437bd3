// The browser run: browser.html loads this file as plain ESM (an import map resolves 'novarl'),
// and tests/runtimes.test.ts also bundles it with esbuild, as an app would ship it. The result
// line goes to the console and into #result, which gets data-done when the run is over.
import { runBoth } from './train.mjs';

const out = document.getElementById('result') ?? document.body.appendChild(Object.assign(document.createElement('pre'), { id: 'result' }));
try {
  const line = await runBoth('chromium');
  console.log(line);
  out.textContent = line;
} catch (error) {
  out.textContent = `error ${error.stack ?? error}`;
}
out.dataset.done = 'true';
