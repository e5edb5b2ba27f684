/**
 * `npm run bench`: the suite in Node. ossify, TensorFlow.js's WebGPU backend and jax-js's WebGPU
 * backend run on the same Dawn adapter (the one ossify picks: OSSIFY_ADAPTER / VK_ICD_FILENAMES, else
 * hardware, lavapipe, SwiftShader); tfjs's WASM backend is the CPU reference.
 */
import { parseCli, writeJsonRows, writeOutputs } from './lib/cli.js';
import { ossifyEngine } from './lib/engine-ossify.js';
import { tfjsEngine } from './lib/engine-tfjs.js';
import { jaxEngine } from './lib/engine-jax.js';
import { jaxInNode } from './lib/jax-node.js';
import { runSuite } from './lib/suite.js';
import { unavailableEngine, type Engine } from './lib/engine.js';
import { runtime, shutdown } from '../src/index.js';
import { compileLine } from '../src/cli-compiles.js';

async function tfjsInNode(withWasm: boolean): Promise<{
  tf: typeof import('@tensorflow/tfjs-core');
  tfl: typeof import('@tensorflow/tfjs-layers');
  adapter: string;
}> {
  // tfjs-webgpu looks for navigator.gpu: give it a Dawn instance created with the same
  // VK_ICD_FILENAMES that ossify's adapter choice left in the environment.
  const { create } = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU };
  const gpu = create([]);
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu, userAgent: 'node' },
    configurable: true,
    writable: true,
  });
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const adapter = a ? [a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(' ') : 'none';
  const core = (await import('@tensorflow/tfjs-core')) as unknown as Record<string, unknown>;
  const tf = (typeof core.setBackend === 'function' ? core : core.default) as typeof import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  // Only when asked: the GPU machine's pack (scripts/gpu-prepare.sh) leaves the WASM backend out.
  if (withWasm) await import('@tensorflow/tfjs-backend-wasm');
  const layers = (await import('@tensorflow/tfjs-layers')) as unknown as Record<string, unknown>;
  const tfl = (
    typeof layers.model === 'function' ? layers : layers.default
  ) as typeof import('@tensorflow/tfjs-layers');
  tf.env().set('PROD', true);
  return { tf, tfl, adapter };
}

async function main(): Promise<void> {
  const o = parseCli(process.argv.slice(2));
  const want = (e: string): boolean => !o.engines || o.engines.includes(e);
  const engines: Engine[] = [];
  const notes: string[] = [
    'Node, Dawn (the `webgpu` package); each sample: recorded work, then submitted between two timestamp ' +
      'passes, queue drained (see bench/README.md)',
  ];
  const ours = await ossifyEngine();
  if (want('ossify')) engines.push(ours);
  // Only when named: ossify with depthwise convolutions on the general grouped kernel (old vs new).
  if (o.engines?.includes('ossify-grouped')) engines.push(await ossifyEngine({ depthwise: 'grouped' }));
  const ossifyAdapter = ours.adapter;
  const peers =
    want('tfjs-webgpu') || want('tfjs-wasm')
      ? await tfjsInNode(want('tfjs-wasm')).catch((e: Error) => {
          // TensorFlow.js is a devDependency: an installed ossify runs the suite on itself alone.
          console.warn(`TensorFlow.js peers unavailable (${e.message.split('\n')[0]}); running ossify only`);
          return null;
        })
      : null;
  if (peers) {
    const { tf, tfl, adapter } = peers;
    if (!ossifyAdapter.includes(adapter.split(' ').slice(-1)[0] ?? ''))
      console.warn(`warning: tfjs-webgpu adapter '${adapter}' differs from ossify's '${ossifyAdapter}'`);
    for (const b of ['webgpu', 'wasm'] as const) {
      if (!want(`tfjs-${b}`)) continue;
      try {
        engines.push(await tfjsEngine(tf, tfl, b, b === 'wasm' ? 'cpu (wasm, single thread in Node)' : adapter));
      } catch (e) {
        console.error(`tfjs-${b} unavailable: ${(e as Error).message}`);
      }
    }
  }
  // jax-js last: its Dawn instance replaces navigator.gpu, after tfjs-webgpu has taken its device.
  const jax = want('jax-webgpu')
    ? await jaxInNode().catch((e: Error) => {
        // jax-js is a devDependency too: without it the suite runs without this peer.
        console.warn(`jax-js peer unavailable (${e.message.split('\n')[0]})`);
        return null;
      })
    : null;
  if (jax) {
    if (!ossifyAdapter.includes(jax.adapter.split(' ').slice(-1)[0] ?? ''))
      console.warn(`warning: jax-webgpu adapter '${jax.adapter}' differs from ossify's '${ossifyAdapter}'`);
    try {
      engines.push(await jaxEngine(jax.jax, jax.adapter));
    } catch (e) {
      // Installed but its device failed: keep the peer as error rows so the gap shows.
      console.error(`jax-webgpu unavailable: ${(e as Error).message}`);
      engines.push(unavailableEngine('jax-webgpu', jax.adapter, (e as Error).message.split('\n')[0]));
    }
  }
  for (const e of engines) notes.push(...(e.notes ?? []));
  console.log(`bench (node${o.quick ? ', quick' : ''}): ${engines.map((e) => `${e.name} on ${e.adapter}`).join('; ')}`);
  const rows = await runSuite(
    engines,
    {
      quick: o.quick,
      filter: o.filter,
      samples: o.samples,
      batches: o.batches,
      realGpu: !runtime().info.isCpu,
      progress: (rows) => writeJsonRows(rows, o),
    },
    'node',
  );
  writeOutputs(rows, o, 'node', `ossify benchmark (Node, ${runtime().info.kind})`, notes);
  console.log(compileLine(await runtime().compileStats()));
  shutdown();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
