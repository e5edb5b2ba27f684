// @adapters all
/**
 * Issue #25's pointwise ops under their public names: each against its float64 reference on odd shapes
 * (with the scalar and vec4 kernels), gradients against finite differences, the special values the
 * frameworks agree on, and the errors for bad options. (The UNARY table's rows are also run by
 * test/elementwise.test.ts with generic scalars.)
 */
import { describe, it, beforeAll, expect } from 'vitest';
import {
  Tensor,
  tidy,
  leakyRelu,
  elu,
  selu,
  gelu,
  softplus,
  hardSigmoid,
  hardSwish,
  abs,
  sign,
  clip,
  pow,
  maximum,
  minimum,
  where,
  greater,
  greaterEqual,
  less,
  lessEqual,
  equal,
  notEqual,
} from '../src/index.js';
import { reference, BINARY, type BinaryOp } from '../src/internals.js';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, numel } from './helpers.js';

beforeAll(setup);

// Shapes with odd sizes (scalar kernel) and a multiple of 4 (vec4 kernel).
const shapes = [[7], [3, 5, 3], [2, 4, 6]];
const G = { atol: 1e-4, rtol: 1e-3 };

/** Forward against `ref` and gradient against finite differences of `ref`, on each shape. */
async function checkUnary(
  name: string,
  op: (t: Tensor) => Tensor,
  ref: (x: number) => number,
  range: [number, number] = [-4, 4],
): Promise<void> {
  for (const [si, shape] of shapes.entries()) {
    const n = numel(shape);
    const x = randArray(n, 31 + si, ...range);
    const w = randArray(n, 57 + si);
    const { out, grads } = await gpuGrads(op, [{ data: x, shape }], w);
    expectClose(out, Float64Array.from(x, ref), { what: `${name} ${shape}`, atol: 1e-6, rtol: 1e-5 });
    const [idx, fd] = finiteDiff((xx) => weightedSum(Float64Array.from(xx, ref), w), x, { eps: 1e-5 });
    expectClose(
      idx.map((i) => grads[0][i]),
      fd,
      { what: `${name} grad ${shape}`, ...G },
    );
  }
}

const erfRef = (x: number) => {
  // Independent of the op table's: Abramowitz & Stegun 7.1.28 is too coarse, so integrate exp(-t^2) by Simpson.
  const steps = 2000;
  const h = x / steps;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < steps; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * h * s) / 3;
};

