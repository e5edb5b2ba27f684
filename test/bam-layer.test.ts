// @adapters all
/**
 * BAM (src/layers/bam.ts): parameter counts against the formula of the official layout, and the
 * forward pass and parameter gradients against a float64 composition of the kernels' CPU references.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { setup, randArray, expectClose, relL2, finiteDiff, weightedSum } from './helpers.js';
import { Tensor, tidy, backward, noGrad } from '../src/index.js';
import { BAM, type StateDict } from '../src/layers/index.js';
import { conv2dReference } from '../src/kernels/conv2d.js';
import { batchNormReference } from '../src/kernels/batchnorm.js';
import { globalAvgPool2dReference } from '../src/kernels/pool.js';
import { bamCombineReference } from '../src/kernels/bam.js';
import { matmulReference } from '../src/internals.js';

/** Trainable parameters of one BAM in the official layout (NOTES.md formula). */
function bamFormula(C: number, r = 16): number {
  const Cr = Math.floor(C / r);
  return 2 * C * Cr + Cr + C + 2 * Cr + C * Cr + Cr + 2 * Cr + 2 * (9 * Cr * Cr + Cr + 2 * Cr) + Cr + 1;
}

type Opts = {
  combine: 'sum' | 'product';
  finalBN: boolean;
  training: boolean;
  numDilated: number;
  dilation: number;
  eps: number;
};

/** Float64 BAM forward from a state dict (values as float64), composed of the kernel references. */
function bamReference(
  name: string,
  sd: Record<string, Float64Array>,
  x: Float64Array,
  shape: number[],
  o: Opts,
): Float64Array {
  const [N, H, W, C] = shape;
  const k = (s: string) => sd[`${name}/${s}`];
  const bn = (v: ArrayLike<number>, vshape: number[], layer: string) =>
    batchNormReference(v, vshape, {
      gamma: k(`${layer}.gamma`),
      beta: k(`${layer}.beta`),
      movingMean: k(`${layer}.moving_mean`),
      movingVar: k(`${layer}.moving_variance`),
      training: o.training,
      epsilon: o.eps,
    }).y;
  const relu = (v: Float64Array) => v.map((a) => Math.max(a, 0));
  const dense = (v: Float64Array, rows: number, layer: string) => {
    const kern = k(`${layer}.kernel`);
    const b = k(`${layer}.bias`);
    const inF = v.length / rows;
    const out = matmulReference(v, [rows, inF], kern, [inF, b.length]);
    return out.map((a, i) => a + b[i % b.length]);
  };
  const Cr = sd[`${name}/gate_c_fc_0.bias`].length;
  // Channel gate.
  let c = globalAvgPool2dReference(x, shape);
  c = dense(c, N, 'gate_c_fc_0');
  c = relu(bn(c, [N, Cr], 'gate_c_bn_1'));
  c = dense(c, N, 'gate_c_fc_final');
  if (o.finalBN) c = bn(c, [N, C], 'gate_c_bn_final');
  // Spatial gate.
  const conv = (v: ArrayLike<number>, vshape: number[], layer: string, cout: number, ks: number, d: number) => {
    const r = conv2dReference(v, vshape, k(`${layer}.kernel`), [ks, ks, vshape[3], cout], k(`${layer}.bias`), {
      dilation: d,
      padding: [d * (ks > 1 ? 1 : 0), d * (ks > 1 ? 1 : 0), d * (ks > 1 ? 1 : 0), d * (ks > 1 ? 1 : 0)],
    });
    return r.out;
  };
  let s = conv(x, shape, 'gate_s_conv_reduce0', Cr, 1, 1);
  s = relu(bn(s, [N, H, W, Cr], 'gate_s_bn_reduce0'));
  for (let i = 0; i < o.numDilated; i++) {
    s = conv(s, [N, H, W, Cr], `gate_s_conv_di_${i}`, Cr, 3, o.dilation);
    s = relu(bn(s, [N, H, W, Cr], `gate_s_bn_di_${i}`));
  }
  s = conv(s, [N, H, W, Cr], 'gate_s_conv_final', 1, 1, 1);
  if (o.finalBN) s = bn(s, [N, H, W, 1], 'gate_s_bn_final');
  return bamCombineReference(x, shape, c, s, o.combine).y;
}

/** Random values for every weight and buffer (variances positive), written into the module. */
function randomize(m: BAM, seed: number): Record<string, Float64Array> {
  const sd: StateDict = {};
  const out: Record<string, Float64Array> = {};
  let i = 0;
  for (const [key, t] of [...m.namedParameters(), ...m.namedBuffers()]) {
    const isVar = key.endsWith('moving_variance');
    const isGamma = key.endsWith('.gamma');
    const v = randArray(t.size, seed + i++, isVar ? 0.5 : isGamma ? 0.5 : -0.6, isVar ? 1.5 : isGamma ? 1.5 : 0.6);
    sd[key] = { shape: [...t.shape], data: Float32Array.from(v) };
    out[key] = v;
  }
  m.loadStateDict(sd);
  return out;
}

