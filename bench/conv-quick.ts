/**
 * Quick convolution timing: forward, input gradient and weight gradient of a few InceptionV3 / BAM /
 * depthwise layer shapes at batch 2, in ms and GFLOP/s (FLOPs = 2*N*OH*OW*Cout*KH*KW*Cin/groups per
 * pass). Wall clock around recorded work plus a drained queue, best of `--reps` after one warm-up.
 * A plain matmul of the forward GEMM's M, N, K and a 512^3 matmul calibrate the numbers (on a busy
 * machine everything slows down alike). `--tfjs` adds TensorFlow.js's WebGPU backend on the same
 * adapter, timed in the same interleaved loop: its forward, and its tf.grads (forward + both
 * gradients) minus its forward.
 * `--only <text>` keeps the layers whose name contains it; `--depthwise grouped` runs depthwise
 * convolutions under that variant of src/kernels/depthwise.ts, and `--depthwise direct,loops,grouped`
 * times the variants in turns (forward, dX, dW; with `--tfjs`, tfjs-webgpu's too) instead of the table
 * above.
 *
 *   npx tsup bench/conv-quick.ts --format cjs --loader .wgsl=text -d node_modules/.cache/convbench \
 *     --external webgpu --no-dts
 *   node node_modules/.cache/convbench/conv-quick.cjs [--tfjs] [--reps 7] [--variant regtile|shared]
 *   OSSIFY_ADAPTER=swiftshader node node_modules/.cache/convbench/conv-quick.cjs
 */
import { parseArgs } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import type * as TF from '@tensorflow/tfjs-core';
import { init, runtime, shutdown } from '../src/gpu/runtime.js';
import { Tensor, noGrad } from '../src/tensor.js';
import { setVariant } from '../src/kernels/variants.js';
import { matmul } from '../src/kernels/matmul.js';
import {
  conv2d,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  resolveConvGeometry,
  type Conv2dOptions,
} from '../src/kernels/conv2d.js';

interface Layer {
  name: string;
  x: number[];
  w: number[];
  opts: Conv2dOptions;
}
const LAYERS: Layer[] = [
  { name: '3x3 32->64 35x35 same', x: [2, 35, 35, 32], w: [3, 3, 32, 64], opts: { padding: 'same' } },
  { name: '1x7 128->128 17x17 same', x: [2, 17, 17, 128], w: [1, 7, 128, 128], opts: { padding: 'same' } },
  { name: '1x1 256->64 35x35', x: [2, 35, 35, 256], w: [1, 1, 256, 64], opts: {} },
  { name: '3x3 s2 valid 64->96 35x35', x: [2, 35, 35, 64], w: [3, 3, 64, 96], opts: { stride: 2 } },
  {
    name: '3x3 dil4 pad4 16->16 17x17',
    x: [2, 17, 17, 16],
    w: [3, 3, 16, 16],
    opts: { dilation: 4, padding: [4, 4, 4, 4] },
  },
  { name: 'depthwise 3x3 96 35x35 same', x: [2, 35, 35, 96], w: [3, 3, 1, 96], opts: { padding: 'same', groups: 96 } },
  // EfficientNet-B1's depthwise convolutions (240 px input), as in bench/lib/cases.ts
  ...(
    [
      [3, 32, 120, 1],
      [3, 96, 120, 2],
      [5, 144, 60, 2],
      [3, 480, 15, 1],
      [5, 1152, 8, 1],
    ] as const
  ).map(([k, c, hw, s]) => ({
    name: `depthwise ${k}x${k}${s > 1 ? ` s${s}` : ''} ${c} ${hw}x${hw} same`,
    x: [2, hw, hw, c],
    w: [k, k, 1, c],
    opts: { padding: 'same', groups: c, stride: s } as Conv2dOptions,
  })),
];

const { values } = parseArgs({
  options: {
    variant: { type: 'string' },
    reps: { type: 'string', default: '7' },
    tfjs: { type: 'boolean', default: false },
    only: { type: 'string' },
    depthwise: { type: 'string' },
  },
});

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

/** One timed thing: `run` records or launches the work, `sync` waits for the device to finish it. */
interface Timed {
  run: () => void;
  sync: () => Promise<void>;
}

/**
 * Best (minimum) ms of `reps` runs of each item, after one warm-up each. Runs of the different items
 * alternate, and on a shared CPU the minimum is the least disturbed by other processes, so the
 * columns of a row stay comparable.
 */