describe('activations against float64 references (PyTorch definitions)', () => {
  it('leakyRelu (default slope 0.01 and a given one), elu, selu', async () => {
    await checkUnary(
      'leakyRelu',
      (t) => leakyRelu(t),
      (x) => (x > 0 ? x : 0.01 * x),
    );
    await checkUnary(
      'leakyRelu 0.3',
      (t) => leakyRelu(t, 0.3),
      (x) => (x > 0 ? x : 0.3 * x),
    );
    await checkUnary(
      'elu',
      (t) => elu(t),
      (x) => (x > 0 ? x : Math.expm1(x)),
    );
    await checkUnary(
      'elu 0.5',
      (t) => elu(t, 0.5),
      (x) => (x > 0 ? x : 0.5 * Math.expm1(x)),
    );
    const [l, a] = [1.0507009873554805, 1.6732632423543772];
    await checkUnary(
      'selu',
      (t) => selu(t),
      (x) => l * (x > 0 ? x : a * Math.expm1(x)),
    );
  });

  it('gelu: erf form (default) and tanh form', async () => {
    await checkUnary(
      'gelu',
      (t) => gelu(t),
      (x) => 0.5 * x * (1 + erfRef(x / Math.SQRT2)),
    );
    const c = Math.sqrt(2 / Math.PI);
    await checkUnary(
      'gelu tanh',
      (t) => gelu(t, { approximate: 'tanh' }),
      (x) => 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x ** 3))),
    );
    // Known values (PyTorch: gelu(1) = 0.8413447, gelu(-3) = -0.0040497; tanh form gelu(1) = 0.8411920).
    const x = Tensor.from([1, -3, 0, 10], [4]);
    expectClose(await gelu(x).read(), [0.8413447461, -0.004049694, 0, 10], { atol: 3e-7, rtol: 1e-6 });
    const tanhForm = [0.8411919906, -0.0036373921, 0, 10];
    expectClose(await gelu(x, { approximate: 'tanh' }).read(), tanhForm, { atol: 3e-7, rtol: 1e-6 });
  });

  it('softplus, hardSigmoid, hardSwish, abs, sign', async () => {
    await checkUnary(
      'softplus',
      (t) => softplus(t),
      (x) => Math.log1p(Math.exp(x)),
    );
    await checkUnary(
      'hardSigmoid',
      (t) => hardSigmoid(t),
      (x) => Math.min(Math.max(x + 3, 0), 6) / 6,
      [-5, 5],
    );
    await checkUnary(
      'hardSwish',
      (t) => hardSwish(t),
      (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
      [-5, 5],
    );
    await checkUnary('abs', (t) => abs(t), Math.abs);
    await checkUnary('sign', (t) => sign(t), Math.sign);
  });

  it('clip, pow with a number (negative bases, integer and fractional exponents)', async () => {
    await checkUnary(
      'clip',
      (t) => clip(t, -1.5, 0.5),
      (x) => Math.min(0.5, Math.max(-1.5, x)),
    );
    await checkUnary(
      'clip to infinity',
      (t) => clip(t, -Infinity, 1),
      (x) => Math.min(1, x),
    );
    await checkUnary(
      'pow 3',
      (t) => pow(t, 3),
      (x) => x ** 3,
      [-2, 2],
    );
    await checkUnary(
      'pow 2',
      (t) => pow(t, 2),
      (x) => x ** 2,
      [-2, 2],
    );
    await checkUnary(
      'pow -2',
      (t) => pow(t, -2),
      (x) => x ** -2,
      [0.5, 2],
    );
    await checkUnary('pow 0.5', (t) => pow(t, 0.5), Math.sqrt, [0.2, 3]);
    const x = Tensor.from([-8, -2, 0, 0, 4, NaN, -1, 2], [8]);
    expectClose(await pow(x, 3).read(), [-512, -8, 0, 0, 64, NaN, -1, 8]);
    expectClose(await pow(x, 0.5).read(), [NaN, NaN, 0, 0, 2, NaN, NaN, Math.SQRT2]);
    expectClose(await pow(x, -1).read(), [-0.125, -0.5, Infinity, Infinity, 0.25, NaN, -1, 0.5]);
    expectClose(await pow(x, 0).read(), [1, 1, 1, 1, 1, NaN, 1, 1]);
  });

  it('special values: large logits, infinities and NaN', async () => {
    const x = Tensor.from([-100, 100, -Infinity, Infinity, NaN, 0, -30, 30], [8]);
    expectClose(await softplus(x).read(), [3.720076e-44, 100, 0, Infinity, NaN, Math.LN2, 9.357623e-14, 30], {
      atol: 1e-12,
    });
    expectClose(await gelu(x).read(), [-0, 100, NaN, Infinity, NaN, 0, -0, 30], { atol: 1e-12 });
    expectClose(await elu(x).read(), [-1, 100, -1, Infinity, NaN, 0, -1, 30]);
    expectClose(await hardSwish(x).read(), [-0, 100, NaN, Infinity, NaN, 0, -0, 30]);
    expectClose(await clip(x, -1, 1).read(), [-1, 1, -1, 1, NaN, 0, -1, 1]);
    expectClose(await sign(x).read(), [-1, 1, -1, 1, NaN, 0, -1, 1]);
  });
});

