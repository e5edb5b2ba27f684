/**
 * The peers' whole models: Keras InceptionV3 and DenseNet121 (keras.applications layouts) and timm's
 * inception_v4 rebuilt with
 * the tfjs-layers functional API, with optional BAM modules (official-code layout: channel gate
 * GAP -> Dense C/16 -> BN -> ReLU -> Dense C; spatial gate 1x1 conv C/16 -> BN -> ReLU -> 2 x (3x3 conv,
 * dilation 4) -> BN -> ReLU -> 1x1 conv to 1) combined as ossify's default does: the paper's
 * F * (1 + sigmoid(Mc + Ms)), no final BNs, BN momentum 0.99 / epsilon 1e-3 (src/layers/bam.ts).
 *
 * Differences from Keras, forced by tfjs: InceptionV3's BatchNormalization uses `scale: true` (tfjs-layers
 * crashes in training with scale: false, tensorflow/tfjs#2868); the extra gamma starts at 1.
 * BAM placement as ossify's defaults: DenseNet121 after dense blocks 1-3 (`conv2`..`conv4`: C = 256, 512,
 * 1024, before each transition); InceptionV3 after `activation_4` (the 192-channel stem output, before
 * its max pool), `mixed2` (C = 288) and `mixed7` (C = 768).
 *
 * EfficientNetB1 / EfficientNetV2B2 are not rebuilt by hand: `tfFromOssify` converts ossify's module tree
 * (src/models/efficientnet.ts, Keras's layout) layer for layer, the one builder both the benchmark rows and
 * test/parity-efficientnet.test.ts use (the test copies ossify's weights in and compares logits and gradients).
 */
import type * as TF from '@tensorflow/tfjs-core';
import type * as TFL from '@tensorflow/tfjs-layers';
import {
  Module,
  Sequential,
  Residual,
  SqueezeExcite,
  Conv2d,
  DepthwiseConv2d,
  BatchNorm,
  Dense,
  Swish,
  Sigmoid,
  GlobalAvgPool2d,
  ZeroPad2d,
  Dropout,
  Rescaling,
  Normalization,
  Reshape,
  BAM,
  type StateDict,
} from '../../src/index.js';

type L = typeof TFL;
type Sym = TFL.SymbolicTensor;

function bnRelu(tfl: L, x: Sym, eps: number): Sym {
  const y = tfl.layers.batchNormalization({ axis: 3, epsilon: eps, momentum: 0.99, scale: true }).apply(x) as Sym;
  return tfl.layers.activation({ activation: 'relu' }).apply(y) as Sym;
}

/** BAM (Park et al., 2018): F * (1 + sigmoid(Mc + Ms)), Mc [N,1,1,C] and Ms [N,H,W,1] broadcast. */
export function tfBam(tfl: L, x: Sym, channels: number, r = 16): Sym {
  const cr = Math.max(1, Math.floor(channels / r));
  // Channel gate.
  let c = tfl.layers.globalAveragePooling2d({}).apply(x) as Sym;
  c = tfl.layers.dense({ units: cr }).apply(c) as Sym;
  c = tfl.layers.batchNormalization({ epsilon: 1e-3, momentum: 0.99 }).apply(c) as Sym;
  c = tfl.layers.activation({ activation: 'relu' }).apply(c) as Sym;
  c = tfl.layers.dense({ units: channels }).apply(c) as Sym;
  c = tfl.layers.reshape({ targetShape: [1, 1, channels] }).apply(c) as Sym;
  // Spatial gate.
  let s = tfl.layers.conv2d({ filters: cr, kernelSize: 1 }).apply(x) as Sym;
  s = bnRelu(tfl, s, 1e-3);
  for (let i = 0; i < 2; i++) {
    s = tfl.layers.conv2d({ filters: cr, kernelSize: 3, padding: 'same', dilationRate: 4 }).apply(s) as Sym;
    s = bnRelu(tfl, s, 1e-3);
  }
  s = tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(s) as Sym;
  const att = tfl.layers.activation({ activation: 'sigmoid' }).apply(tfl.layers.add().apply([c, s]) as Sym) as Sym;
  return tfl.layers.add().apply([x, tfl.layers.multiply().apply([x, att]) as Sym]) as Sym;
}

