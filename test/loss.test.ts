// @adapters all
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor, backward, noGrad, runtime } from '../src/index.js';
import { softmaxCrossEntropy, softmax, softmaxCrossEntropyReference, softmaxReference } from '../src/kernels/loss.js';
import { setup, randArray, expectClose, finiteDiff, rng } from './helpers.js';

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

async function run(
  z: Float64Array,
  t: Float64Array,
  N: number,
  C: number,
  classWeights?: number[] | Tensor,
  gscale = 1,
) {
  const zt = Tensor.from(Float32Array.from(z), [N, C], { requiresGrad: true });
  const tt = Tensor.from(Float32Array.from(t), [N, C]);
  const loss = softmaxCrossEntropy(zt, tt, { classWeights });
  expect(loss.size).toBe(1);
  backward(loss, Tensor.full([1], gscale));
  const res = { loss: await loss.item(), dz: await zt.grad!.read() };
  noGrad(() => [zt, tt, loss, zt.grad!].forEach((x) => x.dispose()));
  return res;
}

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
      async () => {
        const z = randArray(c.N * c.C, 1, -4, 4);
        const t = c.soft ? softTargets(c.N, c.C, 2) : oneHot(c.N, c.C, 2);
        const ref = softmaxCrossEntropyReference(z, t, c.N, c.C, c.w);
        const got = await run(z, t, c.N, c.C, c.w, 0.7);
        expectClose([got.loss], [ref.loss], { atol: 1e-6, rtol: 1e-5, what: 'loss' });
        expectClose(
          got.dz,
          ref.dlogits.map((v) => v * 0.7),
          { atol: 1e-7, rtol: 1e-4, what: 'dlogits' },
        );
      },
    );
  }

  it('gradient matches finite differences of the float64 reference (class weights, soft targets)', async () => {
    const N = 3;
    const C = 4;
    const w = [0.5, 1.5, 2, 1];
    const z = randArray(N * C, 3, -2, 2);
    const t = softTargets(N, C, 4);
    const got = await run(z, t, N, C, Tensor.from(w, [C]));
    const [idx, fd] = finiteDiff((zz) => softmaxCrossEntropyReference(zz, t, N, C, w).loss, z);
    expectClose(
      idx.map((i) => got.dz[i]),
      fd,
      { atol: 1e-6, rtol: 1e-4, what: 'dlogits vs FD' },
    );
  });

  it('Keras SUM_OVER_BATCH_SIZE weighting: weighted sum divided by N, not by the sum of weights', async () => {
    // Two samples of class 0 and 1 with equal logits: ce_i = log 2 each; weights 1 and 3.
    const got = await run(Float64Array.from([0, 0, 0, 0]), Float64Array.from([1, 0, 0, 1]), 2, 2, [1, 3]);
    expect(got.loss).toBeCloseTo(((1 + 3) * Math.LN2) / 2, 6);
  });

  it('extreme logits (1e3) stay finite and exact', async () => {
    const N = 3;
    const C = 3;
    const z = Float64Array.from([1000, -1000, 0, -1000, 1000, 999, 1000, 1000, -1000]);
    const t = Float64Array.from([0, 1, 0, 0, 0, 1, 1, 0, 0]);
    const ref = softmaxCrossEntropyReference(z, t, N, C);
    const got = await run(z, t, N, C);
    expect(Number.isFinite(got.loss)).toBe(true);
    expectClose([got.loss], [ref.loss], { atol: 1e-3, rtol: 1e-6, what: 'loss' });
    expectClose(got.dz, ref.dlogits, { atol: 1e-6, rtol: 1e-4, what: 'dlogits' });
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
      const ref = softmaxCrossEntropyReference(zz, tt, N, C);
      expect(ref.loss).toBeNaN();
      const got = await run(zz, tt, N, C);
      expect(got.loss).toBeNaN();
      expectClose(got.dz, ref.dlogits, { atol: 1e-6, rtol: 1e-4, what: 'dlogits' });
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
