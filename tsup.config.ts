import { defineConfig } from 'tsup';

export default defineConfig({
  // index: the engine (browser-safe: Node and browser bundles import it); node: the Node-only parts
  // (data pipeline, trainer, weight files); cli: the `ossify` command.
  entry: { index: 'src/index.ts', node: 'src/node.ts', cli: 'src/cli.ts', 'decode-worker': 'src/data/decode-worker.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', node: 'src/node.ts' } },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: true,
  loader: { '.wgsl': 'text' },
  // Node-only modules stay external: the browser path never imports them.
  external: ['webgpu', 'sharp', 'h5wasm', 'pngjs', 'csv-parse', 'jpeg-js'],
});
