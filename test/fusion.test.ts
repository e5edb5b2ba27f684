/**
 * Fused kernels: the GEMM epilogue (per-channel affine map and ReLU in the store) behind convolutions
 * and matmuls, the inference batch norm's affine table, and Sequential's peephole fusion, each against
 * a float64 reference or the same layers run one by one (whole models: test/models.test.ts compares
 * fused inference with the graph-mode forward).
 */
import { describe, it, expect, beforeAll, onTestFinished } from 'vitest';
import { Tensor, noGrad, tidy, runtime, setVariant, GEMM_VARIANTS, type GemmVariant } from '../src/index.js';
import { conv2dFused, conv2dReference, type Conv2dOptions } from '../src/kernels/conv2d.js';
import { matmulFused, matmulReference } from '../src/kernels/matmul.js';
import { avgPool2dMapped, pool2dReference } from '../src/kernels/pool.js';
import { batchNorm, batchNormAffineTable, batchNormApplyTable } from '../src/kernels/batchnorm.js';
import { Sequential, Concat, Identity, Conv2d, BatchNorm2d, ReLU, MaxPool2d, AvgPool2d, ZeroPad2d, buildScope } from '../src/layers/index.js';
import { backward } from '../src/autograd.js';
import { Adam } from '../src/optim/optimizers.js';
import { setup, randArray, expectClose, numel } from './helpers.js';

beforeAll(setup);

const t = (data: ArrayLike<number>, shape: number[], requiresGrad = false) => Tensor.from(Float32Array.from(data), shape, { requiresGrad });

/** Float64: y * scale[c] + shift[c] (c the last axis), then ReLU when asked. */
function affineRef(y: ArrayLike<number>, scale: ArrayLike<number>, shift: ArrayLike<number>, relu: boolean): Float64Array {
  const C = scale.length;
  return Float64Array.from(y, (v, i) => {
    const a = v * scale[i % C] + shift[i % C];
    return relu ? Math.max(a, 0) : a;
  });
}

describe('batchNormAffineTable', () => {
  for (const [gamma, beta, bias] of [[true, true, true], [false, true, false], [true, false, false]] as const) {
    it(`gamma=${gamma} beta=${beta} bias=${bias}: scale = gamma / sqrt(var + eps), shift = beta + (bias - mean) ` +
        `* scale`, async () => {
      const C = 7;
      const [g, b, m, v, cb] = [randArray(C, 1, 0.5, 1.5), randArray(C, 2), randArray(C, 3), randArray(C, 4, 0.2, 2), randArray(C, 5)];
      const eps = 1.001e-5;
      const table = batchNormAffineTable({ gamma: gamma ? t(g, [C]) : null, beta: beta ? t(b, [C]) : null, movingMean: t(m, [C]), movingVar: t(v, [C]), epsilon: eps }, bias ? t(cb, [C]) : null);
      expect(table.shape).toEqual([2, C]);
      const scale = Float64Array.from(v, (vi, c) => (gamma ? g[c] : 1) / Math.sqrt(vi + eps));
      const shift = Float64Array.from(m, (mi, c) => (beta ? b[c] : 0) + ((bias ? cb[c] : 0) - mi) * scale[c]);
      expectClose(await table.read(), [...scale, ...shift], { what: 'table' });
    });
  }

  for (const [shape, relu] of [[[2, 3, 5, 7], true], [[3, 4, 2, 12], false], [[5, 8], true]] as const) {
    it(`batchNormApplyTable ${JSON.stringify(shape)} relu=${relu} ` +
        `(${shape[shape.length - 1] % 4 ? 'scalar' : 'vec4'}): x * scale + shift`, async () => {
      const C = shape[shape.length - 1];
      const n = numel(shape);
      const x = randArray(n, 6, -2, 2);
      const [scale, shift] = [randArray(C, 7, -1.5, 1.5), randArray(C, 8)];
      const y = noGrad(() => batchNormApplyTable(t(x, [...shape]), t([...scale, ...shift], [2, C]), relu));
      expectClose(await y.read(), affineRef(x, scale, shift, relu), { what: 'y' });
      expect(() => batchNormApplyTable(t(x, [...shape], true), t([...scale, ...shift], [2, C]))).toThrow(/no backward.*noGrad/);
      expect(() => noGrad(() => batchNormApplyTable(t(x, [...shape]), t(scale, [1, C])))).toThrow(new RegExp(`\\[2, ${C}\\] table.*got \\[1, ${C}\\]`));
    });
  }
});

