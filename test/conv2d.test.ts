// @adapters all
/**
 * conv2d vs its float64 CPU reference: forward, input/weight/bias gradients, on every convolution
 * configuration InceptionV3, DenseNet121 and BAM use (at reduced spatial size and channel counts), odd
 * sizes, strides with 'same', dilations, asymmetric padding, groups and depthwise; under both GEMM core
 * variants. The reference gradients are themselves checked against finite differences.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { setVariant, runtime } from '../src/index.js';
import {
  conv2d,
  conv2dReference,
  conv2dReferenceGrads,
  resolveConvGeometry,
  tapWindow,
  type Conv2dOptions,
} from '../src/kernels/conv2d.js';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, relL2, numel } from './helpers.js';
import { Tensor } from '../src/tensor.js';

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  opts: Conv2dOptions;
  bias?: boolean;
}

const CASES: Case[] = [
  // InceptionV3
  { name: 'inception stem 3x3 s2 valid', x: [2, 11, 9, 3], w: [3, 3, 3, 8], opts: { stride: 2 } },
  { name: 'inception 3x3 s1 valid', x: [1, 9, 8, 5], w: [3, 3, 5, 6], opts: {} },
  { name: 'inception 3x3 s1 same', x: [2, 7, 6, 6], w: [3, 3, 6, 7], opts: { padding: 'same' } },
  { name: 'inception 1x1', x: [2, 5, 6, 9], w: [1, 1, 9, 6], opts: { padding: 'same' } },
  { name: 'inception 5x5 same', x: [1, 8, 7, 4], w: [5, 5, 4, 5], opts: { padding: 'same' } },
  { name: 'inception 1x7 same', x: [1, 9, 8, 6], w: [1, 7, 6, 5], opts: { padding: 'same' } },
  { name: 'inception 7x1 same', x: [1, 9, 8, 6], w: [7, 1, 6, 5], opts: { padding: 'same' } },
  { name: 'inception 1x3 same', x: [2, 6, 7, 5], w: [1, 3, 5, 4], opts: { padding: 'same' } },
  { name: 'inception 3x1 same', x: [2, 6, 7, 5], w: [3, 1, 5, 4], opts: { padding: 'same' } },
  { name: 'inception 3x3 s2 valid downsample', x: [1, 17, 15, 6], w: [3, 3, 6, 8], opts: { stride: 2 } },
  // DenseNet121
  {
    name: 'densenet stem 7x7 s2 after zero padding 3',
    x: [1, 16, 13, 3],
    w: [7, 7, 3, 8],
    opts: { stride: 2, padding: [3, 3, 3, 3] },
  },
  { name: 'densenet 1x1 bottleneck', x: [2, 6, 5, 16], w: [1, 1, 16, 8], opts: {} },
  { name: 'densenet 3x3 same growth', x: [2, 6, 5, 8], w: [3, 3, 8, 4], opts: { padding: 'same' } },
  // BAM spatial gate (with biases)
  { name: 'BAM 1x1 reduce (bias)', x: [2, 7, 6, 16], w: [1, 1, 16, 4], opts: {}, bias: true },
  {
    name: 'BAM 3x3 dilation 4 padding 4 (bias)',
    x: [1, 11, 10, 4],
    w: [3, 3, 4, 4],
    opts: { dilation: 4, padding: [4, 4, 4, 4] },
    bias: true,
  },
  { name: 'BAM 1x1 to 1 channel (bias)', x: [2, 7, 6, 4], w: [1, 1, 4, 1], opts: {}, bias: true },
  // Odd sizes and geometry corners
  { name: 'odd H=7 W=5 Cin=3 Cout=5 (bias)', x: [1, 7, 5, 3], w: [3, 3, 3, 5], opts: {}, bias: true },
  {
    name: 'stride 2 same (even input: pad bottom/right)',
    x: [1, 8, 6, 3],
    w: [3, 3, 3, 5],
    opts: { stride: 2, padding: 'same' },
  },
  {
    name: 'stride 2 same, 2x2 kernel, odd input',
    x: [2, 7, 9, 3],
    w: [2, 2, 3, 4],
    opts: { stride: 2, padding: 'same' },
    bias: true,
  },
  { name: 'stride (2,1) same', x: [1, 9, 7, 4], w: [3, 3, 4, 3], opts: { stride: [2, 1], padding: 'same' } },
  { name: 'stride (1,3) valid', x: [1, 6, 11, 3], w: [2, 3, 3, 4], opts: { stride: [1, 3] } },
  { name: 'dilation (1,2) same', x: [1, 7, 9, 3], w: [3, 3, 3, 4], opts: { dilation: [1, 2], padding: 'same' } },
  { name: 'dilation (2,1) valid', x: [2, 9, 6, 3], w: [3, 2, 3, 4], opts: { dilation: [2, 1] } },
  {
    name: 'dilation 2 stride 2 same',
    x: [1, 10, 9, 3],
    w: [3, 3, 3, 4],
    opts: { dilation: 2, stride: 2, padding: 'same' },
  },
  { name: 'asymmetric explicit padding [0,2,1,3]', x: [1, 5, 6, 3], w: [3, 3, 3, 4], opts: { padding: [0, 2, 1, 3] } },
  {
    name: 'asymmetric padding with stride 2 [2,0,0,1]',
    x: [1, 8, 7, 2],
    w: [3, 2, 2, 3],
    opts: { stride: 2, padding: [2, 0, 0, 1] },
  },
  { name: '1x1 stride 2 (odd rows get no gradient)', x: [1, 7, 6, 4], w: [1, 1, 4, 3], opts: { stride: 2 } },
  {
    name: 'stride 3 dilation 3 same (whole phases without taps)',
    x: [1, 10, 8, 2],
    w: [3, 3, 2, 3],
    opts: { stride: 3, dilation: 3, padding: 'same' },
  },
  {
    name: 'stride (3,2) 4x5 kernel, padding [1,2,2,0]',
    x: [2, 11, 9, 3],
    w: [4, 5, 3, 4],
    opts: { stride: [3, 2], padding: [1, 2, 2, 0] },
  },
  { name: 'batch 3, 1x1 spatial output', x: [3, 3, 3, 4], w: [3, 3, 4, 5], opts: {}, bias: true },
  { name: 'size-1 dims (1x1 image, 1 channel)', x: [1, 1, 1, 1], w: [1, 1, 1, 3], opts: {}, bias: true },
  // Vectorised paths: vec4 B (Cout or Cin % 4 == 0), 4x4-block weight gather (both), subgroup rows (N >= 29)
  { name: 'vec4: 3x3 s2 same Cin=8 Cout=12', x: [2, 9, 11, 8], w: [3, 3, 8, 12], opts: { stride: 2, padding: 'same' } },
  {
    name: 'vec4: 1x7 same Cin=12 Cout=20 (bias)',
    x: [1, 5, 9, 12],
    w: [1, 7, 12, 20],
    opts: { padding: 'same' },
    bias: true,
  },
  {
    name: 'vec4: 3x3 same Cin=36 Cout=40, full subgroup rows',
    x: [2, 5, 6, 36],
    w: [3, 3, 36, 40],
    opts: { padding: 'same' },
  },
  {
    name: 'vec4: 3x3 s2 valid Cout=96 (32-column workgroups), 45 output rows',
    x: [1, 19, 21, 4],
    w: [3, 3, 4, 96],
    opts: { stride: 2 },
  },
  {
    name: 'split-k forward with bias (K = 1152, 4 output pixels)',
    x: [1, 4, 4, 128],
    w: [3, 3, 128, 2],
    opts: {},
    bias: true,
  },
  {
    name: 'split-k input gradient (K = 1152, 9 input pixels)',
    x: [1, 3, 3, 2],
    w: [3, 3, 2, 128],
    opts: { padding: 'same' },
  },
  { name: 'split-k weight gradient (N*OH*OW > 1024)', x: [2, 24, 23, 4], w: [3, 3, 4, 6], opts: { padding: 'same' } },
  // Tap windows: taps that read only padding for every output pixel are skipped (small maps)
  {
    name: 'window: 3x3 same on 1x1 maps (centre tap only), vec4, bias',
    x: [2, 1, 1, 8],
    w: [3, 3, 8, 12],
    opts: { padding: 'same' },
    bias: true,
  },
  {
    name: 'window: 7x1 same on 3x3 maps (rows 1-5 of 7), vec4',
    x: [2, 3, 3, 8],
    w: [7, 1, 8, 8],
    opts: { padding: 'same' },
  },
  {
    name: 'window: 1x7 same on 3x3 maps (columns 1-5 of 7), scalar Cin',
    x: [1, 3, 3, 3],
    w: [1, 7, 3, 5],
    opts: { padding: 'same' },
  },
  { name: 'window: 3x1 same on 1x1 maps', x: [2, 1, 1, 4], w: [3, 1, 4, 8], opts: { padding: 'same' } },
  {
    name: 'window: BAM 3x3 dilation 4 on 3x3 maps (centre tap), bias',
    x: [1, 3, 3, 4],
    w: [3, 3, 4, 4],
    opts: { dilation: 4, padding: [4, 4, 4, 4] },
    bias: true,
  },
  { name: 'window: one live row, columns 1-3 of 5', x: [1, 1, 2, 4], w: [3, 5, 4, 4], opts: { padding: 'same' } },
  {
    name: 'window: stride 2, live rows 0 and 2 of 4 (a dead row inside, one outside)',
    x: [1, 1, 5, 2],
    w: [4, 3, 2, 3],
    opts: { stride: 2, padding: [2, 3, 1, 1] },
  },
  // Groups
  {
    name: 'groups 2, stride 2 same',
    x: [2, 7, 6, 4],
    w: [3, 3, 2, 6],
    opts: { groups: 2, stride: 2, padding: 'same' },
    bias: true,
  },
  {
    name: 'groups 3 (Cig 3, Cog 1), stride (2,1), dilation 2, bias',
    x: [1, 9, 7, 9],
    w: [3, 3, 3, 3],
    opts: { groups: 3, stride: [2, 1], dilation: 2, padding: 'same' },
    bias: true,
  },
  { name: 'depthwise 3x3 same', x: [2, 7, 7, 5], w: [3, 3, 1, 5], opts: { groups: 5, padding: 'same' } },
  {
    name: 'depthwise multiplier 2, 5x5 s2 same',
    x: [1, 9, 8, 3],
    w: [5, 5, 1, 6],
    opts: { groups: 3, stride: 2, padding: 'same' },
    bias: true,
  },
  {
    name: 'depthwise dilation 2 valid, long reduction',
    x: [2, 30, 28, 4],
    w: [3, 3, 1, 4],
    opts: { groups: 4, dilation: 2 },
  },
];

function data(c: Case, seed: number) {
  return {
    x: randArray(numel(c.x), seed),
    w: randArray(numel(c.w), seed + 1),
    b: c.bias ? randArray(c.w[3], seed + 2) : null,
  };
}

/** The GPU's conv2d output and its gradients (x, w, and the bias when there is one) for loss weights gw. */
function gpuConvGrads(c: Case, x: Float64Array, w: Float64Array, b: Float64Array | null, gw: Float64Array) {
  const inputs = [{ data: x, shape: c.x }, { data: w, shape: c.w }, ...(b ? [{ data: b, shape: [c.w[3]] }] : [])];
  return gpuGrads((xt, wt, bt) => conv2d(xt, wt, bt ?? null, c.opts), inputs, gw);
}

