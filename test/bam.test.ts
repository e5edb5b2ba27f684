// @adapters all
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor, add, mul, sigmoid, addScalar, reshape } from '../src/index.js';
import { bamCombine, bamCombineReference, type BamMode } from '../src/kernels/bam.js';
import { setup, expectClose, checkOp, type FdTol } from './helpers.js';

beforeAll(setup);

/** The composite of primitive ops that bamCombine fuses. */
function composite(x: Tensor, mc: Tensor, ms: Tensor, mode: BamMode): Tensor {
  const [N, , , C] = x.shape;
  const c4 = reshape(mc, [N, 1, 1, C]);
  const a = mode === 'sum' ? add(c4, ms) : mul(c4, ms);
  return mul(x, addScalar(sigmoid(a), 1));
}

const inputShapes = ([N, H, W, C]: number[]): number[][] => [
  [N, H, W, C],
  [N, C],
  [N, H, W, 1],
];

for (const mode of ['sum', 'product'] as BamMode[]) {
  /** bamCombine vs its float64 references, inputs in [-2, 2) seeded from `seed`, gradient weights from `dySeed`. */
  const check = (shape: number[], seed: number, dySeed: number, fd: FdTol) =>
    checkOp({
      op: (x, mc, ms) => bamCombine(x, mc, ms, mode),
      inputs: inputShapes(shape).map((s, k) => ({ shape: s, seed: seed + k, range: [-2, 2] as const })),
      ref: (x, mc, ms) => bamCombineReference(x, shape, mc, ms, mode).y,
      backwardRef: (dy, x, mc, ms) => {
        const r = bamCombineReference(x, shape, mc, ms, mode, dy);
        return [r.dx, r.dmc, r.dms];
      },
      fwd: { atol: 1e-6, rtol: 1e-5 },
      bwd: [
        { atol: 1e-6, rtol: 1e-5 },
        { atol: 1e-5, rtol: 1e-4 },
        { atol: 1e-5, rtol: 1e-4 },
      ],
      fd,
      composite: {
        op: (x, mc, ms) => composite(x, mc, ms, mode),
        fwd: { atol: 1e-6, rtol: 1e-5 },
        bwd: { atol: 1e-5, rtol: 1e-4 },
      },
      dy: dySeed,
    });
  describe(`bamCombine (${mode})`, () => {
    for (const shape of [
      [3, 7, 5, 6],
      [2, 9, 9, 16],
      [1, 1, 1, 1],
      [2, 35, 3, 4],
    ]) {
      it(`${shape.join('x')}: forward, backward vs reference and vs the composite of primitive ops`, () =>
        check(shape, 1, 4, { count: 12, atol: 1e-5, rtol: 1e-3 }));
    }

    it('gradients match finite differences of the float64 reference', () =>
      check([2, 3, 2, 4], 5, 8, { atol: 1e-5, rtol: 1e-3 }));
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
    expectClose(y, bamCombineReference([1, NaN, 2, 3], [1, 1, 2, 2], [NaN, 0.5], [1, -1]).y, { atol: 1e-6 });
    expect(Array.from(y, Number.isNaN)).toEqual([true, true, true, false]);
    for (const t of [x, mc, ms]) t.dispose();
  });
});