describe('GEMM epilogue: conv2dFused and matmulFused against float64 references', () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions; relu: boolean }[] = [
    { x: [2, 9, 7, 5], w: [3, 3, 5, 7], opts: { padding: 'same' }, relu: true }, // odd sizes, scalar lanes
    { x: [1, 11, 10, 8], w: [3, 3, 8, 12], opts: { padding: 'valid', stride: 2 }, relu: false },
    { x: [2, 8, 9, 4], w: [1, 7, 4, 9], opts: { padding: 'same' }, relu: true }, // asymmetric
    { x: [2, 9, 9, 4], w: [3, 3, 4, 4], opts: { padding: 'same', dilation: 2 }, relu: true },
    { x: [3, 5, 7, 6], w: [1, 1, 6, 10], opts: {}, relu: true }, // 1x1: the matmul path
    { x: [2, 6, 5, 16], w: [1, 1, 16, 20], opts: {}, relu: false },
  ];
  for (const c of cases) {
    it(`conv ${c.x.join('x')} * ${c.w.join('x')} ${JSON.stringify(c.opts)} relu=${c.relu}`, async () => {
      const Cout = c.w[3];
      const [x, w, scale, shift] = [randArray(numel(c.x), 11), randArray(numel(c.w), 12), randArray(Cout, 13, 0.5, 2), randArray(Cout, 14)];
      const y = noGrad(() => conv2dFused(t(x, c.x), t(w, c.w), { table: t([...scale, ...shift], [2, Cout]), relu: c.relu }, c.opts));
      const ref = conv2dReference(x, c.x, w, c.w, null, c.opts);
      expect(y.shape).toEqual(ref.shape);
      const want = affineRef(ref.out, scale, shift, c.relu);
      expectClose(await y.read(), want, { atol: 1e-4, what: 'y' });
      if (c.relu) expect(want.some((v) => v === 0) && want.some((v) => v > 0)).toBe(true);
    });
  }

  for (const splits of [1, 3]) {
    it(`matmul 37x23 @ 23x13, ${splits} k-split(s): the epilogue also follows split-k sums`, async () => {
      const [M, K, N] = [37, 23, 13];
      const [a, b, scale, shift] = [randArray(M * K, 21), randArray(K * N, 22), randArray(N, 23, 0.5, 2), randArray(N, 24)];
      const y = noGrad(() => matmulFused(t(a, [M, K]), t(b, [K, N]), { table: t([...scale, ...shift], [2, N]), relu: true }, { splits }));
      expectClose(await y.read(), affineRef(matmulReference(a, [M, K], b, [K, N]), scale, shift, true), { atol: 1e-4, what: 'C' });
    });
  }

  /** Float64: `part` ([rows, C]) placed at channel `offset` of `base` ([rows, D]); the rest of base unchanged. */
  const placed = (base: ArrayLike<number>, D: number, part: ArrayLike<number>, C: number, offset: number): Float64Array => {
    const out = Float64Array.from(base);
    for (let r = 0; r < part.length / C; r++) for (let c = 0; c < C; c++) out[r * D + offset + c] = part[r * C + c];
    return out;
  };
  // Outputs written into a wider tensor at a channel offset (DenseNet's in-place concatenation): every
  // other channel must keep its value, and split-k's pass must land in the same place.
  const intoCases: { x: number[]; w: number[]; opts: Conv2dOptions; D: number; offset: number; epilogue: boolean; note: string }[] = [
    { x: [2, 5, 6, 8], w: [3, 3, 8, 5], opts: { padding: 'same' }, D: 17, offset: 9, epilogue: false, note: 'odd width and offset' },
    { x: [2, 3, 3, 64], w: [3, 3, 64, 8], opts: { padding: 'same' }, D: 24, offset: 12, epilogue: true, note: 'K = 576 on 18 rows: split-k' },
    { x: [1, 4, 5, 6], w: [1, 1, 6, 7], opts: {}, D: 11, offset: 4, epilogue: true, note: '1x1: the matmul path' },
  ];
  for (const c of intoCases) {
    it(`conv into channels ${c.offset}.. of ${c.D}: ${c.w.join('x')} ${c.note}`, async () => {
      const Cout = c.w[3];
      const [x, w, scale, shift] = [randArray(numel(c.x), 31), randArray(numel(c.w), 32), randArray(Cout, 33, 0.5, 2), randArray(Cout, 34)];
      const ref = conv2dReference(x, c.x, w, c.w, null, c.opts);
      const rows = numel(ref.shape) / Cout;
      const base = randArray(rows * c.D, 35);
      const target = t(base, [...ref.shape.slice(0, 3), c.D]);
      const epilogue = c.epilogue ? { table: t([...scale, ...shift], [2, Cout]), relu: true } : null;
      const y = noGrad(() => conv2dFused(t(x, c.x), t(w, c.w), epilogue, { ...c.opts, into: { tensor: target, offset: c.offset } }));
      expect(y).toBe(target);
      const part = c.epilogue ? affineRef(ref.out, scale, shift, true) : ref.out;
      expectClose(await y.read(), placed(base, c.D, part, Cout, c.offset), { atol: 1e-4, what: 'target' });
    });
  }
  for (const splits of [1, 3]) {
    it(`matmul 19x40 @ 40x6 into columns 5..10 of 13, ${splits} k-split(s)`, async () => {
      const [M, K, N, D, offset] = [19, 40, 6, 13, 5];
      const [a, b, base] = [randArray(M * K, 41), randArray(K * N, 42), randArray(M * D, 43)];
      const target = t(base, [M, D]);
      noGrad(() => matmulFused(t(a, [M, K]), t(b, [K, N]), null, { splits, into: { tensor: target, offset } }));
      expectClose(await target.read(), placed(base, D, matmulReference(a, [M, K], b, [K, N]), N, offset), { atol: 1e-4, what: 'target' });
    });
  }
  it('batchNormApplyTable reads a channel slice of a wider tensor', async () => {
    const [rows, D, offset, C] = [14, 21, 3, 8];
    const x = randArray(rows * D, 51, -2, 2);
    const [scale, shift] = [randArray(C, 52, -1.5, 1.5), randArray(C, 53)];
    const y = noGrad(() => batchNormApplyTable(t(x, [2, 7, D]), t([...scale, ...shift], [2, C]), true, { offset, channels: C }));
    expect(y.shape).toEqual([2, 7, C]);
    const slice = Float64Array.from({ length: rows * C }, (_, i) => x[Math.floor(i / C) * D + offset + (i % C)]);
    expectClose(await y.read(), affineRef(slice, scale, shift, true), { what: 'y' });
    expect(() => noGrad(() => batchNormApplyTable(t(x, [2, 7, D]), t([...scale, ...shift], [2, C]), true, { offset: 15, channels: C }))).toThrow(/channels 15\.\.22 of \[2, 7, 21\]/);
  });

  it('refuses what it cannot do: gradients, grouped convolutions, a wrong table', () => {
    const x = t(randArray(2 * 5 * 5 * 4, 1), [2, 5, 5, 4], true);
    const w = t(randArray(3 * 3 * 4 * 8, 2), [3, 3, 4, 8]);
    const table = t(randArray(16, 3), [2, 8]);
    expect(() => conv2dFused(x, w, { table, relu: true })).toThrow(/records no gradients.*noGrad/);
    expect(() => noGrad(() => conv2dFused(x, t(randArray(3 * 3 * 2 * 8, 2), [3, 3, 2, 8]), { table, relu: true }, { groups: 2 }))).toThrow(/groups = 1/);
    expect(() => noGrad(() => conv2dFused(x, w, { table: t(randArray(14, 3), [2, 7]), relu: true }))).toThrow(/\[2, 8\].*\[2, 7\]/);
    const xs = t(randArray(2 * 5 * 5 * 4, 1), [2, 5, 5, 4]);
    expect(() => noGrad(() => conv2dFused(xs, w, null, { into: { tensor: Tensor.zeros([2, 5, 4, 12]), offset: 0 } }))).toThrow(/\[2, 3, 3, 8\] cannot go into \[2, 5, 4, 12\]/);
    expect(() => noGrad(() => conv2dFused(xs, w, null, { into: { tensor: Tensor.zeros([2, 3, 3, 12]), offset: 6 } }))).toThrow(/channels 6\.\.13 within its last axis \(12\)/);
  });
});

