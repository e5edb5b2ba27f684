/**
 * The kernel lab: numbered variants of a kernel, each a small file, registered against ONE float64
 * reference and ONE benchmark. `validate` checks every variant on odd shapes before anything is
 * timed; `sweep` times them on the shapes that matter and prints GFLOP/s; winners graduate into
 * src/kernels (and `autotune` then picks among the engine's variants per shape at run time).
 * Run: `node bench/lab/run.mjs [--quick] [--only 05,06]`; `--probe` measures the adapter's basic costs instead
 * (bench/lab/probe.ts).
 */
import { runtime, Tensor } from '../../src/index.js';
import { fillTemplate, matmulReference, type BufferLike } from '../../src/internals.js';
import { matmulLoaders } from '../../src/kernels/matmul.js';
import { completeLoaders } from '../../src/kernels/gemm.js';

/** The lab times the engine's scalar-B matmul loaders (variant 05 is the vec4-B experiment). */
const loaders = completeLoaders(matmulLoaders(false));

/** One GEMM experiment: a core (WGSL with {{LOADERS}}), its constants and its workgroup grid. */
export interface GemmLabVariant {
  id: string;
  /** What it tries and what we expect. */
  idea: string;
  core: string;
  template?: Record<string, string | number>;
  constants?: Record<string, number>;
  /** The core is a whole kernel with its own bindings (a, b, c, p), not a loader template. */
  selfContained?: boolean;
  /** Shape restrictions: `k4` needs K % 4 == 0 (vec4 loads along k). */
  requires?: { k4?: boolean; subgroupSize?: number };
  /** Loaders filled into `{{LOADERS}}` (default: the engine's scalar-B matmul loaders). */
  loaders?: string;
  /** Workgroups for an M x N output. */
  grid(M: number, N: number): [number, number];
}

/** Record C = A B with a lab variant (split-k 1). */
export function runVariant(
  v: GemmLabVariant,
  a: BufferLike,
  b: BufferLike,
  c: BufferLike,
  M: number,
  N: number,
  K: number,
): void {
  const rt = runtime();
  const code = v.selfContained
    ? v.core
    : fillTemplate(v.core, { ...(v.template ?? {}), LOADERS: v.loaders ? completeLoaders(v.loaders) : loaders });
  const k = rt.kernel(`lab:${v.id}`, code, v.constants ?? {});
  // The engine's matmul loaders can store into a wider C (ldc, cOff) and read a wider A (lda, aOff);
  // the lab's are dense.
  const dense: Record<string, number> = k.fields.has('ldc') ? { ldc: N, cOff: 0, lda: K, aOff: 0 } : {};
  rt.dispatch(k, { a, b, c }, { M, N, K, kPerSplit: Math.ceil(K / 16) * 16, ...dense }, v.grid(M, N));
}

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
}

/**
 * Check a variant against the float64 reference on odd shapes. Returns the worst error in units of the
 * tolerance (atol 1e-5 * sqrt(K), rtol 1e-4): <= 1 passes.
 */
export async function validate(v: GemmLabVariant): Promise<number> {
  let worst = 0;
  const shapes = v.requires?.k4
    ? [
        [1, 4, 4],
        [37, 28, 12],
        [65, 132, 4],
        [128, 64, 96],
      ]
    : v.selfContained
      ? [
          [1, 4, 1],
          [37, 28, 13],
          [65, 132, 3],
          [128, 64, 96],
        ]
      : [
          [1, 1, 1],
          [37, 29, 13],
          [65, 130, 3],
          [128, 64, 96],
        ];
  for (const [M, N, K] of shapes) {
    const A = rand(M * K, M);
    const B = rand(K * N, N);
    const ref = matmulReference(A, [M, K], B, [K, N]);
    const [a, b, c] = [Tensor.from(A, [M, K]), Tensor.from(B, [K, N]), Tensor.full([M, N], NaN)];
    runVariant(v, a.storage, b.storage, c.storage, M, N, K);
    const got = await c.read();
    for (let i = 0; i < ref.length; i++)
      worst = Math.max(
        worst,
        Number.isNaN(got[i]) ? Infinity : Math.abs(got[i] - ref[i]) / (1e-5 * Math.sqrt(K) + 1e-4 * Math.abs(ref[i])),
      );
    for (const t of [a, b, c]) t.dispose();
  }
  return worst;
}

/** Median milliseconds of one M x N x K product with a variant (queue drained around each run). */
export async function timeVariant(v: GemmLabVariant, M: number, N: number, K: number, repeats = 3): Promise<number> {
  const rt = runtime();
  const [a, b, c] = [Tensor.from(rand(M * K, 1), [M, K]), Tensor.from(rand(K * N, 2), [K, N]), Tensor.zeros([M, N])];
  try {
    runVariant(v, a.storage, b.storage, c.storage, M, N, K); // warm-up (pipeline compile)
    await rt.sync();
    const ts: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      runVariant(v, a.storage, b.storage, c.storage, M, N, K);
      await rt.sync();
      ts.push(performance.now() - t0);
    }
    return ts.sort((x, y) => x - y)[Math.floor(ts.length / 2)];
  } finally {
    for (const t of [a, b, c]) t.dispose();
  }
}
