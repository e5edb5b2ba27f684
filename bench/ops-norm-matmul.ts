/**
 * Quick timing of issue #25's kernels against what they replace, on one adapter, best of `--reps`
 * interleaved runs after one warm-up (wall clock around the recorded work and a drained queue):
 * - layerNorm [512, 768] forward: the fused kernel with a workgroup per row, with an invocation per
 *   row (`setVariant('norm', ...)`), and the same math composed of 8 elementwise and reduction ops;
 * - matmul of [16, 128, 128] stacks: one batched launch, 16 launches of 2-D matmuls, and a shared
 *   2-D right-hand side (A's batch folded into its rows: one GEMM).
 *
 *   npx tsup bench/ops-norm-matmul.ts --format cjs --loader .wgsl=text -d node_modules/.cache/opsbench \
 *     --external webgpu --no-dts
 *   node node_modules/.cache/opsbench/ops-norm-matmul.cjs [--reps 5]
 *   OSSIFY_ADAPTER=swiftshader node node_modules/.cache/opsbench/ops-norm-matmul.cjs
 */
import { parseArgs } from 'node:util';
import { init, runtime, shutdown } from '../src/gpu/runtime.js';
import { Tensor, tidy } from '../src/tensor.js';
import { setVariant } from '../src/kernels/variants.js';
import { matmul } from '../src/kernels/matmul.js';
import { layerNorm } from '../src/kernels/norm.js';
import { mean } from '../src/kernels/reduce.js';
import { add, addScalar, div, mul, sqrt, square, sub } from '../src/kernels/elementwise.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '5' } } });
const reps = Number(values.reps);

const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);

/** Best wall time (ms) of each item, `reps` interleaved rounds after a warm-up. */
async function timeAll(items: (() => void)[]): Promise<number[]> {
  const best = items.map(() => Infinity);
  for (let r = -1; r < reps; r++)
    for (const [j, f] of items.entries()) {
      await runtime().sync();
      const t0 = performance.now();
      tidy(f);
      await runtime().sync();
      if (r >= 0) best[j] = Math.min(best[j], performance.now() - t0);
    }
  return best;
}

async function main(): Promise<void> {
  await init({ verbose: false });
  console.log(`adapter: ${runtime().info.kind}`);
  {
    const [R, C] = [512, 768];
    const x = Tensor.from(rand(R * C), [R, C]);
    const [g, b] = [Tensor.ones([C]), Tensor.zeros([C])];
    const forced = (v: string) => () => {
      setVariant('norm', v);
      layerNorm(x, g, b);
      setVariant('norm', undefined);
    };
    const composed = () => {
      const d = sub(x, mean(x, -1, true));
      add(mul(div(d, sqrt(addScalar(mean(square(d), -1, true), 1e-5))), g), b);
    };
    const [wg, serial, comp] = await timeAll([forced('workgroup'), forced('serial'), composed]);
    console.log(
      `layerNorm [${R}, ${C}] forward: workgroup per row ${wg.toFixed(2)} ms, invocation per row ` +
        `${serial.toFixed(2)} ms, composed of 8 ops ${comp.toFixed(2)} ms`,
    );

    const [B, M, K, N] = [16, 128, 128, 128];
    const a = Tensor.from(rand(B * M * K), [B, M, K]);
    const bb = Tensor.from(rand(B * K * N), [B, K, N]);
    const as = Array.from({ length: B }, () => Tensor.from(rand(M * K), [M, K]));
    const bs = Array.from({ length: B }, () => Tensor.from(rand(K * N), [K, N]));
    const shared = Tensor.from(rand(K * N), [K, N]);
    const [batched, loop, folded] = await timeAll([
      () => matmul(a, bb),
      () => as.forEach((ai, i) => matmul(ai, bs[i])),
      () => matmul(a, shared),
    ]);
    const gf = (ms: number) => ((2 * B * M * K * N) / 1e6 / ms).toFixed(2);
    console.log(
      `matmul [${B}, ${M}, ${K}] x [${B}, ${K}, ${N}]: one batched launch ${batched.toFixed(2)} ms ` +
        `(${gf(batched)} GFLOP/s), ${B} 2-D launches ${loop.toFixed(2)} ms (${gf(loop)} GFLOP/s); ` +
        `x [${K}, ${N}] folded into one GEMM ${folded.toFixed(2)} ms (${gf(folded)} GFLOP/s)`,
    );
  }
  await shutdown();
}

void main();
