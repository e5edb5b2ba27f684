/**
 * Quick convolution timing (wall clock around `runtime().sync()`, after warm-up): forward, input
 * gradient and weight gradient of a few InceptionV3/BAM layer shapes at batch 2, in ms and GFLOP/s
 * (FLOPs = 2*N*OH*OW*Cout*KH*KW*Cin/groups per pass).
 *
 *   npx tsup bench/conv-quick.ts --format esm --loader .wgsl=text -d /tmp/convbench --external webgpu
 *   node /tmp/convbench/conv-quick.js            # lavapipe (default in Node without a GPU)
 *   OSSIFY_ADAPTER=swiftshader node /tmp/convbench/conv-quick.js
 *   node /tmp/convbench/conv-quick.js --variant shared   # force a GEMM core variant
 */
import { parseArgs } from 'node:util';
import { init, runtime, shutdown } from '../src/gpu/runtime.js';
import { Tensor, noGrad } from '../src/tensor.js';
import { setVariant } from '../src/kernels/variants.js';
import { matmul } from '../src/kernels/matmul.js';
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput, resolveConvGeometry, type Conv2dOptions } from '../src/kernels/conv2d.js';

interface Layer { name: string; x: number[]; w: number[]; opts: Conv2dOptions }
const LAYERS: Layer[] = [
  { name: '3x3 32->64 35x35 same', x: [2, 35, 35, 32], w: [3, 3, 32, 64], opts: { padding: 'same' } },
  { name: '1x7 128->128 17x17 same', x: [2, 17, 17, 128], w: [1, 7, 128, 128], opts: { padding: 'same' } },
  { name: '1x1 256->64 35x35', x: [2, 35, 35, 256], w: [1, 1, 256, 64], opts: {} },
  { name: '3x3 s2 valid 64->96 35x35', x: [2, 35, 35, 64], w: [3, 3, 64, 96], opts: { stride: 2 } },
  { name: '3x3 dil4 pad4 16->16 17x17', x: [2, 17, 17, 16], w: [3, 3, 16, 16], opts: { dilation: 4, padding: [4, 4, 4, 4] } },
  { name: 'depthwise 3x3 96 35x35 same', x: [2, 35, 35, 96], w: [3, 3, 1, 96], opts: { padding: 'same', groups: 96 } },
];

const { values } = parseArgs({ options: { variant: { type: 'string' }, reps: { type: 'string', default: '7' } } });

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

/**
 * Best (minimum) ms of `reps` timed runs of each of `fns` (each run recorded, then synced), after one
 * warm-up each. The runs of the different functions alternate, and on a shared CPU the minimum is the
 * least disturbed by other processes, so the columns of a row stay comparable.
 */
async function timeAll(fns: (() => Tensor)[], reps: number): Promise<number[]> {
  const rt = runtime();
  for (const fn of fns) fn().dispose();
  await rt.sync();
  const best = fns.map(() => Infinity);
  for (let i = 0; i < reps; i++)
    for (const [j, fn] of fns.entries()) {
      const t0 = performance.now();
      const out = fn();
      await rt.sync();
      best[j] = Math.min(best[j], performance.now() - t0);
      out.dispose();
    }
  return best;
}

async function main(): Promise<void> {
  const rt = await init({ verbose: true });
  if (values.variant) setVariant('gemm', values.variant);
  const reps = Number(values.reps);
  console.log(`adapter: ${rt.info.kind} (${rt.info.description}); gemm variant: ${values.variant ?? 'default'}; wall clock, best of ${reps}`);
  const rows: string[] = ['| layer (batch 2) | GFLOP/pass | fwd ms | fwd GFLOP/s | dX ms | dX GFLOP/s | dW ms | dW GFLOP/s | matmul GFLOP/s (same M,N,K) |', '|---|---|---|---|---|---|---|---|---|'];
  for (const l of LAYERS) {
    const g = resolveConvGeometry(l.x, l.w, l.opts);
    const flops = 2 * g.N * g.OH * g.OW * g.Cout * g.KH * g.KW * (g.Cin / g.groups);
    const x = Tensor.from(rand(l.x.reduce((p, d) => p * d, 1)), l.x);
    const w = Tensor.from(rand(l.w.reduce((p, d) => p * d, 1)), l.w);
    const dy = Tensor.from(rand(g.N * g.OH * g.OW * g.Cout), [g.N, g.OH, g.OW, g.Cout]);
    // The same forward GEMM as a plain matmul (dense A): the ceiling the loaders are measured against.
    const M = g.N * g.OH * g.OW;
    const K = g.KH * g.KW * (g.Cin / g.groups);
    const a = Tensor.from(rand(M * K), [M, K]);
    const b = Tensor.from(rand(K * g.Cout), [K, g.Cout]);
    const fns = [() => conv2d(x, w, null, l.opts), () => conv2dBackpropInput(dy, w, l.x, l.opts), () => conv2dBackpropFilter(x, dy, l.w, l.opts)];
    if (g.groups === 1) fns.push(() => matmul(a, b));
    const [f, dxm, dwm, mm = NaN] = await noGrad(() => timeAll(fns, reps));
    a.dispose();
    b.dispose();
    const gf = (ms: number) => (flops / ms / 1e6).toFixed(2);
    rows.push(`| ${l.name} | ${(flops / 1e9).toFixed(3)} | ${f.toFixed(1)} | ${gf(f)} | ${dxm.toFixed(1)} | ${gf(dxm)} | ${dwm.toFixed(1)} | ${gf(dwm)} | ${Number.isNaN(mm) ? '-' : gf(mm)} |`);
    for (const t of [x, w, dy]) t.dispose();
  }
  // Calibration: a plain 512^3 matmul (NOTES.md: ~5.5 GFLOP/s on an idle 2-core lavapipe, 1.9-2.6 on
  // SwiftShader), so that a table measured on a busy machine can be read against it.
  const a = Tensor.from(rand(512 * 512), [512, 512]);
  const [cal] = await noGrad(() => timeAll([() => matmul(a, a)], reps));
  a.dispose();
  rows.push(`\ncalibration: matmul 512^3 ${cal.toFixed(1)} ms = ${((2 * 512 ** 3) / cal / 1e6).toFixed(2)} GFLOP/s`);
  console.log(rows.join('\n'));
  shutdown();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
