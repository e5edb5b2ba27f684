/**
 * Fused kernels: the GEMM epilogue (per-channel affine map and ReLU in the store) behind convolutions
 * and matmuls, the inference batch norm's affine table, and Sequential's peephole fusion, each against
 * a float64 reference or the same layers run one by one (whole models: test/models.test.ts compares
 * fused inference with the graph-mode forward).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor, noGrad, tidy, runtime } from '../src/index.js';
import { conv2dFused, conv2dReference, type Conv2dOptions } from '../src/kernels/conv2d.js';
import { matmulFused, matmulReference } from '../src/kernels/matmul.js';
import { batchNormAffineTable } from '../src/kernels/batchnorm.js';
import { Sequential, Conv2d, BatchNorm2d, ReLU, MaxPool2d, buildScope } from '../src/layers/index.js';
import { backward } from '../src/autograd.js';
import { setup, randArray, expectClose, numel } from './helpers.js';

beforeAll(setup);

const t = (data: ArrayLike<number>, shape: number[], requiresGrad = false) => Tensor.from(Float32Array.from(data), shape, { requiresGrad });

/** Float64: y * scale[c] + shift[c] (c the last axis), then ReLU when asked. */
function affineRef(y: ArrayLike<number>, scale: ArrayLike<number>, shift: ArrayLike<number>, relu: boolean): Float64Array {
  const C = scale.length;
  return Float64Array.from(y, (v, i) => {
    const a = v * scale[i % C] + shift[i % C];
    return relu ? Math.max(a, 0) : a;
  });
}

describe('batchNormAffineTable', () => {
  for (const [gamma, beta, bias] of [[true, true, true], [false, true, false], [true, false, false]] as const) {
    it(`gamma=${gamma} beta=${beta} bias=${bias}: scale = gamma / sqrt(var + eps), shift = beta + (bias - mean) * scale`, async () => {
      const C = 7;
      const [g, b, m, v, cb] = [randArray(C, 1, 0.5, 1.5), randArray(C, 2), randArray(C, 3), randArray(C, 4, 0.2, 2), randArray(C, 5)];
      const eps = 1.001e-5;
      const table = batchNormAffineTable({ gamma: gamma ? t(g, [C]) : null, beta: beta ? t(b, [C]) : null, movingMean: t(m, [C]), movingVar: t(v, [C]), epsilon: eps }, bias ? t(cb, [C]) : null);
      expect(table.shape).toEqual([2, C]);
      const scale = Float64Array.from(v, (vi, c) => (gamma ? g[c] : 1) / Math.sqrt(vi + eps));
      const shift = Float64Array.from(m, (mi, c) => (beta ? b[c] : 0) + ((bias ? cb[c] : 0) - mi) * scale[c]);
      expectClose(await table.read(), [...scale, ...shift], { what: 'table' });
    });
  }
});

describe('GEMM epilogue: conv2dFused and matmulFused against float64 references', () => {
  const cases: { x: number[]; w: number[]; opts: Conv2dOptions; relu: boolean }[] = [
    { x: [2, 9, 7, 5], w: [3, 3, 5, 7], opts: { padding: 'same' }, relu: true }, // odd sizes, scalar lanes
    { x: [1, 11, 10, 8], w: [3, 3, 8, 12], opts: { padding: 'valid', stride: 2 }, relu: false },
    { x: [2, 8, 9, 4], w: [1, 7, 4, 9], opts: { padding: 'same' }, relu: true }, // asymmetric
    { x: [2, 9, 9, 4], w: [3, 3, 4, 4], opts: { padding: 'same', dilation: 2 }, relu: true },
    { x: [3, 5, 7, 6], w: [1, 1, 6, 10], opts: {}, relu: true }, // 1x1: the matmul path
    { x: [2, 6, 5, 16], w: [1, 1, 16, 20], opts: {}, relu: false },
  ];
  for (const c of cases) {
    it(`conv ${c.x.join('x')} * ${c.w.join('x')} ${JSON.stringify(c.opts)} relu=${c.relu}`, async () => {
      const Cout = c.w[3];
      const [x, w, scale, shift] = [randArray(numel(c.x), 11), randArray(numel(c.w), 12), randArray(Cout, 13, 0.5, 2), randArray(Cout, 14)];
      const y = noGrad(() => conv2dFused(t(x, c.x), t(w, c.w), { table: t([...scale, ...shift], [2, Cout]), relu: c.relu }, c.opts));
      const ref = conv2dReference(x, c.x, w, c.w, null, c.opts);
      expect(y.shape).toEqual(ref.shape);
      const want = affineRef(ref.out, scale, shift, c.relu);
      expectClose(await y.read(), want, { atol: 1e-4, what: 'y' });
      if (c.relu) expect(want.some((v) => v === 0) && want.some((v) => v > 0)).toBe(true);
    });
  }

  for (const splits of [1, 3]) {
    it(`matmul 37x23 @ 23x13, ${splits} k-split(s): the epilogue also follows split-k sums`, async () => {
      const [M, K, N] = [37, 23, 13];
      const [a, b, scale, shift] = [randArray(M * K, 21), randArray(K * N, 22), randArray(N, 23, 0.5, 2), randArray(N, 24)];
      const y = noGrad(() => matmulFused(t(a, [M, K]), t(b, [K, N]), { table: t([...scale, ...shift], [2, N]), relu: true }, { splits }));
      expectClose(await y.read(), affineRef(matmulReference(a, [M, K], b, [K, N]), scale, shift, true), { atol: 1e-4, what: 'C' });
    });
  }

  it('refuses what it cannot do: gradients, grouped convolutions, a wrong table', () => {
    const x = t(randArray(2 * 5 * 5 * 4, 1), [2, 5, 5, 4], true);
    const w = t(randArray(3 * 3 * 4 * 8, 2), [3, 3, 4, 8]);
    const table = t(randArray(16, 3), [2, 8]);
    expect(() => conv2dFused(x, w, { table, relu: true })).toThrow(/records no gradients.*noGrad/);
    expect(() => noGrad(() => conv2dFused(x, t(randArray(3 * 3 * 2 * 8, 2), [3, 3, 2, 8]), { table, relu: true }, { groups: 2 }))).toThrow(/groups = 1/);
    expect(() => noGrad(() => conv2dFused(x, w, { table: t(randArray(14, 3), [2, 7]), relu: true }))).toThrow(/\[2, 8\].*\[2, 7\]/);
  });
});

