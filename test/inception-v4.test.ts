/**
 * Inception-v4 (src/models/inception_v4.ts) against timm's `inception_v4`: parameter counts (timm's
 * 42,679,816 with its 1000-class Linear; 41,145,890 trainable with our 2-class head), timm's module names
 * and torch shapes, output shapes at 299 px and at small inputs with a width multiplier, the zero-padding
 * below 75 px, BAM placement and aliases, a timm-layout safetensors fixture imported by name (and by order
 * when the names carry a DataParallel `module.` prefix), Grad-CAM's layer, and a 20-step overfit.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { setup, randArray } from './helpers.js';
import { Tensor, tidy, backward, Adam } from '../src/index.js';
import { softmaxCrossEntropy } from '../src/kernels/loss.js';
import { inceptionV4, buildModel, MODEL_CATALOG, type Model } from '../src/models/index.js';
import { BAM, summary, summaryRows } from '../src/layers/index.js';
import { encodeSafetensors, decodeSafetensors, type TensorData } from '../src/io/safetensors.js';
import { importTorchWeights } from '../src/io/torch-import.js';
import { gradCam } from '../src/train/attention.js';

/** Trainable parameters of one BAM in the official layout (NOTES.md formula). */
function bamFormula(C: number, r = 16): number {
  const Cr = Math.floor(C / r);
  return 2 * C * Cr + Cr + C + 2 * Cr + C * Cr + Cr + 2 * Cr + 2 * (9 * Cr * Cr + Cr + 2 * Cr) + Cr + 1;
}

function images(m: Model, n: number, seed: number): Tensor {
  const s = m.config.inputSize;
  return Tensor.from(Float32Array.from(randArray(n * s * s * 3, seed)), [n, s, s, 3]);
}

describe('Inception-v4 parameter counts and names (timm)', () => {
  beforeAll(setup);

  it("2 classes: 41,145,890 trainable (timm's count less its 1000-class Linear), timm's names and shapes", () => {
    const m = inceptionV4({ numClasses: 2 });
    // 149 conv units: 41,079,648 conv weights, 31,584 BN channels (gamma + beta trainable, 2 running stats).
    expect(m.countParams()).toEqual({ total: 41_209_058, trainable: 41_145_890, nonTrainable: 63_168 });
    const p = new Map(m.namedParameters());
    const b = new Map(m.namedBuffers());
    expect([...p.keys()].filter((k) => k.endsWith('.kernel')).length).toBe(150); // 149 convs + last_linear
    expect(p.get('features.0.conv.kernel')!.shape).toEqual([3, 3, 3, 32]);
    expect(p.get('features.0.bn.gamma')!.shape).toEqual([32]);
    expect(b.get('features.0.bn.moving_variance')!.shape).toEqual([32]);
    expect(p.get('features.3.conv.conv.kernel')!.shape).toEqual([3, 3, 64, 96]);
    expect(p.get('features.4.branch1.1.conv.kernel')!.shape).toEqual([1, 7, 64, 64]);
    expect(p.get('features.4.branch1.2.conv.kernel')!.shape).toEqual([7, 1, 64, 64]);
    expect(p.get('features.5.conv.conv.kernel')!.shape).toEqual([3, 3, 192, 192]);
    expect(p.get('features.6.branch0.conv.kernel')!.shape).toEqual([1, 1, 384, 96]);
    expect(p.get('features.9.branch3.1.conv.kernel')!.shape).toEqual([1, 1, 384, 96]);
    expect(p.get('features.10.branch1.2.conv.kernel')!.shape).toEqual([3, 3, 224, 256]);
    expect(p.get('features.17.branch2.4.conv.kernel')!.shape).toEqual([1, 7, 224, 256]);
    expect(p.get('features.18.branch1.3.conv.kernel')!.shape).toEqual([3, 3, 320, 320]);
    expect(p.get('features.21.branch1_1b.conv.kernel')!.shape).toEqual([3, 1, 384, 256]);
    expect(p.get('features.21.branch2_1.conv.kernel')!.shape).toEqual([3, 1, 384, 448]);
    expect(p.get('features.21.branch2_3a.bn.beta')!.shape).toEqual([256]);
    expect(p.get('last_linear.kernel')!.shape).toEqual([1536, 2]);
    const rows = summaryRows(m, [1, 299, 299, 3]);
    const out = (n: string) => rows.find((r) => r.name === n)!.outputShape;
    expect(rows.some((r) => r.name === 'input_pad')).toBe(false);
    expect(out('features.0.conv')).toEqual([1, 149, 149, 32]);
    expect(out('features.1.conv')).toEqual([1, 147, 147, 32]);
    expect(out('features.2.conv')).toEqual([1, 147, 147, 64]);
    expect(out('features.3')).toEqual([1, 73, 73, 160]);
    expect(out('features.4')).toEqual([1, 71, 71, 192]);
    expect(out('features.5')).toEqual([1, 35, 35, 384]);
    expect(out('features.9')).toEqual([1, 35, 35, 384]);
    expect(out('features.10')).toEqual([1, 17, 17, 1024]);
    expect(out('features.17')).toEqual([1, 17, 17, 1024]);
    expect(out('features.18')).toEqual([1, 8, 8, 1536]);
    expect(out('features.21.branch1_1')).toEqual([1, 8, 8, 512]);
    expect(out('features.21')).toEqual([1, 8, 8, 1536]);
    expect(out('last_linear')).toEqual([1, 2]);
    const text = summary(m, [299, 299, 3], { print: false });
    expect(text).toContain('Total params: 41,209,058');
    expect(text).toContain('Trainable params: 41,145,890');
    expect(text).toContain('Non-trainable params: 63,168');
    m.dispose();
  });

  it("1000 classes: 42,679,816 trainable, timm's inception_v4 count", () => {
    const m = inceptionV4({ numClasses: 1000 });
    expect(m.countParams().trainable).toBe(42_679_816);
    m.dispose();
  });

  it("the catalog: 299 px, timm's [-1, 1] input scaling, builds through buildModel", () => {
    expect(MODEL_CATALOG.inceptionv4).toEqual({
      arch: 'inceptionV4',
      inputSize: 299,
      minInput: 32,
      input: 'inception',
    });
    const m = buildModel({ arch: 'inceptionV4', numClasses: 2, inputSize: 75, widthMultiplier: 0.125 });
    expect(m.config).toMatchObject({ arch: 'inceptionV4', inputSize: 75, widthMultiplier: 0.125, bam: null });
    m.dispose();
  });
});