describe('binary pointwise ops with broadcasting', () => {
  const cases: [number[], number[]][] = [
    [[7], [7]],
    [[3, 5], [5]],
    [
      [3, 1, 5],
      [1, 4, 1],
    ],
    [[1], [2, 3]],
  ];

  async function checkBinary(
    op: BinaryOp,
    fn: (a: Tensor, b: Tensor) => Tensor,
    ranges: [[number, number], [number, number]] = [
      [-2, 2],
      [-2, 2],
    ],
  ): Promise<void> {
    for (const [ci, [sa, sb]] of cases.entries()) {
      const a = randArray(numel(sa), 3 + ci, ...ranges[0]);
      const b = randArray(numel(sb), 5 + ci, ...ranges[1]);
      const ref = reference.binary(op, a, sa, b, sb);
      const w = randArray(ref.data.length, 17 + ci);
      const { out, grads } = await gpuGrads(
        fn,
        [
          { data: a, shape: sa },
          { data: b, shape: sb },
        ],
        w,
      );
      expectClose(out, ref.data, { what: `${op} ${sa} ${sb}`, atol: 1e-6, rtol: 1e-5 });
      const fa = (aa: Float64Array) => weightedSum(reference.binary(op, aa, sa, b, sb).data, w);
      const fb = (bb: Float64Array) => weightedSum(reference.binary(op, a, sa, bb, sb).data, w);
      const [ia, da] = finiteDiff(fa, a, { eps: 1e-5 });
      const [ib, db] = finiteDiff(fb, b, { eps: 1e-5 });
      expectClose(
        ia.map((i) => grads[0][i]),
        da,
        { what: `${op} dA`, ...G },
      );
      expectClose(
        ib.map((i) => grads[1][i]),
        db,
        { what: `${op} dB`, ...G },
      );
    }
  }

  it('maximum and minimum (and ties send the gradient to a)', async () => {
    await checkBinary('maximum', maximum);
    await checkBinary('minimum', minimum);
    const { out, grads } = await gpuGrads(
      maximum,
      [
        { data: [1, 2, NaN], shape: [3] },
        { data: [1, 3, 0], shape: [3] },
      ],
      [1, 1, 1],
    );
    expectClose(out, [1, 3, NaN]);
    expectClose(grads[0], [1, 0, 0]);
    expectClose(grads[1], [0, 1, 0]);
  });

  it('pow with a tensor exponent (both gradients; the exponent gradient is 0 at a zero base)', async () => {
    await checkBinary('pow', (a, b) => pow(a, b), [
      [0.3, 2],
      [-2, 2],
    ]);
    const { out, grads } = await gpuGrads(
      (a, b) => pow(a, b),
      [
        { data: [0, -2, 3], shape: [3] },
        { data: [2, 3, 1], shape: [3] },
      ],
      [1, 1, 1],
    );
    expectClose(out, [0, -8, 3]);
    expectClose(grads[0], [0, 12, 1]);
    expectClose(grads[1], [0, NaN, 3 * Math.log(3)], { rtol: 1e-5 });
  });

  it('comparisons give 0/1 masks with broadcasting, false for NaN (notEqual true)', async () => {
    const ops = { greater, greaterEqual, less, lessEqual, equal, notEqual };
    const a = [1, 2, 3, NaN, -1, 0.5];
    const b = [2, 2, 1];
    for (const [name, fn] of Object.entries(ops)) {
      const ref = reference.binary(name as BinaryOp, a, [2, 3], b, [3]);
      const got = await fn(Tensor.from(a, [2, 3]), Tensor.from(b, [3])).read();
      expectClose(got, ref.data, { what: name });
      expect(BINARY[name as BinaryOp]).toBeDefined();
    }
    // Equal values compare equal; a mask carries no gradient.
    const m = greater(Tensor.from([1, 2], [2], { requiresGrad: true }), Tensor.from([0, 5], [2]));
    expect(m.requiresGrad).toBe(false);
    expectClose(await m.read(), [1, 0]);
  });

  it('where picks by a (broadcast) mask; gradients go to the picked side', async () => {
    const cond = [1, 0, 0, 1, NaN, 0];
    const a = randArray(6, 2);
    const b = randArray(3, 3);
    const w = randArray(6, 4);
    const c = Tensor.from(cond, [2, 3]);
    const { out, grads } = await gpuGrads(
      (x, y) => where(c, x, y),
      [
        { data: a, shape: [2, 3] },
        { data: b, shape: [3] },
      ],
      w,
    );
    const want = cond.map((v, i) => (v !== 0 ? a[i] : b[i % 3]));
    expectClose(out, want);
    expectClose(
      grads[0],
      cond.map((v, i) => (v !== 0 ? w[i] : 0)),
    );
    const gb = [0, 1, 2].map((j) => [0, 1].reduce((s, r) => s + (cond[r * 3 + j] !== 0 ? 0 : w[r * 3 + j]), 0));
    expectClose(grads[1], gb);
    // Infinities on the side not picked do not leak (no arithmetic blend).
    const y = where(Tensor.from([1, 0], [2]), Tensor.from([5, Infinity], [2]), Tensor.from([-Infinity, 6], [2]));
    expectClose(await y.read(), [5, 6]);
  });
});

describe('errors name the problem and the fix', () => {
  it('refuses bad scalars, options and shapes', () => {
    tidy(() => {
      const x = Tensor.zeros([3]);
      expect(() => clip(x, 1, -1)).toThrow(/clip needs lo <= hi, got lo 1 and hi -1/);
      expect(() => clip(x, NaN, 1)).toThrow(/clip lo must be a number/);
      expect(() => leakyRelu(x, Infinity)).toThrow(/leakyRelu alpha must be a finite number/);
      expect(() => gelu(x, { approximate: 'erf' as 'none' })).toThrow(
        /gelu option approximate must be 'none' or 'tanh'/,
      );
      expect(() => pow(x, '2' as unknown as number)).toThrow(/pow exponent/);
      expect(() => maximum(x, Tensor.zeros([4]))).toThrow(/\[3\] and \[4\] cannot be broadcast/);
      expect(() => where(Tensor.zeros([2]), x, x)).toThrow(/cannot be broadcast/);
      expect(() => greater(x, 1 as unknown as Tensor)).toThrow(/greater argument b must be a Tensor/);
      // int32 tensors (labels, indices) are refused by name, with the cast that converts them.
      const labels = Tensor.from([1, 2, 3], [3], { dtype: 'int32' });
      expect(() => gelu(labels)).toThrow(/gelu argument x must be a f32 tensor, got .*int32.*cast\(x, 'f32'\)/);
      expect(() => maximum(x, labels)).toThrow(/maximum argument b must be a f32 tensor/);
      expect(() => where(labels, x, x)).toThrow(/where argument cond must be a f32 tensor/);
    });
  });
});