/**
 * One case against the float64 reference: the forward within `fwdAtol` x sqrt(K), dx, and dW by its
 * relative L2 error. Returns the gradients for the checks a caller adds.
 */
async function expectMatchesReference(c: Case, seed: number, gwSeed: number, fwdAtol: number) {
  const { x, w, b } = data(c, seed);
  const ref = conv2dReference(x, c.x, w, c.w, b, c.opts);
  const gw = randArray(ref.out.length, gwSeed);
  const { out, grads } = await gpuConvGrads(c, x, w, b, gw);
  const K = c.w[0] * c.w[1] * c.w[2];
  expectClose(out, ref.out, { atol: fwdAtol * Math.sqrt(K) + 1e-6, rtol: 1e-4, what: 'forward' });
  const rg = conv2dReferenceGrads(x, c.x, w, c.w, gw, c.opts);
  expectClose(grads[0], rg.dX, { atol: 1e-5 * Math.sqrt(c.w[3] * c.w[0] * c.w[1]), rtol: 1e-4, what: 'dx' });
  expect(relL2(grads[1], rg.dW), 'dw relL2').toBeLessThan(1e-5);
  return { grads, rg, outLength: ref.out.length, hasBias: !!b };
}

describe('conv2d geometry', () => {
  it("'same' follows TensorFlow: extra row/column at the bottom/right", () => {
    const g1 = resolveConvGeometry([1, 7, 8, 1], [3, 3, 1, 1], { stride: 2, padding: 'same' });
    expect([g1.OH, g1.OW, g1.padT, g1.padB, g1.padL, g1.padR]).toEqual([4, 4, 1, 1, 0, 1]);
    const g2 = resolveConvGeometry([1, 9, 9, 1], [1, 7, 1, 1], { padding: 'same' });
    expect([g2.OH, g2.OW, g2.padT, g2.padB, g2.padL, g2.padR]).toEqual([9, 9, 0, 0, 3, 3]);
    const g3 = resolveConvGeometry([1, 17, 17, 1], [3, 3, 1, 1], { dilation: 4, padding: [4, 4, 4, 4] });
    expect([g3.OH, g3.OW]).toEqual([17, 17]);
    const g4 = resolveConvGeometry([1, 35, 35, 1], [3, 3, 1, 1], { stride: 2 });
    expect([g4.OH, g4.OW]).toEqual([17, 17]);
    const g5 = resolveConvGeometry([1, 6, 6, 1], [2, 2, 1, 1], { stride: 2, padding: 'same' });
    expect([g5.OH, g5.padT, g5.padB]).toEqual([3, 0, 0]);
  });

  it('computes with the live window of the kernel only', () => {
    const win = (x: number[], w: number[], opts: Conv2dOptions) => {
      const t = tapWindow(resolveConvGeometry(x, w, opts));
      return [t.kh0, t.kw0, t.KH, t.KW, t.padT, t.padL, t.row0, t.whole];
    };
    // InceptionV3 at 75 px: 3x3 and 3x1 on 1x1 maps, 7x1 and 1x7 on 3x3 maps.
    expect(win([2, 1, 1, 448], [3, 3, 448, 384], { padding: 'same' })).toEqual([1, 1, 1, 1, 0, 0, 4 * 448, false]);
    expect(win([2, 1, 1, 384], [3, 1, 384, 384], { padding: 'same' })).toEqual([1, 0, 1, 1, 0, 0, 384, false]);
    expect(win([2, 3, 3, 160], [7, 1, 160, 192], { padding: 'same' })).toEqual([1, 0, 5, 1, 2, 0, 160, false]);
    expect(win([2, 3, 3, 160], [1, 7, 160, 192], { padding: 'same' })).toEqual([0, 1, 1, 5, 0, 2, 160, false]);
    // Several live rows keep every column, so that the window stays one block of w's rows.
    expect(win([1, 3, 1, 4], [3, 3, 4, 4], { dilation: [1, 4], padding: [1, 1, 4, 4] })).toEqual([
      0,
      0,
      3,
      3,
      1,
      4,
      0,
      true,
    ]);
    // Dead taps inside the live range stay in (the hull); a dead one past it goes.
    expect(win([1, 1, 5, 2], [4, 3, 2, 3], { stride: 2, padding: [2, 3, 1, 1] })).toEqual([0, 0, 3, 3, 2, 1, 0, false]);
    // Large maps keep the whole kernel.
    expect(win([1, 17, 17, 4], [3, 3, 4, 4], { dilation: 4, padding: [4, 4, 4, 4] })[7]).toBe(true);
  });

  it('names both shapes on mismatch', () => {
    expect(() => resolveConvGeometry([1, 5, 5, 3], [3, 3, 4, 8])).toThrow(/Cin=3.*\[1, 5, 5, 3\].*\[3, 3, 4, 8\]/);
    expect(() => resolveConvGeometry([1, 5, 5, 6], [3, 3, 2, 8], { groups: 2 })).toThrow(/per group/);
    expect(() => resolveConvGeometry([1, 5, 5, 6], [3, 3, 2, 7], { groups: 3 })).toThrow(/groups=3 must divide/);
    expect(() => resolveConvGeometry([1, 2, 5, 3], [3, 3, 3, 8])).toThrow(/empty.*\[1, 2, 5, 3\]/);
    expect(() => resolveConvGeometry([5, 5, 3], [3, 3, 3, 8])).toThrow(/4-D/);
  });
});

