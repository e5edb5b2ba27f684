// @adapters all
/**
 * layerNorm and groupNorm (issue #25) against the float64 reference on odd shapes, their gradients in x,
 * gamma and beta against finite differences, and the errors for bad shapes and options.
 */
import { describe, it, beforeAll, expect } from 'vitest';
import { Tensor, tidy, layerNorm, groupNorm, setVariant } from '../src/index.js';
import { normReference, normLayout, type NormLayout } from '../src/internals.js';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, numel } from './helpers.js';

beforeAll(setup);

const F = { atol: 1e-5, rtol: 1e-4 };
const G = { atol: 1e-4, rtol: 2e-3 };

/** Forward and the three gradients of a normalization against the reference, with each way of sharing out rows. */
async function check(
  name: string,
  shape: number[],
  L: NormLayout,
  op: (x: Tensor, g: Tensor, b: Tensor) => Tensor,
  eps: number,
  seed: number,
): Promise<void> {
  for (const v of ['workgroup', 'serial'] as const) {
    setVariant('norm', v);
    try {
      await checkOnce(`${name} (${v})`, shape, L, op, eps, seed);
    } finally {
      setVariant('norm', undefined);
    }
  }
}

async function checkOnce(
  name: string,
  shape: number[],
  L: NormLayout,
  op: (x: Tensor, g: Tensor, b: Tensor) => Tensor,
  eps: number,
  seed: number,
): Promise<void> {
  const n = numel(shape);
  // An offset and a scale, so that the mean and variance matter.
  const x = randArray(n, seed, -1, 3);
  const gamma = randArray(L.channels, seed + 1, 0.5, 1.5);
  const beta = randArray(L.channels, seed + 2);
  const w = randArray(n, seed + 3);
  const { out, grads } = await gpuGrads(
    op,
    [
      { data: x, shape },
      { data: gamma, shape: [L.channels] },
      { data: beta, shape: [L.channels] },
    ],
    w,
  );
  expectClose(out, normReference(x, L, gamma, beta, eps), { what: `${name} forward`, ...F });
  const f = (xx: ArrayLike<number>, gg: ArrayLike<number>, bb: ArrayLike<number>) =>
    weightedSum(normReference(xx, L, gg, bb, eps), w);
  const cases: [Float64Array, (v: Float64Array) => number][] = [
    [x, (v) => f(v, gamma, beta)],
    [gamma, (v) => f(x, v, beta)],
    [beta, (v) => f(x, gamma, v)],
  ];
  for (const [k, [v, fn]] of cases.entries()) {
    const [idx, fd] = finiteDiff(fn, v, { eps: 1e-4, count: 24, seed: k + 1 });
    expectClose(
      idx.map((i) => grads[k][i]),
      fd,
      { what: `${name} gradient ${['x', 'gamma', 'beta'][k]}`, ...G },
    );
  }
}