async function timeAll(items: Timed[], reps: number): Promise<number[]> {
  for (const it of items) {
    it.run();
    await it.sync();
  }
  const best = items.map(() => Infinity);
  for (let i = 0; i < reps; i++)
    for (const [j, it] of items.entries()) {
      const t0 = performance.now();
      it.run();
      await it.sync();
      best[j] = Math.min(best[j], performance.now() - t0);
    }
  return best;
}

/**
 * On-CPU milliseconds so far of this process's threads other than the main one (lavapipe's compute and
 * queue threads among them; the main thread, which polls while it waits, is left out), from
 * /proc/self/task/<tid>/schedstat (nanoseconds on CPU): the work a kernel costs, which a machine shared
 * with other processes stretches in wall time but hardly here.
 */
function workerCpuMs(): number {
  let ns = 0;
  for (const t of readdirSync('/proc/self/task')) {
    if (Number(t) === process.pid) continue;
    try {
      ns += Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended while we listed it
    }
  }
  return ns / 1e6;
}

/** Like {@link timeAll}, but the minimum over `reps` of the worker threads' CPU ms per item. */
async function cpuAll(items: Timed[], reps: number): Promise<number[]> {
  for (const it of items) {
    it.run();
    await it.sync();
  }
  const best = items.map(() => Infinity);
  for (let i = 0; i < reps; i++)
    for (const [j, it] of items.entries()) {
      const c0 = workerCpuMs();
      it.run();
      await it.sync();
      best[j] = Math.min(best[j], workerCpuMs() - c0);
    }
  return best;
}

/** An ossify op as a Timed item (its output is freed after the sync). */
function ours(fn: () => Tensor): Timed {
  let out: Tensor | null = null;
  return {
    run: () => {
      out = noGrad(fn);
    },
    sync: async () => {
      await runtime().sync();
      out?.dispose();
    },
  };
}

/** TensorFlow.js on its WebGPU backend, on a second Dawn instance with the adapter ossify chose. */
async function tfjsWebgpu(): Promise<{ tf: typeof TF; sync: () => Promise<void> }> {
  const { create } = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU };
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu: create([]), userAgent: 'node' },
    configurable: true,
    writable: true,
  });
  // Bundled ESM sources: tfjs-core's entry does not register gradients; register_all_gradients does.
  const tf = (await import('@tensorflow/tfjs-core')) as typeof TF;
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs-webgpu failed to initialise');
  tf.env().set('PROD', true);
  const be = tf.backend() as unknown as {
    device: GPUDevice;
    submitQueue: () => void;
    ensureCommandEncoderReady?: () => void;
    endComputePassEncoder?: () => void;
  };
  // What tfjs-webgpu does before a readback: close the open pass, submit, then wait for the queue.
  const sync = async (): Promise<void> => {
    be.ensureCommandEncoderReady?.();
    be.endComputePassEncoder?.();
    be.submitQueue();
    await be.device.queue.onSubmittedWorkDone();
  };
  return { tf, sync };
}

function tfPadding(
  opts: Conv2dOptions,
): 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]] {
  const p = opts.padding ?? 'valid';
  return typeof p === 'string'
    ? p
    : [
        [0, 0],
        [p[0], p[1]],
        [p[2], p[3]],
        [0, 0],
      ];
}

