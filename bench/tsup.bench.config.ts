/**
 * Builds the benchmark and the browser bundles: `npx tsup --config bench/tsup.bench.config.ts`, after the
 * library build (its `clean` wipes dist/). `OSSIFY_BENCH_OUT=dir` builds elsewhere (e.g. .cache/bench
 * while other builds run).
 *
 * - dist/bench/node.js      `npm run bench`: the suite in Node (ossify + TensorFlow.js and jax-js peers on Dawn).
 * - dist/bench/browser.js   `npm run bench:browser`: serves dist/bench/www and drives headless Chromium.
 * - dist/bench/cold-start.js `npm run bench:cold`: time to the first training step / prediction in fresh
 *   processes, shader cache off.
 * - dist/bench/report.js    `npm run bench:report -- RUN.json ...`: rewrites a run's table and chart from its
 *   JSON rows.
 * - dist/bench/www/page.js  the suite for the page (ossify + tfjs-webgpu + jax-webgpu + tfjs-wasm, platform browser).
 * - dist/bench/www/ossify.js ossify's browser bundle (plus the small network test/browser.test.ts runs).
 * - dist/bench/node-gpu.js  only with OSSIFY_BENCH_GPU=1 (scripts/gpu-prepare.sh): the Node suite with its
 *   TensorFlow.js WebGPU and jax-js peers bundled in, no source map, for the GPU machine, where
 *   node_modules holds only the production dependencies (the peers' packages would not fit the
 *   transfer limit: 161 MiB unpacked, 9 MiB more compressed).
 */
import { defineConfig, type Options } from 'tsup';

/**
 * Output folder (default dist/bench, where `ossify bench` looks; run after the library build, whose
 * `clean` wipes dist/).
 */
const out = process.env.OSSIFY_BENCH_OUT ?? 'dist/bench';

const common: Options = {
  format: ['esm'],
  target: 'es2022',
  sourcemap: true,
  dts: false,
  clean: false,
  splitting: false,
  loader: { '.wgsl': 'text' },
  outExtension: () => ({ js: '.js' }),
};

const nodeSuite: Options = {
  ...common,
  entry: {
    node: 'bench/node.ts',
    browser: 'bench/browser.ts',
    report: 'bench/report.ts',
    'cold-start': 'bench/cold-start.ts',
  },
  outDir: out,
  platform: 'node',
  // Resolved from node_modules at run time (tfjs's Node builds are CommonJS; Dawn is native; the
  // peers are devDependencies, imported dynamically so that the suite runs without them).
  external: ['webgpu', /^@tensorflow\//, /^@jax-js\//, 'puppeteer-core', /^node:/],
};

const gpuSuite: Options = {
  ...nodeSuite,
  entry: { 'node-gpu': 'bench/node.ts' },
  sourcemap: false,
  minify: true,
  // tfjs-wasm stays out (the GPU run does not ask for it; bench/node.ts imports it only when asked).
  external: ['webgpu', '@tensorflow/tfjs-backend-wasm', 'puppeteer-core', /^node:/],
  noExternal: [/^@tensorflow\/tfjs-(core|backend-webgpu|layers)/, /^@jax-js\//, 'long', 'seedrandom'],
  // tfjs's CommonJS builds call require() for Node built-ins; an ES module has no require of its own.
  banner: {
    js:
      "import { createRequire as __ossifyRequire } from 'node:module'; const require = " +
      '__ossifyRequire(import.meta.url);',
  },
};

export default defineConfig([
  nodeSuite,
  ...(process.env.OSSIFY_BENCH_GPU ? [gpuSuite] : []),
  {
    ...common,
    entry: { page: 'bench/page.ts', ossify: 'bench/ossify-browser.ts' },
    outDir: `${out}/www`,
    platform: 'browser',
    // Only the Node path of src/gpu/device.ts names these, behind dynamic imports.
    external: ['webgpu', /^node:/],
    // Everything else is bundled (tsup would otherwise leave package dependencies external).
    noExternal: ['wgsl_reflect', /^@tensorflow\//, /^@jax-js\//, 'long', 'seedrandom'],
  },
]);
