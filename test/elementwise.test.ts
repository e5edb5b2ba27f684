// @adapters all
import { describe, it, beforeAll, expect } from 'vitest';
import { Tensor, broadcastTo, reshape, tidy, swish, silu } from '../src/index.js';
import { unary, binary, reference, UNARY, type UnaryOp } from '../src/internals.js';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, numel } from './helpers.js';

beforeAll(setup);

// Inputs kept in each op's domain (log and sqrt need x > 0).
const domain: Partial<Record<UnaryOp, [number, number]>> = { log: [0.2, 3], sqrt: [0.2, 3], pow: [0.2, 3] };
// Each op's scalars [alpha, beta] where 0.75 (and beta 0) do not fit (clip needs lo <= hi).
const scalars: Partial<Record<UnaryOp, [number, number]>> = { clip: [-0.5, 0.75] };

describe('unary ops vs float64 reference', () => {
  const shapes = [[1], [7], [3, 5, 2], [257], [2, 1, 33]];
  for (const op of Object.keys(UNARY) as UnaryOp[]) {
    it(`${op} forward and backward`, async () => {
      for (const [si, shape] of shapes.entries()) {
        const n = numel(shape);
        const [lo, hi] = domain[op] ?? [-2, 2];
        const x = randArray(n, 11 + si, lo, hi);
        const w = randArray(n, 99 + si);
        const [alpha, beta] = scalars[op] ?? [0.75, 0];
        const { out, grads } = await gpuGrads((t) => unary(op, t, alpha, beta), [{ data: x, shape }], w);
        const ref = reference.unary(op, x, alpha, beta);
        expectClose(out, ref, { what: `${op} ${shape}`, atol: 1e-6, rtol: 1e-5 });
        // d/dx sum(f(x) * w) by central differences of the float64 reference (relu: avoid the kink).
        const [idx, fd] = finiteDiff((xx) => weightedSum(reference.unary(op, xx, alpha, beta), w), x, {
          count: 8,
          eps: 1e-5,
        });
        expectClose(
          idx.map((i) => grads[0][i]),
          fd,
          { what: `${op} grad ${shape}`, atol: 1e-4, rtol: 1e-3 },
        );
      }
    });
  }
});

describe('binary ops with broadcasting', () => {
  const cases: [number[], number[]][] = [
    [[5], [5]],
    [[3, 4], [4]],
    [
      [3, 1, 5],
      [1, 7, 1],
    ],
    [
      [2, 3, 4, 5],
      [3, 1, 5],
    ],
    [[1], [6, 3]],
    [
      [257, 3],
      [257, 1],
    ],
  ];
  for (const op of ['add', 'sub', 'mul', 'div'] as const) {
    it(`${op} forward and both gradients`, async () => {
      for (const [ci, [sa, sb]] of cases.entries()) {
        const a = randArray(numel(sa), 3 + ci);
        const b = randArray(numel(sb), 5 + ci, op === 'div' ? 0.5 : -1, op === 'div' ? 2 : 1);
        const ref = reference.binary(op, a, sa, b, sb);
        const w = randArray(ref.data.length, 17 + ci);
        const { out, grads } = await gpuGrads(
          (x, y) => binary(op, x, y),
          [
            { data: a, shape: sa },
            { data: b, shape: sb },
          ],
          w,
        );
        expectClose(out, ref.data, { what: `${op} ${sa} ${sb}` });
        const fa = (aa: Float64Array) => weightedSum(reference.binary(op, aa, sa, b, sb).data, w);
        const fb = (bb: Float64Array) => weightedSum(reference.binary(op, a, sa, bb, sb).data, w);
        const [ia, da] = finiteDiff(fa, a, { eps: 1e-5 });
        const [ib, db] = finiteDiff(fb, b, { eps: 1e-5 });
        expectClose(
          ia.map((i) => grads[0][i]),
          da,
          { what: `${op} dA`, atol: 1e-4, rtol: 1e-3 },
        );
        expectClose(
          ib.map((i) => grads[1][i]),
          db,
          { what: `${op} dB`, atol: 1e-4, rtol: 1e-3 },
        );
      }
    });
  }

  it('names both shapes when they cannot broadcast', () => {
    tidy(() => {
      const a = Tensor.zeros([3, 4]);
      const b = Tensor.zeros([5]);
      expect(() => binary('add', a, b)).toThrow(/\[3, 4\] and \[5\]/);
    });
  });

  it('broadcastTo and reshape (views) with gradients', async () => {
    const x = randArray(6, 1);
    const w = randArray(24, 2);
    const { out, grads } = await gpuGrads(
      (t) => broadcastTo(reshape(t, [1, 2, 3]), [4, 2, 3]),
      [{ data: x, shape: [6] }],
      w,
    );
    const want = Array.from({ length: 24 }, (_, i) => x[i % 6]);
    expectClose(out, want);
    const gw = Array.from({ length: 6 }, (_, j) => [0, 1, 2, 3].reduce((s, r) => s + w[r * 6 + j], 0));
    expectClose(grads[0], gw);
  });
});

