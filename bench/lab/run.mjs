// Bundles the lab (WGSL as text) with esbuild and runs it: node bench/lab/run.mjs [--quick] [--only 05,06] [--probe]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = join(root, 'node_modules', '.cache', 'ossify-lab');
mkdirSync(outDir, { recursive: true });
await build({
  entryPoints: [join(root, 'bench/lab/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: join(outDir, 'lab.mjs'),
  loader: { '.wgsl': 'text' },
  external: ['webgpu'],
});
const r = spawnSync(process.execPath, [join(outDir, 'lab.mjs'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
