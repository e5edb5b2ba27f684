/**
 * EfficientNetB1 and EfficientNetV2B2 (src/models/efficientnet.ts) and the layers they add: depthwise
 * convolution, squeeze-and-excitation, stochastic depth (Dropout with a noise shape), Rescaling,
 * Normalization, the residual add. Layers against float64 references and finite differences; models:
 * exact Keras counts, names, paddings, drop rates, BAM positions; small configurations that train.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, numel, overfitLosses } from './helpers.js';
import {
  Tensor,
  tidy,
  noGrad,
  DepthwiseConv2d,
  SqueezeExcite,
  Dropout,
  Rescaling,
  Normalization,
  Residual,
  Sequential,
  Swish,
  Conv2d,
  ZeroPad2d,
  efficientNetB1,
  efficientNetV2B2,
  buildModel,
  summaryRows,
  type Module,
  type Model,
} from '../src/index.js';
import { gradCam } from '../src/train/steps.js';
import { modelFromOptions } from '../src/train/trainer.js';
import { conv2dReference, conv2dReferenceGrads, dropoutMaskReference } from '../src/internals.js';

beforeAll(setup);

/** Upload values into a layer's weight (tests set weights directly). */
function setWeight(m: Module, key: string, data: ArrayLike<number>): void {
  const t = m.namedParameters().find(([k]) => k === key)?.[1] ?? m.namedBuffers().find(([k]) => k === key)?.[1];
  if (!t) throw new Error(`no weight ${key}`);
  m.loadStateDict({ [key]: { shape: [...t.shape], data: Float32Array.from(data) } }, { strict: false });
}
const sig = (v: number) => 1 / (1 + Math.exp(-v));
const swishRef = (v: number) => v * sig(v);

describe('DepthwiseConv2d (Keras DepthwiseConv2D) vs the float64 grouped-convolution reference', () => {
  const cases = [
    { k: 3, s: 1, pad: 'same', shape: [2, 7, 6, 5], m: 1 },
    { k: 5, s: 1, pad: 'same', shape: [1, 9, 8, 3], m: 2 },
    { k: 3, s: 2, pad: 'same', shape: [2, 8, 7, 6], m: 1 },
    { k: 5, s: 2, pad: [1, 2, 1, 2], shape: [1, 10, 9, 4], m: 1 },
  ] as const;
  for (const c of cases) {
    const what = `${c.k}x${c.k} stride ${c.s} padding ${JSON.stringify(c.pad)} multiplier ${c.m}`;
    it(`${what}: forward, dX, dW, bias`, async () => {
      const C = c.shape[3];
      const layer = new DepthwiseConv2d({
        name: 'dw',
        inChannels: C,
        kernelSize: c.k,
        strides: c.s,
        padding: c.pad,
        depthMultiplier: c.m,
      });
      expect(layer.depthwiseKernel.shape).toEqual([c.k, c.k, C, c.m]); // Keras's layout
      const w = randArray(numel(layer.depthwiseKernel.shape), 3);
      const b = randArray(C * c.m, 4);
      setWeight(layer, 'dw.depthwise_kernel', w);
      setWeight(layer, 'dw.bias', b);
      const x = randArray(numel(c.shape), 5);
      const opts = { stride: c.s, padding: c.pad, groups: C };
      const wShape = [c.k, c.k, 1, C * c.m]; // the same memory order as [k, k, C, m]
      const ref = conv2dReference(x, c.shape, w, wShape, b, opts);
      expect(layer.outputShape(c.shape)).toEqual(ref.shape);
      const gw = randArray(ref.out.length, 6);
      const got = await gpuGrads((t) => layer.forward(t), [{ data: x, shape: c.shape }], gw);
      expectClose(got.out, ref.out, { what: 'y', atol: 1e-5, rtol: 1e-4 });
      const g = conv2dReferenceGrads(x, c.shape, w, wShape, gw, opts);
      expectClose(got.grads[0], g.dX, { what: 'dX', atol: 1e-5, rtol: 1e-4 });
      expectClose(await layer.depthwiseKernel.grad!.read(), g.dW, { what: 'dW', atol: 1e-4, rtol: 1e-4 });
      expectClose(await layer.bias!.grad!.read(), g.dB, { what: 'dB', atol: 1e-4, rtol: 1e-4 });
      layer.dispose();
    });
  }
  it('1,000+ channels, 5x5 stride 2 (EfficientNet-sized) matches the reference', async () => {
    const shape = [1, 6, 5, 1056];
    const layer = new DepthwiseConv2d({
      name: 'dw_wide',
      inChannels: 1056,
      kernelSize: 5,
      strides: 2,
      padding: 'same',
    });
    expect(layer.outChannels).toBe(1056);
    const w = randArray(25 * 1056, 7);
    setWeight(layer, 'dw_wide.depthwise_kernel', w);
    const x = randArray(numel(shape), 8);
    const ref = conv2dReference(x, shape, w, [5, 5, 1, 1056], null, { stride: 2, padding: 'same', groups: 1056 });
    const y = noGrad(() => layer.forward(Tensor.from(x, shape)));
    expectClose(await y.read(), ref.out, { what: 'y', atol: 1e-5, rtol: 1e-4 });
    y.dispose();
    layer.dispose();
  });
});

