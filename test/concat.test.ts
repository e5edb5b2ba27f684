// @adapters all
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor, backward, sum, mul, noGrad } from '../src/index.js';
import { concat, split, concatReference, splitReference } from '../src/kernels/concat.js';
import { setup, randArray, expectClose, finiteDiff, gpuGrads, weightedSum, numel } from './helpers.js';

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
    it(`${c.shapes.map((s) => s.join('x')).join(' + ')} on axis ${c.axis}: forward and backward`, async () => {
      const parts = c.shapes.map((s, i) => ({ data: randArray(numel(s), 10 + i), shape: s }));
      const ref = concatReference(parts, c.axis);
      const w = randArray(ref.data.length, 3);
      const { out, grads } = await gpuGrads((...ts) => concat(ts, c.axis), parts, w);
      expect(Array.from(out)).toEqual(Array.from(Float32Array.from(ref.data)));
      // The gradient of sum(concat * w) w.r.t. each part is its slice of w.
      const wantGrads = splitReference(
        w,
        ref.shape,
        c.shapes.map((s) => s[(c.axis + s.length) % s.length]),
        c.axis,
      );
      grads.forEach((g, i) =>
        expect(Array.from(g), `grad ${i}`).toEqual(Array.from(Float32Array.from(wantGrads[i].data))),
      );
    });
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
      const xt = Tensor.from(Float32Array.from(x), c.shape, { requiresGrad: true });
      const pieces = split(xt, c.sizes, c.axis);
      for (let i = 0; i < pieces.length; i++) {
        expect(pieces[i].shape).toEqual(refs[i].shape);
        expect(Array.from(await pieces[i].read())).toEqual(Array.from(Float32Array.from(refs[i].data)));
      }
      // Round trip: concat(split(x)) == x.
      const back = concat(pieces, c.axis);
      expect(Array.from(await back.read())).toEqual(Array.from(Float32Array.from(x)));
      // Gradients: weight every piece except the second (unused outputs contribute zeros).
      const ws = refs.map((r, i) => randArray(r.data.length, 40 + i));
      const used = pieces.map((_, i) => i !== 1 || pieces.length === 1);
      let loss: Tensor | null = null;
      for (let i = 0; i < pieces.length; i++) {
        if (!used[i]) continue;
        const term = sum(mul(pieces[i], Tensor.from(Float32Array.from(ws[i]), refs[i].shape)));
        loss = loss ? sum(concat([loss, term], 0)) : term;
      }
      backward(loss!);
      const wantParts = refs.map((r, i) => ({
        data: used[i] ? ws[i] : new Float64Array(r.data.length),
        shape: r.shape,
      }));
      expectClose(await xt.grad!.read(), concatReference(wantParts, c.axis).data, { atol: 1e-6, what: 'dx' });
      // Finite differences of the float64 reference on the same objective.
      const f = (xx: Float64Array) =>
        splitReference(xx, c.shape, c.sizes, c.axis).reduce(
          (s, r, i) => s + (used[i] ? weightedSum(r.data, ws[i]) : 0),
          0,
        );
      const [idx, fd] = finiteDiff(f, x, { count: 12 });
      const g = await xt.grad!.read();
      expectClose(
        idx.map((i) => g[i]),
        fd,
        { atol: 1e-5, what: 'dx vs FD' },
      );
    });
  }

  it('rejects sizes that do not add up', () => {
    expect(() => split(Tensor.zeros([2, 5]), [2, 2], 1)).toThrow(/add up/);
  });
});