for (const variant of ['subgroup', 'regtile', 'shared'] as const) {
  describe(`conv2d vs float64 reference (gemm ${variant})`, () => {
    beforeAll(async () => {
      await setup();
      setVariant('gemm', variant);
    });
    afterAll(() => setVariant('gemm', undefined));

    for (const [i, c] of CASES.entries()) {
      it(`${c.name}: forward and gradients`, async () => {
        const { grads, rg, outLength, hasBias } = await expectMatchesReference(c, 100 + i * 7, 900 + i, 2e-6);
        const big = Math.sqrt(outLength);
        expectClose(grads[1], rg.dW, { atol: 1e-5 * big, rtol: 1e-4, what: 'dw' });
        if (hasBias) expectClose(grads[2], rg.dB, { atol: 1e-5 * big, rtol: 1e-4, what: 'db' });
      });
    }
  });
}

describe('conv2d API', () => {
  beforeAll(setup);

  it('forward without autograd and with a bias needing no gradient', async () => {
    const c = CASES[14];
    const { x, w, b } = data(c, 5);
    const out = conv2d(Tensor.from(x, c.x), Tensor.from(w, c.w), Tensor.from(b!, [c.w[3]]), c.opts);
    expect(out.requiresGrad).toBe(false);
    expectClose(await out.read(), conv2dReference(x, c.x, w, c.w, b, c.opts).out, {
      atol: 1e-5,
      what: 'no-grad forward',
    });
    out.dispose();
  });

  it('rejects a bias of the wrong length, naming the shapes', () => {
    const x = Tensor.zeros([1, 4, 4, 2]);
    const w = Tensor.zeros([3, 3, 2, 5]);
    const b = Tensor.zeros([4]);
    expect(() => conv2d(x, w, b)).toThrow(/bias must be \[5\].*\[3, 3, 2, 5\].*\[4\]/);
    for (const t of [x, w, b]) t.dispose();
  });
});

