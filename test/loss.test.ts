// @adapters all
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor, runtime } from '../src/index.js';
import { softmaxCrossEntropy, softmax, softmaxCrossEntropyReference, softmaxReference } from '../src/kernels/loss.js';
import { setup, randArray, expectClose, checkOp, rng, type FdTol, type Tol } from './helpers.js';

beforeAll(setup);

function oneHot(N: number, C: number, seed: number): Float64Array {
  const r = rng(seed);
  const t = new Float64Array(N * C);
  for (let i = 0; i < N; i++) t[i * C + Math.floor(r() * C)] = 1;
  return t;
}

function softTargets(N: number, C: number, seed: number): Float64Array {
  const t = randArray(N * C, seed, 0, 1);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += t[i * C + c];
    for (let c = 0; c < C; c++) t[i * C + c] = Math.fround(t[i * C + c] / s);
  }
  return t;
}

/**
 * checkOp on softmaxCrossEntropy(z, t) (t a constant), the loss's gradient weight `gscale`: the loss
 * and dlogits vs the float64 reference (scaled by gscale), and dlogits vs its finite differences.
 */
const check = (
  z: ArrayLike<number>,
  t: ArrayLike<number>,
  N: number,
  C: number,
  o: { w?: number[]; wTensor?: Tensor; gscale?: number; loss?: Tol; dz?: Tol; fd?: false | FdTol } = {},
) =>
  checkOp({
    op: (zt, tt) => softmaxCrossEntropy(zt, tt, { classWeights: o.wTensor ?? o.w }),
    inputs: [
      { data: z, shape: [N, C] },
      { data: t, shape: [N, C], grad: false },
    ],
    ref: (zz, tt) => [softmaxCrossEntropyReference(zz, tt, N, C, o.w).loss],
    backwardRef: (dy, zz, tt) => [softmaxCrossEntropyReference(zz, tt, N, C, o.w).dlogits.map((v) => v * dy[0]), null],
    fwd: o.loss ?? { atol: 1e-6, rtol: 1e-5 },
    bwd: o.dz ?? { atol: 1e-7, rtol: 1e-4 },
    fd: o.fd ?? { atol: 1e-6, rtol: 1e-4 },
    dy: [o.gscale ?? 1],
  });

describe('softmaxCrossEntropy', () => {
  const cases = [
    { N: 3, C: 2, w: undefined, soft: false },
    { N: 7, C: 5, w: [0.3, 2, 1, 0.7, 1.5], soft: false },
    { N: 5, C: 13, w: undefined, soft: true },
    { N: 4, C: 3, w: [2, 0.5, 1], soft: true },
    { N: 1, C: 1, w: undefined, soft: false },
    { N: 300, C: 2, w: [1, 4.2], soft: false },
  ];
  for (const c of cases) {
    it(
      `N=${c.N} C=${c.C}${c.w ? ' class weights' : ''}${c.soft ? ' soft targets' : ' one-hot'}: ` +
        `loss and gradient vs reference`,
      () =>
        check(randArray(c.N * c.C, 1, -4, 4), c.soft ? softTargets(c.N, c.C, 2) : oneHot(c.N, c.C, 2), c.N, c.C, {
          w: c.w,
          gscale: 0.7,
        }),
    );
  }

  it('gradient matches finite differences of the float64 reference (class weights, soft targets)', async () => {
    const w = Tensor.from([0.5, 1.5, 2, 1], [4]);
    await check(randArray(12, 3, -2, 2), softTargets(3, 4, 4), 3, 4, { w: [0.5, 1.5, 2, 1], wTensor: w });
    w.dispose();
  });

  it('Keras SUM_OVER_BATCH_SIZE weighting: weighted sum divided by N, not by the sum of weights', async () => {
    // Two samples of class 0 and 1 with equal logits: ce_i = log 2 each; weights 1 and 3.
    const { out } = await check([0, 0, 0, 0], [1, 0, 0, 1], 2, 2, { w: [1, 3] });
    expect(out[0]).toBeCloseTo(((1 + 3) * Math.LN2) / 2, 6);
  });

  it('extreme logits (1e3) stay finite and exact', async () => {
    const z = [1000, -1000, 0, -1000, 1000, 999, 1000, 1000, -1000];
    const t = [0, 1, 0, 0, 0, 1, 1, 0, 0];
    const { out } = await check(z, t, 3, 3, {
      loss: { atol: 1e-3, rtol: 1e-6 },
      dz: { atol: 1e-6, rtol: 1e-4 },
      fd: false,
    });
    expect(Number.isFinite(out[0])).toBe(true);
  });
});

describe('softmax', () => {
  it('rows sum to one and match the reference, extreme logits included', async () => {
    const N = 5;
    const C = 7;
    const z = randArray(N * C, 9, -5, 5);
    z[0] = 1000;
    z[8] = -1000;
    const p = await softmax(Tensor.from(Float32Array.from(z), [N, C])).read();
    expectClose(p, softmaxReference(z, N, C), { atol: 1e-7, rtol: 1e-5, what: 'p' });
    for (let i = 0; i < N; i++) expect(p.slice(i * C, i * C + C).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});

describe('NaN (issue #24: propagate as PyTorch and TensorFlow)', () => {
  it('NaN in the targets or the logits makes the loss and the gradient of that row NaN', async () => {
    const N = 2;
    const C = 3;
    const z = randArray(N * C, 3, -2, 2);
    for (const [zz, tt] of [
      [z, Float64Array.from([NaN, 1, 0, 0, 0, 1])],
      [Float64Array.from(z, (v, i) => (i === 4 ? NaN : v)), Float64Array.from([0, 1, 0, 0, 0, 1])],
    ]) {
      expect(softmaxCrossEntropyReference(zz, tt, N, C).loss).toBeNaN();
      const { out } = await check(zz, tt, N, C, { dz: { atol: 1e-6, rtol: 1e-4 }, fd: false });
      expect(out[0]).toBeNaN();
    }
  });
  it('softmax of a row holding NaN is NaN (the other rows as the reference)', async () => {
    const z = Float64Array.from(randArray(6, 4, -2, 2), (v, i) => (i === 1 ? NaN : v));
    const p = await softmax(Tensor.from(Float32Array.from(z), [2, 3])).read();
    expectClose(p, softmaxReference(z, 2, 3), { atol: 1e-7, rtol: 1e-5 });
    expect(Array.from(p.slice(0, 3), Number.isNaN)).toEqual([true, true, true]);
  });
  it('class weights must be one finite number >= 0 per class; a failed call leaks nothing', () => {
    const z = Tensor.zeros([2, 3]);
    const t = Tensor.zeros([2, 3]);
    const live = runtime().memory().liveBytes;
    expect(() => softmaxCrossEntropy(z, t, { classWeights: [1, 2] })).toThrow(
      /classWeights must hold 3 weights.*got \[1, 2\]/,
    );
    expect(() => softmaxCrossEntropy(z, t, { classWeights: [1, NaN, 1] })).toThrow(
      /classWeights\[1\] must be a finite number >= 0, got NaN/,
    );
    expect(runtime().memory().liveBytes).toBe(live);
    z.dispose();
    t.dispose();
  });
});
