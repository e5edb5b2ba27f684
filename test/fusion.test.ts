// @adapters all
/**
 * The fused inference op (src/kernels/fused.ts: prologue, GEMM or pooling core, epilogue) against float64
 * references, and plans (src/layers/plan.ts): the fused inference plan against the unfused one (one
 * step per layer), with fewer dispatches, and the rules it names (whole models: test/models.test.ts);
 * training plans (the differentiable rules) against the layers' forward: values, gradients, moving
 * statistics, and a training step's dispatches.
 */
import { describe, it, expect, beforeAll, onTestFinished } from 'vitest';
import { Tensor, noGrad, tidy, runtime, setVariant, GEMM_VARIANTS, type GemmVariant } from '../src/index.js';
import { conv2dReference, type Conv2dOptions } from '../src/kernels/conv2d.js';
import { matmulReference } from '../src/kernels/matmul.js';
import { pool2dReference, type AvgPool2dOptions } from '../src/kernels/pool.js';
import { batchNormAffineTable } from '../src/kernels/batchnorm.js';
import { reshape } from '../src/kernels/elementwise.js';
import { fused, type AffineMap, type FusedOptions } from '../src/kernels/fused.js';
import {
  Sequential,
  Concat,
  Identity,
  Conv2d,
  BatchNorm2d,
  ReLU,
  MaxPool2d,
  AvgPool2d,
  ZeroPad2d,
  buildScope,
  compilePlan,
  FUSION_RULES,
} from '../src/layers/index.js';
import { inceptionV3, denseNet121, type Model } from '../src/models/index.js';
import { softmaxCrossEntropy } from '../src/kernels/loss.js';
import { setPoison } from '../src/internals.js';
import { backward } from '../src/autograd.js';
import { Adam } from '../src/optim/optimizers.js';
import { setup, randArray, expectClose, numel } from './helpers.js';

beforeAll(setup);

const t = (data: ArrayLike<number>, shape: number[], requiresGrad = false) =>
  Tensor.from(Float32Array.from(data), shape, { requiresGrad });

// The fused op's shapes, named after what each runs: a convolution with an epilogue, a matmul (A [M, lda]
// as M pixels of lda channels, B [K, N] as a 1x1 kernel), the prologue alone, a mapped average pooling.
const conv2dFused = (x: Tensor, w: Tensor, epilogue: AffineMap | null, opts: FusedOptions = {}) =>
  fused(x, w, { ...opts, epilogue: epilogue ?? undefined });
const matmulFused = (a: Tensor, b: Tensor, epilogue: AffineMap | null, opts: FusedOptions = {}) => {
  const [M, lda] = a.shape;
  const into = opts.into && {
    tensor: reshape(opts.into.tensor, [1, M, 1, opts.into.tensor.shape[1]]),
    offset: opts.into.offset,
  };
  const y = fused(reshape(a, [1, M, 1, lda]), reshape(b, [1, 1, ...b.shape]), {
    ...opts,
    into,
    epilogue: epilogue ?? undefined,
  });
  return into ? opts.into!.tensor : reshape(y, [M, b.shape[1]]);
};
const batchNormApplyTable = (x: Tensor, table: Tensor, relu = false, from?: { offset: number }) =>
  fused(x, null, { prologue: { table, relu }, from });
const avgPool2dMapped = (x: Tensor, prologue: AffineMap, pool: AvgPool2dOptions) => fused(x, null, { prologue, pool });

/** Float64: y * scale[c] + shift[c] (c the last axis), then ReLU when asked. */
function affineRef(
  y: ArrayLike<number>,
  scale: ArrayLike<number>,
  shift: ArrayLike<number>,
  relu: boolean,
): Float64Array {
  const C = scale.length;
  return Float64Array.from(y, (v, i) => {
    const a = v * scale[i % C] + shift[i % C];
    return relu ? Math.max(a, 0) : a;
  });
}

