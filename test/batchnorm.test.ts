// @adapters all
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor, noGrad } from '../src/index.js';
import { batchNorm, batchNormReference, type BatchNormReferenceParams } from '../src/kernels/batchnorm.js';
import { setup, randArray, expectClose, checkOp, numel, type FdTol, type Tol } from './helpers.js';

beforeAll(setup);

interface Case {
  shape: number[];
  gamma: boolean;
  beta: boolean;
  training: boolean;
  offset?: number;
  eps?: number;
  momentum?: number;
  varianceUpdate?: 'biased' | 'unbiased';
}

const mode = (training: boolean): string => (training ? 'training' : 'inference');

function data(c: Case, seed: number) {
  const C = c.shape[c.shape.length - 1];
  const x = randArray(numel(c.shape), seed, -2, 2).map((v) => v + (c.offset ?? 0));
  const p: BatchNormReferenceParams = {
    gamma: c.gamma ? randArray(C, seed + 1, 0.5, 1.5) : null,
    beta: c.beta ? randArray(C, seed + 2, -0.5, 0.5) : null,
    movingMean: randArray(C, seed + 3, -0.3, 0.3),
    movingVar: randArray(C, seed + 4, 0.5, 2),
    training: c.training,
    momentum: c.momentum,
    epsilon: c.eps,
    varianceUpdate: c.varianceUpdate,
  };
  return { x, p, C };
}

function gpuParams(p: BatchNormReferenceParams) {
  return {
    gamma: p.gamma ? Tensor.from(Float32Array.from(p.gamma), [p.gamma.length]) : null,
    beta: p.beta ? Tensor.from(Float32Array.from(p.beta), [p.beta.length]) : null,
    movingMean: Tensor.from(Float32Array.from(p.movingMean), [p.movingMean.length]),
    movingVar: Tensor.from(Float32Array.from(p.movingVar), [p.movingVar.length]),
    training: p.training,
    momentum: p.momentum,
    epsilon: p.epsilon,
    varianceUpdate: p.varianceUpdate,
  };
}

const reluRef = (y: Float64Array) => y.map((v) => Math.max(v, 0));

/**
 * checkOp on batchNorm (with the fused ReLU where `relu`) of the case's data from `seed`, with x and
 * the case's gamma and beta as inputs: the output against the float64 reference; where `grads`, the
 * gradients [dx, dgamma?, dbeta?] against the float64 backward reference (dx in training mode is a
 * difference of O(1) terms: judged against the gradient's scale) and against finite differences.
 */
async function check(
  c: Case,
  seed: number,
  o: { dy?: number; fwd?: Tol; grads?: boolean; fd?: FdTol; relu?: boolean } = {},
) {
  const { x, p, C } = data(c, seed);
  const gp = gpuParams(p);
  const inputs: { data: ArrayLike<number>; shape: number[] }[] = [{ data: x, shape: c.shape }];
  for (const v of [p.gamma, p.beta]) if (v) inputs.push({ data: v, shape: [C] });
  const params = <T>(rest: T[]) => {
    let k = 0;
    return { gamma: p.gamma ? rest[k++] : null, beta: p.beta ? rest[k++] : null };
  };
  const ref = (xx: Float64Array, ...rest: Float64Array[]) => batchNormReference(xx, c.shape, { ...p, ...params(rest) });
  const res = await checkOp({
    op: (xt, ...rest) => batchNorm(xt, { ...gp, ...params(rest), relu: o.relu }),
    inputs,
    ref: (xx, ...rest) => (o.relu ? reluRef(ref(xx, ...rest).y) : ref(xx, ...rest).y),
    fwd: o.fwd,
    backwardRef: o.grads
      ? (dy, xx, ...rest) => {
          const y = ref(xx, ...rest).y;
          const r = batchNormReference(xx, c.shape, p, o.relu ? dy.map((g, i) => (y[i] > 0 ? g : 0)) : dy);
          return [r.dx, ...(p.gamma ? [r.dgamma] : []), ...(p.beta ? [r.dbeta] : [])];
        }
      : undefined,
    bwd: [
      { atol: (want) => 2e-5 * Math.max(...Array.from(want, Math.abs)), rtol: 1e-3 },
      ...[1, 2].map(() => ({ atol: 1e-4, rtol: 1e-4 })),
    ],
    fd: o.grads ? (o.fd ?? { atol: 1e-4, rtol: 1e-3 }) : false,
    dy: o.dy,
  });
  return { ...res, gp, ref: batchNormReference(x, c.shape, p) };
}

