// @adapters all
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor } from '../src/index.js';
import {
  maxPool2d,
  avgPool2d,
  globalAvgPool2d,
  poolGeometry,
  pool2dReference,
  pool2dBackwardReference,
  globalAvgPool2dReference,
  type AvgPool2dOptions,
} from '../src/kernels/pool.js';
import { setup, expectClose, gpuGrads, checkOp } from './helpers.js';

beforeAll(setup);

type Kind = 'max' | 'avg';
const op = (kind: Kind, o: AvgPool2dOptions) => (x: Tensor) => (kind === 'max' ? maxPool2d(x, o) : avgPool2d(x, o));

const cases: { shape: number[]; o: AvgPool2dOptions }[] = [
  { shape: [3, 7, 5, 6], o: { size: 3, stride: 2, padding: 'same' } },
  { shape: [3, 7, 5, 6], o: { size: 3, stride: 2, padding: 'same', countIncludePad: true } },
  { shape: [2, 9, 9, 5], o: { size: 3, stride: 1, padding: 'same' } }, // InceptionV3 branch pool
  { shape: [2, 9, 9, 5], o: { size: 3, stride: 1, padding: 'same', countIncludePad: true } },
  { shape: [2, 11, 11, 3], o: { size: 3, stride: 2, padding: 'valid' } }, // InceptionV3 reductions
  { shape: [1, 8, 6, 4], o: { size: 2, stride: 2 } }, // DenseNet transition
  { shape: [2, 6, 7, 3], o: { size: [2, 3], stride: [1, 2], padding: [1, 0, 2, 1] } },
  { shape: [1, 1, 1, 1], o: { size: 3, stride: 1, padding: 'same' } },
  // C a multiple of 4: the vec4 kernels.
  { shape: [2, 7, 5, 8], o: { size: 3, stride: 2, padding: 'same' } },
  { shape: [2, 7, 5, 8], o: { size: 3, stride: 2, padding: 'same', countIncludePad: true } },
  { shape: [2, 9, 9, 12], o: { size: 3, stride: 1, padding: 'same' } },
];

describe('pool geometry', () => {
  it("'same' follows TensorFlow: output ceil(n / s), extra padding at the bottom/right", () => {
    const g = poolGeometry(8, 7, { size: 3, stride: 2, padding: 'same' });
    expect([g.OH, g.OW]).toEqual([4, 4]);
    expect(g.pad).toEqual([0, 1, 1, 1]);
    const g2 = poolGeometry(35, 35, { size: 3, stride: 1, padding: 'same' });
    expect([g2.OH, g2.OW, ...g2.pad]).toEqual([35, 35, 1, 1, 1, 1]);
    expect(() => poolGeometry(5, 5, { size: 2, padding: [2, 0, 0, 0] })).toThrow(/padding/);
  });
});

for (const kind of ['max', 'avg'] as Kind[]) {
  describe(`${kind}Pool2d`, () => {
    for (const c of cases) {
      if (kind === 'max' && c.o.countIncludePad) continue;
      const name =
        `${c.shape.join('x')} size ${c.o.size} stride ${c.o.stride ?? 'default'} ` +
        `${JSON.stringify(c.o.padding ?? 'valid')}${c.o.countIncludePad ? ' countIncludePad' : ''}`;
      it(`${name}: forward and backward vs reference`, () =>
        checkOp({
          op: op(kind, c.o),
          inputs: [{ shape: c.shape, seed: 4 }],
          ref: (x) => pool2dReference(x, c.shape, kind, c.o).y,
          backwardRef: (dy, x) => [pool2dBackwardReference(x, c.shape, dy, kind, c.o)],
          fwd: { atol: 1e-6, rtol: 1e-5 },
          bwd: { atol: 1e-6, rtol: 1e-5 },
          fd: { count: 24, atol: 1e-5, rtol: 1e-4 },
          dy: 5,
        }));
    }
    const o: AvgPool2dOptions = { size: 3, stride: 2, padding: 'same' };
    for (const C of [2, 4])
      it(`C=${C}: gradient matches finite differences of the float64 reference`, () =>
        checkOp({
          op: op(kind, o),
          inputs: [{ shape: [2, 5, 4, C], seed: 12 }],
          ref: (x) => pool2dReference(x, [2, 5, 4, C], kind, o).y,
          fwd: { atol: 1e-6, rtol: 1e-5 },
          fd: { atol: 1e-5, rtol: 1e-4 },
          dy: 13,
        }));
  });
}

