/**
 * The suite inside a Chromium page (bundled for the browser by bench/tsup.bench.config.ts): ossify,
 * tfjs-webgpu, jax-webgpu (all on navigator.gpu's adapter) and tfjs-wasm. bench/browser.ts calls
 * `window.ossifyBench(options)` and collects the rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import * as jax from '@jax-js/jax';
import { runtime } from '../src/index.js';
import { ossifyEngine } from './lib/engine-ossify.js';
import { tfjsEngine } from './lib/engine-tfjs.js';
import { jaxEngine } from './lib/engine-jax.js';
import { runSuite } from './lib/suite.js';
import { unavailableEngine, type Engine } from './lib/engine.js';
import type { Row } from './lib/types.js';

async function ossifyBench(o: {
  quick: boolean;
  filter?: string[];
  engines?: string[];
  samples?: number;
  batches?: number[];
}): Promise<{ rows: Row[]; notes: string[]; adapter: string }> {
  const want = (e: string): boolean => !o.engines || o.engines.includes(e);
  const a = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  const adapter = a ? [a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(' ') : 'none';
  console.log(`chromium adapter: ${adapter}; features: ${a ? [...a.features].join(',') : '-'}`);
  const engines: Engine[] = [];
  const ours = await ossifyEngine();
  console.log(`ossify: ${ours.adapter}; cpu adapter (CPU kernel variants): ${runtime().info.isCpu}`);
  if (want('ossify')) engines.push(ours);
  setWasmPaths('/wasm/');
  tf.env().set('PROD', true);
  for (const b of ['webgpu', 'wasm'] as const) {
    if (!want(`tfjs-${b}`)) continue;
    try {
      const threads = navigator.hardwareConcurrency;
      engines.push(
        await tfjsEngine(
          tf,
          tfl,
          b,
          b === 'wasm'
            ? `cpu (wasm; ${crossOriginIsolated ? 'threads allowed' : 'single thread'}, ${threads} logical cores)`
            : adapter,
        ),
      );
    } catch (e) {
      console.log(`tfjs-${b} unavailable: ${(e as Error).message}`);
    }
  }
  if (want('jax-webgpu')) {
    try {
      engines.push(await jaxEngine(jax, adapter));
    } catch (e) {
      console.log(`jax-webgpu unavailable: ${(e as Error).message}`);
      engines.push(unavailableEngine('jax-webgpu', adapter, (e as Error).message.split('\n')[0]));
    }
  }
  const notes = [
    'Chromium (headless), navigator.gpu; each sample: recorded work, then submitted between two timestamp ' +
      'passes, queue drained (see bench/README.md)',
  ];
  for (const e of engines) notes.push(...(e.notes ?? []));
  const rows = await runSuite(
    engines,
    {
      quick: o.quick,
      filter: o.filter,
      samples: o.samples,
      batches: o.batches,
      realGpu: !runtime().info.isCpu,
      log: (m) => console.log(m),
    },
    'chromium',
  );
  return { rows, notes, adapter };
}

(globalThis as unknown as { ossifyBench: typeof ossifyBench }).ossifyBench = ossifyBench;