describe('batchNormAffineTable', () => {
  for (const [gamma, beta, bias] of [
    [true, true, true],
    [false, true, false],
    [true, false, false],
  ] as const) {
    it(
      `gamma=${gamma} beta=${beta} bias=${bias}: scale = gamma / sqrt(var + eps), shift = beta + (bias - mean) ` +
        `* scale`,
      async () => {
        const C = 7;
        const [g, b, m, v, cb] = [
          randArray(C, 1, 0.5, 1.5),
          randArray(C, 2),
          randArray(C, 3),
          randArray(C, 4, 0.2, 2),
          randArray(C, 5),
        ];
        const eps = 1.001e-5;
        const table = batchNormAffineTable(
          {
            gamma: gamma ? t(g, [C]) : null,
            beta: beta ? t(b, [C]) : null,
            movingMean: t(m, [C]),
            movingVar: t(v, [C]),
            epsilon: eps,
          },
          bias ? t(cb, [C]) : null,
        );
        expect(table.shape).toEqual([2, C]);
        const scale = Float64Array.from(v, (vi, c) => (gamma ? g[c] : 1) / Math.sqrt(vi + eps));
        const shift = Float64Array.from(m, (mi, c) => (beta ? b[c] : 0) + ((bias ? cb[c] : 0) - mi) * scale[c]);
        expectClose(await table.read(), [...scale, ...shift], { what: 'table' });
      },
    );
  }

  for (const [shape, relu] of [
    [[2, 3, 5, 7], true],
    [[3, 4, 2, 12], false],
    [[5, 8], true],
  ] as const) {
    it(
      `batchNormApplyTable ${JSON.stringify(shape)} relu=${relu} ` +
        `(${shape[shape.length - 1] % 4 ? 'scalar' : 'vec4'}): x * scale + shift`,
      async () => {
        const C = shape[shape.length - 1];
        const n = numel(shape);
        const x = randArray(n, 6, -2, 2);
        const [scale, shift] = [randArray(C, 7, -1.5, 1.5), randArray(C, 8)];
        const y = noGrad(() => batchNormApplyTable(t(x, [...shape]), t([...scale, ...shift], [2, C]), relu));
        expectClose(await y.read(), affineRef(x, scale, shift, relu), { what: 'y' });
        expect(() => batchNormApplyTable(t(x, [...shape], true), t([...scale, ...shift], [2, C]))).toThrow(
          /records no gradients.*noGrad/,
        );
        expect(() => noGrad(() => batchNormApplyTable(t(x, [...shape]), t(scale, [1, C])))).toThrow(
          new RegExp(`table must be \\[2, ${C}\\].*got \\[1, ${C}\\]`),
        );
      },
    );
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
      const [x, w, scale, shift] = [
        randArray(numel(c.x), 11),
        randArray(numel(c.w), 12),
        randArray(Cout, 13, 0.5, 2),
        randArray(Cout, 14),
      ];
      const y = noGrad(() =>
        conv2dFused(t(x, c.x), t(w, c.w), { table: t([...scale, ...shift], [2, Cout]), relu: c.relu }, c.opts),
      );
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
      const [a, b, scale, shift] = [
        randArray(M * K, 21),
        randArray(K * N, 22),
        randArray(N, 23, 0.5, 2),
        randArray(N, 24),
      ];
      const y = noGrad(() =>
        matmulFused(t(a, [M, K]), t(b, [K, N]), { table: t([...scale, ...shift], [2, N]), relu: true }, { splits }),
      );
      expectClose(await y.read(), affineRef(matmulReference(a, [M, K], b, [K, N]), scale, shift, true), {
        atol: 1e-4,
        what: 'C',
      });
    });
  }

  /** Float64: `part` ([rows, C]) placed at channel `offset` of `base` ([rows, D]); the rest of base unchanged. */
  const placed = (
    base: ArrayLike<number>,
    D: number,
    part: ArrayLike<number>,
    C: number,
    offset: number,
  ): Float64Array => {
    const out = Float64Array.from(base);
    for (let r = 0; r < part.length / C; r++) for (let c = 0; c < C; c++) out[r * D + offset + c] = part[r * C + c];
    return out;
  };
  // Outputs written into a wider tensor at a channel offset (DenseNet's in-place concatenation): every
  // other channel must keep its value, and split-k's pass must land in the same place.
  const intoCases: {
    x: number[];
    w: number[];
    opts: Conv2dOptions;
    D: number;
    offset: number;
    epilogue: boolean;
    note: string;
  }[] = [
    {
      x: [2, 5, 6, 8],
      w: [3, 3, 8, 5],
      opts: { padding: 'same' },
      D: 17,
      offset: 9,
      epilogue: false,
      note: 'odd width and offset',
    },
    {
      x: [2, 3, 3, 64],
      w: [3, 3, 64, 8],
      opts: { padding: 'same' },
      D: 24,
      offset: 12,
      epilogue: true,
      note: 'K = 576 on 18 rows: split-k',
    },
    { x: [1, 4, 5, 6], w: [1, 1, 6, 7], opts: {}, D: 11, offset: 4, epilogue: true, note: '1x1: the matmul path' },
  ];
  for (const c of intoCases) {
    it(`conv into channels ${c.offset}.. of ${c.D}: ${c.w.join('x')} ${c.note}`, async () => {
      const Cout = c.w[3];
      const [x, w, scale, shift] = [
        randArray(numel(c.x), 31),
        randArray(numel(c.w), 32),
        randArray(Cout, 33, 0.5, 2),
        randArray(Cout, 34),
      ];
      const ref = conv2dReference(x, c.x, w, c.w, null, c.opts);
      const rows = numel(ref.shape) / Cout;
      const base = randArray(rows * c.D, 35);
      const target = t(base, [...ref.shape.slice(0, 3), c.D]);
      const epilogue = c.epilogue ? { table: t([...scale, ...shift], [2, Cout]), relu: true } : null;
      const y = noGrad(() =>
        conv2dFused(t(x, c.x), t(w, c.w), epilogue, { ...c.opts, into: { tensor: target, offset: c.offset } }),
      );
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
      expectClose(await target.read(), placed(base, D, matmulReference(a, [M, K], b, [K, N]), N, offset), {
        atol: 1e-4,
        what: 'target',
      });
    });
  }
  it('batchNormApplyTable reads a channel slice of a wider tensor', async () => {
    const [rows, D, offset, C] = [14, 21, 3, 8];
    const x = randArray(rows * D, 51, -2, 2);
    const [scale, shift] = [randArray(C, 52, -1.5, 1.5), randArray(C, 53)];
    const y = noGrad(() => batchNormApplyTable(t(x, [2, 7, D]), t([...scale, ...shift], [2, C]), true, { offset }));
    expect(y.shape).toEqual([2, 7, C]);
    const slice = Float64Array.from({ length: rows * C }, (_, i) => x[Math.floor(i / C) * D + offset + (i % C)]);
    expectClose(await y.read(), affineRef(slice, scale, shift, true), { what: 'y' });
    expect(() =>
      noGrad(() => batchNormApplyTable(t(x, [2, 7, D]), t([...scale, ...shift], [2, C]), true, { offset: 15 })),
    ).toThrow(/8 input channels from channel 15 of \[2, 7, 21\]/);
  });

  it('refuses what it cannot do: gradients, grouped convolutions, a wrong table', () => {
    const x = t(randArray(2 * 5 * 5 * 4, 1), [2, 5, 5, 4], true);
    const w = t(randArray(3 * 3 * 4 * 8, 2), [3, 3, 4, 8]);
    const table = t(randArray(16, 3), [2, 8]);
    expect(() => conv2dFused(x, w, { table, relu: true })).toThrow(/records no gradients.*noGrad/);
    expect(() =>
      noGrad(() => conv2dFused(x, t(randArray(3 * 3 * 2 * 8, 2), [3, 3, 2, 8]), { table, relu: true }, { groups: 2 })),
    ).toThrow(/groups = 1/);
    expect(() => noGrad(() => conv2dFused(x, w, { table: t(randArray(14, 3), [2, 7]), relu: true }))).toThrow(
      /\[2, 8\].*\[2, 7\]/,
    );
    const xs = t(randArray(2 * 5 * 5 * 4, 1), [2, 5, 5, 4]);
    expect(() =>
      noGrad(() => conv2dFused(xs, w, null, { into: { tensor: Tensor.zeros([2, 5, 4, 12]), offset: 0 } })),
    ).toThrow(/output \[2, 3, 3, 8\] at channel 0 of \[2, 5, 4, 12\]/);
    expect(() =>
      noGrad(() => conv2dFused(xs, w, null, { into: { tensor: Tensor.zeros([2, 3, 3, 12]), offset: 6 } })),
    ).toThrow(/channels 6\.\.13 within its last axis \(12\)/);
  });
});

