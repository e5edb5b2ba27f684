/**
 * Adapter choice (Node): hardware wins, else lavapipe, else SwiftShader; OSSIFY_ADAPTER forces one.
 * Each choice runs in a child process, since a process holds one Dawn instance for its runtime.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { classifyAdapter, ICD } from '../src/gpu/device.js';

let script = '';
const root = resolve(__dirname, '..');

beforeAll(async () => {
  // Inside node_modules so that the bundle's `import 'webgpu'` resolves (ESM ignores NODE_PATH).
  mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(root, 'node_modules', '.cache', 'ossify-adapter-'));
  const bundle = join(dir, 'device.mjs');
  await build({
    entryPoints: [join(root, 'src/gpu/device.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: bundle,
    external: ['webgpu'],
  });
  script = join(dir, 'probe.mjs');
  writeFileSync(
    script,
    `import { acquireDevice } from ${JSON.stringify(bundle)};
     try {
       const d = await acquireDevice({ verbose: false });
       console.log(JSON.stringify(d.info));
       d.device.destroy();
       process.exit(0);
     }
     catch (e) { console.log(JSON.stringify({ error: String(e.message) })); process.exit(0); }`,
  );
});

function probe(env: Record<string, string | undefined>): {
  kind?: string;
  reason?: string;
  error?: string;
  limits?: Record<string, number>;
  isCpu?: boolean;
} {
  const e = { ...process.env } as Record<string, string | undefined>;
  delete e.OSSIFY_ADAPTER;
  delete e.VK_ICD_FILENAMES;
  Object.assign(e, env);
  const out = execFileSync(process.execPath, [script], {
    env: e as NodeJS.ProcessEnv,
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('adapter classification', () => {
  it('recognises the software adapters by what they report', () => {
    expect(
      classifyAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' }),
    ).toBe('swiftshader');
    expect(
      classifyAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)' }),
    ).toBe('lavapipe');
    expect(classifyAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' })).toBe(
      'hardware',
    );
  });
});

describe('adapter selection in child processes', () => {
  it('picks lavapipe by default without a GPU, with the adapter maximum limits', () => {
    const r = probe({});
    expect(r.kind).toBe('lavapipe');
    expect(r.isCpu).toBe(true);
    expect(r.reason).toMatch(/lavapipe/);
    // WebGPU's default maxBufferSize is 256 MiB; we ask for the adapter's own (4 GiB on lavapipe).
    expect(r.limits!.maxBufferSize).toBeGreaterThan(256 * 1024 * 1024);
  });
  it('OSSIFY_ADAPTER=swiftshader forces SwiftShader', () => {
    const r = probe({ OSSIFY_ADAPTER: 'swiftshader' });
    expect(r.kind).toBe('swiftshader');
    expect(r.reason).toMatch(/forced/);
  });
  it('an explicit ICD file path works', () => {
    const r = probe({ OSSIFY_ADAPTER: ICD.swiftshader.find(existsSync) });
    expect(r.kind).toBe('swiftshader');
  });
  it('a missing ICD gives an error that says how to install an adapter', () => {
    const r = probe({ OSSIFY_ADAPTER: '/nonexistent/icd.json' });
    expect(r.error).toMatch(/no WebGPU adapter|gave no WebGPU adapter/);
    expect(r.error).toMatch(/apt-get install/);
  });
});
