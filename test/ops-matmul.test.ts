// @adapters all
/**
 * matmul with batched operands (issue #25): NumPy/PyTorch broadcasting of the batch axes, every
 * transpose combination, against the float64 reference per batch, and gradients (summed over the
 * batches a broadcast operand was shared by) against finite differences.
 */
import { describe, it, beforeAll, expect } from 'vitest';
import { Tensor, tidy, matmul, setVariant, GEMM_VARIANTS } from '../src/index.js';
import { matmulReference } from '../src/internals.js';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, numel } from './helpers.js';

beforeAll(setup);

/** Float64 batched matmul with broadcasting, on the 2-D reference. */
function bmmReference(
  a: Float64Array,
  aShape: number[],
  b: Float64Array,
  bShape: number[],
  ta: boolean,
  tb: boolean,
): { data: Float64Array; shape: number[] } {
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const rank = Math.max(aShape.length, bShape.length) - 2;
  const pad = (s: number[]) => [...new Array(rank - (s.length - 2)).fill(1), ...s.slice(0, -2)];
  const [pa, pb] = [pad(aShape), pad(bShape)];
  const outBatch = pa.map((d, i) => Math.max(d, pb[i]));
  const [M, N] = [ta ? ac : ar, tb ? br : bc];
  const out: number[] = [];
  for (let z = 0; z < numel(outBatch); z++) {
    let [rem, za, zb, sa, sb] = [z, 0, 0, 1, 1];
    for (let d = rank - 1; d >= 0; d--) {
      const c = rem % outBatch[d];
      rem = Math.floor(rem / outBatch[d]);
      za += (pa[d] === 1 ? 0 : c) * sa;
      zb += (pb[d] === 1 ? 0 : c) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    const am = a.subarray(za * ar * ac, (za + 1) * ar * ac);
    const bm = b.subarray(zb * br * bc, (zb + 1) * br * bc);
    out.push(...matmulReference(am, [ar, ac], bm, [br, bc], ta, tb));
  }
  return { data: Float64Array.from(out), shape: [...outBatch, M, N] };
}

describe('batched matmul with broadcasting', () => {
  const cases: [number[], number[]][] = [
    [
      [3, 5, 7],
      [3, 7, 4],
    ],
    [
      [2, 1, 5, 3],
      [4, 3, 6],
    ],
    [
      [5, 3],
      [2, 3, 5],
    ],
    [
      [2, 3, 5, 7],
      [7, 5],
    ],
    [
      [1, 4, 9],
      [3, 9, 8],
    ],
    // Multiples of 4: the vec4 loads (B rows, A four k at a time, or four rows when transposed).
    [
      [2, 5, 8],
      [2, 8, 12],
    ],
    [
      [3, 4, 8],
      [1, 8, 4],
    ],
  ];
  for (const [ta, tb] of [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    it(`transA ${ta}, transB ${tb}: forward and both gradients`, async () => {
      for (const [ci, [sa0, sb0]] of cases.entries()) {
        // The stored shapes: the last two axes swapped where transposed.
        const swap = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
        const [sa, sb] = [swap(sa0, ta), swap(sb0, tb)];
        const a = randArray(numel(sa), 3 + ci);
        const b = randArray(numel(sb), 7 + ci);
        const ref = bmmReference(a, sa, b, sb, ta, tb);
        const w = randArray(ref.data.length, 11 + ci);
        const { out, grads } = await gpuGrads(
          (x, y) => matmul(x, y, { transA: ta, transB: tb }),
          [
            { data: a, shape: sa },
            { data: b, shape: sb },
          ],
          w,
        );
        const what = `${sa} x ${sb}`;
        expectClose(out, ref.data, { what, atol: 1e-5, rtol: 1e-4 });
        const fa = (v: Float64Array) => weightedSum(bmmReference(v, sa, b, sb, ta, tb).data, w);
        const fb = (v: Float64Array) => weightedSum(bmmReference(a, sa, v, sb, ta, tb).data, w);
        const [ia, da] = finiteDiff(fa, a, { eps: 1e-4, count: 16 });
        const [ib, db] = finiteDiff(fb, b, { eps: 1e-4, count: 16 });
        expectClose(
          ia.map((i) => grads[0][i]),
          da,
          { what: `${what} dA`, atol: 1e-4, rtol: 1e-3 },
        );
        expectClose(
          ib.map((i) => grads[1][i]),
          db,
          { what: `${what} dB`, atol: 1e-4, rtol: 1e-3 },
        );
      }
    });
  }

  it('runs on every GEMM core (the batches mode of each), scalar and vec4 loads: forward and gradients', async () => {
    // a [2, 1, M, K] x b [3, K, N]: dA sums over the broadcast axis 1, dB over the leading axis.
    for (const [M, K, N] of [
      [5, 6, 7],
      [4, 8, 12],
    ]) {
      const [sa, sb, so] = [
        [2, 1, M, K],
        [3, K, N],
        [2, 3, M, N],
      ];
      const a = randArray(numel(sa), 21);
      const b = randArray(numel(sb), 22);
      const ref = bmmReference(a, sa, b, sb, false, false);
      const w = randArray(ref.data.length, 23);
      const refA = bmmReference(Float64Array.from(w), so, b, sb, false, true);
      const refB = bmmReference(a, sa, Float64Array.from(w), so, true, false);
      const dA = new Float64Array(numel(sa));
      for (let i = 0; i < refA.data.length; i++)
        dA[Math.floor(i / (3 * M * K)) * M * K + (i % (M * K))] += refA.data[i];
      const dB = new Float64Array(numel(sb));
      for (let i = 0; i < refB.data.length; i++) dB[i % (3 * K * N)] += refB.data[i];
      for (const variant of GEMM_VARIANTS) {
        setVariant('gemm', variant);
        try {
          const { out, grads } = await gpuGrads(
            (x, y) => matmul(x, y),
            [
              { data: a, shape: sa },
              { data: b, shape: sb },
            ],
            w,
          );
          const what = `${variant} ${sa} x ${sb}`;
          expectClose(out, ref.data, { what: `${what} forward`, atol: 1e-5, rtol: 1e-4 });
          expectClose(grads[0], dA, { what: `${what} dA`, atol: 1e-4, rtol: 1e-3 });
          expectClose(grads[1], dB, { what: `${what} dB`, atol: 1e-4, rtol: 1e-3 });
        } finally {
          setVariant('gemm', undefined);
        }
      }
    }
  });

  it('gives the broadcast output shape and refuses shapes that do not agree', () => {
    tidy(() => {
      expect(matmul(Tensor.zeros([2, 1, 5, 3]), Tensor.zeros([4, 3, 6])).shape).toEqual([2, 4, 5, 6]);
      expect(matmul(Tensor.zeros([5, 3]), Tensor.zeros([2, 3, 5])).shape).toEqual([2, 5, 5]);
      expect(() => matmul(Tensor.zeros([2, 5, 3]), Tensor.zeros([3, 4, 6]))).toThrow(
        /matmul shapes do not agree: \[2, 5, 3\] x \[3, 4, 6\] \(inner dimensions 3 vs 4\)/,
      );
      expect(() => matmul(Tensor.zeros([2, 5, 3]), Tensor.zeros([3, 3, 6]))).toThrow(/batch axes .* do not broadcast/);
      expect(() => matmul(Tensor.zeros([3]), Tensor.zeros([3, 2]))).toThrow(/rank >= 2/);
      expect(() => matmul(Tensor.zeros([2, 5, 3]), Tensor.zeros([3, 6]), { splits: 2 })).toThrow(/splits/);
    });
  });
});