/** Float64 squeeze-and-excitation: x [N, H, W, C] * sigmoid(swish(mean_hw(x) W1 + b1) W2 + b2). */
function seReference(
  x: Float64Array,
  shape: number[],
  w1: Float64Array,
  b1: Float64Array,
  w2: Float64Array,
  b2: Float64Array,
) {
  const [N, H, W, C] = shape;
  const Cse = b1.length;
  const out = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    const s = new Float64Array(C);
    for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) s[c] += x[(n * H * W + p) * C + c] / (H * W);
    const r = Array.from({ length: Cse }, (_, j) =>
      swishRef(b1[j] + s.reduce((a, v, c) => a + v * w1[c * Cse + j], 0)),
    );
    const e = Array.from({ length: C }, (_, c) => sig(b2[c] + r.reduce((a, v, j) => a + v * w2[j * C + c], 0)));
    for (let p = 0; p < H * W; p++)
      for (let c = 0; c < C; c++) out[(n * H * W + p) * C + c] = x[(n * H * W + p) * C + c] * e[c];
  }
  return out;
}

describe('SqueezeExcite', () => {
  it('forward and gradients (input through both paths, the four weights) vs float64 and finite diffs', async () => {
    const shape = [2, 5, 3, 7];
    const se = new SqueezeExcite({ prefix: 'block9z_', channels: 7, seChannels: 3 });
    expect(se.name).toBe('block9z_se_excite');
    expect(se.namedParameters().map(([k]) => k)).toEqual([
      'block9z_se_reduce.kernel',
      'block9z_se_reduce.bias',
      'block9z_se_expand.kernel',
      'block9z_se_expand.bias',
    ]);
    const [w1, b1, w2, b2] = [
      randArray(21, 1, -1.5, 1.5),
      randArray(3, 2),
      randArray(21, 3, -1.5, 1.5),
      randArray(7, 4),
    ];
    setWeight(se, 'block9z_se_reduce.kernel', w1);
    setWeight(se, 'block9z_se_reduce.bias', b1);
    setWeight(se, 'block9z_se_expand.kernel', w2);
    setWeight(se, 'block9z_se_expand.bias', b2);
    const x = randArray(numel(shape), 5, -2, 2);
    const gw = randArray(x.length, 6);
    const got = await gpuGrads((t) => se.forward(t), [{ data: x, shape }], gw);
    expectClose(got.out, seReference(x, shape, w1, b1, w2, b2), { what: 'y', atol: 1e-6, rtol: 1e-5 });
    const f = (xx: Float64Array) => weightedSum(seReference(xx, shape, w1, b1, w2, b2), gw);
    const [idx, fd] = finiteDiff(f, x, { count: 12, eps: 1e-5 });
    expectClose(
      idx.map((i) => got.grads[0][i]),
      fd,
      { what: 'dx', atol: 1e-4, rtol: 1e-3 },
    );
    const params: [string, Float64Array, (v: Float64Array) => number][] = [
      ['block9z_se_reduce.kernel', w1, (v) => weightedSum(seReference(x, shape, v, b1, w2, b2), gw)],
      ['block9z_se_reduce.bias', b1, (v) => weightedSum(seReference(x, shape, w1, v, w2, b2), gw)],
      ['block9z_se_expand.kernel', w2, (v) => weightedSum(seReference(x, shape, w1, b1, v, b2), gw)],
      ['block9z_se_expand.bias', b2, (v) => weightedSum(seReference(x, shape, w1, b1, w2, v), gw)],
    ];
    for (const [key, v, fn] of params) {
      const g = await se
        .namedParameters()
        .find(([k]) => k === key)![1]
        .grad!.read();
      const [i, d] = finiteDiff(fn, v, { eps: 1e-5 });
      expectClose(
        i.map((j) => g[j]),
        d,
        { what: key, atol: 1e-4, rtol: 1e-3 },
      );
    }
    // Summary rows: the squeeze, reshape and the two convolutions, then the multiply (its weights counted above).
    const rows = summaryRows(se, shape);
    expect(rows.map((r) => `${r.name}:${r.params}`)).toEqual([
      'block9z_se_squeeze:0',
      'block9z_se_reshape:0',
      'block9z_se_reduce:24',
      'block9z_se_expand:28',
      'block9z_se_excite:0',
    ]);
    se.dispose();
  });
});

