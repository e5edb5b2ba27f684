import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { ICD } from './src/gpu/device.js';

/**
 * The suite runs once per software adapter, as a vitest project each (the runtime holds one device per
 * process, and each test file runs in its own process). Every file runs on the default adapter
 * (lavapipe where installed); a file that holds the line `// @adapters all` (the kernel and autograd
 * tests) runs again on SwiftShader, after the default project, so that a kernel wrong on either
 * software adapter fails. The SwiftShader project exists where Chromium's SwiftShader is installed and
 * no adapter was forced with OSSIFY_ADAPTER.
 */
const tests = join(dirname(fileURLToPath(import.meta.url)), 'test');
const everyAdapter = readdirSync(tests)
  .filter((f) => f.endsWith('.test.ts') && /^\/\/ @adapters all$/m.test(readFileSync(join(tests, f), 'utf8')))
  .map((f) => `test/${f}`);
const swiftshader = !process.env.OSSIFY_ADAPTER && ICD.swiftshader.some(existsSync);

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
    env: {
      // A wait for the GPU longer than this says which kernels it waits for (a stuck test names them).
      OSSIFY_GPU_WAIT_NOTICE_S: process.env.OSSIFY_GPU_WAIT_NOTICE_S ?? '120',
    },
    // A kernel compiles on first use: with a cold shader cache (a fresh machine) lavapipe's LLVM takes
    // seconds per GEMM kernel. Cold on 2 cores the longest single test took 47 s; a stuck one fails at 300 s.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // CI (.ci/run) stops at the first failure: one stuck GPU would otherwise time out every test after it.
    bail: Number(process.env.OSSIFY_TEST_BAIL ?? 0),
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      ...(swiftshader
        ? [
            {
              extends: true as const,
              test: {
                name: 'swiftshader',
                include: everyAdapter,
                env: { OSSIFY_ADAPTER: 'swiftshader' },
                sequence: { groupOrder: 1 },
              },
            },
          ]
        : []),
    ],
  },
});