describe('GEMM prologue: a per-input-channel affine map (and ReLU) applied as A is read', () => {
  /**
   * Float64: columns [off, off + K) of the rows of `a` ([M, lda]), each mapped by x * scale[k] +
   * shift[k] (then ReLU).
   */
  const mappedSlice = (a: ArrayLike<number>, M: number, lda: number, off: number, K: number, scale: ArrayLike<number>, shift: ArrayLike<number>, relu: boolean) =>
    Float64Array.from({ length: M * K }, (_, i) => {
      const [m, k] = [Math.floor(i / K), i % K];
      const v = a[m * lda + off + k] * scale[k] + shift[k];
      return relu ? Math.max(v, 0) : v;
    });
  // K odd: the table bound as f32s; an unaligned offset: A read one element at a time with the vec4
  // table; aligned and wide: the four-k reads of the CPU cores; splits: the map before split-k sums.
  const cases = [
    { M: 37, K: 23, N: 13, lda: 23, off: 0, splits: 1, relu: true, epi: false },
    { M: 33, K: 40, N: 12, lda: 52, off: 8, splits: 3, relu: true, epi: true },
    { M: 20, K: 24, N: 8, lda: 29, off: 3, splits: 1, relu: false, epi: false },
    { M: 70, K: 96, N: 32, lda: 128, off: 0, splits: 1, relu: true, epi: true },
    { M: 9, K: 64, N: 7, lda: 64, off: 0, splits: 2, relu: true, epi: false },
  ];
  // The adapter's default core on every case; every GEMM core (the GPU's 'shared' tiles included) on
  // an aligned case (four-k reads of A) and the unaligned one.
  const runs = [...cases.map((c) => ({ c, variant: undefined as GemmVariant | undefined })), ...GEMM_VARIANTS.flatMap((variant) => [cases[2], cases[4]].map((c) => ({ c, variant })))];
  for (const { c, variant } of runs) {
    it(`matmul ${c.M}x${c.K} (columns ${c.off}.. of ${c.lda}) @ ${c.K}x${c.N}, relu=${c.relu}, ` +
        `${c.splits} split(s)${c.epi ? ', with an epilogue' : ''}${variant ? `, ${variant} core` : ''}`, async () => {
      setVariant('gemm', variant);
      onTestFinished(() => setVariant('gemm', undefined));
      const [a, b, ps, pt, es, et] = [randArray(c.M * c.lda, 81, -2, 2), randArray(c.K * c.N, 82), randArray(c.K, 83, -1.5, 1.5), randArray(c.K, 84), randArray(c.N, 85, 0.5, 2), randArray(c.N, 86)];
      const y = noGrad(() =>
        matmulFused(t(a, [c.M, c.lda]), t(b, [c.K, c.N]), c.epi ? { table: t([...es, ...et], [2, c.N]), relu: true } : null, {
          splits: c.splits,
          prologue: { table: t([...ps, ...pt], [2, c.K]), relu: c.relu },
          ...(c.lda !== c.K || c.off ? { from: { offset: c.off } } : {}),
        }),
      );
      const mapped = mappedSlice(a, c.M, c.lda, c.off, c.K, ps, pt, c.relu);
      if (c.relu) expect(mapped.some((v) => v === 0) && mapped.some((v) => v > 0)).toBe(true);
      const ref = matmulReference(mapped, [c.M, c.K], b, [c.K, c.N]);
      expectClose(await y.read(), c.epi ? affineRef(ref, es, et, true) : ref, { atol: 1e-4, what: 'C' });
    });
  }

  it('conv2dFused 1x1 with a prologue on channels 4..15 of a wider input: what batchNormApplyTable then the ' +
      'convolution give', async () => {
    const [N, H, W, D, off, Cin, Cout] = [2, 5, 3, 20, 4, 12, 8];
    const [x, w, ps, pt, es, et] = [randArray(N * H * W * D, 91, -2, 2), randArray(Cin * Cout, 92), randArray(Cin, 93, -1.5, 1.5), randArray(Cin, 94), randArray(Cout, 95, 0.5, 2), randArray(Cout, 96)];
    const xt = t(x, [N, H, W, D]);
    const epilogue = { table: t([...es, ...et], [2, Cout]), relu: false };
    const y = noGrad(() => conv2dFused(xt, t(w, [1, 1, Cin, Cout]), epilogue, { prologue: { table: t([...ps, ...pt], [2, Cin]), relu: true }, from: { offset: off } }));
    expect(y.shape).toEqual([N, H, W, Cout]);
    const h = mappedSlice(x, N * H * W, D, off, Cin, ps, pt, true);
    const ref = conv2dReference(h, [N, H, W, Cin], w, [1, 1, Cin, Cout], null, {});
    expectClose(await y.read(), affineRef(ref.out, es, et, false), { atol: 1e-4, what: 'y' });
  });

  for (const [shape, size, stride, padding, relu] of [[[2, 7, 9, 5], 2, 2, 'valid', true], [[1, 6, 5, 8], 3, 2, 'same', false], [[2, 4, 4, 12], 2, 2, 'valid', true]] as const) {
    it(`avgPool2dMapped ${shape.join('x')} ${size}x${size}/${stride} ${padding} relu=${relu} ` +
        `(${shape[3] % 4 ? 'scalar' : 'vec4'}): the average of the mapped cells`, async () => {
      const C = shape[3];
      const [x, ps, pt] = [randArray(numel(shape), 101, -2, 2), randArray(C, 102, -1.5, 1.5), randArray(C, 103)];
      const y = noGrad(() => avgPool2dMapped(t(x, [...shape]), { table: t([...ps, ...pt], [2, C]), relu }, { size, stride, padding }));
      const ref = pool2dReference(affineRef(x, ps, pt, relu), shape, 'avg', { size, stride, padding });
      expect(y.shape).toEqual(ref.shape);
      expectClose(await y.read(), ref.y, { what: 'y' });
    });
  }

  it('refuses what it cannot do: a map before a padded or wider convolution, a wrong table, ' +
      'columns past the input, gradients', () => {
    const x = t(randArray(2 * 5 * 5 * 8, 1), [2, 5, 5, 8]);
    const pro = { table: t(randArray(16, 2), [2, 8]), relu: true };
    expect(() => noGrad(() => conv2dFused(x, t(randArray(9 * 8 * 4, 3), [3, 3, 8, 4]), null, { padding: 'same', prologue: pro }))).toThrow(/only for 1x1, stride-1, unpadded.*\[3, 3, 8, 4\]/);
    expect(() => noGrad(() => conv2dFused(x, t(randArray(8 * 4, 3), [1, 1, 8, 4]), null, { stride: 2, prologue: pro }))).toThrow(/only for 1x1, stride-1, unpadded/);
    expect(() => noGrad(() => conv2dFused(x, t(randArray(6 * 4, 3), [1, 1, 6, 4]), null, { from: { offset: 3 } }))).toThrow(/6 input channels.*from channel 3 of \[2, 5, 5, 8\]/);
    expect(() => noGrad(() => matmulFused(t(randArray(40, 4), [5, 8]), t(randArray(32, 5), [8, 4]), null, { prologue: { table: t(randArray(8, 6), [2, 4]), relu: false } }))).toThrow(/prologue table must be \[2, 8\].*got \[2, 4\]/);
    expect(() => noGrad(() => matmulFused(t(randArray(40, 4), [5, 8]), t(randArray(24, 5), [6, 4]), null, { from: { offset: 3 } }))).toThrow(/6 columns of A from column 3 of \[5, 8\]/);
    expect(() => noGrad(() => avgPool2dMapped(x, { table: t(randArray(12, 7), [2, 6]), relu: true }, { size: 2 }))).toThrow(/\[2, 8\] table.*got \[2, 6\]/);
    expect(() => avgPool2dMapped(t(randArray(2 * 5 * 5 * 8, 1), [2, 5, 5, 8], true), pro, { size: 2 })).toThrow(/records no gradients.*noGrad/);
  });
});

