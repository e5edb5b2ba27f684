import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  // Node-only modules stay external: the browser path never imports them.
  external: ['webgpu', 'sharp', 'h5wasm', 'node:*'],
});
