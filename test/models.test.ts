/**
 * The backbones (src/models): exact Keras parameter counts, names and shapes; BAM placement; small
 * configurations that run a forward and a full training step; memory after a step; config rebuild.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { setup, randArray } from './helpers.js';
import { Tensor, tidy, backward, runtime } from '../src/index.js';
import { softmaxCrossEntropy } from '../src/kernels/loss.js';
import { inceptionV3, denseNet121, inceptionV4, buildModel, type Model } from '../src/models/index.js';
import { BAM, summary, summaryRows } from '../src/layers/index.js';

/** Trainable parameters of one BAM in the official layout (NOTES.md formula). */
function bamFormula(C: number, r = 16): number {
  const Cr = Math.floor(C / r);
  return 2 * C * Cr + Cr + C + 2 * Cr + C * Cr + Cr + 2 * Cr + 2 * (9 * Cr * Cr + Cr + 2 * Cr) + Cr + 1;
}

function images(m: Model, n: number, seed: number): Tensor {
  const s = m.config.inputSize;
  return Tensor.from(Float32Array.from(randArray(n * s * s * 3, seed)), [n, s, s, 3]);
}
const oneHot = (labels: number[], k: number) =>
  Tensor.from(
    labels.flatMap((l) => Array.from({ length: k }, (_, i) => (i === l ? 1 : 0))),
    [labels.length, k],
  );

describe('model parameter counts (Keras, 2 classes)', () => {
  beforeAll(setup);

  it('InceptionV3: 21,806,882 total, 21,772,450 trainable; Keras names and shapes', () => {
    const m = inceptionV3({ numClasses: 2 });
    expect(m.countParams()).toEqual({ total: 21_806_882, trainable: 21_772_450, nonTrainable: 34_432 });
    const names = m.namedParameters().map(([k]) => k);
    expect(names.filter((k) => k.endsWith('.kernel')).length).toBe(95); // 94 convs + dense
    expect(names).toContain('conv2d.kernel');
    expect(names).toContain('conv2d_93.kernel');
    expect(names).toContain('batch_normalization_93.beta');
    expect(names).not.toContain('batch_normalization.gamma'); // scale=False
    expect(names).toContain('dense.bias');
    const sd = new Map(m.namedParameters());
    expect(sd.get('conv2d.kernel')!.shape).toEqual([3, 3, 3, 32]);
    expect(sd.get('conv2d_4.kernel')!.shape).toEqual([3, 3, 80, 192]);
    expect(sd.get('conv2d_93.kernel')!.shape).toEqual([1, 1, 2048, 192]);
    expect(sd.get('dense.kernel')!.shape).toEqual([2048, 2]);
    const rows = summaryRows(m, [1, 299, 299, 3]);
    const out = (n: string) => rows.find((r) => r.name === n)!.outputShape;
    expect(out('conv2d')).toEqual([1, 149, 149, 32]);
    expect(out('activation_4')).toEqual([1, 71, 71, 192]);
    expect(out('mixed0')).toEqual([1, 35, 35, 256]);
    expect(out('mixed2')).toEqual([1, 35, 35, 288]);
    expect(out('mixed3')).toEqual([1, 17, 17, 768]);
    expect(out('mixed7')).toEqual([1, 17, 17, 768]);
    expect(out('mixed8')).toEqual([1, 8, 8, 1280]);
    expect(out('mixed9_0')).toEqual([1, 8, 8, 768]);
    expect(out('concatenate_1')).toEqual([1, 8, 8, 768]);
    expect(out('mixed10')).toEqual([1, 8, 8, 2048]);
    expect(out('dense')).toEqual([1, 2]);
    const text = summary(m, [299, 299, 3], { print: false });
    expect(text).toMatch(/mixed10 \(Concatenate\)\s+\(None, 8, 8, 2048\)\s+0/);
    expect(text).toContain('Total params: 21,806,882');
    expect(text).toContain('Trainable params: 21,772,450');
    expect(text).toContain('Non-trainable params: 34,432');
    m.dispose();
  });

  it('DenseNet121: 7,039,554 total, 6,955,906 trainable; Keras names and shapes', () => {
    const m = denseNet121({ numClasses: 2 });
    expect(m.countParams()).toEqual({ total: 7_039_554, trainable: 6_955_906, nonTrainable: 83_648 });
    const p = new Map(m.namedParameters());
    const b = new Map(m.namedBuffers());
    expect(p.get('conv1/conv.kernel')!.shape).toEqual([7, 7, 3, 64]);
    expect(p.get('conv1/bn.gamma')!.shape).toEqual([64]);
    expect(p.get('conv2_block1_1_conv.kernel')!.shape).toEqual([1, 1, 64, 128]);
    expect(p.get('conv2_block6_2_conv.kernel')!.shape).toEqual([3, 3, 128, 32]);
    expect(p.get('pool2_conv.kernel')!.shape).toEqual([1, 1, 256, 128]);
    expect(p.get('conv5_block16_2_conv.kernel')!.shape).toEqual([3, 3, 128, 32]);
    expect(b.get('bn.moving_variance')!.shape).toEqual([1024]);
    expect(p.get('dense.kernel')!.shape).toEqual([1024, 2]);
    const rows = summaryRows(m, [1, 224, 224, 3]);
    const out = (n: string) => rows.find((r) => r.name === n)!.outputShape;
    expect(out('zero_padding2d')).toEqual([1, 230, 230, 3]);
    expect(out('conv1/conv')).toEqual([1, 112, 112, 64]);
    expect(out('pool1')).toEqual([1, 56, 56, 64]);
    expect(out('conv2_block6_concat')).toEqual([1, 56, 56, 256]);
    expect(out('pool2_pool')).toEqual([1, 28, 28, 128]);
    expect(out('conv3_block12_concat')).toEqual([1, 28, 28, 512]);
    expect(out('conv4_block24_concat')).toEqual([1, 14, 14, 1024]);
    expect(out('conv5_block16_concat')).toEqual([1, 7, 7, 1024]);
    m.dispose();
  });
});

