/**
 * Forward parity with TensorFlow.js layers (CPU backend, an independent implementation of Keras's
 * layers): our small InceptionV3 and DenseNet121 (with BAM) are rebuilt layer by layer in tfjs from
 * our module tree, our weights copied in by name, and the logits compared in inference and in
 * training mode (batch statistics). tfjs's BatchNormalization with `scale: false` crashes in training
 * (tensorflow/tfjs#2868), so InceptionV3's BNs are `scale: true` there with gamma fixed at 1.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { setup, randArray, relL2 } from './helpers.js';
import { Tensor, noGrad } from '../src/index.js';
import { inceptionV3, denseNet121, type Model } from '../src/models/index.js';
import {
  Module,
  Sequential,
  Concat,
  Conv2d,
  BatchNorm,
  Dense,
  ReLU,
  Sigmoid,
  MaxPool2d,
  AvgPool2d,
  GlobalAvgPool2d,
  ZeroPad2d,
  Dropout,
  Flatten,
  Identity,
  BAM,
  type StateDict,
} from '../src/layers/index.js';

/** x * (1 + sigmoid(mc + ms)) or x * (1 + sigmoid(mc * ms)) as a tfjs layer. */
class BamCombineLayer extends tfl.layers.Layer {
  static className = 'OssifyBamCombineTest';
  constructor(private readonly mode: 'sum' | 'product') {
    super({});
  }
  override computeOutputShape(s: tfl.Shape[]): tfl.Shape {
    return s[0];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, mc, ms] = inputs as tf.Tensor[];
      const a = this.mode === 'sum' ? tf.add(mc, ms) : tf.mul(mc, ms);
      return tf.mul(x, tf.add(1, tf.sigmoid(a)));
    });
  }
}

