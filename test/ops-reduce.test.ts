// @adapters all
// Reductions (issue #25): max, min, argmax, argmin, logSumExp and prod over any axes (keepDims),
// logSoftmax, and softmaxCrossEntropy on int32 labels: against float64 references on odd shapes
// (adjacent axes, non-adjacent ones through a permuting copy, and long reductions in two passes),
// gradients against finite differences, NaN and infinities, ties, and the refusals.
import { describe, it, beforeAll, expect } from 'vitest';
import {
  Tensor,
  tidy,
  max,
  min,
  argmax,
  argmin,
  logSumExp,
  prod,
  logSoftmax,
  softmax,
  log,
  softmaxCrossEntropy,
  backward,
  noGrad,
} from '../src/index.js';
import { reduceOpReference, logSoftmaxReference, softmaxCrossEntropyReference } from '../src/internals.js';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, numel } from './helpers.js';

beforeAll(setup);

const OPS = { max, min, logSumExp, prod } as const;
type Op = keyof typeof OPS;

/** The axes as reduceOpReference takes them (sorted, non-negative; all when undefined). */
const norm = (axes: number | number[] | undefined, rank: number): number[] =>
  axes === undefined
    ? [...Array(rank).keys()]
    : [...new Set((typeof axes === 'number' ? [axes] : axes).map((a) => (a < 0 ? a + rank : a)))].sort();

describe('max, min, logSumExp and prod over axes', () => {
  const cases: { shape: number[]; axes?: number | number[]; keepDims?: boolean }[] = [
    { shape: [3, 5, 2], axes: 1 },
    { shape: [3, 5, 2], axes: [0, 2] }, // not adjacent: a permuting copy first
    { shape: [3, 5, 2], keepDims: true },
    { shape: [2, 3, 4, 5], axes: [1, 2], keepDims: true },
    { shape: [2, 3, 4, 5], axes: [-1, 0, 2] },
    { shape: [7], axes: 0 },
    { shape: [3001] }, // long, one output: two passes over chunks
    { shape: [2, 1500, 3], axes: 1 }, // long, few outputs: two passes
  ];
  for (const op of Object.keys(OPS) as Op[]) {
    it(`${op} forward and backward`, async () => {
      for (const [ci, c] of cases.entries()) {
        const n = numel(c.shape);
        // prod: values near 1 so that products of thousands stay finite.
        const x = op === 'prod' ? randArray(n, 3 + ci, 0.995, 1.005) : randArray(n, 3 + ci, -3, 3);
        const ax = norm(c.axes, c.shape.length);
        const ref = reduceOpReference(op, x, c.shape, ax);
        const w = randArray(ref.length, 50 + ci);
        const { out, grads } = await gpuGrads((t) => OPS[op](t, c.axes, c.keepDims), [{ data: x, shape: c.shape }], w);
        const what = `${op} ${c.shape} axes ${JSON.stringify(c.axes)}`;
        expectClose(out, ref, { what, atol: 1e-5, rtol: op === 'prod' || op === 'logSumExp' ? 1e-4 : 0 });
        const got = tidy(() => OPS[op](Tensor.zeros(c.shape), c.axes, c.keepDims).shape);
        const want = c.keepDims
          ? c.shape.map((d, i) => (ax.includes(i) ? 1 : d))
          : c.shape.filter((_, i) => !ax.includes(i));
        expect(got, `${what} shape`).toEqual(want.length ? want : [1]);
        const [idx, fd] = finiteDiff((xx) => weightedSum(reduceOpReference(op, xx, c.shape, ax), w), x, {
          count: 12,
          eps: 1e-4,
        });
        expectClose(
          idx.map((i) => grads[0][i]),
          fd,
          { what: `${what} gradient`, atol: 1e-3, rtol: 1e-2 },
        );
      }
    });
  }

  it('max and min split the gradient among ties; prod differentiates through zeros', async () => {
    const one = (n: number) => new Float64Array(n).fill(1);
    let r = await gpuGrads((t) => max(t, 1), [{ data: [1, 3, 3, 2, 5, 0, 5, 5], shape: [2, 4] }], one(2));
    expectClose(r.out, [3, 5]);
    expectClose(r.grads[0], [0, 0.5, 0.5, 0, 1 / 3, 0, 1 / 3, 1 / 3]);
    r = await gpuGrads((t) => min(t), [{ data: [2, -1, -1, 4], shape: [4] }], one(1));
    expectClose(r.grads[0], [0, 0.5, 0.5, 0]);
    r = await gpuGrads((t) => prod(t, 1), [{ data: [2, 0, 3, 0, 5, 0, 1.5, 2, 4], shape: [3, 3] }], one(3));
    expectClose(r.out, [0, 0, 12]);
    expectClose(r.grads[0], [0, 6, 0, 0, 0, 0, 8, 6, 3]);
  });

  it('NaN and infinities: NaN propagates, logSumExp over infinities, huge logits stay finite', async () => {
    const rows = [
      [1, NaN, 3],
      [-Infinity, -Infinity, -Infinity],
      [Infinity, 1, Infinity],
      [1e4, 1e4, -1e4],
      [-Infinity, 2, 0],
    ];
    const x = Tensor.from(rows.flat(), [5, 3]);
    for (const op of ['max', 'min', 'logSumExp', 'prod'] as const) {
      expectClose(await OPS[op](x, 1).read(), reduceOpReference(op, rows.flat(), [5, 3], [1]), { what: op });
    }
    expectClose(await argmax(x, 1).read(), [1, 0, 0, 0, 1], { what: 'argmax' });
    expectClose(await argmin(x, 1).read(), [1, 0, 1, 2, 0], { what: 'argmin' });
    x.dispose();
  });
});

