// @adapters all
import { describe, it, beforeAll, expect, afterEach } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Tensor, sum, mean, matmul, setVariant, tidy, GEMM_VARIANTS, autotune, tuning, runtime } from '../src/index.js';
import { sumReference, matmulReference, resolveGemmVariant } from '../src/internals.js';
import { gemm } from '../src/kernels/gemm.js';
import { matmulLoaders } from '../src/kernels/matmul.js';
import { setup, randArray, expectClose, checkOp, numel } from './helpers.js';

beforeAll(setup);
afterEach(() => setVariant('gemm', undefined));

describe('sum and mean over axes', () => {
  const cases: [number[], number[]][] = [
    [[7], [0]],
    [[3, 5], [1]],
    [[3, 5], [0]],
    [
      [2, 3, 4, 5],
      [0, 2],
    ],
    [
      [2, 3, 4, 5],
      [1, 2],
    ],
    [[4, 1, 3], [1]],
    [[3, 2000, 3], [1]], // long reduction with few outputs: the two-pass chunked path
    [
      [2, 3, 2, 2, 3],
      [0, 2, 4],
    ], // three runs of axes, reduced one at a time
    [
      [6, 7, 5],
      [0, 1, 2],
    ],
  ];
  for (const [shape, axes] of cases) {
    it(`sum/mean ${JSON.stringify(shape)} over ${JSON.stringify(axes)}`, async () => {
      const count = axes.reduce((p, a) => p * shape[a], 1);
      for (const kind of ['sum', 'mean'] as const)
        await checkOp({
          op: (t) => (kind === 'sum' ? sum(t, axes) : mean(t, axes)),
          inputs: [{ shape, seed: numel(shape) }],
          ref: (x) => sumReference(x, shape, axes, kind === 'mean' ? 1 / count : 1),
          fwd: { atol: 1e-4 },
          fd: { count: 10, atol: 1e-4, rtol: 1e-3 },
          dy: 5,
          what: kind,
        });
    });
  }
  it('keepDims keeps reduced axes as 1', () => {
    tidy(() => {
      const x = Tensor.zeros([2, 3, 4]);
      expect(sum(x, [1], true).shape).toEqual([2, 1, 4]);
      expect(mean(x, -1).shape).toEqual([2, 3]);
    });
  });
});

describe('GEMM variant resolution', () => {
  it("'subgroup' shares A's rows across a subgroup where it can, and runs as 'regtile' where it cannot", () => {
    const info = runtime().info;
    const s = info.subgroupSize;
    const fixed =
      info.features.includes('subgroups') && s !== undefined && s.min === s.max && s.min >= 2 && s.min <= 16;
    setVariant('gemm', 'subgroup');
    const wide = resolveGemmVariant({ label: 't', M: 100, N: 64, K: 10 });
    const narrow = resolveGemmVariant({ label: 't', M: 100, N: 1, K: 10 }); // widened to one subgroup per workgroup row
    // One launch shape for every M: a single row runs the first block of the same kernel.
    const oneRow = resolveGemmVariant({ label: 't', M: 1, N: 64, K: 10 });
    expect(oneRow).toEqual(fixed ? { variant: 'subgroup', sgLanes: s!.min } : { variant: 'regtile', sgLanes: 0 });
    if (fixed) {
      expect(wide).toEqual({ variant: 'subgroup', sgLanes: s!.min });
      expect(narrow).toEqual({ variant: 'subgroup', sgLanes: s!.min });
      // 'subgroup8' needs A read four k at a time; elsewhere it runs as 'subgroup'.
      setVariant('gemm', 'subgroup8');
      expect(resolveGemmVariant({ label: 't', M: 100, N: 64, K: 10 })).toEqual({
        variant: 'subgroup',
        sgLanes: s!.min,
      });
      expect(resolveGemmVariant({ label: 't', M: 100, N: 64, K: 12, kStep4: true, vecA: true })).toEqual({
        variant: 'subgroup8',
        sgLanes: s!.min,
      });
      // ... or four rows at a time (weight gradients, transposed A), which needs at least 4 rows per invocation.
      expect(resolveGemmVariant({ label: 't', M: 288, N: 64, K: 50, rowsA4: true })).toEqual({
        variant: 'subgroup8',
        sgLanes: s!.min,
      });
      expect(resolveGemmVariant({ label: 't', M: 2, N: 64, K: 50, rowsA4: true }).variant).toBe('subgroup');
      // The CPU-adapter defaults where subgroups are granted: 8 columns per invocation with 4-lane subgroups.
      setVariant('gemm', undefined);
      if (info.isCpu) {
        expect(resolveGemmVariant({ label: 't', M: 100, N: 64, K: 10 }).variant).toBe('subgroup');
        expect(resolveGemmVariant({ label: 't', M: 100, N: 64, K: 12, kStep4: true, vecA: true }).variant).toBe(
          s!.min === 4 ? 'subgroup8' : 'subgroup',
        );
        expect(resolveGemmVariant({ label: 't', M: 288, N: 64, K: 50, rowsA4: true }).variant).toBe(
          s!.min === 4 ? 'subgroup8' : 'subgroup',
        );
        // ... but not where half of its columns would not exist (N = 16: 32 columns per workgroup row).
        expect(resolveGemmVariant({ label: 't', M: 100, N: 16, K: 12, kStep4: true, vecA: true }).variant).toBe(
          'subgroup',
        );
      }
    } else {
      expect(wide).toEqual({ variant: 'regtile', sgLanes: 0 });
      expect(narrow).toEqual({ variant: 'regtile', sgLanes: 0 });
    }
  });
});