async function main(): Promise<void> {
  const rt = await init({ verbose: true });
  if (values.variant) setVariant('gemm', values.variant);
  if (values.depthwise && !values.depthwise.includes(',')) setVariant('depthwise', values.depthwise);
  const reps = Number(values.reps);
  const peer = values.tfjs ? await tfjsWebgpu() : null;
  console.log(
    `adapter: ${rt.info.kind} (${rt.info.description}); gemm variant: ${values.variant ?? 'default'}; ` +
      `depthwise variant: ${values.depthwise ?? 'default'}; ` +
      `wall clock, best of ${reps}`,
  );
  const head = [
    'layer (batch 2)',
    'GFLOP/pass',
    'fwd ms',
    'fwd GFLOP/s',
    'dX ms',
    'dX GFLOP/s',
    'dW ms',
    'dW GFLOP/s',
    'matmul GFLOP/s (same M,N,K)',
  ];
  if (peer) head.push('tfjs-webgpu fwd GFLOP/s', 'tfjs-webgpu bwd (dX+dW) GFLOP/s', 'ossify bwd (dX+dW) GFLOP/s');
  const rows = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  const layers = LAYERS.filter((x) => !values.only || x.name.includes(values.only));
  // Several depthwise variants (e.g. --depthwise direct,loops,grouped): timed in turns, one table.
  const compared = values.depthwise?.includes(',') ? values.depthwise.split(',') : null;
  if (compared) {
    console.log(await compareDepthwise(layers, compared, reps, peer));
    shutdown();
    process.exit(0);
  }
  for (const l of layers) {
    const g = resolveConvGeometry(l.x, l.w, l.opts);
    const flops = 2 * g.N * g.OH * g.OW * g.Cout * g.KH * g.KW * (g.Cin / g.groups);
    const xd = rand(l.x.reduce((p, d) => p * d, 1));
    const wd = rand(l.w.reduce((p, d) => p * d, 1));
    const dyd = rand(g.N * g.OH * g.OW * g.Cout);
    const x = Tensor.from(xd, l.x);
    const w = Tensor.from(wd, l.w);
    const dy = Tensor.from(dyd, [g.N, g.OH, g.OW, g.Cout]);
    // The same forward GEMM as a plain matmul (dense A): the ceiling the loaders are measured against.
    const M = g.N * g.OH * g.OW;
    const K = g.KH * g.KW * (g.Cin / g.groups);
    const a = Tensor.from(rand(M * K), [M, K]);
    const b = Tensor.from(rand(K * g.Cout), [K, g.Cout]);
    const items: Timed[] = [
      ours(() => conv2d(x, w, null, l.opts)),
      ours(() => conv2dBackpropInput(dy, w, l.x, l.opts)),
      ours(() => conv2dBackpropFilter(x, dy, l.w, l.opts)),
      ours(() => matmul(a, b)),
    ];
    const tfTensors: TF.Tensor[] = [];
    if (peer) {
      const { tf, sync } = peer;
      const tx = tf.tensor4d(xd, l.x as [number, number, number, number]);
      const depthwise = g.groups > 1;
      const tw = depthwise
        ? tf.tensor4d(wd, [g.KH, g.KW, g.Cin, g.Cout / g.Cin])
        : tf.tensor4d(wd, l.w as [number, number, number, number]);
      const tdy = tf.tensor4d(dyd, [g.N, g.OH, g.OW, g.Cout]);
      tfTensors.push(tx, tw, tdy);
      const stride: [number, number] =
        typeof l.opts.stride === 'number'
          ? [l.opts.stride, l.opts.stride]
          : l.opts.stride
            ? [l.opts.stride[0], l.opts.stride[1]]
            : [1, 1];
      const dil: [number, number] =
        typeof l.opts.dilation === 'number'
          ? [l.opts.dilation, l.opts.dilation]
          : l.opts.dilation
            ? [l.opts.dilation[0], l.opts.dilation[1]]
            : [1, 1];
      const pad = tfPadding(l.opts);
      const op = (xx: TF.Tensor, ww: TF.Tensor): TF.Tensor =>
        depthwise
          ? tf.depthwiseConv2d(xx as TF.Tensor4D, ww as TF.Tensor4D, stride, pad as 'same', 'NHWC', dil)
          : tf.conv2d(xx as TF.Tensor4D, ww as TF.Tensor4D, stride, pad as 'same', 'NHWC', dil);
      const grads = tf.grads((xx: TF.Tensor, ww: TF.Tensor) => op(xx, ww));
      items.push({ run: () => tf.tidy(() => op(tx, tw)).dispose(), sync });
      let gradsOk = true;
      try {
        tf.dispose(grads([tx, tw], tdy));
      } catch (e) {
        gradsOk = false; // tfjs has no gradient of dilated convolutions
        console.log(`tfjs-webgpu gradient of '${l.name}': ${(e as Error).message.split('\n')[0]}`);
      }
      items.push(
        gradsOk
          ? { run: () => tf.dispose(tf.tidy(() => grads([tx, tw], tdy))), sync }
          : { run: () => undefined, sync: async () => undefined },
      );
      (items[items.length - 1] as Timed & { ok?: boolean }).ok = gradsOk;
    }
    const ms = await timeAll(items, reps);
    const [f, dxm, dwm, mm] = ms;
    a.dispose();
    b.dispose();
    const gf = (t: number, fl = flops) => (fl / t / 1e6).toFixed(2);
    const cells = [
      l.name,
      (flops / 1e9).toFixed(3),
      f.toFixed(1),
      gf(f),
      dxm.toFixed(1),
      gf(dxm),
      dwm.toFixed(1),
      gf(dwm),
      g.groups === 1 ? gf(mm) : '-',
    ];
    if (peer) {
      const gradsOk = (items[5] as Timed & { ok?: boolean }).ok;
      cells.push(
        gf(ms[4]),
        gradsOk ? gf(Math.max(ms[5] - ms[4], 1e-3), 2 * flops) : 'error (see above)',
        gf(dxm + dwm, 2 * flops),
      );
    }
    rows.push(`| ${cells.join(' | ')} |`);
    for (const t of [x, w, dy]) t.dispose();
    for (const t of tfTensors) t.dispose();
  }
  // Calibration: a plain 512^3 matmul (NOTES.md: ~5.5 GFLOP/s on an idle 2-core lavapipe, 1.9-2.6 on
  // SwiftShader), so that a table measured on a busy machine can be read against it.
  const a = Tensor.from(rand(512 * 512), [512, 512]);
  const [cal] = await timeAll([ours(() => matmul(a, a))], reps);
  a.dispose();
  rows.push(`\ncalibration: matmul 512^3 ${cal.toFixed(1)} ms = ${((2 * 512 ** 3) / cal / 1e6).toFixed(2)} GFLOP/s`);
  console.log(rows.join('\n'));
  shutdown();
  process.exit(0);
}

