/**
 * Quick timing of the layout and reduction ops of issue #25 on the running adapter: ms and effective
 * GB/s (bytes read + written once each) of each op, beside the kernels they compare with: a plain
 * buffer copy (`cast` to the same dtype) for the layout ops, `sum` over the same axes for the
 * reductions, and the existing row `softmax` for `logSoftmax`. Wall clock around recorded work plus a
 * drained queue, best of `--reps` after one warm-up, the items of a group interleaved.
 *
 *   npx tsup bench/ops-quick.ts --format cjs --loader .wgsl=text -d node_modules/.cache/opsbench \
 *     --external webgpu --no-dts
 *   node node_modules/.cache/opsbench/ops-quick.cjs [--reps 7]
 *   OSSIFY_ADAPTER=swiftshader node node_modules/.cache/opsbench/ops-quick.cjs
 */
import { parseArgs } from 'node:util';
import { init, runtime, shutdown } from '../src/gpu/runtime.js';
import { Tensor, noGrad } from '../src/tensor.js';
import { cast } from '../src/kernels/dtype.js';
import { permute, slice, pad, gather } from '../src/kernels/layout.js';
import { sum, max, argmax, logSumExp } from '../src/kernels/reduce.js';
import { logSoftmax, softmax } from '../src/kernels/loss.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' } } });
const reps = Number(values.reps);

function rand(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.random() - 0.5);
}

/** Best ms of `reps` runs of each op (outputs freed after each drained run), interleaved. */
async function timeAll(ops: (() => Tensor)[]): Promise<number[]> {
  const best = ops.map(() => Infinity);
  for (let i = -1; i < reps; i++)
    for (const [j, op] of ops.entries()) {
      const t0 = performance.now();
      const out = noGrad(op);
      await runtime().sync();
      if (i >= 0) best[j] = Math.min(best[j], performance.now() - t0);
      out.dispose();
    }
  return best;
}

interface Row {
  name: string;
  op: () => Tensor;
  /** Bytes read and written once. */
  bytes: number;
}

async function group(title: string, rows: Row[]): Promise<void> {
  const ms = await timeAll(rows.map((r) => r.op));
  console.log(`\n${title}\n| op | ms | GB/s |\n|---|---:|---:|`);
  rows.forEach((r, i) => console.log(`| ${r.name} | ${ms[i].toFixed(2)} | ${(r.bytes / ms[i] / 1e6).toFixed(2)} |`));
}

async function main(): Promise<void> {
  await init({ verbose: false });
  console.log(`adapter: ${runtime().info.description}, best of ${reps}`);
  const img = Tensor.from(rand(8 * 28 * 28 * 64), [8, 28, 28, 64]);
  const B = img.size * 4;
  const idx = Tensor.from(
    Int32Array.from({ length: 4096 }, () => Math.floor(Math.random() * 4096)),
    [4096],
  );
  const rows = Tensor.from(rand(4096 * 256), [4096, 256]);
  const R = rows.size * 4;
  await group(`layout, x [8, 28, 28, 64] f32 (${(B / 1e6).toFixed(1)} MB)`, [
    { name: 'copy (cast to f32: copyBufferToBuffer)', op: () => cast(img, 'f32'), bytes: 2 * B },
    { name: 'permute NHWC -> NCHW [0, 3, 1, 2] (scalar)', op: () => permute(img, [0, 3, 1, 2]), bytes: 2 * B },
    { name: 'permute [0, 2, 1, 3] (vec4)', op: () => permute(img, [0, 2, 1, 3]), bytes: 2 * B },
    {
      name: 'slice [:, ::2, ::2, :] (vec4)',
      op: () => slice(img, [undefined, { step: 2 }, { step: 2 }]),
      bytes: B / 2,
    },
    {
      name: 'pad reflect 1 on H and W (vec4)',
      op: () =>
        pad(
          img,
          [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ],
          { mode: 'reflect' },
        ),
      bytes: B + (B * 30 * 30) / (28 * 28),
    },
  ]);
  await group(`gather, x [4096, 256], 4096 random rows`, [
    { name: 'copy of x', op: () => cast(rows, 'f32'), bytes: 2 * R },
    { name: 'gather(x, idx, 0) (vec4)', op: () => gather(rows, idx, 0), bytes: 2 * R },
  ]);
  await group(`reductions, x [4096, 256]`, [
    { name: 'sum axis 1', op: () => sum(rows, 1), bytes: R },
    { name: 'max axis 1', op: () => max(rows, 1), bytes: R },
    { name: 'argmax axis 1', op: () => argmax(rows, 1), bytes: R },
    { name: 'logSumExp axis 1', op: () => logSumExp(rows, 1), bytes: R },
    { name: 'sum axis 0', op: () => sum(rows, 0), bytes: R },
    { name: 'max axis 0', op: () => max(rows, 0), bytes: R },
    { name: 'sum (all, two passes)', op: () => sum(rows), bytes: R },
    { name: 'max (all, two passes)', op: () => max(rows), bytes: R },
    {
      name: 'max axes [0, 2] of [64, 64, 256] (permuting copy)',
      op: () => max(rows.alias([64, 64, 256]), [0, 2]),
      bytes: 3 * R,
    },
  ]);
  await group(`row softmax, x [4096, 256]`, [
    { name: 'softmax (existing)', op: () => softmax(rows), bytes: 2 * R },
    { name: 'logSoftmax', op: () => logSoftmax(rows), bytes: 2 * R },
  ]);
  shutdown();
}

void main();