describe('GEMM prologue: a per-input-channel affine map (and ReLU) applied as A is read', () => {
  /**
   * Float64: columns [off, off + K) of the rows of `a` ([M, lda]), each mapped by x * scale[k] +
   * shift[k] (then ReLU).
   */
  const mappedSlice = (
    a: ArrayLike<number>,
    M: number,
    lda: number,
    off: number,
    K: number,
    scale: ArrayLike<number>,
    shift: ArrayLike<number>,
    relu: boolean,
  ) =>
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
  const runs = [
    ...cases.map((c) => ({ c, variant: undefined as GemmVariant | undefined })),
    ...GEMM_VARIANTS.flatMap((variant) => [cases[2], cases[4]].map((c) => ({ c, variant }))),
  ];
  for (const { c, variant } of runs) {
    it(
      `matmul ${c.M}x${c.K} (columns ${c.off}.. of ${c.lda}) @ ${c.K}x${c.N}, relu=${c.relu}, ` +
        `${c.splits} split(s)${c.epi ? ', with an epilogue' : ''}${variant ? `, ${variant} core` : ''}`,
      async () => {
        setVariant('gemm', variant);
        onTestFinished(() => setVariant('gemm', undefined));
        const [a, b, ps, pt, es, et] = [
          randArray(c.M * c.lda, 81, -2, 2),
          randArray(c.K * c.N, 82),
          randArray(c.K, 83, -1.5, 1.5),
          randArray(c.K, 84),
          randArray(c.N, 85, 0.5, 2),
          randArray(c.N, 86),
        ];
        const y = noGrad(() =>
          matmulFused(
            t(a, [c.M, c.lda]),
            t(b, [c.K, c.N]),
            c.epi ? { table: t([...es, ...et], [2, c.N]), relu: true } : null,
            {
              splits: c.splits,
              prologue: { table: t([...ps, ...pt], [2, c.K]), relu: c.relu },
              ...(c.lda !== c.K || c.off ? { from: { offset: c.off } } : {}),
            },
          ),
        );
        const mapped = mappedSlice(a, c.M, c.lda, c.off, c.K, ps, pt, c.relu);
        if (c.relu) expect(mapped.some((v) => v === 0) && mapped.some((v) => v > 0)).toBe(true);
        const ref = matmulReference(mapped, [c.M, c.K], b, [c.K, c.N]);
        expectClose(await y.read(), c.epi ? affineRef(ref, es, et, true) : ref, { atol: 1e-4, what: 'C' });
      },
    );
  }

  it(
    'conv2dFused 1x1 with a prologue on channels 4..15 of a wider input: what batchNormApplyTable then the ' +
      'convolution give',
    async () => {
      const [N, H, W, D, off, Cin, Cout] = [2, 5, 3, 20, 4, 12, 8];
      const [x, w, ps, pt, es, et] = [
        randArray(N * H * W * D, 91, -2, 2),
        randArray(Cin * Cout, 92),
        randArray(Cin, 93, -1.5, 1.5),
        randArray(Cin, 94),
        randArray(Cout, 95, 0.5, 2),
        randArray(Cout, 96),
      ];
      const xt = t(x, [N, H, W, D]);
      const epilogue = { table: t([...es, ...et], [2, Cout]), relu: false };
      const y = noGrad(() =>
        conv2dFused(xt, t(w, [1, 1, Cin, Cout]), epilogue, {
          prologue: { table: t([...ps, ...pt], [2, Cin]), relu: true },
          from: { offset: off },
        }),
      );
      expect(y.shape).toEqual([N, H, W, Cout]);
      const h = mappedSlice(x, N * H * W, D, off, Cin, ps, pt, true);
      const ref = conv2dReference(h, [N, H, W, Cin], w, [1, 1, Cin, Cout], null, {});
      expectClose(await y.read(), affineRef(ref.out, es, et, false), { atol: 1e-4, what: 'y' });
    },
  );

  for (const [shape, size, stride, padding, relu] of [
    [[2, 7, 9, 5], 2, 2, 'valid', true],
    [[1, 6, 5, 8], 3, 2, 'same', false],
    [[2, 4, 4, 12], 2, 2, 'valid', true],
  ] as const) {
    it(
      `avgPool2dMapped ${shape.join('x')} ${size}x${size}/${stride} ${padding} relu=${relu} ` +
        `(${shape[3] % 4 ? 'scalar' : 'vec4'}): the average of the mapped cells`,
      async () => {
        const C = shape[3];
        const [x, ps, pt] = [randArray(numel(shape), 101, -2, 2), randArray(C, 102, -1.5, 1.5), randArray(C, 103)];
        const y = noGrad(() =>
          avgPool2dMapped(t(x, [...shape]), { table: t([...ps, ...pt], [2, C]), relu }, { size, stride, padding }),
        );
        const ref = pool2dReference(affineRef(x, ps, pt, relu), shape, 'avg', { size, stride, padding });
        expect(y.shape).toEqual(ref.shape);
        expectClose(await y.read(), ref.y, { what: 'y' });
      },
    );
  }

  it(
    'refuses what it cannot do: a map before a padded or wider convolution, a wrong table, ' +
      'columns past the input, gradients',
    () => {
      const x = t(randArray(2 * 5 * 5 * 8, 1), [2, 5, 5, 8]);
      const pro = { table: t(randArray(16, 2), [2, 8]), relu: true };
      expect(() =>
        noGrad(() =>
          conv2dFused(x, t(randArray(9 * 8 * 4, 3), [3, 3, 8, 4]), null, { padding: 'same', prologue: pro }),
        ),
      ).toThrow(/only for 1x1, stride-1, unpadded.*\[3, 3, 8, 4\]/);
      expect(() =>
        noGrad(() => conv2dFused(x, t(randArray(8 * 4, 3), [1, 1, 8, 4]), null, { stride: 2, prologue: pro })),
      ).toThrow(/only for 1x1, stride-1, unpadded/);
      expect(() =>
        noGrad(() => conv2dFused(x, t(randArray(6 * 4, 3), [1, 1, 6, 4]), null, { from: { offset: 3 } })),
      ).toThrow(/6 input channels.*from channel 3 of \[2, 5, 5, 8\]/);
      expect(() =>
        noGrad(() =>
          matmulFused(t(randArray(40, 4), [5, 8]), t(randArray(32, 5), [8, 4]), null, {
            prologue: { table: t(randArray(8, 6), [2, 4]), relu: false },
          }),
        ),
      ).toThrow(/prologue table must be \[2, 8\].*got \[2, 4\]/);
      expect(() =>
        noGrad(() =>
          matmulFused(t(randArray(40, 4), [5, 8]), t(randArray(24, 5), [6, 4]), null, { from: { offset: 3 } }),
        ),
      ).toThrow(/6 input channels from channel 3 of \[1, 5, 1, 8\]/);
      expect(() =>
        noGrad(() => avgPool2dMapped(x, { table: t(randArray(12, 7), [2, 6]), relu: true }, { size: 2 })),
      ).toThrow(/table must be \[2, 8\].*got \[2, 6\]/);
      expect(() => avgPool2dMapped(t(randArray(2 * 5 * 5 * 8, 1), [2, 5, 5, 8], true), pro, { size: 2 })).toThrow(
        /records no gradients.*noGrad/,
      );
    },
  );
});