describe('BAM placement', () => {
  beforeAll(setup);

  it('DenseNet121 + BAM after dense blocks 1-3 adds 358,067 trainable parameters (C = 256, 512, 1024)', () => {
    const m = denseNet121({ numClasses: 2, bam: { combine: 'product' } });
    expect(m.config.bam!.positions).toEqual(['conv2', 'conv3', 'conv4']);
    expect(m.countParams()).toEqual({
      total: 7_039_554 + 358_067 + 896,
      trainable: 6_955_906 + 358_067,
      nonTrainable: 83_648 + 896,
    });
    const names = m.childModules().map((c) => c.name);
    expect(names.slice(names.indexOf('conv2'), names.indexOf('conv2') + 3)).toEqual(['conv2', 'bam_conv2', 'pool2']);
    expect((m.getLayer('bam_conv4') as BAM).channels).toBe(1024);
    expect(summary(m, [224, 224, 3], { print: false })).toMatch(/bam_conv3 \(BAM\)\s+\(None, 28, 28, 512\)\s+68,769/);
    m.dispose();
  });

  it('InceptionV3 + BAM at the stem (192), mixed2 (288) and mixed7 (768); positions by name and alias', () => {
    const m = inceptionV3({ numClasses: 2, bam: true });
    expect(m.config.bam!.positions).toEqual(['activation_4', 'mixed2', 'mixed7']);
    expect(m.countParams().trainable).toBe(21_772_450 + bamFormula(192) + bamFormula(288) + bamFormula(768));
    const names = m.childModules().map((c) => c.name);
    expect(names.slice(names.indexOf('activation_4'), names.indexOf('activation_4') + 3)).toEqual([
      'activation_4',
      'bam_activation_4',
      'max_pooling2d_1',
    ]);
    m.dispose();
    const n = inceptionV3({
      numClasses: 3,
      inputSize: 75,
      widthMultiplier: 0.25,
      bam: { positions: ['stem', 'mixed10'], reduction: 8 },
    });
    expect(n.config.bam!.positions).toEqual(['activation_4', 'mixed10']);
    expect((n.getLayer('bam_mixed10') as BAM).channels).toBe(512);
    expect((n.getLayer('bam_mixed10') as BAM).reducedChannels).toBe(64);
    n.dispose();
    expect(() =>
      inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, bam: { positions: ['mixed11'] } }),
    ).toThrow(/no BAM position 'mixed11'.*mixed10/);
    expect(() =>
      inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, bam: { positions: ['mixed1', 'mixed1'] } }),
    ).toThrow(/BAM positions repeat/);
    expect(() => inceptionV3({ numClasses: 2, inputSize: 74 })).toThrow(/inputSize must be an integer >= 75/);
  });
});