describe('argmax and argmin', () => {
  const cases: { shape: number[]; axis?: number; keepDims?: boolean }[] = [
    { shape: [4, 7], axis: 1 },
    { shape: [4, 7], axis: 0, keepDims: true },
    { shape: [3, 5, 2], axis: -2 },
    { shape: [3, 5, 2] }, // the flat index over all elements
    { shape: [2, 2000], axis: 1 }, // two passes
    { shape: [2500] },
  ];
  for (const op of ['argmax', 'argmin'] as const) {
    it(`${op}: int32 indices, the first of ties`, async () => {
      const fn = op === 'argmax' ? argmax : argmin;
      for (const [ci, c] of cases.entries()) {
        // Few distinct values: ties are common, and the first one must win.
        const x = Float64Array.from(randArray(numel(c.shape), 9 + ci, 0, 6), Math.floor);
        const ax = c.axis === undefined ? norm(undefined, c.shape.length) : norm(c.axis, c.shape.length);
        const y = fn(Tensor.from(x, c.shape), c.axis, c.keepDims);
        expect(y.dtype).toBe('int32');
        const want = c.keepDims
          ? c.shape.map((d, i) => (ax.includes(i) ? 1 : d))
          : c.shape.filter((_, i) => !ax.includes(i));
        expect(y.shape).toEqual(want.length ? want : [1]);
        expect(Array.from(await y.readInt32()), `${op} ${c.shape} ${c.axis}`).toEqual(
          Array.from(reduceOpReference(op, x, c.shape, ax)),
        );
        y.dispose();
      }
    });
  }
  it('refuses a list of axes, int32 input and bad keepDims', () => {
    tidy(() => {
      expect(() => argmax(Tensor.zeros([2, 3]), [0, 1] as unknown as number)).toThrow(/argmax axis/);
      expect(() => prod(Tensor.zeros([2], { dtype: 'int32' }))).toThrow(/prod argument x must be a f32 tensor/);
      expect(() => logSumExp(Tensor.zeros([2], { dtype: 'int32' }))).toThrow(/logSumExp argument x must be a f32/);
      expect(() => max(Tensor.zeros([2]), 0, 1 as unknown as boolean)).toThrow(/max keepDims must be true or false/);
      expect(() => logSumExp(Tensor.zeros([2]), 1)).toThrow(/logSumExp axes must be/);
    });
  });
});