describe('inference plans: the fused plan against the unfused one (one step per layer)', () => {
  /** conv -> BN -> ReLU (bias, odd channels), BN -> ReLU, conv -> BN (no ReLU), a pool, 1x1 conv -> BN -> ReLU. */
  function net(seed: number): Sequential {
    const bn = (c: number, scale = true) => new BatchNorm2d({ channels: c, scale, epsilon: 1e-3 });
    return buildScope(
      { seed },
      () =>
        new Sequential([
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
        ]),
    );
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
  const counted = <T>(fn: () => T): { y: T; dispatches: number } => {
    const d0 = runtime().dispatches;
    const y = fn();
    return { y, dispatches: runtime().dispatches - d0 };
  };
  /**
   * The fused and the unfused plan of m (eval mode) on x: their outputs agree; returns both dispatch
   * counts (of a run, the plans compiled before) and the fused plan's description.
   */
  async function compare(m: Sequential, x: Tensor, what: string, atol = 1e-5) {
    m.eval();
    const [fusedPlan, plainPlan] = [compilePlan(m, x.shape), compilePlan(m, x.shape, { fuse: false })];
    const { y: f, dispatches: fusedDispatches } = counted(() => fusedPlan.run(x));
    const { y: p, dispatches: plainDispatches } = counted(() => plainPlan.run(x));
    expect(f.shape).toEqual(p.shape);
    expectClose(await f.read(), await p.read(), { atol, what: `${what}: fused vs unfused plan` });
    // The unfused plan is the layers' own forward passes.
    const graph = noGrad(() => tidy(() => m.forward(x)));
    expectClose(await graph.read(), await p.read(), { atol: 1e-6, what: `${what}: unfused plan vs forward` });
    const [head, ...lines] = fusedPlan.describe().split('\n');
    expect(head).toBe(`infer plan, fused: ${lines.length} steps`);
    expect(plainPlan.describe().split('\n')[0]).toMatch(/^infer plan, unfused: /);
    expect(plainPlan.counts()).toEqual({ layer: plainPlan.describe().split('\n').length - 1 });
    const described = lines.join('\n');
    for (const v of [f, p, graph]) v.dispose();
    for (const plan of [fusedPlan, plainPlan]) plan.dispose();
    return { fusedDispatches, plainDispatches, described, shape: f.shape };
  }

  it('conv -> BN -> ReLU, BN -> ReLU, conv -> BN: the same output, fewer dispatches, the rules named', async () => {
    const m = net(3);
    await randomiseStats(m);
    const x = t(randArray(2 * 9 * 11 * 3, 5, -2, 2), [2, 9, 11, 3]);
    const r = await compare(m, x, 'net');
    expect(r.fusedDispatches).toBeLessThan(r.plainDispatches);
    expect(r.described.split('\n').map((l) => l.split(' ')[0])).toEqual([
      'conv-bn-relu',
      'bn-relu',
      'conv-bn-relu',
      'layer',
      'conv-bn-relu',
    ]);
    x.dispose();
    m.dispose();
  });

  it(
    'a plan keeps its tables (runs build none); the version moves with loads, mode changes, training forwards ' +
      'and optimizer steps',
    async () => {
      const m = net(11);
      await randomiseStats(m);
      m.eval();
      const x = t(randArray(2 * 9 * 11 * 3, 12, -2, 2), [2, 9, 11, 3]);
      const rt = runtime();
      const live = rt.memory().liveBuffers;
      const plan = compilePlan(m, x.shape);
      // Four tables (three conv -> BN, one BN -> ReLU), kept by the plan.
      expect(rt.memory().liveBuffers - live).toBe(4);
      const first = counted(() => plan.run(x));
      const second = counted(() => plan.run(x));
      expect(second.dispatches).toBe(first.dispatches);
      for (const y of [first.y, second.y]) y.dispose();
      plan.dispose();
      expect(rt.memory().liveBuffers).toBe(live);
      const moves = async (what: string, fn: () => unknown): Promise<void> => {
        const v = m.version;
        await fn();
        expect(m.version, what).toBeGreaterThan(v);
      };
      await moves('loadStateDict', async () => m.loadStateDict(await m.stateDict()));
      await moves('train()', () => m.train(true));
      const p = m.parameters();
      const opt = new Adam(p, { lr: 0.05 });
      await moves('a training forward', () => {
        const y = tidy(() => m.forward(x));
        backward(y, t(randArray(y.size, 13), [...y.shape]));
        y.dispose();
      });
      await moves('an optimizer step', () => opt.step());
      await moves('eval()', () => m.eval());
      const v = m.version;
      noGrad(() => tidy(() => m.forward(x))).dispose();
      expect(m.version, 'an inference forward').toBe(v);
      for (const q of p) {
        q.grad?.dispose();
        q.grad = null;
      }
      opt.dispose();
      m.dispose();
      x.dispose();
    },
  );

  it('zero padding goes into the next convolution: the same output, fewer dispatches', async () => {
    const m = buildScope(
      { seed: 21 },
      () =>
        new Sequential([
          new ZeroPad2d({ padding: [1, 2, 0, 3] }),
          new Conv2d({ inChannels: 4, filters: 6, kernelSize: 3, strides: 2, useBias: true }),
          new BatchNorm2d({ channels: 6 }),
          new ReLU(),
          new ZeroPad2d({ padding: 1 }),
          new Conv2d({ inChannels: 6, filters: 5, kernelSize: [3, 1], padding: [0, 1, 1, 0], useBias: true }),
          new ZeroPad2d({ padding: 1 }), // before a 'same' convolution it stays a layer of its own
          new Conv2d({ inChannels: 5, filters: 3, kernelSize: 3, padding: 'same', useBias: false }),
        ]),
    );
    await randomiseStats(m, 300);
    const x = t(randArray(2 * 9 * 8 * 4, 22, -2, 2), [2, 9, 8, 4]);
    const r = await compare(m, x, 'padded');
    expect(r.shape).toEqual([2, 8, 10, 3]);
    expect(r.fusedDispatches).toBeLessThan(r.plainDispatches);
    expect(r.described.split('\n').map((l) => l.split(' ')[0])).toEqual([
      'conv-bn-relu',
      'pad-conv',
      'layer',
      'conv-store',
    ]);
    x.dispose();
    m.dispose();
  });

  it('after a ReLU, zero padding goes into the next max pooling: the same output, fewer passes', async () => {
    // DenseNet's stem (conv -> BN -> ReLU -> ZeroPad2d(1) -> 3x3/2 max pool), an uneven padding, and a
    // zero padding after something that is not a ReLU, which must stay a layer of its own.
    const m = buildScope(
      { seed: 41 },
      () =>
        new Sequential([
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
        ]),
    );
    await randomiseStats(m, 400);
    const x = t(randArray(2 * 13 * 10 * 3, 42, -2, 2), [2, 13, 10, 3]);
    const r = await compare(m, x, 'pooled');
    expect(r.shape).toEqual([2, 4, 3, 4]);
    // Two zero paddings (two passes each where tests poison) are gone, and a batch norm and a ReLU.
    expect(r.plainDispatches - r.fusedDispatches).toBeGreaterThanOrEqual(4);
    expect(r.described.match(/^relu-pad-maxpool/gm)?.length).toBe(2);
    x.dispose();
    m.dispose();
  });

  it(
    'pre-activation (BN -> ReLU -> 1x1 conv [-> BN -> ReLU]) is one GEMM: same output as the unfused plan, ' +
      'fewer passes',
    async () => {
      const bn = (c: number) => new BatchNorm2d({ channels: c, epsilon: 1.001e-5 });
      const nets = buildScope({ seed: 31 }, () => [
        // a DenseNet transition, then a bottleneck with a biased 1x1 (the bias goes into the second table)
        new Sequential([
          bn(6),
          new ReLU(),
          new Conv2d({ inChannels: 6, filters: 10, kernelSize: 1, useBias: false }),
          new AvgPool2d({ poolSize: 2, strides: 2 }),
          bn(10),
          new ReLU(),
          new Conv2d({ inChannels: 10, filters: 7, kernelSize: 1, useBias: true }),
          bn(7),
          new ReLU(),
        ]),
        // no ReLU between: the map alone; a biased 1x1 with nothing after it is left unfused
        new Sequential([
          bn(5),
          new Conv2d({ inChannels: 5, filters: 8, kernelSize: 1, padding: 'same', useBias: false }),
          bn(8),
          bn(8),
          new Conv2d({ inChannels: 8, filters: 4, kernelSize: 1, useBias: true }),
        ]),
      ]);
      for (const [i, m] of nets.entries()) {
        const C = i === 0 ? 6 : 5;
        await randomiseStats(m, 900 + 10 * i);
        const x = t(randArray(2 * 6 * 7 * C, 97 + i, -2, 2), [2, 6, 7, C]);
        const r = await compare(m, x, `net ${i}`);
        expect(r.plainDispatches - r.fusedDispatches).toBeGreaterThanOrEqual(i === 0 ? 6 : 3);
        const rules = r.described.split('\n').map((l) => l.split(' ')[0]);
        expect(rules).toEqual(
          i === 0 ? ['bn-conv-avgpool', 'bn-conv-bn-relu'] : ['bn-conv-bn-relu', 'bn-relu', 'layer'],
        );
        x.dispose();
        m.dispose();
      }
    },
  );

  it('a DenseNet block concatenates in place: the same output as the unfused plan, fewer passes', async () => {
    /**
     * DenseNet layers (BN -> ReLU -> 1x1 -> BN -> ReLU -> 3x3 'same'), the last with a biased conv (not a dense-block
     * layer).
     */
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
            new Conv2d({
              inChannels: 8,
              filters: growth,
              kernelSize: 3,
              padding: 'same',
              useBias: biasLast && i === layers - 1,
            }),
          ]);
          out.push(new Concat([new Identity(), f]));
          c += growth;
        }
        return new Sequential([...out, new MaxPool2d({ poolSize: 2, strides: 2 })]);
      });
    for (const [c0, growth, biasLast] of [
      [6, 5, false],
      [8, 4, true],
    ] as const) {
      const m = block(c0, growth, 3, biasLast);
      await randomiseStats(m, 500);
      const x = t(randArray(2 * 7 * 6 * c0, 60 + c0, -2, 2), [2, 7, 6, c0]);
      const r = await compare(m, x, `block c0=${c0}`, 1e-4);
      expect(r.shape).toEqual([2, 3, 3, c0 + 3 * growth]);
      expect(r.fusedDispatches).toBeLessThan(r.plainDispatches);
      const top = r.described
        .split('\n')
        .filter((l) => !l.startsWith(' '))
        .map((l) => l.split(' ')[0]);
      expect(top).toEqual(biasLast ? ['dense-block', 'concat-in-place', 'layer'] : ['dense-block', 'layer']);
      x.dispose();
      m.dispose();
    }
  });

  it('an Inception block concatenates in place, nested concatenations too: the same output, fewer copies', async () => {
    /** A subclass is not fused (it may override forward): its plan copies each branch. */
    class CopyingConcat extends Concat {}
    const block = (C: typeof Concat) =>
      buildScope({ seed: 77 }, () => {
        const cbr = (cin: number, cout: number, k: [number, number], stride = 1) => [
          new Conv2d({
            inChannels: cin,
            filters: cout,
            kernelSize: k,
            strides: stride,
            padding: 'same',
            useBias: false,
          }),
          new BatchNorm2d({ channels: cout, scale: false, epsilon: 1e-3 }),
          new ReLU(),
        ];
        return new Sequential([
          new C([
            new Sequential(cbr(6, 5, [1, 1])),
            new Sequential([...cbr(6, 4, [1, 1]), ...cbr(4, 7, [3, 3])]),
            new Sequential([new AvgPool2d({ poolSize: 3, strides: 1, padding: 'same' }), ...cbr(6, 3, [1, 1])]),
            new Sequential([
              ...cbr(6, 8, [1, 1]),
              new C([new Sequential(cbr(8, 4, [1, 3])), new Sequential(cbr(8, 6, [3, 1]))]),
            ]),
            new Sequential([new MaxPool2d({ poolSize: 3, strides: 1, padding: 'same' })]),
            new Sequential([new Conv2d({ inChannels: 6, filters: 4, kernelSize: 3, padding: 'same', useBias: false })]),
          ]),
          new MaxPool2d({ poolSize: 2, strides: 2 }),
        ]);
      });
    const [m, copying] = [block(Concat), block(CopyingConcat)];
    await randomiseStats(m, 700);
    await randomiseStats(copying, 700);
    const x = t(randArray(2 * 5 * 7 * 6, 71, -2, 2), [2, 5, 7, 6]);
    const r = await compare(m, x, 'in place', 1e-4);
    const c = await compare(copying, x, 'copying', 1e-4);
    expect(r.shape).toEqual([2, 2, 3, 5 + 7 + 3 + 10 + 6 + 4]);
    // Copying: six branch copies and two nested; in place only the max pool's branch is copied (the
    // tests' poisoning also fills every tensor allocated, and in place allocates fewer).
    expect(c.fusedDispatches - r.fusedDispatches).toBeGreaterThanOrEqual(7);
    expect(r.described.match(/^ *concat-in-place/gm)?.length).toBe(2);
    x.dispose();
    for (const net of [m, copying]) net.dispose();
  });

  it(
    'describe() names the rules that fired in a small DenseNet121 and InceptionV3 (with BAM), whose plans give ' +
      'the unfused logits',
    async () => {
      const models = [
        denseNet121({ numClasses: 2, inputSize: 32, widthMultiplier: 0.25, bam: true, seed: 2 }),
        inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, bam: true, seed: 2 }),
      ];
      const want = [
        [
          'dense-block',
          'bn-conv-bn-relu',
          'bn-conv-avgpool',
          'conv-bn-relu',
          'relu-pad-maxpool',
          'bn-relu',
          'bam',
          'layer',
        ],
        ['concat-in-place', 'conv-bn-relu', 'bam', 'layer'],
      ];
      for (const [i, m] of models.entries()) {
        m.eval();
        const x = t(randArray(2 * m.config.inputSize ** 2 * 3, 3 + i, -1, 1), [
          2,
          m.config.inputSize,
          m.config.inputSize,
          3,
        ]);
        const [a, b] = [m.predict(x), m.predict(x, { fuse: false })];
        expectClose(await a.read(), await b.read(), { atol: 1e-4, rtol: 1e-3, what: `${m.name} logits` });
        const plan = compilePlan(m, x.shape);
        const counts = plan.counts();
        for (const rule of want[i])
          expect(counts[rule], `${m.name}: ${rule} in\n${plan.describe()}`).toBeGreaterThan(0);
        // the stem: [zero padding >] conv > bn > relu
        expect(plan.describe().split('\n')[1]).toMatch(/^conv-bn-relu +(\S+ > )?\S+ > \S+ > \S+$/);
        plan.dispose();
        for (const v of [a, b, x]) v.dispose();
        m.dispose();
      }
    },
  );
});

