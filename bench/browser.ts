/**
 * `npm run bench:browser`: serves .cache/bench/www on 127.0.0.1, opens it in headless Chromium (WebGPU on
 * SwiftShader unless OSSIFY_CHROMIUM_ADAPTER says otherwise), runs the suite in the page and writes
 * the same outputs as the Node runner. `--unsafe-timestamps` adds Dawn's allow_unsafe_apis (unquantized
 * timestamp queries).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseCli, writeOutputs } from './lib/cli.js';
import { serve } from './lib/serve.js';
import { launchChromium } from './lib/chromium.js';
import type { Row } from './lib/types.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const unsafe = argv.includes('--unsafe-timestamps');
  const o = parseCli(argv.filter((a) => a !== '--unsafe-timestamps'));
  const here = dirname(fileURLToPath(import.meta.url));
  const www = resolve(here, 'www');
  const require = createRequire(import.meta.url);
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  const html =
    '<!doctype html><meta charset="utf-8"><title>ossify bench</title><script type="module" src="/page.js"></script>';
  const server = await serve({ '/wasm/': wasmDir, '/': www }, { '/': html, '/index.html': html, '/favicon.ico': '' });
  const { browser, close } = await launchChromium({ unsafeTimestamps: unsafe });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => console.log(`[page] ${m.text()}`));
    page.on('pageerror', (e) => console.error(`[page error] ${String(e)}`));
    page.setDefaultTimeout(0);
    console.log(`chromium ${await browser.version()} at ${server.url}`);
    await page.goto(`${server.url}/`, { waitUntil: 'load' });
    await page.waitForFunction('typeof globalThis.ossifyBench === "function"');
    const res = (await page.evaluate(
      (opts) => (globalThis as unknown as { ossifyBench: (o: unknown) => Promise<unknown> }).ossifyBench(opts),
      { quick: o.quick, filter: o.filter, engines: o.engines, samples: o.samples, batches: o.batches },
    )) as { rows: Row[]; notes: string[]; adapter: string };
    const notes = [...res.notes];
    notes.push(
      unsafe
        ? 'Chromium ran with --enable-dawn-features=allow_unsafe_apis: timestamps unquantized'
        : 'Chromium without allow_unsafe_apis: timestamp queries are quantized by Chrome (negligible at these ' +
            'durations; rows show gpu-timestamp-quantized with the quantum when detected)',
    );
    writeOutputs(res.rows, o, 'browser', `ossify benchmark (Chromium, ${res.adapter})`, notes);
  } finally {
    await close();
    await server.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
void join;
