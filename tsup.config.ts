import { defineConfig } from 'tsup';

export default defineConfig({
  // index: the engine (browser-safe: Node and browser bundles import it); node: the Node-only parts
  // (data pipeline, trainer, weight files); internals: the kernels' internals and float64 references
  // (unstable: tests, benchmark, kernel lab); cli: the `ossify` command.
  entry: {
    index: 'src/index.ts',
    node: 'src/node.ts',
    internals: 'src/internals.ts',
    cli: 'src/cli.ts',
    'decode-worker': 'src/data/decode-worker.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', node: 'src/node.ts', internals: 'src/internals.ts' } },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: true,
  loader: { '.wgsl': 'text' },
  // Keep `node:fs` as written (tsup drops the prefix by default): bundlers tell Node's modules from
  // npm packages by it, and package.json's "browser" field maps them to nothing for browser builds.
  removeNodeProtocol: false,
  // Node-only modules stay external: the browser path never imports them.
  external: ['webgpu', 'sharp', 'h5wasm', 'pngjs', 'csv-parse', 'jpeg-js'],
  // The engine's one browser dependency goes into dist, so that a browser can load dist/index.js as
  // it is (its deep import path would otherwise need an import map).
  noExternal: ['wgsl_reflect'],
});