describe('batchNorm forward', () => {
  const cases: Case[] = [
    { shape: [3, 7, 5, 6], gamma: true, beta: true, training: true },
    { shape: [2, 9, 9, 5], gamma: false, beta: true, training: true }, // InceptionV3: scale=False
    { shape: [4, 3, 3, 1], gamma: true, beta: false, training: true, eps: 1.001e-5 },
    { shape: [5, 9], gamma: true, beta: true, training: true }, // BAM channel gate, [N, C]
    { shape: [2, 33, 31, 3], gamma: true, beta: true, training: true, offset: 1000 }, // chunked; |mean| >> std
    { shape: [1, 1, 1, 7], gamma: true, beta: true, training: false },
    { shape: [3, 7, 5, 6], gamma: true, beta: true, training: false },
    { shape: [2, 4, 3, 6], gamma: true, beta: true, training: true, varianceUpdate: 'unbiased', momentum: 0.9 },
    // C a multiple of 4: the vec4 kernels.
    { shape: [3, 7, 5, 8], gamma: true, beta: true, training: true },
    { shape: [2, 33, 31, 4], gamma: false, beta: true, training: true, offset: 1000 },
    { shape: [6, 12], gamma: true, beta: false, training: true },
    { shape: [3, 5, 5, 16], gamma: true, beta: true, training: false },
  ];
  for (const c of cases) {
    it(
      `${c.training ? 'training' : 'inference'} ${c.shape.join('x')} gamma=${c.gamma} ` +
        `beta=${c.beta}${c.offset ? ` offset ${c.offset}` : ''}${c.varianceUpdate ? ` ${c.varianceUpdate}` : ''}`,
      async () => {
        // With an offset of 1000, f32 inputs carry ~6e-5 absolute error relative to std ~1: allow for it.
        const { gp, ref } = await check(c, 11, { fwd: { atol: c.offset ? 5e-4 : 1e-5, rtol: 1e-4 } });
        expectClose(await gp.movingMean.read(), ref.movingMean, { atol: 1e-5, rtol: 1e-5, what: 'movingMean' });
        expectClose(await gp.movingVar.read(), ref.movingVar, {
          atol: c.offset ? 1e-4 : 1e-6,
          rtol: 1e-5,
          what: 'movingVar',
        });
      },
    );
  }

  it('moving statistics after 2 training steps (Keras momentum 0.99, biased variance), then inference', async () => {
    const shape = [3, 5, 4, 6];
    const { x: x1, p } = data({ shape, gamma: true, beta: true, training: true }, 21);
    const x2 = randArray(numel(shape), 99, -3, 1);
    const gp = gpuParams(p);
    batchNorm(Tensor.from(Float32Array.from(x1), shape), gp).dispose();
    batchNorm(Tensor.from(Float32Array.from(x2), shape), gp).dispose();
    const r1 = batchNormReference(x1, shape, p);
    const r2 = batchNormReference(x2, shape, { ...p, movingMean: r1.movingMean, movingVar: r1.movingVar });
    const mm = await gp.movingMean.read();
    expectClose(mm, r2.movingMean, { atol: 1e-6, rtol: 1e-5, what: 'movingMean after 2 steps' });
    expectClose(await gp.movingVar.read(), r2.movingVar, { atol: 1e-6, rtol: 1e-5, what: 'movingVar after 2 steps' });
    // The update really moved the statistics (by 1 - 0.99 per step).
    expect(Math.abs(mm[0] - p.movingMean[0])).toBeGreaterThan(1e-4);
    // Inference now uses the updated moving statistics.
    const yi = batchNorm(Tensor.from(Float32Array.from(x2), shape), { ...gp, training: false });
    const ri = batchNormReference(x2, shape, {
      ...p,
      training: false,
      movingMean: r2.movingMean,
      movingVar: r2.movingVar,
    });
    expectClose(await yi.read(), ri.y, { atol: 1e-5, rtol: 1e-4, what: 'inference y' });
  });
});