describe('stochastic depth: Dropout with noiseShape [null, 1, 1, 1]', () => {
  it('drops whole samples (seeded), scales the rest by 1 / (1 - rate), masks the gradient; eval: x', async () => {
    const shape = [16, 3, 2, 5];
    const rate = 0.375;
    const d = new Dropout({ name: 'block3b_drop', rate, noiseShape: [null, 1, 1, 1], seed: 11 });
    const x = randArray(numel(shape), 9);
    const gw = randArray(x.length, 10);
    const got = await gpuGrads((t) => d.forward(t), [{ data: x, shape }], gw);
    // The first call's seed (src/layers/basic.ts: base + 0); the mask is the dropout kernel's over N cells.
    const d2 = new Dropout({ name: 'block3b_drop', rate, noiseShape: [null, 1, 1, 1], seed: 11 });
    const again = await gpuGrads((t) => d2.forward(t), [{ data: x, shape }], gw);
    expectClose(again.out, got.out, { what: 'same seed, same mask' });
    const per = numel(shape) / shape[0];
    const kept: number[] = [];
    for (let n = 0; n < shape[0]; n++) {
      const ys = got.out.slice(n * per, (n + 1) * per);
      const xs = x.slice(n * per, (n + 1) * per);
      const on = ys.some((v) => v !== 0);
      kept.push(on ? 1 : 0);
      expectClose(ys, on ? xs.map((v) => v / (1 - rate)) : new Float64Array(per), { what: `sample ${n}` });
      expectClose(
        got.grads[0].slice(n * per, (n + 1) * per),
        on ? gw.slice(n * per, (n + 1) * per).map((v) => v / (1 - rate)) : new Float64Array(per),
        { what: `gradient of sample ${n}` },
      );
    }
    expect(kept).toEqual([...dropoutMaskReference(shape[0], rate, seedOf(d2, 0))]);
    expect(kept.includes(0) && kept.includes(1)).toBe(true);
    d.eval();
    const y = noGrad(() => d.forward(Tensor.from(x, shape)));
    expectClose(await y.read(), x, { what: 'eval: identity' });
    y.dispose();
  });
  it('refuses a noise shape that does not broadcast', () => {
    const d = new Dropout({ rate: 0.5, noiseShape: [null, 2, 1, 1] });
    tidy(() => expect(() => d.forward(Tensor.zeros([2, 3, 3, 1]))).toThrow(/does not broadcast/));
  });
});

/** The seed a Dropout layer's k-th call uses (its private base seed + k * golden ratio). */
function seedOf(d: Dropout, k: number): number {
  const base = (d as unknown as { baseSeed: number }).baseSeed;
  return (base + Math.imul(k, 0x9e3779b1)) >>> 0;
}