describe('BAM', () => {
  beforeAll(setup);

  it('has the official layout parameter counts (17,361 / 68,513 / 272,193 at C = 256 / 512 / 1024)', () => {
    for (const [C, want] of [
      [256, 17_361],
      [512, 68_513],
      [1024, 272_193],
    ]) {
      const m = new BAM({ channels: C, combine: 'product' });
      const n = m.countParams();
      expect(n.trainable).toBe(want);
      expect(bamFormula(C)).toBe(want);
      expect(n.nonTrainable).toBe(8 * (C / 16)); // moving mean and variance of four BNs of C/16 channels
      m.dispose();
    }
    // The paper's final BNs add a BN over C (channel gate) and over 1 channel (spatial gate).
    const p = new BAM({ channels: 256, finalBN: true });
    expect(p.countParams()).toEqual({
      trainable: 17_361 + 2 * 256 + 2,
      nonTrainable: 128 + 2 * 256 + 2,
      total: 17_361 + 128 + 4 * 256 + 4,
    });
    expect(p.namedParameters().map(([k]) => k)).toContain(`${p.name}/gate_s_bn_final.gamma`);
    p.dispose();
    // numDilated and reduction change the layout.
    const q = new BAM({ channels: 64, reduction: 8, numDilated: 3 });
    const Cr = 8;
    expect(q.countParams().trainable).toBe(
      2 * 64 * Cr + Cr + 64 + 2 * Cr + 64 * Cr + Cr + 2 * Cr + 3 * (9 * Cr * Cr + Cr + 2 * Cr) + Cr + 1,
    );
    q.dispose();
  });

  for (const combine of ['sum', 'product'] as const)
    for (const finalBN of [false, true])
      for (const training of [false, true])
        it(
          `forward matches the float64 reference (${combine}, finalBN ${finalBN}, ` +
            `${training ? 'training' : 'inference'})`,
          async () => {
            const shape = [2, 5, 7, 24];
            const m = new BAM({ name: 'bamt', channels: 24, reduction: 8, combine, finalBN, dilation: 2 });
            m.train(training);
            const sd = randomize(m, 100);
            const xv = randArray(
              shape.reduce((p, d) => p * d),
              7,
              -2,
              2,
            );
            const x = Tensor.from(Float32Array.from(xv), shape);
            const y = noGrad(() => m.forward(x));
            const want = bamReference('bamt', sd, xv, shape, {
              combine,
              finalBN,
              training,
              numDilated: 2,
              dilation: 2,
              eps: 1e-3,
            });
            expectClose(await y.read(), want, { atol: 1e-4, rtol: 1e-3, what: 'BAM output' });
            x.dispose();
            y.dispose();
            m.dispose();
          },
        );

  it('parameter gradients match finite differences of the float64 reference (training mode)', async () => {
    const shape = [2, 4, 5, 16];
    const m = new BAM({ name: 'bamg', channels: 16, reduction: 4, combine: 'product', dilation: 1 });
    const sd = randomize(m, 300);
    const xv = randArray(
      shape.reduce((p, d) => p * d),
      9,
      -2,
      2,
    );
    const wts = randArray(xv.length, 11);
    const x = Tensor.from(Float32Array.from(xv), shape);
    const w = Tensor.from(Float32Array.from(wts), shape);
    const opts: Opts = { combine: 'product', finalBN: false, training: true, numDilated: 2, dilation: 1, eps: 1e-3 };
    tidy(() => backward(m.forward(x), w));
    for (const [key, t] of m.namedParameters()) {
      const g = await t.grad!.read();
      const f = (v: Float64Array) => weightedSum(bamReference('bamg', { ...sd, [key]: v }, xv, shape, opts), wts);
      const [idx, fd] = finiteDiff(f, sd[key], { eps: 1e-5, count: 6, seed: key.length });
      const got = idx.map((i) => g[i]);
      // Biases before a training-mode BN have zero gradient (BN removes the mean): compare absolutely there.
      const scale = Math.max(...fd.map(Math.abs));
      if (scale < 1e-6) expectClose(got, fd, { atol: 1e-4, rtol: 0, what: `${key} gradient (zero)` });
      else expect(relL2(got, fd), `${key} gradient`).toBeLessThan(2e-3);
    }
    x.dispose();
    w.dispose();
    m.dispose();
  });

  it('rejects inputs with the wrong channel count', () => {
    const m = new BAM({ name: 'bamc', channels: 32 });
    const x = Tensor.zeros([1, 4, 4, 16]);
    expect(() => m.forward(x)).toThrow(/bamc expects NHWC with 32 channels, got \[1, 4, 4, 16\]/);
    x.dispose();
    m.dispose();
  });
});