describe('conv2d gradients vs finite differences', () => {
  beforeAll(setup);
  const tiny: Case[] = [
    {
      name: 'stride 2 same, dilation (1,2), bias',
      x: [2, 5, 6, 2],
      w: [3, 2, 2, 3],
      opts: { stride: 2, dilation: [1, 2], padding: 'same' },
      bias: true,
    },
    { name: '1x3 asymmetric padding', x: [1, 4, 5, 3], w: [1, 3, 3, 2], opts: { padding: [1, 0, 2, 1] } },
    {
      name: 'grouped (2 groups), stride (1,2)',
      x: [1, 5, 5, 4],
      w: [3, 3, 2, 4],
      opts: { groups: 2, stride: [1, 2], padding: 'same' },
      bias: true,
    },
  ];
  for (const [i, c] of tiny.entries()) {
    it(c.name, async () => {
      const { x, w, b } = data(c, 40 + i);
      const gw = randArray(conv2dReference(x, c.x, w, c.w, b, c.opts).out.length, 70 + i);
      const rg = conv2dReferenceGrads(x, c.x, w, c.w, gw, c.opts);
      const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array | null) =>
        weightedSum(conv2dReference(xx, c.x, ww, c.w, bb, c.opts).out, gw);
      const [ix, fx] = finiteDiff((v) => loss(v, w, b), x);
      expectClose(
        ix.map((j) => rg.dX[j]),
        fx,
        { atol: 1e-6, rtol: 1e-6, what: 'reference dx vs finite differences' },
      );
      const [iw, fw] = finiteDiff((v) => loss(x, v, b), w);
      expectClose(
        iw.map((j) => rg.dW[j]),
        fw,
        { atol: 1e-6, rtol: 1e-6, what: 'reference dw vs finite differences' },
      );
      if (b) {
        const [ib, fb] = finiteDiff((v) => loss(x, w, v), b);
        expectClose(
          ib.map((j) => rg.dB[j]),
          fb,
          { atol: 1e-6, rtol: 1e-6, what: 'reference db vs finite differences' },
        );
      }
      // And the GPU against the finite differences directly.
      const { grads } = await gpuConvGrads(c, x, w, b, gw);
      expectClose(
        ix.map((j) => grads[0][j]),
        fx,
        { atol: 1e-5, rtol: 1e-4, what: 'GPU dx vs finite differences' },
      );
      expectClose(
        iw.map((j) => grads[1][j]),
        fw,
        { atol: 1e-5, rtol: 1e-4, what: 'GPU dw vs finite differences' },
      );
    });
  }
});