describe('Rescaling, Normalization, Residual, Swish', () => {
  it('Rescaling(1/255) and per-channel scale and offset', async () => {
    const shape = [2, 3, 2, 3];
    const x = randArray(numel(shape), 1, 0, 255);
    const r1 = new Rescaling({ scale: 1 / 255 });
    const r2 = new Rescaling({ scale: [1, 2, 3], offset: [-1, 0, 1] });
    const y = noGrad(() => [r1.forward(Tensor.from(x, shape)), r2.forward(Tensor.from(x, shape))]);
    expectClose(
      await y[0].read(),
      x.map((v) => v / 255),
      { what: 'scalar' },
    );
    expectClose(
      await y[1].read(),
      x.map((v, i) => v * [1, 2, 3][i % 3] + [-1, 0, 1][i % 3]),
      { what: 'per channel' },
    );
    y.forEach((t) => t.dispose());
  });
  it('Normalization: (x - mean) / max(sqrt(variance), 1e-7); mean, variance, count: 7 non-trainable', async () => {
    const n = new Normalization({ name: 'normalization', channels: 3 });
    expect(n.countParams()).toEqual({ total: 7, trainable: 0, nonTrainable: 7 });
    expect(n.namedBuffers().map(([k, t]) => `${k} [${t.shape}]`)).toEqual([
      'normalization.mean [3]',
      'normalization.variance [3]',
      'normalization.count []',
    ]);
    const mean = [0.485, 0.456, 0.406];
    const variance = [0.052441, 0, 0.050625];
    setWeight(n, 'normalization.mean', mean);
    setWeight(n, 'normalization.variance', variance);
    const shape = [2, 2, 3];
    const x = randArray(12, 2, 0, 1);
    const want = x.map((v, i) => (v - mean[i % 3]) / Math.max(Math.sqrt(variance[i % 3]), 1e-7));
    const y = noGrad(() => n.forward(Tensor.from(x, shape)));
    expectClose(await y.read(), want, { what: 'buffers', rtol: 1e-5 });
    // Fixed statistics (Keras's Normalization(mean=..., variance=...)): no weights, the same function.
    const f = new Normalization({ channels: 3, mean, variance: [0.052441, 0.05, 0.050625] });
    expect(f.countParams().total).toBe(0);
    const z = noGrad(() => f.forward(Tensor.from(x, shape)));
    const want2 = x.map((v, i) => (v - mean[i % 3]) / Math.sqrt([0.052441, 0.05, 0.050625][i % 3]));
    expectClose(await z.read(), want2, { what: 'fixed', rtol: 1e-5 });
    y.dispose();
    z.dispose();
    n.dispose();
  });
  it('Residual: branch(x) + x; the gradient is the branch gradient plus the identity', async () => {
    const shape = [1, 4, 3, 2];
    const conv = new Conv2d({ name: 'rc', inChannels: 2, filters: 2, kernelSize: 3, padding: 'same' });
    const w = randArray(36, 3);
    setWeight(conv, 'rc.kernel', w);
    const res = new Residual(new Sequential([conv, new Swish()]), { name: 'blk_add' });
    expect(res.kind).toBe('Add');
    const x = randArray(numel(shape), 4);
    const gw = randArray(x.length, 5);
    const f = (xx: Float64Array) => {
      const c = conv2dReference(xx, shape, w, [3, 3, 2, 2], new Float64Array(2), { padding: 'same' }).out;
      return c.map((v, i) => swishRef(v) + xx[i]);
    };
    const got = await gpuGrads((t) => res.forward(t), [{ data: x, shape }], gw);
    expectClose(got.out, f(x), { what: 'y', atol: 1e-5, rtol: 1e-4 });
    const [idx, fd] = finiteDiff((xx) => weightedSum(f(xx), gw), x, { eps: 1e-5 });
    expectClose(
      idx.map((i) => got.grads[0][i]),
      fd,
      { what: 'dx', atol: 1e-4, rtol: 1e-3 },
    );
    expect(() => new Residual(new ZeroPad2d({ padding: 1 })).outputShape(shape)).toThrow(/same shape/);
    res.dispose();
  });
  it("Swish is Keras's Activation('swish')", async () => {
    const s = new Swish({ name: 'stem_activation' });
    expect(s.kind).toBe('Activation');
    const x = randArray(9, 6, -5, 5);
    const y = noGrad(() => s.forward(Tensor.from(x, [9])));
    expectClose(await y.read(), x.map(swishRef), { what: 'swish', atol: 1e-6, rtol: 1e-5 });
    y.dispose();
  });
});