describe('max, min, argmax and argmin of int32 tensors', () => {
  it('compare as integers (past 2^24, where floats would tie) and keep the dtype', async () => {
    const big = 2 ** 30;
    const rows = [
      [big + 1, big, -big, big + 1],
      [-3, -(2 ** 31), 2 ** 31 - 1, 7],
      [5, 5, 5, 5],
    ];
    const shape = [3, 4];
    const x = Tensor.from(rows.flat(), shape, { dtype: 'int32' });
    for (const op of ['max', 'min', 'argmax', 'argmin'] as const) {
      for (const axis of [1, 0]) {
        const f = { max, min, argmax, argmin }[op];
        const y = f(x, axis);
        expect(y.dtype).toBe('int32');
        const want = reduceOpReference(op, rows.flat(), shape, [axis]);
        expect(Array.from(await y.readInt32()), `${op} axis ${axis}`).toEqual(Array.from(want));
        y.dispose();
      }
    }
    // Long: two passes over chunks keep integer states exact.
    const n = 3001;
    const long = Int32Array.from({ length: n }, (_, i) => big + ((i * 7919) % n));
    const lx = Tensor.from(long);
    expect(Array.from(await max(lx).readInt32())).toEqual([Math.max(...long)]);
    expect(Array.from(await argmin(lx).readInt32())).toEqual([long.indexOf(Math.min(...long))]);
    lx.dispose();
    x.dispose();
  });
});

describe('logSoftmax', () => {
  const cases: [number[], number][] = [
    [[4, 7], -1],
    [[3, 5, 2], 1],
    [[2, 3, 4], 0],
    [[1], 0],
  ];
  for (const [shape, axis] of cases) {
    it(`${shape.join('x')} along axis ${axis}: forward and backward`, async () => {
      const x = randArray(numel(shape), 21, -4, 4);
      const w = randArray(numel(shape), 22);
      const { out, grads } = await gpuGrads((t) => logSoftmax(t, axis), [{ data: x, shape }], w);
      expectClose(out, logSoftmaxReference(x, shape, axis), { atol: 1e-5, rtol: 1e-5 });
      const [idx, fd] = finiteDiff((xx) => weightedSum(logSoftmaxReference(xx, shape, axis), w), x, { eps: 1e-5 });
      expectClose(
        idx.map((i) => grads[0][i]),
        fd,
        { what: 'logSoftmax gradient', atol: 1e-4, rtol: 1e-3 },
      );
    });
  }
  it('is finite for logits of +-100 and +-1e4, where log(softmax(x)) gives -Infinity; a NaN row is NaN', async () => {
    const z = [100, -100, 0, 1e4, -1e4, 3];
    const x = Tensor.from(z, [2, 3]);
    const y = await logSoftmax(x).read();
    expectClose(y, logSoftmaxReference(z, [2, 3]), { atol: 1e-3, rtol: 1e-6 });
    expect(y[1]).toBeCloseTo(-200, 3);
    expect((await log(softmax(x)).read())[1]).toBe(-Infinity); // the composite underflows
    const nan = await logSoftmax(Tensor.from([1, NaN, 2, 0, 1, 2], [2, 3])).read();
    expect(Array.from(nan.slice(0, 3)).every(Number.isNaN)).toBe(true);
    expectClose(nan.slice(3), logSoftmaxReference([0, 1, 2], [1, 3]));
    x.dispose();
  });
});

describe('softmaxCrossEntropy on int32 labels', () => {
  it('equals the one-hot loss and gradient (PyTorch CrossEntropyLoss targets)', async () => {
    const [N, C] = [5, 3];
    const z = randArray(N * C, 31, -2, 2);
    const labels = [2, 0, 1, 1, 2];
    const onehot = labels.flatMap((l) => [0, 1, 2].map((c) => (c === l ? 1 : 0)));
    const ref = softmaxCrossEntropyReference(z, onehot, N, C, [1, 2, 0.5]);
    const logits = Tensor.from(z, [N, C], { requiresGrad: true });
    const t = Tensor.from(labels, [N], { dtype: 'int32' });
    const loss = softmaxCrossEntropy(logits, t, { classWeights: [1, 2, 0.5] });
    backward(loss);
    expectClose([await loss.item()], [ref.loss], { atol: 1e-6, rtol: 1e-5 });
    expectClose(await logits.grad!.read(), ref.dlogits, { atol: 1e-6, rtol: 1e-5 });
    noGrad(() => [logits.grad!, logits, t, loss].forEach((u) => u.dispose()));
    tidy(() => {
      const l2 = Tensor.from([0, 1], [2, 1], { dtype: 'int32' });
      expect(() => softmaxCrossEntropy(Tensor.zeros([2, 3]), l2)).toThrow(/int32 targets must be class labels \[2\]/);
    });
  });
});