describe('issue #24: memory and options', () => {
  beforeAll(setup);
  for (const bias of [false, true]) {
    for (const grad of [false, true]) {
      it(
        `a 1x1 conv2d outside tidy() (bias ${bias}, requiresGrad ${grad}) holds nothing once its output is ` +
          `disposed`,
        async () => {
          const rt = runtime();
          // The shapes of the DenseNet bottleneck case above (kernels already compiled).
          const [xs, ws] = [
            [2, 6, 5, 16],
            [1, 1, 16, 8],
          ];
          const x = Tensor.from(Float32Array.from(randArray(numel(xs), 1)), xs, { requiresGrad: grad });
          const w = Tensor.from(Float32Array.from(randArray(numel(ws), 2)), ws, { requiresGrad: grad });
          const b = bias ? Tensor.from(Float32Array.from(randArray(8, 3)), [8]) : null;
          const live = rt.memory().liveBytes;
          const buffers = rt.memory().liveBuffers;
          for (let i = 0; i < 5; i++) {
            const y = conv2d(x, w, b);
            if (i === 0)
              expectClose(
                await y.read(),
                conv2dReference(randArray(numel(xs), 1), xs, randArray(numel(ws), 2), ws, b ? randArray(8, 3) : null)
                  .out,
                { what: 'y' },
              );
            y.dispose();
          }
          expect(rt.memory().liveBytes).toBe(live);
          expect(rt.memory().liveBuffers).toBe(buffers);
          for (const t of [x, w, b]) t?.dispose();
        },
      );
    }
  }
  it("refuses padding 'SAME' (upper case) and other bad options, naming them", () => {
    const x = Tensor.zeros([1, 5, 5, 2]);
    const w = Tensor.zeros([3, 3, 2, 4]);
    expect(() => conv2d(x, w, null, { padding: 'SAME' as 'same' })).toThrow(
      /conv2d option padding must be 'valid', 'same'.*got 'SAME' \(write 'same', lower case\)/,
    );
    expect(() => conv2d(x, w, null, { stride: 0 })).toThrow(/option stride must be an integer >= 1.*got 0/);
    expect(() => conv2d(x, w, null, { dilation: [1, 0.5] })).toThrow(
      /option dilation must be an integer >= 1.*got \[1, 0.5\]/,
    );
    expect(() => conv2d(x, w, null, { groups: NaN })).toThrow(/option groups must be an integer >= 1, got NaN/);
    for (const t of [x, w]) t.dispose();
  });
});
