/**
 * The GEMM epilogue as a run-time choice (src/kernels/gemm.ts: the uniform epiMode selects none, the
 * affine map alone, or the map then relu, sigmoid or swish, in one pipeline): each activation through
 * the fused op (src/kernels/fused.ts) on every path that stores C (the implicit-GEMM convolution, a 1x1
 * convolution as a matmul, the split-k sum, the GPU's workgroup-memory core)
 * against float64 references; the pipelines that plain and fused launches, and a small model's training
 * step and inference pass, share (counted with the runtime's compile stats); the plan's activation rule.
 */
import { describe, it, expect, beforeAll, onTestFinished } from 'vitest';
import {
  Tensor,
  noGrad,
  tidy,
  runtime,
  setVariant,
  shutdown,
  backward,
  conv2d,
  GEMM_VARIANTS,
  type GemmVariant,
} from '../src/index.js';
import { conv2dReference, type Conv2dOptions } from '../src/kernels/conv2d.js';
import { fused, type AffineMap } from '../src/kernels/fused.js';
import type { EpilogueActivation } from '../src/kernels/gemm.js';
import {
  Sequential,
  Conv2d,
  BatchNorm2d,
  ReLU,
  Sigmoid,
  GlobalAvgPool2d,
  Dense,
  buildScope,
  compilePlan,
} from '../src/layers/index.js';
import { setup, randArray, expectClose, numel } from './helpers.js';

beforeAll(setup);

const t = (data: ArrayLike<number>, shape: number[], requiresGrad = false) =>
  Tensor.from(Float32Array.from(data), shape, { requiresGrad });

// Float64 activations, written here from their definitions (not the library's references).
const logistic = (y: number): number => 1 / (1 + Math.exp(-y));
const ACTIVATIONS: Record<EpilogueActivation, (y: number) => number> = {
  linear: (y) => y,
  relu: (y) => Math.max(y, 0),
  sigmoid: logistic,
  swish: (y) => y * logistic(y), // SiLU: x * sigmoid(x)
};

/** Float64: act(y * scale[c] + shift[c]), c the last axis. */
const epilogueRef = (
  y: ArrayLike<number>,
  scale: ArrayLike<number>,
  shift: ArrayLike<number>,
  act: EpilogueActivation,
): Float64Array =>
  Float64Array.from(y, (v, i) => ACTIVATIONS[act](v * scale[i % scale.length] + shift[i % scale.length]));

/** Labels of the GEMM engine's pipelines: `<op label>:<core variant>` (src/kernels/gemm.ts). */
const isGemm = (label: string): boolean => GEMM_VARIANTS.some((v) => label.endsWith(`:${v}`));

describe('one GEMM pipeline with and without the epilogue (counted with the compile stats)', () => {
  it('a plain convolution, then fused ones with each activation, into a slice too: no new pipeline', async () => {
    // A fresh runtime: no pipeline that an earlier test compiled.
    shutdown();
    await setup();
    const rt = runtime();
    const [xs, ws] = [
      [2, 7, 6, 8],
      [3, 3, 8, 12],
    ];
    const [x, w] = [t(randArray(numel(xs), 1), xs), t(randArray(numel(ws), 2), ws)];
    const plain = noGrad(() => conv2d(x, w, null, { padding: 'same' }));
    await plain.read();
    const before = await rt.compileStats();
    const table = t(randArray(24, 3), [2, 12]);
    for (const activation of ['linear', 'relu', 'sigmoid', 'swish'] as const) {
      const y = noGrad(() => fused(x, w, { padding: 'same', epilogue: { table, activation } }));
      await y.read();
    }
    const wide = Tensor.zeros([2, 7, 6, 20]);
    noGrad(() => fused(x, w, { padding: 'same', epilogue: { table, relu: true }, into: { tensor: wide, offset: 5 } }));
    await wide.read();
    const after = await rt.compileStats();
    expect(after.byLabel.filter((l) => isGemm(l.label))).toEqual(before.byLabel.filter((l) => isGemm(l.label)));
    expect(after.pipelines).toBe(before.pipelines);
  });

  it(
    "a small model's training step and its fused inference pass (conv -> BN -> ReLU / Sigmoid, a dense head) " +
      'share their GEMM pipelines, and the fused pass gives the unfused one',
    async () => {
      shutdown();
      await setup();
      const rt = runtime();
      const bn = (c: number) => new BatchNorm2d({ channels: c, epsilon: 1e-3 });
      const m = buildScope(
        { seed: 7 },
        () =>
          new Sequential([
            new Conv2d({ inChannels: 4, filters: 8, kernelSize: 3, padding: 'same', useBias: false }),
            bn(8),
            new ReLU(),
            new Conv2d({ inChannels: 8, filters: 8, kernelSize: 3, strides: 2, useBias: false }),
            bn(8),
            new Sigmoid({ name: 'gate' }),
            new GlobalAvgPool2d(),
            new Dense({ inFeatures: 8, units: 3 }),
          ]),
      );
      const x = t(randArray(2 * 9 * 11 * 4, 11, -2, 2), [2, 9, 11, 4]);
      m.train();
      const loss = tidy(() => {
        const y = m.forward(x);
        backward(y, t(randArray(6, 12), [2, 3]));
        return y;
      });
      await loss.read();
      const trained = await rt.compileStats();
      const gemms = (s: typeof trained) => s.byLabel.filter((l) => isGemm(l.label)).map((l) => [l.label, l.pipelines]);
      expect(gemms(trained).length).toBeGreaterThan(0);

      m.eval(); // moving statistics now: the batch norms fold into the convolutions' epilogues
      const plan = compilePlan(m, x.shape);
      expect(plan.counts()['conv-bn-relu']).toBe(2);
      expect(plan.describe()).toMatch(/\nconv-bn-relu +\S+ > \S+ > \S+\nconv-bn-relu +\S+ > \S+ > gate\n/);
      const y = plan.run(x);
      const inferred = await rt.compileStats();
      expect(gemms(inferred)).toEqual(gemms(trained));
      const unfused = compilePlan(m, x.shape, { fuse: false });
      const z = unfused.run(x);
      expectClose(await y.read(), await z.read(), { atol: 1e-5, what: 'fused vs unfused plan' });
      for (const v of [x, y, z, loss]) v.dispose();
      for (const p of [plan, unfused]) p.dispose();
      m.dispose();
    },
  );
});

