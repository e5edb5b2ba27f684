// @adapters all
/**
 * The depthwise kernel (src/kernels/depthwise.ts, groups = Cin = Cout) vs conv2d's float64 reference:
 * forward, input gradient and weight gradient on odd shapes at EfficientNet's kernel sizes (3x3, 5x5),
 * strides 1 and 2 with TensorFlow's 'same' padding (asymmetric for stride 2 on even sizes), explicit and
 * asymmetric padding, dilation, channel counts on and off the vec4 width, output rows that are not a
 * multiple of the kernel's 4- and 8-pixel blocks, weight gradients long enough to be summed in chunks,
 * and kernels wider than the window paths (7x7) or dilated, which take the tap loops.
 * The GPU's gradients are also checked against finite differences, and the general grouped kernel (the
 * 'grouped' variant) against the same reference, so that the two paths agree.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { runtime, setVariant } from '../src/index.js';
import { conv2d, conv2dReference, conv2dReferenceGrads, resolveConvGeometry } from '../src/kernels/conv2d.js';
import type { Conv2dOptions } from '../src/kernels/conv2d.js';
import { usesDepthwiseKernel, windowPath } from '../src/kernels/depthwise.js';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, relL2, numel } from './helpers.js';

interface Case {
  name: string;
  /** x [N, H, W, C]; the weights are [KH, KW, 1, C]. */
  x: [number, number, number, number];
  k: [number, number];
  opts: Conv2dOptions;
  bias?: boolean;
}

const CASES: Case[] = [
  { name: '3x3 s1 same, C=5 (scalar), W=7 (blocks of 4 cut)', x: [2, 9, 7, 5], k: [3, 3], opts: { padding: 'same' } },
  {
    name: '3x3 s1 same, C=16 (vec4), bias',
    x: [2, 12, 13, 16],
    k: [3, 3],
    opts: { padding: 'same' },
    bias: true,
  },
  {
    name: "3x3 s2 'same' even input (extra row/column bottom/right), C=12",
    x: [2, 10, 12, 12],
    k: [3, 3],
    opts: { stride: 2, padding: 'same' },
  },
  {
    name: "3x3 s2 'same' odd input, C=7, bias",
    x: [1, 11, 9, 7],
    k: [3, 3],
    opts: { stride: 2, padding: 'same' },
    bias: true,
  },
  { name: '5x5 s1 same, C=8', x: [2, 9, 10, 8], k: [5, 5], opts: { padding: 'same' } },
  { name: "5x5 s2 'same' even input, C=20", x: [1, 12, 14, 20], k: [5, 5], opts: { stride: 2, padding: 'same' } },
  { name: "5x5 s2 'same' odd input, C=3", x: [2, 13, 11, 3], k: [5, 5], opts: { stride: 2, padding: 'same' } },
  {
    name: '3x3 s2 valid after explicit zero padding (Keras correct_pad) [0,1,0,1], C=8',
    x: [2, 10, 10, 8],
    k: [3, 3],
    opts: { stride: 2, padding: [0, 1, 0, 1] },
  },
  {
    name: 'asymmetric explicit padding [2,0,1,3], C=6, bias',
    x: [1, 7, 6, 6],
    k: [3, 3],
    opts: { padding: [2, 0, 1, 3] },
    bias: true,
  },
  { name: 'valid 5x5, C=4', x: [1, 9, 11, 4], k: [5, 5], opts: {} },
  {
    name: 'dilation 2 same, stride (2,1), C=9',
    x: [1, 11, 10, 9],
    k: [3, 3],
    opts: { dilation: 2, stride: [2, 1], padding: 'same' },
  },
  { name: 'stride (1,3) 1x3 kernel, C=4', x: [2, 5, 13, 4], k: [1, 3], opts: { stride: [1, 3], padding: 'same' } },
  {
    name: '3x3 same on a 1x1 map (centre tap only), C=8, bias',
    x: [2, 1, 1, 8],
    k: [3, 3],
    opts: { padding: 'same' },
    bias: true,
  },
  {
    name: 's2 same on a 1-pixel-wide map (a stride phase without columns), C=5',
    x: [1, 5, 1, 5],
    k: [3, 3],
    opts: { stride: 2, padding: 'same' },
  },
  {
    name: 'dilation (2,1) same: row dilation on the window paths, C=8, bias',
    x: [2, 11, 9, 8],
    k: [3, 3],
    opts: { dilation: [2, 1], padding: 'same' },
    bias: true,
  },
  { name: '1x1 s2 valid, C=8 (odd columns get no gradient)', x: [2, 7, 9, 8], k: [1, 1], opts: { stride: 2 } },
  { name: "2x2 s2 'same' odd input, C=6", x: [1, 9, 11, 6], k: [2, 2], opts: { stride: 2, padding: 'same' } },
  {
    name: '7x7 s1 same, C=4 (tap loops: wider than the windows)',
    x: [1, 9, 10, 4],
    k: [7, 7],
    opts: { padding: 'same' },
  },
  {
    name: "7x7 s2 'same' even input, C=5 (forward tap loop, dX window of 4 taps per phase)",
    x: [2, 10, 12, 5],
    k: [7, 7],
    opts: { stride: 2, padding: 'same' },
  },
  {
    name: '3x3 s1 same, 2x30x29x8: chunked weight gradient',
    x: [2, 30, 29, 8],
    k: [3, 3],
    opts: { padding: 'same' },
  },
  {
    name: '5x5 s1 same, many channels (C=196), 4x4 map, batch 3',
    x: [3, 4, 4, 196],
    k: [5, 5],
    opts: { padding: 'same' },
    bias: true,
  },
];