describe('Sequential fusion', () => {
  /** conv -> BN -> ReLU (bias, odd channels), BN -> ReLU, conv -> BN (no ReLU), a pool, 1x1 conv -> BN -> ReLU. */
  function net(seed: number): Sequential {
    const bn = (c: number, scale = true) => new BatchNorm2d({ channels: c, scale, epsilon: 1e-3 });
    return buildScope({ seed }, () => new Sequential([
      new Conv2d({ inChannels: 3, filters: 5, kernelSize: 3, padding: 'same', useBias: true }),
      bn(5),
      new ReLU(),
      bn(5, false),
      new ReLU(),
      new Conv2d({ inChannels: 5, filters: 8, kernelSize: [1, 3], padding: 'same', useBias: false }),
      bn(8),
      new MaxPool2d({ poolSize: 3, strides: 2 }),
      new Conv2d({ inChannels: 8, filters: 12, kernelSize: 1, useBias: false }),
      bn(12, false),
      new ReLU(),
    ]));
  }
  /** Give every batch norm non-trivial moving statistics and affine weights (as after training). */
  async function randomiseStats(m: Sequential, seed = 100): Promise<void> {
    let s = seed;
    for (const l of m.modules()) {
      if (!(l instanceof BatchNorm2d)) continue;
      const C = l.channels;
      runtime().upload(l.movingMean.storage, Float32Array.from(randArray(C, s++, -0.5, 0.5)));
      runtime().upload(l.movingVar.storage, Float32Array.from(randArray(C, s++, 0.3, 2)));
      if (l.gamma) runtime().upload(l.gamma.storage, Float32Array.from(randArray(C, s++, 0.5, 1.5)));
      if (l.beta) runtime().upload(l.beta.storage, Float32Array.from(randArray(C, s++, -0.5, 0.5)));
    }
  }
  /** Run fn and count the dispatches it records. */
  const counted = <T,>(fn: () => T): { y: T; dispatches: number } => {
    const d0 = runtime().dispatches;
    const y = fn();
    return { y, dispatches: runtime().dispatches - d0 };
  };
  /** The layers one by one, batch norms through the batchNorm kernel itself (no kept tables). */
  const oneByOne = (m: Sequential, x: Tensor): Tensor =>
    tidy(() =>
      m.layers.reduce(
        (y, l) =>
          l instanceof BatchNorm2d && !l.usesBatchStats
            ? batchNorm(y, { gamma: l.gamma, beta: l.beta, movingMean: l.movingMean, movingVar: l.movingVar, epsilon: l.epsilon, training: false })
            : l.forward(y),
        x,
      ),
    );

  it('inference (noGrad) gives what the layers give one by one, with fewer dispatches', async () => {
    const m = net(3);
    await randomiseStats(m);
    m.eval();
    const x = t(randArray(2 * 9 * 11 * 3, 5, -2, 2), [2, 9, 11, 3]);
    const { y: fused, dispatches: fusedDispatches } = counted(() => noGrad(() => tidy(() => m.forward(x))));
    const { y: plain, dispatches: plainDispatches } = counted(() => noGrad(() => oneByOne(m, x)));
    expectClose(await fused.read(), await plain.read(), { atol: 1e-5, what: 'fused vs one by one' });
    expect(fusedDispatches).toBeLessThan(plainDispatches);
    for (const y of [fused, plain, x]) y.dispose();
    m.dispose();
  });

  it('keeps the affine tables between inference calls and rebuilds them when their inputs change', async () => {
    const m = net(11);
    await randomiseStats(m);
    m.eval();
    const x = t(randArray(2 * 9 * 11 * 3, 12, -2, 2), [2, 9, 11, 3]);
    const rt = runtime();
    const fusedMatches = async (what: string): Promise<number> => {
      const { y: fused, dispatches: n } = counted(() => noGrad(() => tidy(() => m.forward(x))));
      const plain = noGrad(() => oneByOne(m, x));
      expectClose(await fused.read(), await plain.read(), { atol: 1e-5, what });
      fused.dispose();
      plain.dispose();
      return n;
    };
    const first = await fusedMatches('first call');
    // The second call builds none of the four tables (three conv -> BN, one BN -> ReLU; each table one
    // dispatch, two where tests poison).
    const second = await fusedMatches('second call');
    expect([4, 8]).toContain(first - second);
    await randomiseStats(m, 200); // uploads (a checkpoint load does the same)
    expect(await fusedMatches('after new statistics were uploaded')).toBe(first);
    // A training forward moves the moving statistics in place; an optimizer step moves gamma, beta, bias.
    m.train(true);
    const p = m.parameters();
    const y = tidy(() => m.forward(x));
    backward(y, t(randArray(y.size, 13), [...y.shape]));
    y.dispose();
    const opt = new Adam(p, { lr: 0.05 });
    opt.step();
    m.eval();
    expect(await fusedMatches('after a training step')).toBe(first);
    for (const q of p) {
      q.grad?.dispose();
      q.grad = null;
    }
    const live = rt.memory().liveBuffers;
    const owned = m.namedParameters().length + m.namedBuffers().length;
    m.dispose();
    // dispose() frees the four kept tables with the weights and statistics.
    expect(live - rt.memory().liveBuffers).toBe(owned + 4);
    opt.dispose();
    x.dispose();
  });

  /**
   * Run fn on x (with autograd when `training`): its output, shape and dispatch count, and in training
   * the gradients of x and of the first parameter for a random output gradient (seed `dySeed`).
   */
  async function runWithGrads(m: Sequential, fn: (x: Tensor) => Tensor, xs: Float64Array, shape: number[], training: boolean, dySeed: number) {
    const x = t(xs, shape, training);
    const { y, dispatches } = counted(() => (training ? tidy(() => fn(x)) : noGrad(() => tidy(() => fn(x)))));
    const out: { y: Float32Array; shape: readonly number[]; dispatches: number; dx?: Float32Array; dk?: Float32Array } = { y: await y.read(), shape: y.shape, dispatches };
    if (training) {
      backward(y, t(randArray(y.size, dySeed), [...y.shape]));
      out.dx = await x.grad!.read();
      out.dk = await m.parameters()[0].grad!.read();
      for (const p of m.parameters()) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
    y.dispose();
    x.dispose();
    return out;
  }

  it('zero padding goes into the next convolution: same output and gradients, inference and training', async () => {
    const m = buildScope({ seed: 21 }, () => new Sequential([
      new ZeroPad2d({ padding: [1, 2, 0, 3] }),
      new Conv2d({ inChannels: 4, filters: 6, kernelSize: 3, strides: 2, useBias: true }),
      new BatchNorm2d({ channels: 6 }),
      new ReLU(),
      new ZeroPad2d({ padding: 1 }),
      new Conv2d({ inChannels: 6, filters: 5, kernelSize: [3, 1], padding: [0, 1, 1, 0], useBias: true }),
      new ZeroPad2d({ padding: 1 }), // before a 'same' convolution it stays a layer of its own
      new Conv2d({ inChannels: 5, filters: 3, kernelSize: 3, padding: 'same', useBias: false }),
    ]));
    await randomiseStats(m, 300);
    const xs = randArray(2 * 9 * 8 * 4, 22, -2, 2);
    for (const training of [false, true]) {
      m.train(training);
      const run = (fn: (x: Tensor) => Tensor) => runWithGrads(m, fn, xs, [2, 9, 8, 4], training, 23);
      const fused = await run((x) => m.forward(x));
      const plain = await run((x) => m.layers.reduce((y, l) => l.forward(y), x));
      expect(fused.y.length).toBe(2 * 8 * 10 * 3);
      expectClose(fused.y, plain.y, { atol: 1e-5, what: `y (training=${training})` });
      expect(fused.dispatches).toBeLessThan(plain.dispatches);
      if (training) {
        expectClose(fused.dx!, plain.dx!, { atol: 1e-4, rtol: 1e-3, what: 'dx' });
        expectClose(fused.dk!, plain.dk!, { atol: 1e-4, rtol: 1e-3, what: 'd kernel' });
      }
    }
    m.dispose();
  });

  it('after a ReLU, zero padding goes into the next max pooling: same output and gradients, fewer passes', async () => {
    // DenseNet's stem (conv -> BN -> ReLU -> ZeroPad2d(1) -> 3x3/2 max pool), an uneven padding, and a
    // zero padding after something that is not a ReLU, which must stay a layer of its own.
    const m = buildScope({ seed: 41 }, () => new Sequential([
      new Conv2d({ inChannels: 3, filters: 8, kernelSize: 3, padding: 'same', useBias: true }),
      new BatchNorm2d({ channels: 8 }),
      new ReLU(),
      new ZeroPad2d({ padding: 1 }),
      new MaxPool2d({ poolSize: 3, strides: 2 }),
      new ReLU(),
      new ZeroPad2d({ padding: [0, 2, 1, 0] }),
      new MaxPool2d({ poolSize: 3, strides: 1 }),
      new Conv2d({ inChannels: 8, filters: 4, kernelSize: 1, useBias: true }),
      new ZeroPad2d({ padding: 1 }),
      new MaxPool2d({ poolSize: 2, strides: 2 }),
    ]));
    await randomiseStats(m, 400);
    const xs = randArray(2 * 13 * 10 * 3, 42, -2, 2);
    for (const training of [false, true]) {
      m.train(training);
      const run = (fn: (x: Tensor) => Tensor) => runWithGrads(m, fn, xs, [2, 13, 10, 3], training, 43);
      const fused = await run((x) => m.forward(x));
      const plain = await run((x) => m.layers.reduce((y, l) => l.forward(y), x));
      expect(fused.shape).toEqual([2, 4, 3, 4]);
      expectClose(fused.y, plain.y, { atol: 1e-5, what: `y (training=${training})` });
      // Two zero paddings (two passes each where tests poison) are gone.
      expect(plain.dispatches - fused.dispatches).toBeGreaterThanOrEqual(2);
      if (training) expectClose(fused.dx!, plain.dx!, { atol: 1e-4, rtol: 1e-3, what: 'dx' });
    }
    m.dispose();
  });

  it('pre-activation (BN -> ReLU -> 1x1 conv [-> BN -> ReLU]) is one GEMM in inference: same output as one by one, ' +
      'fewer passes', async () => {
    const bn = (c: number) => new BatchNorm2d({ channels: c, epsilon: 1.001e-5 });
    const nets = buildScope({ seed: 31 }, () => [
      // a DenseNet transition, then a bottleneck with a biased 1x1 (the bias goes into the second table)
      new Sequential([bn(6), new ReLU(), new Conv2d({ inChannels: 6, filters: 10, kernelSize: 1, useBias: false }), new AvgPool2d({ poolSize: 2, strides: 2 }),
        bn(10), new ReLU(), new Conv2d({ inChannels: 10, filters: 7, kernelSize: 1, useBias: true }), bn(7), new ReLU()]),
      // no ReLU between: the map alone; a biased 1x1 with nothing after it is left unfused
      new Sequential([bn(5), new Conv2d({ inChannels: 5, filters: 8, kernelSize: 1, padding: 'same', useBias: false }), bn(8), bn(8), new Conv2d({ inChannels: 8, filters: 4, kernelSize: 1, useBias: true })]),
    ]);
    for (const [i, m] of nets.entries()) {
      const C = i === 0 ? 6 : 5;
      await randomiseStats(m, 900 + 10 * i);
      m.eval();
      const x = t(randArray(2 * 6 * 7 * C, 97 + i, -2, 2), [2, 6, 7, C]);
      noGrad(() => tidy(() => m.forward(x))).dispose(); // the kept tables
      const { y: fused, dispatches: fusedDispatches } = counted(() => noGrad(() => tidy(() => m.forward(x))));
      const { y: plain, dispatches: plainDispatches } = counted(() => noGrad(() => oneByOne(m, x)));
      expectClose(await fused.read(), await plain.read(), { atol: 1e-5, what: `net ${i}: fused vs one by one` });
      // Net 0: two BN passes fewer than BN->ReLU fusion alone would leave; net 1: one.
      expect(plainDispatches - fusedDispatches).toBeGreaterThanOrEqual(i === 0 ? 4 : 2);
      for (const v of [fused, plain, x]) v.dispose();
      m.dispose();
    }
  });

  it('a DenseNet block concatenates in place in inference: the unfused layers\' output, fewer passes', async () => {
    /** DenseNet layers (BN -> ReLU -> 1x1 -> BN -> ReLU -> 3x3 'same'), the last with a biased conv (not fused). */
    const block = (c0: number, growth: number, layers: number, biasLast: boolean) =>
      buildScope({ seed: 40 + c0 }, () => {
        const out: (Concat | MaxPool2d)[] = [];
        let c = c0;
        for (let i = 0; i < layers; i++) {
          const f = new Sequential([
            new BatchNorm2d({ channels: c }),
            new ReLU(),
            new Conv2d({ inChannels: c, filters: 8, kernelSize: 1, useBias: false }),
            new BatchNorm2d({ channels: 8 }),
            new ReLU(),
            new Conv2d({ inChannels: 8, filters: growth, kernelSize: 3, padding: 'same', useBias: biasLast && i === layers - 1 }),
          ]);
          out.push(new Concat([new Identity(), f]));
          c += growth;
        }
        return new Sequential([...out, new MaxPool2d({ poolSize: 2, strides: 2 })]);
      });
    for (const [c0, growth, biasLast] of [[6, 5, false], [8, 4, true]] as const) {
      const m = block(c0, growth, 3, biasLast);
      await randomiseStats(m, 500);
      m.eval();
      const x = t(randArray(2 * 7 * 6 * c0, 60 + c0, -2, 2), [2, 7, 6, c0]);
      noGrad(() => tidy(() => m.forward(x))).dispose(); // builds the kept tables
      const { y: fused, dispatches: fusedDispatches } = counted(() => noGrad(() => tidy(() => m.forward(x))));
      // Reference: the same layers with autograd on (no fusion at all: batchNorm kernels, concat copies).
      const { y: plain, dispatches: plainDispatches } = counted(() => tidy(() => m.forward(x).alias()));
      // The layers one at a time without autograd: each Concat copies its two pieces into a new tensor.
      const { y: separate, dispatches: separateDispatches } = counted(() => noGrad(() => tidy(() => m.layers.reduce((y, l) => l.forward(y), x))));
      expect(fused.shape).toEqual([2, 3, 3, c0 + 3 * growth]);
      expectClose(await fused.read(), await plain.read(), { atol: 1e-4, what: `block c0=${c0}` });
      expectClose(await separate.read(), await plain.read(), { atol: 1e-4, what: `layers one at a time c0=${c0}` });
      expect(fusedDispatches).toBeLessThan(plainDispatches);
      // One at a time, each Concat copies its Identity branch in (its convolution stores in place, see
      // the next test); the block copies x once, for all layers but a biased last one.
      const inPlace = biasLast ? 2 : 3;
      expect(separateDispatches - fusedDispatches).toBeGreaterThanOrEqual(inPlace - 1);
      for (const v of [fused, plain, separate, x]) v.dispose();
      m.dispose();
    }
  });

  it('an Inception block concatenates in place in inference, nested concatenations too: ' +
      'the same output as graph mode, fewer copies', async () => {
    /** A subclass runs Concat's copying path (fusion takes the library's own classes only). */
    class CopyingConcat extends Concat {}
    const block = (C: typeof Concat) =>
      buildScope({ seed: 77 }, () => {
        const cbr = (cin: number, cout: number, k: [number, number], stride = 1) => [
          new Conv2d({ inChannels: cin, filters: cout, kernelSize: k, strides: stride, padding: 'same', useBias: false }),
          new BatchNorm2d({ channels: cout, scale: false, epsilon: 1e-3 }),
          new ReLU(),
        ];
        return new Sequential([
          new C([
            new Sequential(cbr(6, 5, [1, 1])),
            new Sequential([...cbr(6, 4, [1, 1]), ...cbr(4, 7, [3, 3])]),
            new Sequential([new AvgPool2d({ poolSize: 3, strides: 1, padding: 'same' }), ...cbr(6, 3, [1, 1])]),
            new Sequential([...cbr(6, 8, [1, 1]), new C([new Sequential(cbr(8, 4, [1, 3])), new Sequential(cbr(8, 6, [3, 1]))])]),
            new Sequential([new MaxPool2d({ poolSize: 3, strides: 1, padding: 'same' })]),
            new Sequential([new Conv2d({ inChannels: 6, filters: 4, kernelSize: 3, padding: 'same', useBias: false })]),
          ]),
          new MaxPool2d({ poolSize: 2, strides: 2 }),
        ]);
      });
    const m = block(Concat);
    const copying = block(CopyingConcat);
    await randomiseStats(m, 700);
    await randomiseStats(copying, 700);
    for (const net of [m, copying]) net.eval();
    const x = t(randArray(2 * 5 * 7 * 6, 71, -2, 2), [2, 5, 7, 6]);
    for (const net of [m, copying]) noGrad(() => tidy(() => net.forward(x))).dispose(); // the kept tables
    const { y: fused, dispatches: fusedDispatches } = counted(() => noGrad(() => tidy(() => m.forward(x))));
    const { y: copied, dispatches: copiedDispatches } = counted(() => noGrad(() => tidy(() => copying.forward(x))));
    const plain = tidy(() => m.forward(x).alias()); // graph mode: nothing fused
    expect(fused.shape).toEqual([2, 2, 3, 5 + 7 + 3 + 10 + 6 + 4]);
    expectClose(await fused.read(), await plain.read(), { atol: 1e-4, what: 'in place vs graph mode' });
    expectClose(await copied.read(), await plain.read(), { atol: 1e-4, what: 'copying vs graph mode' });
    // Copying: six branch copies and two nested; in place only the max pool's branch is copied (the
    // tests' poisoning also fills every tensor allocated, and in place allocates fewer).
    expect(copiedDispatches - fusedDispatches).toBeGreaterThanOrEqual(7);
    for (const v of [fused, copied, plain, x]) v.dispose();
    for (const net of [m, copying]) net.dispose();
  });

  it('training mode (batch statistics, autograd): BN -> ReLU fused, same output and gradients', async () => {
    const m = net(7);
    m.train(true);
    const xs = randArray(2 * 9 * 11 * 3, 6, -2, 2);
    const gradsOf = async (run: (x: Tensor) => Tensor) => {
      const x = t(xs, [2, 9, 11, 3], true);
      const y = tidy(() => run(x));
      const w = t(randArray(y.size, 9), [...y.shape]);
      backward(y, w);
      const out = { y: await y.read(), dx: await x.grad!.read(), dk: await m.parameters()[0].grad!.read() };
      for (const p of [...m.parameters(), x]) {
        p.grad?.dispose();
        p.grad = null;
      }
      for (const v of [y, w, x]) v.dispose();
      return out;
    };
    const fused = await gradsOf((x) => m.forward(x));
    const plain = await gradsOf((x) => m.layers.reduce((y, l) => l.forward(y), x));
    expectClose(fused.y, plain.y, { atol: 1e-5, what: 'y' });
    expectClose(fused.dx, plain.dx, { atol: 1e-4, rtol: 1e-3, what: 'dx' });
    expectClose(fused.dk, plain.dk, { atol: 1e-4, rtol: 1e-3, what: 'd kernel' });
    m.dispose();
  });
});

describe('NaN through the fused ReLU (issue #24): fused kernels agree with the unfused ops', () => {
  /** `n` values with NaN at `at`. */
  const withNaN = (n: number, seed: number, at: number): Float64Array => randArray(n, seed, -2, 2).map((v, i) => (i === at ? NaN : v));
  it('GEMM epilogue: conv2dFused 3x3 same, relu (the case above), NaN in x', async () => {
    const [xs, ws] = [[2, 9, 7, 5], [3, 3, 5, 7]];
    const [x, w, scale, shift] = [withNaN(numel(xs), 11, 5 * 17 + 2), randArray(numel(ws), 12), randArray(7, 13, 0.5, 2), randArray(7, 14)];
    const y = noGrad(() => conv2dFused(t(x, xs), t(w, ws), { table: t([...scale, ...shift], [2, 7]), relu: true }, { padding: 'same' }));
    const want = affineRef(conv2dReference(x, xs, w, ws, null, { padding: 'same' }).out, scale, shift, true);
    expect(want.filter(Number.isNaN).length).toBe(9 * 7);
    expectClose(await y.read(), want, { atol: 1e-4, what: 'y' });
  });
  it('split-k epilogue and prologue: matmulFused 37x23 @ 23x13, 3 k-splits, NaN in A', async () => {
    const [M, K, N] = [37, 23, 13];
    const [a, b, ps, pt, es, et] = [withNaN(M * K, 21, 40), randArray(K * N, 22), randArray(K, 83, -1.5, 1.5), randArray(K, 84), randArray(N, 23, 0.5, 2), randArray(N, 24)];
    const y = noGrad(() => matmulFused(t(a, [M, K]), t(b, [K, N]), { table: t([...es, ...et], [2, N]), relu: true }, { splits: 3, prologue: { table: t([...ps, ...pt], [2, K]), relu: true } }));
    const mapped = affineRef(a, ps, pt, true);
    const want = affineRef(matmulReference(mapped, [M, K], b, [K, N]), es, et, true);
    expect(want.filter(Number.isNaN).length).toBe(N);
    expectClose(await y.read(), want, { atol: 1e-4, what: 'C' });
  });
  it('avgPool2dMapped with ReLU, NaN in x', async () => {
    const shape = [2, 7, 9, 5];
    const [x, ps, pt] = [withNaN(numel(shape), 101, 3), randArray(5, 102, -1.5, 1.5), randArray(5, 103)];
    const y = noGrad(() => avgPool2dMapped(t(x, shape), { table: t([...ps, ...pt], [2, 5]), relu: true }, { size: 2, stride: 2, padding: 'valid' }));
    const want = pool2dReference(affineRef(x, ps, pt, true), shape, 'avg', { size: 2, stride: 2, padding: 'valid' }).y;
    expect(want.filter(Number.isNaN).length).toBe(1);
    expectClose(await y.read(), want, { what: 'y' });
  });
});