describe('EfficientNetB1 and EfficientNetV2B2 as Keras builds them', () => {
  it('EfficientNetB1: 6,577,801 parameters (6,575,239 + 1280 x 2 + 2); names, paddings, drop rates', () => {
    const m = efficientNetB1({ numClasses: 2 });
    expect(m.countParams()).toEqual({ total: 6_577_801, trainable: 6_515_746, nonTrainable: 62_055 });
    expect(m.config).toMatchObject({ inputSize: 240, dropout: 0.2, dropConnect: 0.2 });
    const rows = summaryRows(m, [1, 240, 240, 3]);
    const row = (n: string) => rows.find((r) => r.name === n)!;
    // Repeats ceil(1.1 * [1, 2, 2, 3, 3, 4, 1]) = 23 blocks.
    expect(rows.filter((r) => r.name.endsWith('_project_bn')).length).toBe(23);
    expect(rows.slice(0, 6).map((r) => `${r.name} ${r.kind} ${r.params}`)).toEqual([
      'rescaling Rescaling 0',
      'normalization Normalization 7',
      'stem_conv_pad ZeroPadding2D 0',
      'stem_conv Conv2D 864',
      'stem_bn BatchNormalization 128',
      'stem_activation Activation 0',
    ]);
    expect(row('stem_conv_pad').outputShape).toEqual([1, 241, 241, 3]); // correct_pad: (0, 1) on even sides
    expect(row('block2a_dwconv').outputShape).toEqual([1, 60, 60, 96]);
    expect(row('block2a_dwconv').params).toBe(9 * 96);
    expect(row('block1a_se_reduce').params).toBe(32 * 8 + 8); // Cse = 0.25 * 32 block input filters
    expect(row('block2b_se_reduce').params).toBe(144 * 6 + 6); // Cse = 0.25 * 24 (not of the expanded 144)
    expect(row('block7b_project_conv').outputShape).toEqual([1, 8, 8, 320]);
    expect(row('top_conv').params).toBe(320 * 1280);
    expect(rows.some((r) => r.name === 'block1a_add')).toBe(false); // 32 -> 16 filters: no skip
    expect(row('block1b_add').kind).toBe('Add');
    // Stochastic depth 0.2 * b / 23 on each residual block (block index b from 0).
    const rate = (n: string) => (m.getLayer(n) as Dropout).rate;
    expect(rate('block1b_drop')).toBeCloseTo(0.2 / 23, 12);
    expect(rate('block7b_drop')).toBeCloseTo((0.2 * 22) / 23, 12);
    expect((m.getLayer('block1b_drop') as Dropout).noiseShape).toEqual([null, 1, 1, 1]);
    // BatchNorm: momentum 0.99, epsilon 1e-3.
    expect(m.getLayer('block3a_bn')).toMatchObject({ momentum: 0.99, epsilon: 1e-3 });
    m.dispose();
  });

  it('EfficientNetV2B2: 8,772,192 parameters (8,769,374 + 1408 x 2 + 2); Fused-MBConv then MBConv', () => {
    const m = efficientNetV2B2({ numClasses: 2 });
    expect(m.countParams()).toEqual({ total: 8_772_192, trainable: 8_689_904, nonTrainable: 82_288 });
    expect(m.config).toMatchObject({ inputSize: 260, dropout: 0.2, dropConnect: 0.2 });
    const rows = summaryRows(m, [1, 260, 260, 3]);
    const row = (n: string) => rows.find((r) => r.name === n)!;
    // Repeats ceil(1.2 * [1, 2, 2, 3, 5, 8]) = 28 blocks; Normalization with constant ImageNet statistics.
    expect(rows.filter((r) => r.name.endsWith('_project_bn')).length).toBe(28);
    expect(row('normalization').params).toBe(0);
    expect(row('stem_conv').outputShape).toEqual([1, 130, 130, 32]);
    expect(row('block1a_project_conv').params).toBe(9 * 32 * 16); // no expansion: the 3x3 conv projects
    expect(row('block1a_project_activation').kind).toBe('Activation');
    expect(row('block2a_expand_conv').outputShape).toEqual([1, 65, 65, 64]); // 3x3 stride 2 'same'
    expect(row('block4a_dwconv2').kind).toBe('DepthwiseConv2D');
    expect(row('block4a_se_reduce').params).toBe(224 * 14 + 14); // Cse = 0.25 * 56
    expect(rows.some((r) => r.name.startsWith('block3') && r.name.includes('se_'))).toBe(false);
    expect(row('top_conv').params).toBe(208 * 1408);
    // Keras divides by the unrounded repeats (21) here.
    expect((m.getLayer('block6j_drop') as Dropout).rate).toBeCloseTo((0.2 * 27) / 21, 12);
    expect(m.getLayer('block6j_bn')).toMatchObject({ momentum: 0.9, epsilon: 1e-3 });
    m.dispose();
  });

  it('BAM at the ends of the stages before the last three downsamplings; positions by name and alias', () => {
    const b1 = efficientNetB1({ numClasses: 2, bam: true });
    const names = b1.layers.map((l) => l.name);
    for (const [pos, c] of [
      ['block2c', 24],
      ['block3c', 40],
      ['block5d', 112],
    ] as const) {
      const i = names.indexOf(`bam_${pos}`);
      expect(names[i - 1]).toBe(pos);
      expect(names[i + 1]).toBe(`block${Number(pos[5]) + 1}a`);
      expect((b1.layers[i] as unknown as { channels: number }).channels).toBe(c);
    }
    b1.dispose();
    const v2 = efficientNetV2B2({ numClasses: 2, bam: { positions: ['block2c_add', 'block4a_project_bn'] } });
    expect(v2.config.bam!.positions).toEqual(['block2c', 'block4a']);
    expect(v2.layers.map((l) => l.name)).toContain('bam_block4a');
    v2.dispose();
    expect(efficientNetV2B2({ numClasses: 2, bam: true }).config.bam!.positions).toEqual([
      'block2c',
      'block3c',
      'block5f',
    ]);
    expect(() => efficientNetB1({ numClasses: 2, bam: { positions: ['block9a'] } })).toThrow(/no BAM position/);
  });

  it("imagenetWeights: Keras's weights='imagenet' graph, Rescaling(1 / sqrt(std)) after Normalization", async () => {
    const m = efficientNetB1({ numClasses: 2, inputSize: 32, widthMultiplier: 0.25, imagenetWeights: true });
    const names = summaryRows(m, [1, 32, 32, 3]).map((r) => r.name);
    expect(names.slice(0, 4)).toEqual(['rescaling', 'normalization', 'rescaling_1', 'stem_conv_pad']);
    const plain = efficientNetB1({ numClasses: 2, inputSize: 32, widthMultiplier: 0.25 });
    expect(m.countParams()).toEqual(plain.countParams());
    expect(plain.config.imagenetWeights).toBeUndefined();
    const again = buildModel(JSON.parse(JSON.stringify(m.config)));
    expect(again.getLayer('rescaling_1')).toBeInstanceOf(Rescaling);
    const x = randArray(6, 3, 0, 1);
    const y = noGrad(() => (m.getLayer('rescaling_1') as Rescaling).forward(Tensor.from(x, [2, 3])));
    expectClose(
      await y.read(),
      x.map((v, i) => v / Math.sqrt([0.229, 0.224, 0.225][i % 3])),
      { what: 'scale' },
    );
    y.dispose();
    [m, plain, again].forEach((n) => n.dispose());
    expect(() => efficientNetV2B2({ numClasses: 2, imagenetWeights: true })).toThrow(/EfficientNetB1's graph only/);
  });

  it("a run from Keras's ImageNet file (efficientnetb1_notop.h5) builds that graph; other files do not", () => {
    const run = (initWeights: string | undefined, model: 'efficientnetb1' | 'efficientnetv2b2' = 'efficientnetb1') =>
      modelFromOptions({
        model,
        bam: false,
        bamCombine: 'sum',
        imageSize: 32,
        width: 0.25,
        dropout: 0,
        seed: 0,
        initWeights,
      });
    const cases: [string | undefined, boolean][] = [
      ['/w/efficientnetb1_notop.h5', true],
      ['C:\\w\\efficientnetb1.h5', true],
      ['efficientnetb1_notop.h5', true],
      [undefined, false],
      ['/w/runs/b1/best.safetensors', false],
      ['/w/my_efficientnetb1_notop.h5', false],
    ];
    for (const [file, want] of cases) {
      const m = run(file);
      expect(m.config.imagenetWeights ?? false, String(file)).toBe(want);
      m.dispose();
    }
    const v2 = run('/w/efficientnetb1_notop.h5', 'efficientnetv2b2');
    expect(v2.config.imagenetWeights).toBeUndefined();
    v2.dispose();
  });

  it('correct_pad follows the input size; width multiplier keeps multiples of 8; config rebuilds', () => {
    const m = efficientNetB1({ numClasses: 3, inputSize: 33, widthMultiplier: 0.25, dropConnect: 0.1, seed: 4 });
    const rows = summaryRows(m, [1, 33, 33, 3]);
    const row = (n: string) => rows.find((r) => r.name === n)!;
    expect(row('stem_conv_pad').outputShape).toEqual([1, 35, 35, 3]); // odd: (1, 1)
    expect(row('stem_conv').outputShape).toEqual([1, 17, 17, 8]);
    expect(row('block2a_dwconv_pad').outputShape).toEqual([1, 19, 19, 48]); // 17 odd: (1, 1)
    expect(row('block3a_dwconv_pad').outputShape).toEqual([1, 13, 13, 48]); // 9 odd, 5x5: (2, 2)
    expect(row('top_conv').outputShape).toEqual([1, 2, 2, 320]);
    const again = buildModel(JSON.parse(JSON.stringify(m.config)));
    expect(again.countParams()).toEqual(m.countParams());
    expect((again.getLayer('block7b_drop') as Dropout).rate).toBeCloseTo((0.1 * 22) / 23, 12);
    again.dispose();
    m.dispose();
    expect(() => efficientNetB1({ numClasses: 2, inputSize: 31 })).toThrow(/inputSize must be an integer >= 32/);
  });
});

/** 8 fixed random 0..255 images and labels. */
function batch(size: number, seed: number): { x: Tensor; t: Tensor } {
  const x = Tensor.from(Float32Array.from(randArray(8 * size * size * 3, seed, 0, 255)), [8, size, size, 3]);
  const labels = [0, 1, 1, 0, 1, 0, 0, 1];
  const t = Tensor.from(
    labels.flatMap((l) => [1 - l, l]),
    [8, 2],
  );
  return { x, t };
}

describe('small EfficientNets train', () => {
  for (const [label, build] of [
    ['EfficientNetB1', efficientNetB1],
    ['EfficientNetV2B2', efficientNetV2B2],
  ] as const) {
    it(`${label} 32x32 width 0.25 + BAM: the loss falls over a 20-step overfit of 8 images`, async () => {
      const m: Model = build({ numClasses: 2, inputSize: 32, widthMultiplier: 0.25, bam: true, seed: 3 });
      const { x, t } = batch(32, 7);
      const losses = await overfitLosses(m, x, t);
      expect(losses.every(Number.isFinite)).toBe(true);
      const first = (losses[0] + losses[1] + losses[2]) / 3;
      const last = (losses[17] + losses[18] + losses[19]) / 3;
      expect(last, `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`).toBeLessThan(first * 0.6);
      // Eval (moving statistics, no dropout) through the inference plan = the layers one by one.
      m.eval();
      const y = m.predict(x);
      const ref = noGrad(() => m.forward(x));
      expectClose(await y.read(), await ref.read(), { what: 'plan vs forward', atol: 1e-4, rtol: 1e-3 });
      y.dispose();
      ref.dispose();
      // Grad-CAM explains the last map of at least 7x7 (here the 8x8 end of stage 2, after its BAM).
      const cam = await gradCam(m, x);
      expect([cam.h, cam.w]).toEqual([8, 8]);
      expect(cam.maps.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Math.max(...cam.maps)).toBe(1);
      x.dispose();
      t.dispose();
      m.dispose();
    });
  }
});