type Sym = tfl.SymbolicTensor;
const pairOf = (v: number | readonly [number, number] | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

/** Rebuild our module tree as a tfjs functional graph; returns the output and (our layer, tfjs layer) pairs. */
function convert(m: Module, x: Sym, pairs: [Module, tfl.layers.Layer][]): Sym {
  const apply = (l: tfl.layers.Layer, input: Sym | Sym[]) => l.apply(input) as Sym;
  if (m instanceof BAM) {
    const C = m.channels;
    const mc = apply(tfl.layers.reshape({ targetShape: [1, 1, C] }), convert(m.channelGate, x, pairs));
    const ms = convert(m.spatialGate, x, pairs);
    return apply(new BamCombineLayer(m.options.combine), [x, mc, ms]);
  }
  if (m instanceof Sequential) return m.childModules().reduce((s, c) => convert(c, s, pairs), x);
  if (m instanceof Concat)
    return apply(
      tfl.layers.concatenate({ axis: -1 }),
      m.childModules().map((b) => convert(b, x, pairs)),
    );
  if (m instanceof Identity || m instanceof Dropout) return x;
  if (m instanceof Conv2d) {
    const o = m.opts;
    let input = x;
    let padding: 'same' | 'valid' = 'valid';
    if (o.padding === 'same') padding = 'same';
    else if (Array.isArray(o.padding)) {
      const [t, b, l, r] = o.padding as number[];
      input = apply(
        tfl.layers.zeroPadding2d({
          padding: [
            [t, b],
            [l, r],
          ],
        }),
        x,
      );
    }
    const l = tfl.layers.conv2d({
      filters: o.filters,
      kernelSize: m.kernel.shape.slice(0, 2) as [number, number],
      strides: [...pairOf(o.strides)],
      dilationRate: pairOf(o.dilation),
      padding,
      useBias: !!m.bias,
    });
    pairs.push([m, l]);
    return apply(l, input);
  }
  if (m instanceof BatchNorm) {
    const l = tfl.layers.batchNormalization({
      axis: -1,
      momentum: m.momentum,
      epsilon: m.epsilon,
      scale: true,
      center: !!m.beta,
    });
    pairs.push([m, l]);
    return apply(l, x);
  }
  if (m instanceof Dense) {
    const l = tfl.layers.dense({ units: m.units, useBias: !!m.bias });
    pairs.push([m, l]);
    return apply(l, x);
  }
  if (m instanceof ReLU) return apply(tfl.layers.activation({ activation: 'relu' }), x);
  if (m instanceof Sigmoid) return apply(tfl.layers.activation({ activation: 'sigmoid' }), x);
  if (m instanceof MaxPool2d)
    return apply(tfl.layers.maxPooling2d({ poolSize: m.poolSize, strides: m.strides, padding: m.padding }), x);
  if (m instanceof AvgPool2d)
    return apply(tfl.layers.averagePooling2d({ poolSize: m.poolSize, strides: m.strides, padding: m.padding }), x);
  if (m instanceof GlobalAvgPool2d) return apply(tfl.layers.globalAveragePooling2d({}), x);
  if (m instanceof Flatten) return apply(tfl.layers.flatten(), x);
  if (m instanceof ZeroPad2d) {
    const [t, b, l, r] = m.padding;
    return apply(
      tfl.layers.zeroPadding2d({
        padding: [
          [t, b],
          [l, r],
        ],
      }),
      x,
    );
  }
  throw new Error(`no tfjs conversion for ${m}`);
}

/** Random BN statistics, betas and gammas (so inference mode is not an identity), written into the model. */
function randomizeNorms(m: Model, seed: number): void {
  const sd: StateDict = {};
  let i = 0;
  for (const [k, t] of [...m.namedParameters(), ...m.namedBuffers()]) {
    const lo = k.endsWith('moving_variance') || k.endsWith('gamma') ? 0.6 : -0.3;
    const hi = k.endsWith('moving_variance') || k.endsWith('gamma') ? 1.4 : 0.3;
    if (k.endsWith('.kernel') || k.endsWith('.bias')) continue;
    sd[k] = { shape: [...t.shape], data: Float32Array.from(randArray(t.size, seed + i++, lo, hi)) };
  }
  m.loadStateDict(sd, { strict: false });
}

async function parity(m: Model, modes: boolean[] = [false, true]): Promise<void> {
  randomizeNorms(m, 40);
  const S = m.config.inputSize;
  const input = tfl.input({ shape: [S, S, 3] });
  const pairs: [Module, tfl.layers.Layer][] = [];
  const tm = tfl.model({ inputs: input, outputs: convert(m, input, pairs) });
  const sd = await m.stateDict();
  for (const [ours, theirs] of pairs) {
    const w = (n: string) => sd[`${ours.name}.${n}`];
    const t = (d: { shape: number[]; data: Float32Array }) => tf.tensor(d.data, d.shape);
    if (ours instanceof BatchNorm) {
      const C = ours.channels;
      theirs.setWeights([
        w('gamma') ? t(w('gamma')) : tf.ones([C]),
        ...(ours.beta ? [t(w('beta'))] : []),
        t(w('moving_mean')),
        t(w('moving_variance')),
      ]);
    } else theirs.setWeights([t(w('kernel')), ...(w('bias') ? [t(w('bias'))] : [])]);
  }
  const xv = Float32Array.from(randArray(2 * S * S * 3, 77));
  const x = Tensor.from(xv, [2, S, S, 3]);
  const tx = tf.tensor(xv, [2, S, S, 3]);
  for (const training of modes) {
    m.train(training);
    const ours = await noGrad(() => m.forward(x)).read();
    const theirs = await (tm.apply(tx, { training }) as tf.Tensor).data();
    const err = relL2(ours, theirs);
    expect(
      err,
      `${m.name} logits, ${training ? 'training' : 'inference'} mode: ours ${[...ours]} tfjs ${[...theirs]}`,
    ).toBeLessThanOrEqual(1e-3);
    expect(ours.every(Number.isFinite)).toBe(true);
  }
  x.dispose();
  m.dispose();
}

describe('parity with TensorFlow.js layers (CPU)', () => {
  beforeAll(async () => {
    await setup();
    await tf.setBackend('cpu');
  });

  it('InceptionV3 (107x107, width 0.25, BAM sum at the default positions) logits match in both modes', async () => {
    await parity(inceptionV3({ numClasses: 2, inputSize: 107, widthMultiplier: 0.25, bam: true, seed: 3 }));
  });

  // At 75x75 the 8x8 stage is 1x1: training-mode BN there normalises 2 values per channel (batch 2),
  // which amplifies float32 rounding differences between any two implementations (measured: relative
  // error 8e-3 in training mode, both engines agreeing with each other at 107 and 139). Inference only.
  it('InceptionV3 (75x75, width 0.25, BAM) logits match in inference mode', async () => {
    await parity(inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.25, bam: true, seed: 5 }), [false]);
  });

  it('DenseNet121 (32x32, width 0.25, BAM product + final BNs) logits match', async () => {
    await parity(
      denseNet121({
        numClasses: 2,
        inputSize: 32,
        widthMultiplier: 0.25,
        bam: { combine: 'product', finalBN: true },
        seed: 4,
      }),
    );
  });
});