describe('pooling conventions', () => {
  it("avg 'same' stride 2: Keras's divisor skips padded cells, countIncludePad (PyTorch) counts them", async () => {
    // A 3x3 input of ones: every window average is 1 when padding is excluded; the corner window
    // [bottom-right, padded on 2 sides] averages 4/9 when padding counts.
    const shape = [1, 3, 3, 1];
    const x = Tensor.from(new Float32Array(9).fill(1), shape);
    const keras = await avgPool2d(x, { size: 3, stride: 2, padding: 'same' }).read();
    const torch = await avgPool2d(x, { size: 3, stride: 2, padding: 'same', countIncludePad: true }).read();
    // 'same', 3 over 3 with stride 2: output 2x2, total padding 2 -> 1 top/left, 1 bottom/right.
    expect(Array.from(keras)).toEqual([1, 1, 1, 1]);
    expectClose(torch, [4 / 9, 4 / 9, 4 / 9, 4 / 9], { atol: 1e-7, what: 'count_include_pad' });
    // 4x4 input, 'same' stride 2 with a 3x3 window: total padding 1, all of it at the bottom/right (TF).
    const x4 = Tensor.from(
      Float32Array.from({ length: 16 }, (_, i) => i),
      [1, 4, 4, 1],
    );
    const m = await maxPool2d(x4, { size: 3, stride: 2, padding: 'same' }).read();
    expect(Array.from(m)).toEqual([10, 11, 14, 15]);
    const a = await avgPool2d(x4, { size: 3, stride: 2, padding: 'same' }).read();
    expectClose(a, [5, 6.5, 11, 12.5], { atol: 1e-6, what: 'avg 4x4 same' });
  });

  for (const C of [2, 4])
    it(`C=${C}: max-pool ties send the gradient to the first maximum in scan order`, async () => {
      // Each 2x2 window of constant values ties everywhere; the top-left cell of each window gets it.
      const shape = [1, 4, 4, C];
      const x = new Float64Array(16 * C).fill(0.5);
      const o = { size: 2, stride: 2 };
      const w = Array.from({ length: 4 * C }, (_, i) => i + 1);
      const { grads } = await gpuGrads((t) => maxPool2d(t, o), [{ data: x, shape }], w);
      const want = new Float64Array(16 * C);
      for (let oh = 0; oh < 2; oh++)
        for (let ow = 0; ow < 2; ow++)
          for (let c = 0; c < C; c++) want[(oh * 2 * 4 + ow * 2) * C + c] = w[(oh * 2 + ow) * C + c];
      expect(Array.from(grads[0])).toEqual(Array.from(want));
      expectClose(grads[0], pool2dBackwardReference(x, shape, w, 'max', o), { what: 'reference agrees' });
      // Overlapping windows (3x3 stride 1, 'same') with a repeated maximum 9 at (0,1) and (0,2): windows
      // with ow = 0..2 and oh = 0..1 pick (0,1) (6 windows), ow = 3 picks (0,2) (2 windows). The bottom row
      // of windows (oh = 2) sees only zeros: each picks its first real cell, (1,0), (1,0), (1,1), (1,2).
      const x2 = [0, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      const { grads: g2 } = await gpuGrads(
        (t) => maxPool2d(t, { size: 3, stride: 1, padding: 'same' }),
        [{ data: x2, shape: [1, 3, 4, 1] }],
        new Float64Array(12).fill(1),
      );
      expect(Array.from(g2[0])).toEqual([0, 6, 2, 0, 2, 1, 1, 0, 0, 0, 0, 0]);
    });
});

describe('globalAvgPool2d', () => {
  for (const shape of [
    [3, 7, 5, 6],
    [2, 35, 33, 3],
    [1, 1, 1, 4],
  ]) {
    it(`${shape.join('x')} forward and backward`, () =>
      checkOp({
        op: globalAvgPool2d,
        inputs: [{ shape, seed: 9 }],
        ref: (x) => globalAvgPool2dReference(x, shape),
        fwd: { atol: 1e-6, rtol: 1e-4 },
        fd: { count: 20, atol: 1e-6, rtol: 1e-4 },
        dy: 10,
      }));
  }
});

describe('NaN in a window (issue #24: propagate as PyTorch)', () => {
  // C = 1 (scalar kernel) and C = 4 (vec4 kernel); NaN first, in the middle, last in the window.
  for (const C of [1, 4]) {
    it(`max pooling over a window holding NaN gives NaN, and the gradient goes to the NaN (C = ${C})`, async () => {
      const cells = [1, NaN, 3, 2, NaN, 5, -1, 0, 7, 8, 9, NaN, 4, 4, 4, 4];
      const x = Float64Array.from({ length: 16 * C }, (_, i) => cells[Math.floor(i / C)] + (i % C));
      const shape = [1, 4, 4, C];
      const o = { size: 2, stride: 2 };
      const { out, grads } = await gpuGrads(
        (t) => maxPool2d(t, o),
        [{ data: x, shape }],
        new Float64Array(4 * C).fill(1),
      );
      // Windows: {1, NaN, NaN, 5}, {3, 2, -1, 0}, {7, 8, 4, 4}, {9, NaN, 4, 4}.
      const want = Float64Array.from({ length: 4 * C }, (_, i) => [NaN, 3, 8, NaN][Math.floor(i / C)] + (i % C));
      expectClose(out, want, { what: 'y' });
      expectClose(out, pool2dReference(x, shape, 'max', o).y, { what: 'the reference agrees' });
      expectClose(grads[0], pool2dBackwardReference(x, shape, new Float64Array(4 * C).fill(1), 'max', o), {
        what: 'dx',
      });
      expect(grads[0][1 * C]).toBe(1); // the window's first NaN takes the gradient
      expect(grads[0][4 * C]).toBe(0);
      // Average pooling always carried NaN, and still does.
      const avg = await avgPool2d(Tensor.from(Float32Array.from(x), shape), o).read();
      expectClose(avg, pool2dReference(x, shape, 'avg', o).y, { what: 'average' });
      expect(avg[0]).toBeNaN();
    });
  }
});

describe('pooling options (issue #24)', () => {
  it("refuses 'SAME' and other bad options, naming them", () => {
    const x = Tensor.zeros([1, 4, 4, 1]);
    expect(() => maxPool2d(x, { size: 2, padding: 'SAME' as 'same' })).toThrow(
      /padding must be 'valid', 'same'.*got 'SAME' \(write 'same', lower case\)/,
    );
    expect(() => maxPool2d(x, { size: 0 })).toThrow(/option size must be an integer >= 1.*got 0/);
    expect(() => avgPool2d(x, { size: 2, stride: NaN })).toThrow(/option stride must be.*got NaN/);
    x.dispose();
  });
});
