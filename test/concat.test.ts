// @adapters all
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor, backward, sum, mul, noGrad } from '../src/index.js';
import { concat, split, concatReference, splitReference } from '../src/kernels/concat.js';
import { setup, randArray, expectClose, checkOp, numel } from './helpers.js';

beforeAll(setup);

describe('concat', () => {
  const cases: { shapes: number[][]; axis: number }[] = [
    {
      shapes: [
        [3, 7, 5, 6],
        [3, 7, 5, 2],
        [3, 7, 5, 5],
        [3, 7, 5, 3],
      ],
      axis: 3,
    }, // Inception: 4 branches
    {
      shapes: [
        [2, 4, 3, 6],
        [2, 4, 3, 1],
      ],
      axis: -1,
    }, // DenseNet: one new layer
    {
      shapes: [
        [2, 3, 4],
        [5, 3, 4],
      ],
      axis: 0,
    }, // contiguous: buffer copies
    {
      shapes: [
        [2, 3, 4],
        [2, 1, 4],
        [2, 2, 4],
      ],
      axis: 1,
    },
    { shapes: [[7], [1], [3]], axis: 0 },
    {
      shapes: [
        [2, 3, 3, 8],
        [2, 3, 3, 4],
        [2, 3, 3, 12],
      ],
      axis: 3,
    }, // multiples of 4: vec4 copies
    { shapes: [[1, 1, 1, 3]], axis: 3 },
  ];
  for (const c of cases) {
    const parts = (xs: Float64Array[]) => xs.map((data, i) => ({ data, shape: c.shapes[i] }));
    const sizes = c.shapes.map((s) => s[(c.axis + s.length) % s.length]);
    // The gradient of sum(concat * dy) w.r.t. each part is its slice of dy.
    it(`${c.shapes.map((s) => s.join('x')).join(' + ')} on axis ${c.axis}: forward and backward`, () =>
      checkOp({
        op: (...ts) => concat(ts, c.axis),
        inputs: c.shapes.map((shape, i) => ({ shape, seed: 10 + i })),
        ref: (...xs) => concatReference(parts(xs), c.axis).data,
        backwardRef: (dy, ...xs) =>
          splitReference(dy, concatReference(parts(xs), c.axis).shape, sizes, c.axis).map((r) => r.data),
        fwd: { atol: 0, rtol: 0 },
        bwd: { atol: 0, rtol: 0 },
        fd: { count: 12, atol: 1e-6 },
        dy: 3,
      }));
  }

  it('DenseNet-style repeated concatenation keeps every gradient path', async () => {
    // x0 -> f1 = 2 * x0, x1 = [x0, f1], f2 = x1 * w (per element), x2 = [x1, f2].
    const x0 = Tensor.from([1, 2, 3, 4, 5, 6], [1, 1, 2, 3], { requiresGrad: true });
    const m = Tensor.from(
      Float32Array.from({ length: 12 }, (_, i) => 0.5 + i),
      [1, 1, 2, 6],
    );
    const x1 = concat([x0, mul(x0, Tensor.full([1, 1, 2, 3], 2))], 3);
    const x2 = concat([x1, mul(x1, m)], 3);
    const loss = sum(x2);
    backward(loss);
    // d/dx0: from x1's first block (1 + m[0..2]) and the second block (2 * (1 + m[3..5])).
    const want = [0, 1].flatMap((r) => [0, 1, 2].map((c) => 1 + (0.5 + r * 6 + c) + 2 * (1 + (0.5 + r * 6 + 3 + c))));
    expectClose(await x0.grad!.read(), want, { atol: 1e-5, what: 'dx0' });
    noGrad(() => [x0, m, x1, x2, loss].forEach((t) => t.dispose()));
  });

  it('rejects mismatched shapes', () => {
    expect(() => concat([Tensor.zeros([2, 3]), Tensor.zeros([3, 3])], 1)).toThrow(/differ/);
  });
});

describe('split', () => {
  const cases: { shape: number[]; sizes: number[]; axis: number }[] = [
    { shape: [3, 7, 5, 16], sizes: [6, 2, 5, 3], axis: 3 },
    { shape: [3, 7, 5, 6], sizes: [1, 4, 2], axis: 1 },
    { shape: [5, 3, 4], sizes: [2, 3], axis: 0 },
    { shape: [4, 9], sizes: [9], axis: -1 },
    { shape: [2, 3, 3, 16], sizes: [8, 4, 4], axis: 3 }, // vec4 copies and embeds
  ];
  for (const c of cases) {
    it(`${c.shape.join('x')} into [${c.sizes}] on axis ${c.axis}: round trip and gradients`, async () => {
      const x = randArray(numel(c.shape), 21);
      const refs = splitReference(x, c.shape, c.sizes, c.axis);
      const pieces = split(Tensor.from(Float32Array.from(x), c.shape), c.sizes, c.axis);
      for (let i = 0; i < pieces.length; i++) {
        expect(pieces[i].shape).toEqual(refs[i].shape);
        expect(Array.from(await pieces[i].read())).toEqual(Array.from(Float32Array.from(refs[i].data)));
      }
      // Round trip: concat(split(x)) == x.
      const back = concat(pieces, c.axis);
      expect(Array.from(await back.read())).toEqual(Array.from(Float32Array.from(x)));
      // Gradients through every piece but the second (an unused output contributes zeros).
      const used = (_: unknown, i: number) => i !== 1 || c.sizes.length === 1;
      const usedSizes = c.sizes.filter(used);
      const usedShape = [...c.shape];
      usedShape[(c.axis + c.shape.length) % c.shape.length] = usedSizes.reduce((p, d) => p + d, 0);
      await checkOp({
        op: (t) => concat(split(t, c.sizes, c.axis).filter(used), c.axis),
        inputs: [{ data: x, shape: c.shape }],
        ref: (xx) => concatReference(splitReference(xx, c.shape, c.sizes, c.axis).filter(used), c.axis).data,
        backwardRef: (dy) => {
          const dys = splitReference(dy, usedShape, usedSizes, c.axis);
          let k = 0;
          const all = refs.map((r, i) => ({
            data: used(r, i) ? dys[k++].data : new Float64Array(r.data.length),
            shape: r.shape,
          }));
          return [concatReference(all, c.axis).data];
        },
        fwd: { atol: 0, rtol: 0 },
        bwd: { atol: 1e-6 },
        fd: { count: 12, atol: 1e-5 },
      });
    });
  }

  it('rejects sizes that do not add up', () => {
    expect(() => split(Tensor.zeros([2, 5]), [2, 2], 1)).toThrow(/add up/);
  });
});