describe('GEMM loader contract (checked when a kernel is made)', () => {
  const call =
    (loaders: string, flags: { vecA?: boolean; kNext?: boolean } = {}) =>
    () =>
      gemm({ label: 'contract', loaders, M: 8, N: 8, K: 8, inputs: {}, params: {}, outShape: [8, 8], ...flags });
  it('names the function that the chosen core needs and the loaders lack', () => {
    const { variant } = resolveGemmVariant({ label: 'contract', M: 8, N: 8, K: 8 });
    expect(call(matmulLoaders(false).replace('fn storeC(', 'fn storeC_('))).toThrow(
      `ossify: gemm 'contract': the ${variant} core needs storeC, which the loaders do not define (they define `,
    );
  });
  it('names the function that a flag promises and the loaders lack', () => {
    expect(call(matmulLoaders(false).replace('fn loadA4(', 'fn loadA4_('), { vecA: true })).toThrow(
      "ossify: gemm 'contract': vecA promises loadA4, which the loaders do not define",
    );
    expect(call(matmulLoaders(false).replace('fn aKNext(', 'fn aKNext_('), { kNext: true })).toThrow(
      /needs aKNext|kNext promises aKNext/,
    );
  });
});

describe('matmul (every GEMM variant, transposes, split-k)', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [37, 29, 13],
    [64, 64, 64],
    [65, 3, 130],
    [37, 20, 36], // odd rows, vec4 B, a full subgroup row
    [2, 40, 36], // 2 rows: 2 rows per invocation, one workgroup row
    [9, 12, 13], // K % 4 == 0 with N % 4 != 0: transposed B read four k at a time, last quad partial
    [5, 1100, 3], // long K, few outputs: split-k
    [6, 2048, 32], // split-k with vec4 B and k steps of 4
    [301, 24, 20], // 32 rows per invocation (subgroup form): three workgroup rows, the last ragged
    [40, 16, 96], // N = 96: 32-column workgroups (three exactly) instead of two 64-column ones
    [4, 33, 8], // transposed A with M = 4: one lane loads the four rows as a vec4 (rows4, tm = 4)
    [8, 21, 12], // transposed A with M = 8: two lanes load four rows each
    // Subgroup form: 32 rows in blocks of 8, those past M skipped: 3 blocks for M = 18 and 20, a
    // second row group with 1 or 2 blocks for M = 36 and 44 (with transposed A: four-row reads)
    [18, 40, 24],
    [20, 36, 16],
    [36, 12, 20],
    [44, 20, 12],
  ];
  for (const variant of GEMM_VARIANTS) {
    for (const [M, K, N] of shapes) {
      it(`${variant} ${M}x${K}x${N}, all transposes, forward and gradients`, async () => {
        setVariant('gemm', variant);
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            const sa = ta ? [K, M] : [M, K];
            const sb = tb ? [N, K] : [K, N];
            await checkOp({
              op: (x, y) => matmul(x, y, { transA: ta, transB: tb }),
              inputs: [
                { shape: sa, seed: M + K },
                { shape: sb, seed: K + N },
              ],
              ref: (a, b) => matmulReference(a, sa, b, sb, ta, tb),
              fwd: { atol: 1e-5 * Math.sqrt(K) },
              fd: { count: 6, atol: 1e-4, rtol: 1e-3 },
              dy: 3,
              what: `C ta=${ta} tb=${tb}`,
            });
          }
      });
    }
  }
  it('forced split-k gives the same result', async () => {
    const a = randArray(9 * 300, 1);
    const b = randArray(300 * 7, 2);
    const ref = matmulReference(a, [9, 300], b, [300, 7]);
    for (const splits of [1, 2, 5]) {
      const c = tidy(() =>
        matmul(Tensor.from(Float32Array.from(a), [9, 300]), Tensor.from(Float32Array.from(b), [300, 7]), { splits }),
      );
      expectClose(await c.read(), ref, { what: `splits=${splits}`, atol: 1e-4 });
      c.dispose();
    }
  });
  it('names both shapes on mismatch', () => {
    tidy(() => {
      expect(() => matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]))).toThrow(/\[2, 3\].*\[4, 5\]/);
    });
  });
});