describe('small models run', () => {
  beforeAll(setup);

  for (const [label, build] of [
    [
      'InceptionV3 75x75 width 0.25 + BAM',
      () => inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, bam: true, dropout: 0.2, seed: 1 }),
    ],
    [
      'DenseNet121 32x32 width 0.25 + BAM',
      () => denseNet121({ numClasses: 2, inputSize: 32, widthMultiplier: 0.25, bam: true, dropout: 0.2, seed: 1 }),
    ],
    [
      'Inception-v4 64x64 (padded to 75) width 0.125 + BAM',
      () => inceptionV4({ numClasses: 2, inputSize: 64, widthMultiplier: 0.125, bam: true, dropout: 0.2, seed: 1 }),
    ],
  ] as const) {
    it(`${label}: finite [2, 2] logits in eval; a training step gives all parameters finite gradients`, async () => {
      const m = build();
      const x = images(m, 2, 5);
      const t = oneHot([0, 1], 2);
      m.eval();
      const y = m.predict(x);
      expect(y.shape).toEqual([2, 2]);
      const yv = await y.read();
      expect(yv.every(Number.isFinite)).toBe(true);
      y.dispose();

      m.train();
      const loss = tidy(() => {
        const l = softmaxCrossEntropy(m.forward(x), t);
        backward(l);
        return l;
      });
      const lv = await loss.item();
      expect(Number.isFinite(lv)).toBe(true);
      expect(lv).toBeGreaterThan(0);
      const params = m.namedParameters();
      expect(params.length).toBe(m.parameters().length);
      let nonzero = 0;
      for (const [k, p] of params) {
        expect(p.grad, k).not.toBeNull();
        expect(p.grad!.shape, k).toEqual(p.shape);
        const g = await p.grad!.read();
        expect(g.every(Number.isFinite), `${k} gradient finite`).toBe(true);
        if (g.some((v) => v !== 0)) nonzero++;
      }
      // Biases of convolutions followed by a training-mode BN get zero gradients; the rest do not.
      expect(nonzero).toBeGreaterThan(params.length * 0.8);
      // Moving statistics moved from their initial 0 / 1 in training mode.
      const mm = await m.namedBuffers()[0][1].read();
      expect(mm.some((v) => v !== 0)).toBe(true);
      loss.dispose();
      x.dispose();
      t.dispose();
      m.dispose();
    });
  }

  it(
    'InceptionV3 (75x75, width 0.25, BAM): after a forward+backward inside tidy(), ' +
      'live memory is parameters + gradients',
    async () => {
      const m = inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, bam: true });
      const x = images(m, 2, 6);
      const t = oneHot([1, 0], 2);
      m.train();
      await m.namedBuffers()[0][1].read(); // settle pending uploads
      const before = runtime().memory().liveBytes;
      const weightBytes = [...m.namedParameters(), ...m.namedBuffers()].reduce((s, [, p]) => s + p.storage.byteSize, 0);
      tidy(() => {
        backward(softmaxCrossEntropy(m.forward(x), t));
      });
      const after = runtime().memory().liveBytes;
      const grads = m.namedParameters().map(([, p]) => p.grad!);
      expect(new Set(grads.map((g) => g.storage)).size).toBe(grads.length); // one buffer per gradient
      const gradBytes = grads.reduce((s, g) => s + g.storage.byteSize, 0);
      expect(after - before).toBe(gradBytes);
      m.zeroGrad();
      expect(runtime().memory().liveBytes).toBe(before);
      // And the model itself is exactly its parameters and buffers.
      const inputBytes = x.storage.byteSize + t.storage.byteSize;
      x.dispose();
      t.dispose();
      m.dispose();
      expect(runtime().memory().liveBytes).toBe(before - inputBytes - weightBytes);
    },
  );

  it('inference without autograd frees activations layer by layer: same logits, far lower peak memory', async () => {
    const rt = runtime();
    for (const m of [
      denseNet121({ numClasses: 2, inputSize: 32, widthMultiplier: 0.5, bam: true, seed: 4 }),
      inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, seed: 4 }),
      inceptionV4({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, seed: 4 }),
    ]) {
      const x = images(m, 2, 8);
      m.eval();
      await x.read(); // settle uploads
      // A first call compiles the inference plan, which keeps the batch norms' affine tables.
      m.predict(x).dispose();
      const base = rt.memory().liveBytes;
      rt.resetPeak();
      const eager = m.predict(x);
      const eagerPeak = rt.memory().peakLiveBytes - base;
      // Nothing but the logits outlives a call once the tables exist.
      expect(rt.memory().liveBytes - base).toBe(eager.storage.byteSize);
      rt.resetPeak();
      // With autograd on, every activation stays alive until tidy() returns (a view without the graph
      // comes out, so that the graph and its saved activations go when it does).
      const recorded = tidy(() => m.forward(x).alias());
      const recordedPeak = rt.memory().peakLiveBytes - base - eager.storage.byteSize;
      expect(eagerPeak).toBeGreaterThan(0);
      expect(eagerPeak, `${m.name}: ${eagerPeak} vs ${recordedPeak} bytes`).toBeLessThan(recordedPeak / 3);
      const [a, b] = [await eager.read(), await recorded.read()];
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
      eager.dispose();
      recorded.dispose();
      expect(rt.memory().liveBytes).toBe(base);
      x.dispose();
      m.dispose();
    }
  });

  it('buildModel(config) rebuilds an identical model from JSON', async () => {
    const a = denseNet121({
      numClasses: 3,
      inputSize: 32,
      widthMultiplier: 0.25,
      bam: { positions: ['conv3'], combine: 'product', finalBN: true },
      dropout: 0.1,
      seed: 9,
    });
    const cfg = JSON.parse(JSON.stringify(a.config));
    expect(cfg).toEqual({
      arch: 'denseNet121',
      numClasses: 3,
      inputSize: 32,
      inputChannels: 3,
      widthMultiplier: 0.25,
      dropout: 0.1,
      seed: 9,
      bam: {
        positions: ['conv3'],
        reduction: 16,
        dilation: 4,
        numDilated: 2,
        combine: 'product',
        finalBN: true,
        bnMomentum: 0.99,
        bnEpsilon: 1e-3,
      },
    });
    const b = buildModel(cfg);
    expect(b.config).toEqual(a.config);
    const sa = await a.stateDict();
    const sb = await b.stateDict();
    expect(Object.keys(sb)).toEqual(Object.keys(sa));
    for (const k of Object.keys(sa)) expect(sb[k].data, k).toEqual(sa[k].data);
    expect(() => buildModel({ ...cfg, arch: 'resnet50' })).toThrow(/unknown architecture 'resnet50'/);
    a.dispose();
    b.dispose();
  });
});