describe('layerNorm', () => {
  it('over the last axis, and over the last two (PyTorch normalized_shape), odd shapes', async () => {
    await check('layer [5, 7]', [5, 7], normLayout([5, 7], 'layer', -1), (x, g, b) => layerNorm(x, g, b), 1e-5, 1);
    const s = [3, 5, 6];
    await check(
      'layer [3, 5, 6] axis 1',
      s,
      normLayout(s, 'layer', 1),
      (x, g, b) => layerNorm(x, g, b, { axis: 1 }),
      1e-5,
      2,
    );
    // Many rows (the default on CPU adapters: an invocation per row).
    await check(
      'layer [130, 5]',
      [130, 5],
      normLayout([130, 5], 'layer', -1),
      (x, g, b) => layerNorm(x, g, b),
      1e-5,
      4,
    );
    // Long rows (more than the workgroup) and Keras's epsilon.
    const long = [2, 301];
    await check(
      'layer [2, 301]',
      long,
      normLayout(long, 'layer', -1),
      (x, g, b) => layerNorm(x, g, b, { epsilon: 1e-3 }),
      1e-3,
      3,
    );
  });

  it('without gamma and beta, or with only one of them; rows are normalized', async () => {
    const x = randArray(3 * 9, 5, -2, 4);
    const L = normLayout([3, 9], 'layer', -1);
    const t = Tensor.from(x, [3, 9]);
    const y = await layerNorm(t, null, null).read();
    expectClose(y, normReference(x, L, null, null), F);
    for (let r = 0; r < 3; r++) {
      const row = y.slice(r * 9, r * 9 + 9);
      expect(Math.abs(row.reduce((s: number, v: number) => s + v, 0) / 9)).toBeLessThan(1e-5);
    }
    const gamma = randArray(9, 6);
    const yg = await layerNorm(t, Tensor.from(gamma, [9]), null).read();
    expectClose(yg, normReference(x, L, gamma, null), F);
    const { grads } = await gpuGrads((xx) => layerNorm(xx, null, null), [{ data: x, shape: [3, 9] }], x);
    const [idx, fd] = finiteDiff((v) => weightedSum(normReference(v, L, null, null), x), x, { eps: 1e-4 });
    expectClose(
      idx.map((i) => grads[0][i]),
      fd,
      G,
    );
  });
});

describe('groupNorm (channels last)', () => {
  it('NHWC with groups 1, 3 and C (instance norm), odd shapes', async () => {
    const s = [2, 3, 5, 6];
    for (const [i, groups] of [1, 3, 6].entries()) {
      await check(
        `group ${groups}`,
        s,
        normLayout(s, 'group', groups),
        (x, g, b) => groupNorm(x, groups, g, b),
        1e-5,
        10 + i,
      );
    }
    // 128 rows of 2 x 2 x 2 values.
    const many = [4, 2, 2, 64];
    await check(
      'group [4, 2, 2, 64] / 32',
      many,
      normLayout(many, 'group', 32),
      (x, g, b) => groupNorm(x, 32, g, b),
      1e-5,
      21,
    );
    // [N, L, C] sequences, Keras's epsilon.
    const q = [3, 7, 4];
    await check(
      'group [3, 7, 4]',
      q,
      normLayout(q, 'group', 2),
      (x, g, b) => groupNorm(x, 2, g, b, { epsilon: 1e-3 }),
      1e-3,
      20,
    );
  });

  it('equals layerNorm over [H, W, C] when groups = 1 and gamma is per channel', async () => {
    const x = randArray(2 * 4 * 3 * 5, 30);
    const t = Tensor.from(x, [2, 4, 3, 5]);
    const a = await groupNorm(t, 1, null, null).read();
    const b = await layerNorm(t, null, null, { axis: 1 }).read();
    expectClose(a, b, F);
  });
});

describe('errors', () => {
  it('refuse bad shapes and options', () => {
    tidy(() => {
      const x = Tensor.zeros([2, 3, 6]);
      expect(() => groupNorm(x, 4, null, null)).toThrow(/groupNorm groups must divide the 6 channels/);
      expect(() => groupNorm(x, 0, null, null)).toThrow(/groupNorm groups must be an integer >= 1/);
      expect(() => groupNorm(Tensor.zeros([6]), 2, null, null)).toThrow(/rank >= 2/);
      expect(() => groupNorm(x, 2, Tensor.zeros([3]), null)).toThrow(/groupNorm gamma has shape \[3\], expected \[6\]/);
      expect(() => layerNorm(x, Tensor.zeros([5]), null)).toThrow(/layerNorm gamma has shape \[5\], expected \[6\]/);
      expect(() => layerNorm(x, null, Tensor.zeros([5]), { axis: 1 })).toThrow(
        /layerNorm beta has shape \[5\], expected \[18\]/,
      );
      expect(() => layerNorm(x, null, null, { axis: 3 })).toThrow(/layerNorm option axis/);
      expect(() => layerNorm(x, null, null, { epsilon: -1 })).toThrow(/layerNorm option epsilon must be/);
    });
  });
});
