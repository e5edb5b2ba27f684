/**
 * Builds the benchmark and the browser bundles: `npx tsup --config bench/tsup.bench.config.ts`, after the
 * library build (its `clean` wipes dist/). `OSSIFY_BENCH_OUT=dir` builds elsewhere (e.g. .cache/bench
 * while other builds run).
 *
 * - dist/bench/node.js      `npm run bench`: the suite in Node (ossify + TensorFlow.js peers on Dawn).
 * - dist/bench/browser.js   `npm run bench:browser`: serves dist/bench/www and drives headless Chromium.
 * - dist/bench/www/page.js  the suite for the page (ossify + tfjs-webgpu + tfjs-wasm, platform browser).
 * - dist/bench/www/ossify.js ossify's browser bundle (plus the small network test/browser.test.ts runs).
 *
 * bench/lib/optional.ts (run-time lookup of kernels still being written) is swapped for a generated
 * module that statically imports the files that exist, so that esbuild can bundle them.
 */
import { defineConfig, type Options } from 'tsup';
import { existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPTIONAL_SOURCES } from './lib/optional-types.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Output folder (default dist/bench, where `ossify bench` looks; run after the library build, whose `clean` wipes dist/). */
const out = process.env.OSSIFY_BENCH_OUT ?? 'dist/bench';

/** esbuild plugin: bench/lib/optional.ts -> static imports of the optional sources present now. */
export const optionalPlugin = {
  name: 'ossify-optional',
  setup(build: { onResolve: Function; onLoad: Function }) {
    build.onResolve({ filter: /[\\/]optional\.js$|^\.\/optional\.js$/ }, (args: { path: string; importer: string }) => {
      if (!args.importer.includes(`${'bench'}`) || !args.importer.includes('lib')) return undefined;
      return { path: 'ossify-optional', namespace: 'ossify-optional' };
    });
    build.onLoad({ filter: /.*/, namespace: 'ossify-optional' }, () => {
      const lines: string[] = [];
      const fields: string[] = [];
      let i = 0;
      for (const [key, { file, name }] of Object.entries(OPTIONAL_SOURCES)) {
        if (!existsSync(resolve(root, file))) continue;
        lines.push(`import { ${name} as m${i} } from ${JSON.stringify(resolve(root, file))};`);
        fields.push(`${key}: m${i}`);
        i++;
      }
      lines.push(`export async function loadOptional() { return { ${fields.join(', ')} }; }`);
      return { contents: lines.join('\n'), loader: 'ts', resolveDir: root };
    });
  },
};

const common: Options = {
  format: ['esm'],
  target: 'es2022',
  sourcemap: true,
  dts: false,
  clean: false,
  splitting: false,
  loader: { '.wgsl': 'text' },
  esbuildPlugins: [optionalPlugin as never],
  outExtension: () => ({ js: '.js' }),
};

export default defineConfig([
  {
    ...common,
    entry: { node: 'bench/node.ts', browser: 'bench/browser.ts' },
    outDir: out,
    platform: 'node',
    // Resolved from node_modules at run time (tfjs's Node builds are CommonJS; Dawn is native).
    external: ['webgpu', /^@tensorflow\//, 'puppeteer-core', /^node:/],
  },
  {
    ...common,
    entry: { page: 'bench/page.ts', ossify: 'bench/ossify-browser.ts' },
    outDir: `${out}/www`,
    platform: 'browser',
    // Only the Node path of src/gpu/device.ts names these, behind dynamic imports.
    external: ['webgpu', /^node:/],
    // Everything else is bundled (tsup would otherwise leave package dependencies external).
    noExternal: ['wgsl_reflect', /^@tensorflow\//, 'long', 'seedrandom'],
  },
]);