/** Keras InceptionV3 (include_top=False, GAP, Dense(classes) logits) at `size` x `size` x 3. */
export function tfInceptionV3(tfl: L, size: number, classes: number, bam: boolean): TFL.LayersModel {
  const cbr = (x: Sym, f: number, kh: number, kw: number, padding: 'same' | 'valid' = 'same', stride = 1): Sym => {
    const y = tfl.layers
      .conv2d({ filters: f, kernelSize: [kh, kw], strides: stride, padding, useBias: false })
      .apply(x) as Sym;
    return bnRelu(tfl, y, 1e-3);
  };
  const avg = (x: Sym): Sym =>
    tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as Sym;
  const max = (x: Sym): Sym => tfl.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as Sym;
  const cat = (xs: Sym[]): Sym => tfl.layers.concatenate({ axis: 3 }).apply(xs) as Sym;
  const input = tfl.input({ shape: [size, size, 3] });
  let x = cbr(input, 32, 3, 3, 'valid', 2);
  x = cbr(x, 32, 3, 3, 'valid');
  x = cbr(x, 64, 3, 3);
  x = max(x);
  x = cbr(x, 80, 1, 1, 'valid');
  x = cbr(x, 192, 3, 3, 'valid');
  if (bam) x = tfBam(tfl, x, 192);
  x = max(x);
  for (const pf of [32, 64, 64]) {
    const b1 = cbr(x, 64, 1, 1);
    const b5 = cbr(cbr(x, 48, 1, 1), 64, 5, 5);
    const b3 = cbr(cbr(cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
    const bp = cbr(avg(x), pf, 1, 1);
    x = cat([b1, b5, b3, bp]);
  }
  if (bam) x = tfBam(tfl, x, 288);
  {
    const b3 = cbr(x, 384, 3, 3, 'valid', 2);
    const bd = cbr(cbr(cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 'valid', 2);
    x = cat([b3, bd, max(x)]);
  }
  for (const c of [128, 160, 160, 192]) {
    const b1 = cbr(x, 192, 1, 1);
    const b7 = cbr(cbr(cbr(x, c, 1, 1), c, 1, 7), 192, 7, 1);
    const bd = cbr(cbr(cbr(cbr(cbr(x, c, 1, 1), c, 7, 1), c, 1, 7), c, 7, 1), 192, 1, 7);
    const bp = cbr(avg(x), 192, 1, 1);
    x = cat([b1, b7, bd, bp]);
  }
  if (bam) x = tfBam(tfl, x, 768);
  {
    const b3 = cbr(cbr(x, 192, 1, 1), 320, 3, 3, 'valid', 2);
    const b7 = cbr(cbr(cbr(cbr(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 'valid', 2);
    x = cat([b3, b7, max(x)]);
  }
  for (let i = 0; i < 2; i++) {
    const b1 = cbr(x, 320, 1, 1);
    const b3 = cbr(x, 384, 1, 1);
    const b3c = cat([cbr(b3, 384, 1, 3), cbr(b3, 384, 3, 1)]);
    const bd = cbr(cbr(x, 448, 1, 1), 384, 3, 3);
    const bdc = cat([cbr(bd, 384, 1, 3), cbr(bd, 384, 3, 1)]);
    const bp = cbr(avg(x), 192, 1, 1);
    x = cat([b1, b3c, bdc, bp]);
  }
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const out = tfl.layers.dense({ units: classes }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

/**
 * timm's inception_v4 (features, GAP, Linear(classes) logits) at `size` x `size` x 3, as ossify builds it
 * (src/models/inception_v4.ts): its explicit paddings are either 0 ('valid') or keep a stride-1 map's size
 * ('same' is the same symmetric padding there); branch average pools leave the padding out of the divisor
 * (timm's count_include_pad=False, tfjs's 'same'); BN epsilon 1e-3 with gamma; BAM after Mixed4a (C = 192),
 * the last Inception-A (384) and the last Inception-B (1024). Inputs under 75 px are zero-padded to 75.
 */
export function tfInceptionV4(tfl: L, size: number, classes: number, bam: boolean): TFL.LayersModel {
  const cbr = (x: Sym, f: number, kh: number, kw = kh, padding: 'same' | 'valid' = 'same', stride = 1): Sym => {
    const y = tfl.layers
      .conv2d({ filters: f, kernelSize: [kh, kw], strides: stride, padding, useBias: false })
      .apply(x) as Sym;
    return bnRelu(tfl, y, 1e-3);
  };
  const valid = (x: Sym, f: number, stride = 1): Sym => cbr(x, f, 3, 3, 'valid', stride);
  const avg = (x: Sym): Sym =>
    tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as Sym;
  const max = (x: Sym): Sym => tfl.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as Sym;
  const cat = (xs: Sym[]): Sym => tfl.layers.concatenate({ axis: 3 }).apply(xs) as Sym;
  const input = tfl.input({ shape: [size, size, 3] });
  let x: Sym = input;
  if (size < 75) {
    const [a, b] = [Math.floor((75 - size) / 2), Math.ceil((75 - size) / 2)];
    x = tfl.layers
      .zeroPadding2d({
        padding: [
          [a, b],
          [a, b],
        ],
      })
      .apply(x) as Sym;
  }
  x = cbr(valid(valid(x, 32, 2), 32), 64, 3);
  x = cat([max(x), valid(x, 96, 2)]);
  x = cat([valid(cbr(x, 64, 1), 96), valid(cbr(cbr(cbr(x, 64, 1), 64, 1, 7), 64, 7, 1), 96)]);
  if (bam) x = tfBam(tfl, x, 192);
  x = cat([valid(x, 192, 2), max(x)]);
  for (let i = 0; i < 4; i++)
    x = cat([cbr(x, 96, 1), cbr(cbr(x, 64, 1), 96, 3), cbr(cbr(cbr(x, 64, 1), 96, 3), 96, 3), cbr(avg(x), 96, 1)]);
  if (bam) x = tfBam(tfl, x, 384);
  x = cat([valid(x, 384, 2), valid(cbr(cbr(x, 192, 1), 224, 3), 256, 2), max(x)]);
  for (let i = 0; i < 7; i++) {
    const b1 = cbr(cbr(cbr(x, 192, 1), 224, 1, 7), 256, 7, 1);
    const b2 = cbr(cbr(cbr(cbr(cbr(x, 192, 1), 192, 7, 1), 224, 1, 7), 224, 7, 1), 256, 1, 7);
    x = cat([cbr(x, 384, 1), b1, b2, cbr(avg(x), 128, 1)]);
  }
  if (bam) x = tfBam(tfl, x, 1024);
  x = cat([valid(cbr(x, 192, 1), 192, 2), valid(cbr(cbr(cbr(x, 256, 1), 256, 1, 7), 320, 7, 1), 320, 2), max(x)]);
  for (let i = 0; i < 3; i++) {
    const b1 = cbr(x, 384, 1);
    const b2 = cbr(cbr(cbr(x, 384, 1), 448, 3, 1), 512, 1, 3);
    const b1c = cat([cbr(b1, 256, 1, 3), cbr(b1, 256, 3, 1)]);
    const b2c = cat([cbr(b2, 256, 1, 3), cbr(b2, 256, 3, 1)]);
    x = cat([cbr(x, 256, 1), b1c, b2c, cbr(avg(x), 256, 1)]);
  }
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const out = tfl.layers.dense({ units: classes }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

/** Keras DenseNet121 (include_top=False, GAP, Dense(classes) logits) at `size` x `size` x 3. */
export function tfDenseNet121(tfl: L, size: number, classes: number, bam: boolean): TFL.LayersModel {
  const eps = 1.001e-5;
  const conv = (x: Sym, f: number, k: number, stride = 1, padding: 'same' | 'valid' = 'same'): Sym =>
    tfl.layers.conv2d({ filters: f, kernelSize: k, strides: stride, padding, useBias: false }).apply(x) as Sym;
  const input = tfl.input({ shape: [size, size, 3] });
  let x = tfl.layers.zeroPadding2d({ padding: 3 }).apply(input) as Sym;
  x = bnRelu(tfl, conv(x, 64, 7, 2, 'valid'), eps);
  x = tfl.layers.zeroPadding2d({ padding: 1 }).apply(x) as Sym;
  x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as Sym;
  let channels = 64;
  const blocks = [6, 12, 24, 16];
  blocks.forEach((n, bi) => {
    for (let i = 0; i < n; i++) {
      const y = conv(bnRelu(tfl, conv(bnRelu(tfl, x, eps), 128, 1), eps), 32, 3);
      x = tfl.layers.concatenate({ axis: 3 }).apply([x, y]) as Sym;
      channels += 32;
    }
    if (bi < blocks.length - 1) {
      if (bam) x = tfBam(tfl, x, channels);
      channels = Math.floor(channels / 2);
      x = conv(bnRelu(tfl, x, eps), channels, 1);
      x = tfl.layers.averagePooling2d({ poolSize: 2, strides: 2 }).apply(x) as Sym;
    }
  });
  x = bnRelu(tfl, x, eps);
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const out = tfl.layers.dense({ units: classes }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

/** Keras's Normalization, y = (x - mean) / max(sqrt(variance), 1e-7), with fixed statistics (one class per tfjs). */
const normalizationClasses = new WeakMap<
  object,
  new (mean: Float32Array, variance: Float32Array) => TFL.layers.Layer
>();
function normalizationLayer(tf: typeof TF, tfl: L, mean: Float32Array, variance: Float32Array): TFL.layers.Layer {
  let Cls = normalizationClasses.get(tfl);
  if (!Cls) {
    Cls = class NormalizationLayer extends tfl.layers.Layer {
      static className = 'OssifyNormalization';
      constructor(
        private readonly mean: Float32Array,
        private readonly variance: Float32Array,
      ) {
        super({});
      }
      override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
        return tf.tidy(() => {
          const x = Array.isArray(inputs) ? inputs[0] : inputs;
          const sd = tf.maximum(tf.sqrt(tf.tensor1d(this.variance)), 1e-7);
          return tf.div(tf.sub(x, tf.tensor1d(this.mean)), sd);
        });
      }
    };
    normalizationClasses.set(tfl, Cls);
  }
  return new Cls(mean, variance);
}

const pair = (v: number | readonly [number, number] | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

/**
 * An ossify EfficientNet module tree (src/models/efficientnet.ts) as a tfjs-layers functional graph, layer for
 * layer as Keras builds it: DepthwiseConv2D, Conv2D (the SE gate's swish / sigmoid riding on its convolution),
 * BatchNormalization with the module's momentum and epsilon, Add, Multiply, Rescaling, ZeroPadding2D, and a
 * Normalization layer with the statistics of `sd` (`normalization.mean` / `.variance`; absent: the ImageNet
 * constants). `pairs` collects (our layer, tfjs layer) for every layer with weights, so that a caller can copy
 * our weights in (test/parity-efficientnet.test.ts). BAM modules become {@link tfBam} (fresh weights, not
 * paired). Dropout must have rate 0 and drop connect 0 (both are random in each engine).
 */
export function tfFromOssify(
  tf: typeof TF,
  tfl: L,
  m: Module,
  x: Sym,
  pairs: [Module, TFL.layers.Layer][],
  sd: StateDict,
): Sym {
  const apply = (l: TFL.layers.Layer, input: Sym | Sym[]): Sym => l.apply(input) as Sym;
  const withWeights = (l: TFL.layers.Layer, input: Sym): Sym => (pairs.push([m, l]), apply(l, input));
  const rec = (k: Module, input: Sym): Sym => tfFromOssify(tf, tfl, k, input, pairs, sd);
  const padding = (p: unknown): 'same' | 'valid' => {
    if (p === 'same' || p === undefined || p === 'valid') return p ?? 'valid';
    throw new Error(`ossify: explicit padding ${String(p)}: EfficientNet pads with ZeroPadding2D`);
  };
  const conv = (c: Conv2d, input: Sym, activation?: 'swish' | 'sigmoid'): Sym => {
    const o = c.opts;
    const l = tfl.layers.conv2d({
      filters: o.filters,
      kernelSize: c.kernel.shape.slice(0, 2) as [number, number],
      strides: pair(o.strides),
      padding: padding(o.padding),
      useBias: !!c.bias,
      activation,
    });
    pairs.push([c, l]);
    return apply(l, input);
  };
  if (m instanceof Residual) return apply(tfl.layers.add(), [rec(m.branch, x), x]);
  if (m instanceof SqueezeExcite) return apply(tfl.layers.multiply(), [x, rec(m.gate, x)]);
  if (m instanceof BAM) {
    if (m.options.combine !== 'sum' || m.options.finalBN)
      throw new Error("ossify: tfBam builds BAM's default (combine 'sum', no final BNs)");
    return tfBam(tfl, x, m.channels, m.options.reduction);
  }
  if (m instanceof Sequential) {
    // Keras's Conv2D(activation=...) in the SE gate: the activation rides on the convolution.
    const kids = m.childModules();
    let s = x;
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i];
      const next = kids[i + 1];
      if (k instanceof Conv2d && next?.hidden && (next instanceof Swish || next instanceof Sigmoid)) {
        s = conv(k, s, next instanceof Swish ? 'swish' : 'sigmoid');
        i++;
      } else s = rec(k, s);
    }
    return s;
  }
  if (m instanceof Conv2d) return conv(m, x);
  if (m instanceof DepthwiseConv2d) {
    const o = m.opts;
    const l = tfl.layers.depthwiseConv2d({
      kernelSize: m.depthwiseKernel.shape.slice(0, 2) as [number, number],
      depthMultiplier: m.depthwiseKernel.shape[3],
      strides: pair(o.strides),
      padding: padding(o.padding),
      useBias: !!m.bias,
    });
    return withWeights(l, x);
  }
  if (m instanceof BatchNorm)
    return withWeights(tfl.layers.batchNormalization({ axis: -1, momentum: m.momentum, epsilon: m.epsilon }), x);
  if (m instanceof Dense) return withWeights(tfl.layers.dense({ units: m.units, useBias: !!m.bias }), x);
  if (m instanceof Swish) return apply(tfl.layers.activation({ activation: 'swish' }), x);
  if (m instanceof Sigmoid) return apply(tfl.layers.activation({ activation: 'sigmoid' }), x);
  if (m instanceof GlobalAvgPool2d) return apply(tfl.layers.globalAveragePooling2d({}), x);
  if (m instanceof Reshape) return apply(tfl.layers.reshape({ targetShape: [...m.targetShape] }), x);
  if (m instanceof Dropout) {
    if (m.rate !== 0) throw new Error('ossify: tfFromOssify needs rate-0 dropout (dropout is random in each engine)');
    return x;
  }
  if (m instanceof Rescaling) {
    if (typeof m.scale !== 'number' || typeof m.offset !== 'number') throw new Error('ossify: scalar rescaling only');
    return apply(tfl.layers.rescaling({ scale: m.scale, offset: m.offset }), x);
  }
  if (m instanceof Normalization) {
    const mean = sd[`${m.name}.mean`]?.data;
    const variance = sd[`${m.name}.variance`]?.data;
    if (mean && variance) return apply(normalizationLayer(tf, tfl, mean, variance), x);
    // Fixed statistics (EfficientNetV2, or a bench model with no state dict read): Keras's ImageNet constants.
    const c = m.channels;
    const fixedMean = Float32Array.from([0.485, 0.456, 0.406].slice(0, c));
    const fixedVar = Float32Array.from([0.229 ** 2, 0.224 ** 2, 0.225 ** 2].slice(0, c));
    return apply(normalizationLayer(tf, tfl, fixedMean, fixedVar), x);
  }
  if (m instanceof ZeroPad2d) {
    const [t, b, l, r] = m.padding;
    const pad: [[number, number], [number, number]] = [
      [t, b],
      [l, r],
    ];
    return apply(tfl.layers.zeroPadding2d({ padding: pad }), x);
  }
  throw new Error(`ossify: no tfjs conversion for ${String(m)}`);
}

/** An ossify EfficientNet model as a tfjs LayersModel (see {@link tfFromOssify}); fresh tfjs weights. */
export function tfEfficientNet(tf: typeof TF, tfl: L, m: Module & { config: { inputSize: number } }): TFL.LayersModel {
  const S = m.config.inputSize;
  const input = tfl.input({ shape: [S, S, 3] });
  return tfl.model({ inputs: input, outputs: tfFromOssify(tf, tfl, m, input, [], {}) });
}