describe('training plans: the differentiable rules, against the layers one by one', () => {
  const DIFFERENTIABLE = FUSION_RULES.filter((r) => r.differentiable).map((r) => r.name);
  const rand = (shape: number[], seed: number, lo = -1, hi = 1) => t(randArray(numel(shape), seed, lo, hi), shape);
  /** Dispatches recorded by fn. */
  const counted = <T>(fn: () => T): { y: T; dispatches: number } => {
    const d0 = runtime().dispatches;
    const y = fn();
    return { y, dispatches: runtime().dispatches - d0 };
  };
  /** The output of `forward` and the listed tensors' gradients for an output gradient dy. */
  async function step(forward: (x: Tensor) => Tensor, x: Tensor, dy: Tensor, watch: Tensor[]) {
    const { y, dispatches } = counted(() =>
      tidy(() => {
        const y = forward(x);
        backward(y, dy);
        return y;
      }),
    );
    const r = { y: await y.read(), grads: await Promise.all(watch.map((w) => w.grad!.read())), dispatches };
    y.dispose();
    for (const w of watch) {
      w.grad?.dispose();
      w.grad = null;
    }
    return r;
  }
  const read = (ts: [string, Tensor][]) => Promise.all(ts.map(([, b]) => b.read()));

  it(
    'a chain of every differentiable rule (frozen batch norms too): the values, gradients (input included) and ' +
      'moving statistics of the layers',
    async () => {
      // DenseNet's stem (ZeroPad2d -> conv -> BN -> ReLU -> ZeroPad2d -> max pool), a frozen BN -> ReLU,
      // an inception-like concatenation whose branches fuse, a padded biased convolution.
      const build = () =>
        buildScope({ seed: 51 }, () => {
          const frozen = new BatchNorm2d({ channels: 6 });
          const m = new Sequential([
            new ZeroPad2d({ padding: [1, 2, 2, 1] }),
            new Conv2d({ inChannels: 3, filters: 6, kernelSize: 3, strides: 2, useBias: false }),
            new BatchNorm2d({ channels: 6, epsilon: 1.001e-5 }),
            new ReLU(),
            new ZeroPad2d({ padding: 1 }),
            new MaxPool2d({ poolSize: 3, strides: 2 }),
            frozen,
            new ReLU(),
            new Concat([
              new Identity(),
              new Sequential([
                new Conv2d({ inChannels: 6, filters: 4, kernelSize: 1, useBias: false }),
                new BatchNorm2d({ channels: 4, scale: false }),
                new ReLU(),
              ]),
              new Sequential([
                new ZeroPad2d({ padding: 1 }),
                new Conv2d({ inChannels: 6, filters: 5, kernelSize: 3, useBias: true }),
                new BatchNorm2d({ channels: 5 }),
                new ReLU(),
              ]),
            ]),
            new ZeroPad2d({ padding: [0, 1, 1, 0] }),
            new Conv2d({ inChannels: 15, filters: 2, kernelSize: 2, useBias: true }),
          ]);
          frozen.freeze();
          return m;
        });
      const [a, b] = [build(), build()];
      for (const m of [a, b]) await randomise(m, 200);
      const x = rand([2, 17, 15, 3], 52, -2, 2);
      const shape = [...a.outputShape(x.shape)];
      const dy = rand(shape, 53, 0, 1);
      const plan = compilePlan(a, x.shape, { mode: 'train' });
      expect(plan.mode).toBe('train');
      const [head, ...lines] = plan.describe().split('\n');
      expect(head).toBe(`train plan, fused: ${lines.length} steps`);
      expect(lines.filter((l) => !l.startsWith(' ')).map((l) => l.split(' ')[0])).toEqual([
        'pad-conv',
        'bn-relu-op',
        'relu-pad-maxpool',
        'bn-relu-op',
        'concat',
        'pad-conv',
      ]);
      expect(lines.filter((l) => l.startsWith(' ')).map((l) => l.trim().split(' ')[0])).toEqual([
        'layer',
        'layer',
        'bn-relu-op',
        'pad-conv',
        'bn-relu-op',
      ]);
      for (const m of [a, b]) m.train();
      x.requiresGrad = true;
      const watch = (m: Sequential) => [x, ...m.parameters()];
      const versions = [a.version, b.version];
      const before = await read(a.namedBuffers());
      const frozenName = [...a.modules()].find((l) => l instanceof BatchNorm2d && !l.trainable)!.name + '.';
      const fusedRun = await step((v) => plan.run(v), x, dy, watch(a));
      const plainRun = await step((v) => b.forward(v), x, dy, watch(b));
      expect(a.version - versions[0], 'batch-statistics batch norms touch their layer').toBe(b.version - versions[1]);
      expect(fusedRun.dispatches).toBeLessThan(plainRun.dispatches);
      expectClose(fusedRun.y, plainRun.y, { what: 'output' });
      const names = [
        'x',
        ...a
          .namedParameters()
          .filter(([, p]) => p.requiresGrad)
          .map(([k]) => k),
      ];
      expect(names.length).toBe(fusedRun.grads.length);
      for (const [k, g] of fusedRun.grads.entries())
        expectClose(g, plainRun.grads[k], { atol: 1e-5, rtol: 1e-4, what: `gradient of ${names[k]}` });
      const [sa, sb] = [await read(a.namedBuffers()), await read(b.namedBuffers())];
      for (const [k, [name]] of a.namedBuffers().entries()) expectClose(sa[k], sb[k], { atol: 1e-6, what: name });
      // The frozen batch norm kept its statistics (it normalises with them in training too); the others moved.
      for (const [k, [name]] of a.namedBuffers().entries())
        expect(
          sa[k].some((v, j) => v !== before[k][j]),
          name,
        ).toBe(!name.startsWith(frozenName));
      // The plan's run records autograd, and the unfused training plan is the layers' forward.
      const plain = compilePlan(a, x.shape, { mode: 'train', fuse: false });
      expect(plain.counts()).toEqual({ layer: plain.describe().split('\n').length - 1 });
      plan.dispose();
      plain.dispose();
      for (const v of [x, dy]) v.dispose();
      for (const m of [a, b]) m.dispose();
    },
  );

  /** Moving statistics and affine weights away from their initial values. */
  async function randomise(m: Sequential, seed: number): Promise<void> {
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

  const small: [string, () => Model][] = [
    [
      'InceptionV3 75x75 width 0.25 + BAM',
      () => inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, bam: true, seed: 6 }),
    ],
    [
      'DenseNet121 32x32 width 0.25 + BAM',
      () => denseNet121({ numClasses: 2, inputSize: 32, widthMultiplier: 0.25, bam: true, seed: 6 }),
    ],
  ];
  for (const [label, build] of small) {
    it(
      `${label}: forwardTrain (the training plan) gives the layers' losses, gradients and moving statistics ` +
        `over two Adam steps, in fewer dispatches`,
      async () => {
        const [a, b] = [build(), build()];
        const S = a.config.inputSize;
        const x = rand([2, S, S, 3], 61, -1, 1);
        const labels = t([1, 0, 0, 1], [2, 2]);
        const opts = [new Adam(a.parameters(), { lr: 1e-3 }), new Adam(b.parameters(), { lr: 1e-3 })];
        for (const m of [a, b]) m.train();
        const plan = a.plan(x.shape, { mode: 'train' });
        const counts = plan.counts();
        for (const rule of Object.keys(counts))
          expect([...DIFFERENTIABLE, 'layer'], `${rule} in a training plan`).toContain(rule);
        const want =
          a.config.arch === 'denseNet121'
            ? ['pad-conv', 'relu-pad-maxpool', 'bn-relu-op', 'concat', 'bam']
            : ['bn-relu-op', 'concat', 'bam'];
        for (const rule of want) expect(counts[rule], `${rule} in\n${plan.describe()}`).toBeGreaterThan(0);
        // Nothing of the plan outlives a step: after one inside tidy, live memory is what it was plus the gradients.
        await a.namedBuffers()[0][1].read(); // settle pending uploads
        const live = runtime().memory().liveBytes;
        tidy(() => void backward(softmaxCrossEntropy(a.forwardTrain(x), labels)));
        tidy(() => void backward(softmaxCrossEntropy(b.forward(x), labels))); // the same moving statistics
        for (const m of [a, b]) m.zeroGrad();
        expect(runtime().memory().liveBytes).toBe(live);
        // A few parameters: the stem's kernel, a batch norm's gamma and beta, a BAM gate's, the classifier's.
        const pick = (m: Model) => {
          const ps = m.namedParameters();
          const find = (f: (k: string) => boolean) => ps.find(([k]) => f(k))!;
          return [
            ps[0],
            find((k) => k.endsWith('.gamma') || k.endsWith('.beta')),
            find((k) => k.includes('gate_s_conv_di_0')),
            find((k) => k.includes('gate_c_fc_0')),
            ps[ps.length - 1],
          ];
        };
        const [pa, pb] = [pick(a), pick(b)];
        expect(pa.map(([k]) => k)).toEqual(pb.map(([k]) => k));
        for (let turn = 0; turn < 2; turn++) {
          const [fa, fb] = [
            counted(() =>
              tidy(() => {
                const l = softmaxCrossEntropy(a.forwardTrain(x), labels);
                backward(l);
                return l;
              }),
            ),
            counted(() =>
              tidy(() => {
                const l = softmaxCrossEntropy(b.forward(x), labels);
                backward(l);
                return l;
              }),
            ),
          ];
          expect(fa.dispatches, 'fewer dispatches').toBeLessThan(fb.dispatches);
          expectClose(await fa.y.read(), await fb.y.read(), {
            atol: 1e-5,
            rtol: 1e-4,
            what: `${label} loss, step ${turn}`,
          });
          for (const [k, [name, p]] of pa.entries())
            expectClose(await p.grad!.read(), await pb[k][1].grad!.read(), {
              atol: 1e-5,
              rtol: 1e-3,
              what: `${label} gradient of ${name}, step ${turn}`,
            });
          const [sa, sb] = [await read(a.namedBuffers()), await read(b.namedBuffers())];
          for (const [k, [name]] of a.namedBuffers().entries())
            expectClose(sa[k], sb[k], { atol: 1e-5, rtol: 1e-4, what: `${label} ${name}, step ${turn}` });
          fa.y.dispose();
          fb.y.dispose();
          for (const o of opts) {
            o.step();
            o.zeroGrad();
          }
          // The plan holds while the structure does (optimizer steps and moving statistics move the version).
          expect(a.plan(x.shape, { mode: 'train' })).toBe(plan);
        }
        for (const o of opts) o.dispose();
        for (const v of [x, labels]) v.dispose();
        for (const m of [a, b]) m.dispose();
      },
    );
  }

  it(
    "a training step's dispatches are those of the build before inference plans (550a9b9): InceptionV3 75 px " +
      '1,483, DenseNet121 64 px 1,986 (batch 2)',
    async () => {
      setPoison(false); // poisoning adds passes: count what the trainer records
      onTestFinished(() => setPoison(true));
      for (const [build, want] of [
        [() => inceptionV3({ numClasses: 2, inputSize: 75, seed: 1 }), 1483],
        [() => denseNet121({ numClasses: 2, inputSize: 64, seed: 1 }), 1986],
      ] as const) {
        const m = build();
        m.train();
        const S = m.config.inputSize;
        const x = rand([2, S, S, 3], 71, -1, 1);
        const labels = t([1, 0, 0, 1], [2, 2]);
        const opt = new Adam(m.parameters(), { lr: 1e-4 });
        const trainStep = async () => {
          const { y: l, dispatches } = counted(() => {
            const l = tidy(() => {
              const l = softmaxCrossEntropy(m.forwardTrain(x), labels);
              backward(l);
              return l;
            });
            opt.step();
            opt.zeroGrad();
            return l;
          });
          expect(Number.isFinite(await l.item())).toBe(true);
          l.dispose();
          return dispatches;
        };
        await trainStep(); // Adam's state
        expect(await trainStep(), m.name).toBe(want);
        opt.dispose();
        for (const v of [x, labels]) v.dispose();
        m.dispose();
      }
    },
  );
});