describe('GEMM epilogue activations: the fused op against float64 references', () => {
  // Each path that stores C: the cores' row map, the split-k pass.
  const paths: {
    name: string;
    x: number[];
    w: number[];
    opts: Conv2dOptions;
    splits?: number;
    gemm?: GemmVariant;
  }[] = [
    { name: '3x3 conv, odd sizes (implicit GEMM)', x: [2, 9, 7, 5], w: [3, 3, 5, 7], opts: { padding: 'same' } },
    { name: '1x1 conv (a matmul)', x: [3, 5, 7, 8], w: [1, 1, 8, 12], opts: {} },
    { name: '1x1 conv, 3 k-splits (the split-k pass)', x: [1, 4, 5, 64], w: [1, 1, 64, 7], opts: {}, splits: 3 },
    {
      name: '3x3 stride-2 conv, workgroup-memory core (the GPU default)',
      x: [2, 11, 10, 4],
      w: [3, 3, 4, 9],
      opts: { stride: 2 },
      gemm: 'shared',
    },
  ];
  const acts: EpilogueActivation[] = ['linear', 'relu', 'sigmoid', 'swish'];
  for (const p of paths)
    for (const act of acts) {
      it(`${p.name}: ${act}`, async () => {
        if (p.gemm) {
          setVariant('gemm', p.gemm);
          onTestFinished(() => setVariant('gemm', undefined));
        }
        const Cout = p.w[3];
        const [x, w, scale, shift] = [
          randArray(numel(p.x), 21, -2, 2),
          randArray(numel(p.w), 22),
          randArray(Cout, 23, 0.5, 2),
          randArray(Cout, 24, -1, 1),
        ];
        // Saturated columns: e^-y overflows to infinity at y = -100 (sigmoid 0, swish -0, not NaN).
        [shift[0], shift[1]] = [-100, 100];
        const epilogue: AffineMap = { table: t([...scale, ...shift], [2, Cout]), activation: act };
        const y = noGrad(() => fused(t(x, p.x), t(w, p.w), { ...p.opts, epilogue, splits: p.splits }));
        const ref = conv2dReference(x, p.x, w, p.w, null, p.opts);
        expect(y.shape).toEqual(ref.shape);
        const want = epilogueRef(ref.out, scale, shift, act);
        expectClose(await y.read(), want, { atol: 1e-4, what: `y (${act})` });
        if (act === 'relu') expect(want.some((v) => v === 0) && want.some((v) => v > 0)).toBe(true);
        if (act === 'sigmoid' || act === 'swish') expect(want.some((v) => Math.abs(v) > 0.05)).toBe(true);
      });
    }

  it("refuses an activation it does not have, relu: true with another one, and a prologue's non-ReLU", () => {
    const x = t(randArray(2 * 5 * 5 * 4, 1), [2, 5, 5, 4]);
    const w = t(randArray(3 * 3 * 4 * 8, 2), [3, 3, 4, 8]);
    const table = t(randArray(16, 3), [2, 8]);
    expect(() => noGrad(() => fused(x, w, { epilogue: { table, activation: 'tanh' as EpilogueActivation } }))).toThrow(
      /fused option epilogue.activation must be 'linear' or 'relu' or 'sigmoid' or 'swish', got 'tanh'/,
    );
    expect(() => noGrad(() => fused(x, w, { epilogue: { table, relu: true, activation: 'swish' } }))).toThrow(
      /relu: true or activation 'swish', not both/,
    );
    expect(() =>
      noGrad(() =>
        fused(x, t(randArray(4 * 8, 4), [1, 1, 4, 8]), {
          prologue: { table: t(randArray(8, 5), [2, 4]), activation: 'swish' },
        }),
      ),
    ).toThrow(/fused option prologue.activation must be 'relu' or 'linear', got 'swish'/);
  });
});