describe('autotune', () => {
  it('times every GEMM variant on a shape and remembers the fastest for that shape', async () => {
    const a = Tensor.from(randArray(40 * 50, 1), [40, 50]);
    const b = Tensor.from(randArray(50 * 30, 2), [50, 30]);
    const r = await autotune('gemm', 'matmul:40x30x50', GEMM_VARIANTS, () => tidy(() => void matmul(a, b)));
    expect(Object.keys(r.ms).sort()).toEqual([...GEMM_VARIANTS].sort());
    for (const ms of Object.values(r.ms)) expect(ms).toBeGreaterThan(0);
    expect(r.ms[r.winner]).toBe(Math.min(...Object.values(r.ms)));
    expect(tuning()['gemm:matmul:40x30x50']).toBe(r.winner);
    // The tuned variant still computes the right product.
    const c = tidy(() => matmul(a, b));
    expectClose(await c.read(), matmulReference(randArray(40 * 50, 1), [40, 50], randArray(50 * 30, 2), [50, 30]), {
      atol: 1e-4,
    });
    for (const t of [a, b, c]) t.dispose();
  });
});

describe('axes (issue #24)', () => {
  it('sum over non-adjacent axes of a rank-9 tensor (run by run; a permuting copy stops at rank 8)', async () => {
    const x = Tensor.from(randArray(768, 3), [2, 2, 2, 2, 2, 2, 2, 2, 3]);
    const got = sum(x, [0, 2, 4, 6, 8]);
    expect(got.shape).toEqual([2, 2, 2, 2]);
    const want = sumReference(await x.read(), x.shape, [0, 2, 4, 6, 8]);
    expectClose(await got.read(), want, { what: 'rank-9 sum' });
  });

  it('sum and mean refuse NaN, fractional and out-of-range axes, naming them (sum(x, NaN) returned x)', async () => {
    const x = Tensor.from([1, 2, NaN, 4, 5, 6], [2, 3]);
    for (const axes of [NaN, 0.5, 2, -3, [0, 1.5]]) {
      expect(() => sum(x, axes)).toThrow(/sum axes must be an integer in \[-2, 1\].*got/);
      expect(() => mean(x, axes)).toThrow(/mean axes must be an integer in \[-2, 1\]/);
    }
    expectClose(await sum(x, -1).read(), [NaN, 15], { what: 'a NaN sums to NaN' });
    x.dispose();
  });
});

describe('16-lane subgroups (lavapipe on 512-bit vectors)', () => {
  // The subgroup core's loads span a subgroup's rows: with 16 lanes a load covers two 8-row blocks
  // (the kernel failed to compile: a block read a row loaded inside the previous block's scope). The
  // subgroup size is the machine's, so this runs the GEMMs in a lavapipe process told to use 512-bit
  // vectors, on whichever adapter the suite runs.
  it('subgroup and subgroup8 GEMMs, all transposes, match the float64 reference', () => {
    const dist = resolve(__dirname, '..', 'dist', 'index.js');
    if (!existsSync(dist)) execFileSync('npx', ['tsup'], { cwd: resolve(__dirname, '..'), stdio: 'ignore' });
    // Shapes whose rows fill 1, 2 and 3 blocks of 16 (one kernel per core and transposes: few to compile).
    const shapes: [number, number, number][] = [
      [12, 40, 24],
      [18, 20, 12],
      [37, 12, 16],
    ];
    const value = (i: number, seed: number): number => Math.sin(i * 0.37 + seed);
    const script = `
      import { init, runtime, Tensor, matmul, setVariant, tidy } from ${JSON.stringify(pathToFileURL(dist).href)};
      await init();
      const value = ${value.toString()};
      const out = { lanes: runtime().info.subgroupSize, results: [] };
      for (const variant of ['subgroup', 'subgroup8'])
        for (const [M, K, N] of ${JSON.stringify(shapes)})
          for (const [ta, tb] of [[false, false], [true, false], [false, true]]) {
              setVariant('gemm', variant);
              const a = Tensor.from(Float32Array.from({ length: M * K }, (_, i) => value(i, 1)), ta ? [K, M] : [M, K]);
              const b = Tensor.from(Float32Array.from({ length: K * N }, (_, i) => value(i, 2)), tb ? [N, K] : [K, N]);
              const c = tidy(() => matmul(a, b, { transA: ta, transB: tb }));
              out.results.push({ variant, M, K, N, ta, tb, c: Array.from(await c.read()) });
            }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, OSSIFY_QUIET: '1', OSSIFY_ADAPTER: 'lavapipe', LP_NATIVE_VECTOR_WIDTH: '512' },
      encoding: 'utf8',
      timeout: 280_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(got.lanes).toEqual({ min: 16, max: 16 });
    expect(got.results.length).toBe(2 * shapes.length * 3);
    for (const { variant, M, K, N, ta, tb, c } of got.results) {
      const a = Float64Array.from({ length: M * K }, (_, i) => value(i, 1));
      const b = Float64Array.from({ length: K * N }, (_, i) => value(i, 2));
      const ref = matmulReference(a, ta ? [K, M] : [M, K], b, tb ? [N, K] : [K, N], ta, tb);
      expectClose(c, ref, { what: `${variant} ${M}x${K}x${N} ta=${ta} tb=${tb}`, atol: 1e-5 * Math.sqrt(K) });
    }
  });
});