describe('NaN through the fused ReLU (issue #24): fused kernels agree with the unfused ops', () => {
  /** `n` values with NaN at `at`. */
  const withNaN = (n: number, seed: number, at: number): Float64Array =>
    randArray(n, seed, -2, 2).map((v, i) => (i === at ? NaN : v));
  it('GEMM epilogue: conv2dFused 3x3 same, relu (the case above), NaN in x', async () => {
    const [xs, ws] = [
      [2, 9, 7, 5],
      [3, 3, 5, 7],
    ];
    const [x, w, scale, shift] = [
      withNaN(numel(xs), 11, 5 * 17 + 2),
      randArray(numel(ws), 12),
      randArray(7, 13, 0.5, 2),
      randArray(7, 14),
    ];
    const y = noGrad(() =>
      conv2dFused(t(x, xs), t(w, ws), { table: t([...scale, ...shift], [2, 7]), relu: true }, { padding: 'same' }),
    );
    const want = affineRef(conv2dReference(x, xs, w, ws, null, { padding: 'same' }).out, scale, shift, true);
    expect(want.filter(Number.isNaN).length).toBe(9 * 7);
    expectClose(await y.read(), want, { atol: 1e-4, what: 'y' });
  });
  it('split-k epilogue and prologue: matmulFused 37x23 @ 23x13, 3 k-splits, NaN in A', async () => {
    const [M, K, N] = [37, 23, 13];
    const [a, b, ps, pt, es, et] = [
      withNaN(M * K, 21, 40),
      randArray(K * N, 22),
      randArray(K, 83, -1.5, 1.5),
      randArray(K, 84),
      randArray(N, 23, 0.5, 2),
      randArray(N, 24),
    ];
    const y = noGrad(() =>
      matmulFused(
        t(a, [M, K]),
        t(b, [K, N]),
        { table: t([...es, ...et], [2, N]), relu: true },
        { splits: 3, prologue: { table: t([...ps, ...pt], [2, K]), relu: true } },
      ),
    );
    const mapped = affineRef(a, ps, pt, true);
    const want = affineRef(matmulReference(mapped, [M, K], b, [K, N]), es, et, true);
    expect(want.filter(Number.isNaN).length).toBe(N);
    expectClose(await y.read(), want, { atol: 1e-4, what: 'C' });
  });
  it('avgPool2dMapped with ReLU, NaN in x', async () => {
    const shape = [2, 7, 9, 5];
    const [x, ps, pt] = [withNaN(numel(shape), 101, 3), randArray(5, 102, -1.5, 1.5), randArray(5, 103)];
    const y = noGrad(() =>
      avgPool2dMapped(
        t(x, shape),
        { table: t([...ps, ...pt], [2, 5]), relu: true },
        { size: 2, stride: 2, padding: 'valid' },
      ),
    );
    const want = pool2dReference(affineRef(x, ps, pt, true), shape, 'avg', { size: 2, stride: 2, padding: 'valid' }).y;
    expect(want.filter(Number.isNaN).length).toBe(1);
    expectClose(await y.read(), want, { what: 'y' });
  });
});