describe('Sequential fusion', () => {
  /** conv -> BN -> ReLU (bias, odd channels), BN -> ReLU, conv -> BN (no ReLU), a pool, 1x1 conv -> BN -> ReLU. */
  function net(seed: number): Sequential {
    const bn = (c: number, scale = true) => new BatchNorm2d({ channels: c, scale, epsilon: 1e-3 });
    return buildScope({ seed }, () => new Sequential([
      new Conv2d({ inChannels: 3, filters: 5, kernelSize: 3, padding: 'same', useBias: true }),
      bn(5),
      new ReLU(),
      bn(5, false),
      new ReLU(),
      new Conv2d({ inChannels: 5, filters: 8, kernelSize: [1, 3], padding: 'same', useBias: false }),
      bn(8),
      new MaxPool2d({ poolSize: 3, strides: 2 }),
      new Conv2d({ inChannels: 8, filters: 12, kernelSize: 1, useBias: false }),
      bn(12, false),
      new ReLU(),
    ]));
  }
  /** Give every batch norm non-trivial moving statistics and affine weights (as after training). */
  async function randomiseStats(m: Sequential): Promise<void> {
    let s = 100;
    for (const l of m.layers) {
      if (!(l instanceof BatchNorm2d)) continue;
      const C = l.channels;
      runtime().upload(l.movingMean.storage, Float32Array.from(randArray(C, s++, -0.5, 0.5)));
      runtime().upload(l.movingVar.storage, Float32Array.from(randArray(C, s++, 0.3, 2)));
      if (l.gamma) runtime().upload(l.gamma.storage, Float32Array.from(randArray(C, s++, 0.5, 1.5)));
      if (l.beta) runtime().upload(l.beta.storage, Float32Array.from(randArray(C, s++, -0.5, 0.5)));
    }
  }
  const oneByOne = (m: Sequential, x: Tensor): Tensor => tidy(() => m.layers.reduce((y, l) => l.forward(y), x));

  it('inference (noGrad) gives what the layers give one by one, with fewer dispatches', async () => {
    const m = net(3);
    await randomiseStats(m);
    m.eval();
    const x = t(randArray(2 * 9 * 11 * 3, 5, -2, 2), [2, 9, 11, 3]);
    const rt = runtime();
    const d0 = rt.dispatches;
    const fused = noGrad(() => tidy(() => m.forward(x)));
    const fusedDispatches = rt.dispatches - d0;
    const d1 = rt.dispatches;
    const plain = noGrad(() => oneByOne(m, x));
    const plainDispatches = rt.dispatches - d1;
    expectClose(await fused.read(), await plain.read(), { atol: 1e-5, what: 'fused vs one by one' });
    expect(fusedDispatches).toBeLessThan(plainDispatches);
    for (const y of [fused, plain, x]) y.dispose();
    m.dispose();
  });

  it('training mode (batch statistics, autograd): BN -> ReLU fused, same output and gradients', async () => {
    const m = net(7);
    m.train(true);
    const xs = randArray(2 * 9 * 11 * 3, 6, -2, 2);
    const gradsOf = async (run: (x: Tensor) => Tensor) => {
      const x = t(xs, [2, 9, 11, 3], true);
      const y = tidy(() => run(x));
      const w = t(randArray(y.size, 9), [...y.shape]);
      backward(y, w);
      const out = { y: await y.read(), dx: await x.grad!.read(), dk: await m.parameters()[0].grad!.read() };
      for (const p of [...m.parameters(), x]) {
        p.grad?.dispose();
        p.grad = null;
      }
      for (const v of [y, w, x]) v.dispose();
      return out;
    };
    const fused = await gradsOf((x) => m.forward(x));
    const plain = await gradsOf((x) => m.layers.reduce((y, l) => l.forward(y), x));
    expectClose(fused.y, plain.y, { atol: 1e-5, what: 'y' });
    expectClose(fused.dx, plain.dx, { atol: 1e-4, rtol: 1e-3, what: 'dx' });
    expectClose(fused.dk, plain.dk, { atol: 1e-4, rtol: 1e-3, what: 'd kernel' });
    m.dispose();
  });
});