const wShape = (c: Case): [number, number, number, number] => [c.k[0], c.k[1], 1, c.x[3]];
const optsOf = (c: Case): Conv2dOptions => ({ ...c.opts, groups: c.x[3] });

function data(c: Case, seed: number) {
  return {
    x: randArray(numel(c.x), seed),
    w: randArray(numel(wShape(c)), seed + 1),
    b: c.bias ? randArray(c.x[3], seed + 2) : null,
  };
}

async function gpuConvGrads(c: Case, x: Float64Array, w: Float64Array, b: Float64Array | null, gw: Float64Array) {
  const inputs = [{ data: x, shape: c.x }, { data: w, shape: wShape(c) }, ...(b ? [{ data: b, shape: [c.x[3]] }] : [])];
  return gpuGrads((xt, wt, bt) => conv2d(xt, wt, bt ?? null, optsOf(c)), inputs, gw);
}

async function expectMatchesReference(c: Case, seed: number) {
  const { x, w, b } = data(c, seed);
  const opts = optsOf(c);
  const ref = conv2dReference(x, c.x, w, wShape(c), b, opts);
  const gw = randArray(ref.out.length, seed + 50);
  const { out, grads } = await gpuConvGrads(c, x, w, b, gw);
  const taps = c.k[0] * c.k[1];
  expectClose(out, ref.out, { atol: 2e-6 * Math.sqrt(taps) + 1e-6, rtol: 1e-4, what: 'forward' });
  const rg = conv2dReferenceGrads(x, c.x, w, wShape(c), gw, opts);
  expectClose(grads[0], rg.dX, { atol: 1e-5 * Math.sqrt(taps), rtol: 1e-4, what: 'dx' });
  expect(relL2(grads[1], rg.dW), 'dw relL2').toBeLessThan(1e-5);
  expectClose(grads[1], rg.dW, { atol: 1e-5 * Math.sqrt(ref.out.length), rtol: 1e-4, what: 'dw' });
  if (b) expectClose(grads[2], rg.dB, { atol: 1e-5 * Math.sqrt(ref.out.length), rtol: 1e-4, what: 'db' });
}

describe('depthwise conv2d (direct kernel) vs float64 reference', () => {
  beforeAll(setup);

  it('every case runs on the depthwise kernel; a channel multiplier of 2 and other groups do not', () => {
    for (const c of CASES)
      expect(usesDepthwiseKernel(resolveConvGeometry(c.x, wShape(c), optsOf(c))), c.name).toBe(true);
    expect(usesDepthwiseKernel(resolveConvGeometry([1, 5, 5, 4], [3, 3, 1, 8], { groups: 4 }))).toBe(false);
    expect(usesDepthwiseKernel(resolveConvGeometry([1, 5, 5, 4], [3, 3, 2, 4], { groups: 2 }))).toBe(false);
    expect(usesDepthwiseKernel(resolveConvGeometry([1, 5, 5, 4], [3, 3, 4, 4], {}))).toBe(false);
  });

  it('the cases take every path: windows for strides 1 and 2 (dX: one) and the tap loops', () => {
    const paths = (mode: 0 | 1 | 2) =>
      new Set(CASES.map((c) => windowPath(mode, resolveConvGeometry(c.x, wShape(c), optsOf(c)))));
    expect([...paths(0)].sort()).toEqual([0, 1, 2]);
    expect([...paths(1)].sort()).toEqual([0, 1]);
    expect([...paths(2)].sort()).toEqual([0, 1, 2]);
  });

  for (const [i, c] of CASES.entries()) {
    it(`${c.name}: forward, dx, dw`, async () => {
      await expectMatchesReference(c, 1000 + i * 11);
    });
  }

  it('compiled the depthwise kernel only: one pipeline per mode and width', async () => {
    const labels = (await runtime().compileStats()).byLabel.map((l) => l.label).filter((l) => l.startsWith('conv2d'));
    expect(labels.sort()).toEqual(
      ['0', '0_vec4', '1', '1_vec4', '2', '2_vec4'].map((m) => `conv2d_depthwise_${m}`).sort(),
    );
  });
});

describe("depthwise conv2d on the general grouped kernel (variant 'grouped') vs float64 reference", () => {
  beforeAll(async () => {
    await setup();
    setVariant('depthwise', 'grouped');
  });
  afterAll(() => setVariant('depthwise', undefined));
  for (const [i, c] of CASES.entries()) {
    if (![0, 2, 5].includes(i)) continue;
    it(`${c.name}: forward, dx, dw`, async () => {
      expect(usesDepthwiseKernel(resolveConvGeometry(c.x, wShape(c), optsOf(c)))).toBe(false);
      await expectMatchesReference(c, 1000 + i * 11);
    });
  }
});

describe('depthwise conv2d gradients vs finite differences', () => {
  beforeAll(setup);
  const tiny: Case[] = [
    { name: "3x3 s2 'same' even input, C=4", x: [2, 6, 6, 4], k: [3, 3], opts: { stride: 2, padding: 'same' } },
    {
      name: '5x5 s1 same, C=3, dilation (1,2), bias',
      x: [1, 6, 7, 3],
      k: [5, 5],
      opts: { padding: 'same', dilation: [1, 2] },
      bias: true,
    },
  ];
  for (const [i, c] of tiny.entries()) {
    it(c.name, async () => {
      const { x, w, b } = data(c, 60 + i);
      const opts = optsOf(c);
      const gw = randArray(conv2dReference(x, c.x, w, wShape(c), b, opts).out.length, 80 + i);
      const loss = (xx: Float64Array, ww: Float64Array) =>
        weightedSum(conv2dReference(xx, c.x, ww, wShape(c), b, opts).out, gw);
      const [ix, fx] = finiteDiff((v) => loss(v, w), x);
      const [iw, fw] = finiteDiff((v) => loss(x, v), w);
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