describe('NaN and infinities (issue #24: propagate as PyTorch and TensorFlow)', () => {
  // Sizes 5 (scalar kernel) and 8 (vec4 kernel).
  for (const n of [5, 8]) {
    it(`relu keeps NaN and infinities (n = ${n}); its gradient at NaN is 0, as PyTorch's`, async () => {
      const x = [NaN, -1, 2, -Infinity, Infinity, NaN, 0.5, -0.25].slice(0, n);
      const { out, grads } = await gpuGrads(
        (t) => unary('relu', t),
        [{ data: x, shape: [n] }],
        new Float64Array(n).fill(1),
      );
      expectClose(out, [NaN, 0, 2, 0, Infinity, NaN, 0.5, 0].slice(0, n), { what: 'relu' });
      expectClose(grads[0], [0, 0, 1, 0, 1, 0, 1, 0].slice(0, n), { what: 'relu gradient' });
      expectClose(out, reference.unary('relu', x), { what: 'the reference agrees' });
      // Ops that always carried NaN still do.
      const a = Tensor.from(x, [n]);
      expectClose(
        await binary('add', a, a).read(),
        x.map((v) => v + v),
        { what: 'add' },
      );
      expectClose(await unary('sigmoid', a).read(), reference.unary('sigmoid', x), { what: 'sigmoid' });
      a.dispose();
    });
  }
  it(
    'exp, log and tanh give IEEE special values on every adapter (SwiftShader: exp(NaN) = inf, log(-1) = 0, ' +
      'tanh(inf) = NaN)',
    async () => {
      const x = [NaN, -1, 0, Infinity, -Infinity, 2, -0.5, 20];
      for (const op of ['exp', 'log', 'tanh', 'sigmoid', 'sqrt'] as const) {
        const y = await unary(op, Tensor.from(x, [8])).read();
        expectClose(y, reference.unary(op, x), { what: op });
      }
    },
  );
});

describe('swish (SiLU): x * sigmoid(x)', () => {
  it('keeps IEEE special values and its gradient does not cancel far from 0 (scalar and vec4 kernels)', async () => {
    for (const n of [7, 8]) {
      const x = [NaN, -Infinity, Infinity, -100, 100, 30, -30, 0.5].slice(0, n);
      const { out, grads } = await gpuGrads((t) => swish(t), [{ data: x, shape: [n] }], new Float64Array(n).fill(1));
      // -inf * sigmoid(-inf) = -inf * 0 is NaN (as TensorFlow's x * sigmoid(x)).
      expectClose(
        out,
        [NaN, NaN, Infinity, -0, 100, 30, -30 / (1 + Math.exp(30)), 0.5 / (1 + Math.exp(-0.5))].slice(0, n),
        {
          what: 'swish',
          atol: 1e-6,
        },
      );
      const s = (v: number) => 1 / (1 + Math.exp(-v));
      const d = (v: number) => s(v) * (1 + v * (1 - s(v)));
      // Far out: exactly 0 (x = -100) and 1 (x = 100, 30); y + s(1 - y) would give 0 at x = 100 in f32.
      expectClose(grads[0].slice(3, n), [0, 1, 1, d(-30), d(0.5)].slice(0, n - 3), { what: 'swish gradient' });
    }
  });
  it('silu is swish, and both equal x * sigmoid(x) of the reference', async () => {
    expect(silu).toBe(swish);
    const x = randArray(33, 5, -6, 6);
    const y = await swish(Tensor.from(x, [3, 11])).read();
    expectClose(
      y,
      Array.from(x, (v) => v * reference.unary('sigmoid', [v])[0]),
      { what: 'swish', atol: 1e-6, rtol: 1e-5 },
    );
  });
});
