// @adapters all
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor, add, mul, sigmoid, addScalar, reshape } from '../src/index.js';
import { bamCombine, bamCombineReference, bamCombineBackwardReference, type BamMode } from '../src/kernels/bam.js';
import { setup, randArray, expectClose, finiteDiff, gpuGrads, weightedSum, numel } from './helpers.js';

beforeAll(setup);

/** The composite of primitive ops that bamCombine fuses. */
function composite(x: Tensor, mc: Tensor, ms: Tensor, mode: BamMode): Tensor {
  const [N, , , C] = x.shape;
  const c4 = reshape(mc, [N, 1, 1, C]);
  const a = mode === 'sum' ? add(c4, ms) : mul(c4, ms);
  return mul(x, addScalar(sigmoid(a), 1));
}

for (const mode of ['sum', 'product'] as BamMode[]) {
  describe(`bamCombine (${mode})`, () => {
    for (const shape of [
      [3, 7, 5, 6],
      [2, 9, 9, 16],
      [1, 1, 1, 1],
      [2, 35, 3, 4],
    ]) {
      it(`${shape.join('x')}: forward, backward vs reference and vs the composite of primitive ops`, async () => {
        const [N, H, W, C] = shape;
        const x = randArray(numel(shape), 1, -2, 2);
        const mc = randArray(N * C, 2, -2, 2);
        const ms = randArray(N * H * W, 3, -2, 2);
        const w = randArray(numel(shape), 4);
        const inputs = [
          { data: x, shape },
          { data: mc, shape: [N, C] },
          { data: ms, shape: [N, H, W, 1] },
        ];
        const fused = await gpuGrads((a, b, c) => bamCombine(a, b, c, mode), inputs, w);
        expectClose(fused.out, bamCombineReference(x, shape, mc, ms, mode), { atol: 1e-6, rtol: 1e-5, what: 'y' });
        const ref = bamCombineBackwardReference(x, shape, mc, ms, w, mode);
        expectClose(fused.grads[0], ref.dx, { atol: 1e-6, rtol: 1e-5, what: 'dx' });
        expectClose(fused.grads[1], ref.dmc, { atol: 1e-5, rtol: 1e-4, what: 'dmc' });
        expectClose(fused.grads[2], ref.dms, { atol: 1e-5, rtol: 1e-4, what: 'dms' });
        const comp = await gpuGrads((a, b, c) => composite(a, b, c, mode), inputs, w);
        expectClose(fused.out, comp.out, { atol: 1e-6, rtol: 1e-5, what: 'fused vs composite y' });
        comp.grads.forEach((g, i) =>
          expectClose(fused.grads[i], g, { atol: 1e-5, rtol: 1e-4, what: `fused vs composite grad ${i}` }),
        );
      });
    }

    it('gradients match finite differences of the float64 reference', async () => {
      const shape = [2, 3, 2, 4];
      const [N, H, W, C] = shape;
      const x = randArray(numel(shape), 5, -2, 2);
      const mc = randArray(N * C, 6, -2, 2);
      const ms = randArray(N * H * W, 7, -2, 2);
      const w = randArray(numel(shape), 8);
      const { grads } = await gpuGrads(
        (a, b, c) => bamCombine(a, b, c, mode),
        [
          { data: x, shape },
          { data: mc, shape: [N, C] },
          { data: ms, shape: [N, H, W, 1] },
        ],
        w,
      );
      const fx = finiteDiff((v) => weightedSum(bamCombineReference(v, shape, mc, ms, mode), w), x);
      const fc = finiteDiff((v) => weightedSum(bamCombineReference(x, shape, v, ms, mode), w), mc);
      const fs = finiteDiff((v) => weightedSum(bamCombineReference(x, shape, mc, v, mode), w), ms);
      [fx, fc, fs].forEach(([idx, fd], k) =>
        expectClose(
          idx.map((i) => grads[k][i]),
          fd,
          { atol: 1e-5, rtol: 1e-3, what: `grad ${k} vs FD` },
        ),
      );
    });
  });
}

describe('bamCombine modes differ', () => {
  it("'sum' and 'product' give different outputs on the same inputs", async () => {
    const x = Tensor.from([1, 1], [1, 1, 1, 2]);
    const mc = Tensor.from([2, -1], [1, 2]);
    const ms = Tensor.from([3], [1, 1, 1, 1]);
    const s = await bamCombine(x, mc, ms, 'sum').read();
    const p = await bamCombine(x, mc, ms, 'product').read();
    const sg = (a: number) => 1 / (1 + Math.exp(-a));
    expectClose(s, [1 + sg(5), 1 + sg(2)], { atol: 1e-6, what: 'sum' });
    expectClose(p, [1 + sg(6), 1 + sg(-3)], { atol: 1e-6, what: 'product' });
    expect(() => bamCombine(x, Tensor.zeros([1, 3]), ms)).toThrow(/mc/);
  });
});

describe('NaN (issue #24)', () => {
  it('a NaN gate or input gives NaN on every adapter (SwiftShader made the gate of a NaN 0)', async () => {
    const x = Tensor.from([1, NaN, 2, 3], [1, 1, 2, 2]);
    const mc = Tensor.from([NaN, 0.5], [1, 2]);
    const ms = Tensor.from([1, -1], [1, 1, 2, 1]);
    const y = await bamCombine(x, mc, ms).read();
    expectClose(y, bamCombineReference([1, NaN, 2, 3], [1, 1, 2, 2], [NaN, 0.5], [1, -1]), { atol: 1e-6 });
    expect(Array.from(y, Number.isNaN)).toEqual([true, true, true, false]);
    for (const t of [x, mc, ms]) t.dispose();
  });
});