describe('Inception-v4 small inputs and BAM', () => {
  beforeAll(setup);

  it('75 px is the native minimum; below it a centred input_pad zero-pads to 75; width scales channels', () => {
    const at = (inputSize: number, w = 0.25) => {
      const m = inceptionV4({ numClasses: 2, inputSize, widthMultiplier: w });
      const rows = summaryRows(m, [1, inputSize, inputSize, 3]);
      const out = (n: string) => rows.find((r) => r.name === n)?.outputShape;
      const r = { pad: out('input_pad'), f0: out('features.0.conv'), f9: out('features.9'), f21: out('features.21') };
      const params = m.countParams().trainable;
      m.dispose();
      return { ...r, params };
    };
    const a = at(75);
    expect(a.pad).toBeUndefined();
    expect(a.f0).toEqual([1, 37, 37, 8]);
    expect(a.f9).toEqual([1, 7, 7, 96]); // 24 + 24 + 24 + 24
    expect(a.f21).toEqual([1, 1, 1, 384]);
    const b = at(64);
    expect(b.pad).toEqual([1, 75, 75, 3]);
    expect(b.f0).toEqual([1, 37, 37, 8]);
    expect(b.f21).toEqual([1, 1, 1, 384]);
    expect(b.params).toBe(a.params); // padding has no weights
    expect(at(32, 0.125).pad).toEqual([1, 75, 75, 3]);
    const c = at(139);
    expect(c.f9).toEqual([1, 15, 15, 96]); // 139 -> 69 -> 67 -> 33 -> 31 -> 15
    expect(c.f21).toEqual([1, 3, 3, 384]);
    expect(() => inceptionV4({ numClasses: 2, inputSize: 31 })).toThrow(/inputSize must be an integer >= 32/);
  });

  it('the padded rows and columns: 64 px gets 5 before and 6 after on each axis', async () => {
    const m = inceptionV4({ numClasses: 2, inputSize: 64, widthMultiplier: 0.125 });
    const pad = m.getLayer('input_pad');
    const x = Tensor.from(new Float32Array(64 * 64 * 3).fill(1), [1, 64, 64, 3]);
    const y = pad.forward(x);
    const v = await y.read();
    const at = (i: number, j: number) => v[(i * 75 + j) * 3];
    expect([at(4, 40), at(5, 40), at(68, 40), at(69, 40)]).toEqual([0, 1, 1, 0]);
    expect([at(40, 4), at(40, 5), at(40, 68), at(40, 69)]).toEqual([0, 1, 1, 0]);
    for (const t of [x, y]) t.dispose();
    m.dispose();
  });

  it('BAM at features.4 (192), features.9 (384), features.17 (1024) by default; aliases and overrides', () => {
    const m = inceptionV4({ numClasses: 2, bam: true });
    expect(m.config.bam!.positions).toEqual(['features.4', 'features.9', 'features.17']);
    expect(m.countParams().trainable).toBe(41_145_890 + bamFormula(192) + bamFormula(384) + bamFormula(1024));
    const names = m.childModules().map((c) => c.name);
    for (const [pos, next] of [
      ['features.4', 'features.5'],
      ['features.9', 'features.10'],
      ['features.17', 'features.18'],
    ])
      expect(names.slice(names.indexOf(pos), names.indexOf(pos) + 3)).toEqual([pos, `bam_${pos}`, next]);
    expect((m.getLayer('bam_features.17') as BAM).channels).toBe(1024);
    expect(summary(m, [299, 299, 3], { print: false })).toMatch(/bam_features\.9 \(BAM\)\s+\(None, 35, 35, 384\)/);
    m.dispose();
    const n = inceptionV4({
      numClasses: 2,
      inputSize: 75,
      widthMultiplier: 0.25,
      bam: { positions: ['mixed_4a', 'reduction_a', 'inception_c3'] },
    });
    expect(n.config.bam!.positions).toEqual(['features.4', 'features.10', 'features.21']);
    expect((n.getLayer('bam_features.10') as BAM).channels).toBe(256);
    n.dispose();
    expect(() =>
      inceptionV4({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, bam: { positions: ['features.22'] } }),
    ).toThrow(/no BAM position 'features.22'.*features\.21/);
  });
});