/**
 * Forward, input gradient and weight gradient of each layer under each depthwise variant, all timed in
 * one interleaved loop (so that a busy machine slows every variant alike): a Markdown table of wall ms
 * and of the worker threads' CPU ms (minimum over the reps each; see workerCpuMs).
 */
async function compareDepthwise(
  layers: Layer[],
  variants: string[],
  reps: number,
  peer: { tf: typeof TF; sync: () => Promise<void> } | null,
): Promise<string> {
  const out = [
    '| layer (batch 2) | variant | fwd ms | dX ms | dW ms | fwd CPU ms | dX CPU ms | dW CPU ms |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const l of layers) {
    const g = resolveConvGeometry(l.x, l.w, l.opts);
    const x = Tensor.from(rand(l.x.reduce((p, d) => p * d, 1)), l.x);
    const w = Tensor.from(rand(l.w.reduce((p, d) => p * d, 1)), l.w);
    const dy = Tensor.from(rand(g.N * g.OH * g.OW * g.Cout), [g.N, g.OH, g.OW, g.Cout]);
    const under = (v: string, fn: () => Tensor): Timed => {
      const t = ours(fn);
      return { run: () => (setVariant('depthwise', v), t.run()), sync: t.sync };
    };
    const items = variants.flatMap((v) => [
      under(v, () => conv2d(x, w, null, l.opts)),
      under(v, () => conv2dBackpropInput(dy, w, l.x, l.opts)),
      under(v, () => conv2dBackpropFilter(x, dy, l.w, l.opts)),
    ]);
    const tfTensors: TF.Tensor[] = [];
    if (peer) {
      // tfjs-webgpu in the same loop: its forward, and tf.grad in x (in w) minus its forward as dX (dW).
      const { tf, sync } = peer;
      const [tx, tw, tdy] = [
        tf.tensor4d(await x.read(), l.x as [number, number, number, number]),
        tf.tensor4d(await w.read(), [g.KH, g.KW, g.Cin, 1]),
        tf.tensor4d(await dy.read(), [g.N, g.OH, g.OW, g.Cout]),
      ];
      tfTensors.push(tx, tw, tdy);
      const stride = l.opts.stride as number;
      const op = (xx: TF.Tensor, ww: TF.Tensor): TF.Tensor =>
        tf.depthwiseConv2d(xx as TF.Tensor4D, ww as TF.Tensor4D, stride ?? 1, 'same');
      const gx = tf.grad((xx: TF.Tensor) => op(xx, tw));
      const gw = tf.grad((ww: TF.Tensor) => op(tx, ww));
      items.push(
        { run: () => tf.tidy(() => op(tx, tw)).dispose(), sync },
        { run: () => tf.tidy(() => gx(tx, tdy)).dispose(), sync },
        { run: () => tf.tidy(() => gw(tw, tdy)).dispose(), sync },
      );
    }
    const ms = await timeAll(items, reps);
    const cpu = await cpuAll(items, reps);
    if (peer) {
      // dX and dW of tfjs: its gradient runs minus its forward.
      for (const a of [ms, cpu]) {
        const k = 3 * variants.length;
        a[k + 1] -= a[k];
        a[k + 2] -= a[k];
      }
    }
    const cells = (a: number[], i: number) =>
      a
        .slice(3 * i, 3 * i + 3)
        .map((t) => t.toFixed(2))
        .join(' | ');
    [...variants, ...(peer ? ['tfjs-webgpu'] : [])].forEach((v, i) =>
      out.push(`| ${l.name} | ${v} | ${cells(ms, i)} | ${cells(cpu, i)} |`),
    );
    for (const t of [x, w, dy]) t.dispose();
    for (const t of tfTensors) t.dispose();
  }
  setVariant('depthwise', undefined);
  return out.join('\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