describe('batchNorm backward', () => {
  const cases: Case[] = [
    { shape: [3, 7, 5, 6], gamma: true, beta: true, training: true },
    { shape: [2, 33, 31, 3], gamma: true, beta: true, training: true }, // chunked reductions
    { shape: [2, 9, 9, 5], gamma: false, beta: true, training: true },
    { shape: [6, 10], gamma: true, beta: true, training: true },
    { shape: [3, 7, 5, 6], gamma: true, beta: true, training: false },
    { shape: [2, 3, 3, 4], gamma: false, beta: false, training: false },
    // C a multiple of 4: the vec4 kernels.
    { shape: [3, 7, 5, 8], gamma: true, beta: true, training: true },
    { shape: [2, 33, 31, 4], gamma: false, beta: true, training: true },
    { shape: [6, 12], gamma: true, beta: true, training: true },
    { shape: [3, 5, 5, 16], gamma: true, beta: true, training: false },
  ];
  for (const c of cases) {
    it(`${mode(c.training)} ${c.shape.join('x')} gamma=${c.gamma} beta=${c.beta} vs reference`, () =>
      check(c, 5, { dy: 77, grads: true, fd: { count: 12, atol: 1e-4, rtol: 1e-3 } }));
  }

  for (const [training, C] of [
    [true, 3],
    [false, 3],
    [true, 4],
  ] as const) {
    it(`${mode(training)} C=${C}: gradients match finite differences of the float64 reference`, () =>
      check({ shape: [2, 3, 2, C], gamma: true, beta: true, training }, 3, { dy: 8, grads: true }));
  }

  it('no gradient needed: training forward still updates the moving statistics and records nothing', async () => {
    const shape = [2, 3, 3, 4];
    const { x, p } = data({ shape, gamma: true, beta: true, training: true }, 31);
    const gp = gpuParams(p);
    const y = noGrad(() => batchNorm(Tensor.from(Float32Array.from(x), shape, { requiresGrad: true }), gp));
    expect(y.node).toBeNull();
    expectClose(await gp.movingMean.read(), batchNormReference(x, shape, p).movingMean, {
      atol: 1e-6,
      what: 'movingMean',
    });
  });
});

describe('batchNorm with the fused ReLU (relu: true)', () => {
  for (const c of [
    { shape: [3, 7, 5, 6], gamma: true, beta: true, training: true },
    { shape: [2, 5, 3, 8], gamma: false, beta: true, training: true }, // InceptionV3's BN, vec4 lanes
    { shape: [3, 5, 5, 16], gamma: true, beta: true, training: false },
    { shape: [5, 9], gamma: true, beta: false, training: false },
  ] as Case[]) {
    // The gradient through ReLU is the batch norm's gradient of dy masked where the output is 0.
    it(
      `${c.training ? 'training' : 'inference'} ${c.shape.join('x')}: max(BN(x), 0) ` +
        `and its gradients match the float64 reference`,
      async () => {
        const { out } = await check(c, 21, {
          dy: 22,
          relu: true,
          grads: true,
          fd: { count: 24, atol: 1e-4, rtol: 1e-3 },
        });
        expect(out.some((v) => v === 0) && out.some((v) => v > 0), 'the case exercises both sides of the ReLU').toBe(
          true,
        );
      },
    );
  }
});

describe('NaN and options (issue #24)', () => {
  for (const c of [
    { shape: [2, 5, 3, 8], gamma: true, beta: true, training: true },
    { shape: [3, 2, 2, 5], gamma: true, beta: false, training: false },
  ] as Case[]) {
    it(`${mode(c.training)} with the fused ReLU keeps NaN where the unfused ops would`, async () => {
      const { x, p, C } = data(c, 41);
      x[C + 1] = NaN; // channel 1 of the second pixel
      const ref = batchNormReference(x, c.shape, p);
      const gp = gpuParams(p);
      const y = await noGrad(() => batchNorm(Tensor.from(Float32Array.from(x), c.shape), { ...gp, relu: true })).read();
      const want = ref.y.map((v) => (v < 0 ? 0 : v));
      expect(want.filter(Number.isNaN).length).toBe(c.training ? numel(c.shape) / C : 1);
      expectClose(y, want, { what: 'y' });
      expectClose(await gp.movingMean.read(), ref.movingMean, { atol: 1e-6, what: 'movingMean' });
      expectClose(await gp.movingVar.read(), ref.movingVar, { atol: 1e-5, what: 'movingVar' });
    });
  }
  it('refuses epsilon -1 or NaN and an unknown varianceUpdate, naming them', () => {
    const { x, p } = data({ shape: [2, 3, 4], gamma: false, beta: false, training: true }, 51);
    const xt = Tensor.from(Float32Array.from(x), [2, 3, 4]);
    const gp = gpuParams(p);
    expect(() => batchNorm(xt, { ...gp, epsilon: -1 })).toThrow(
      /batchNorm epsilon must be a finite number >= 0, got -1/,
    );
    expect(() => batchNorm(xt, { ...gp, epsilon: NaN })).toThrow(
      /batchNorm epsilon must be a finite number >= 0, got NaN/,
    );
    expect(() => batchNorm(xt, { ...gp, varianceUpdate: 'pytorch' as 'unbiased' })).toThrow(
      /varianceUpdate must be 'biased' or 'unbiased', got 'pytorch'/,
    );
    expect(() => batchNorm(xt, { ...gp, momentum: 1.5 })).toThrow(
      /momentum \(Keras convention\) must be a finite number in \[0, 1\], got 1.5/,
    );
  });
});
