import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    {
      name: 'wgsl-as-text',
      transform(code: string, id: string) {
        if (id.endsWith('.wgsl')) return { code: `export default ${JSON.stringify(code)};`, map: null };
        return undefined;
      },
    },
  ],
  test: {
    include: ['test/**/*.test.ts'],
    // A kernel compiles on first use: with a cold shader cache (a fresh machine) lavapipe's LLVM takes
    // seconds per GEMM kernel. Cold on 2 cores the longest single test took 47 s; a stuck one fails at 300 s.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // CI (.ci/run) stops at the first failure: one stuck GPU would otherwise time out every test after it.
    bail: Number(process.env.OSSIFY_TEST_BAIL ?? 0),
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
