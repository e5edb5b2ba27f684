/**
 * Parity with TensorFlow.js layers (CPU backend, an independent implementation of Keras's layers) for
 * the EfficientNets: small EfficientNetB1 and EfficientNetV2B2 (every block kind: MBConv with expansion,
 * `correct_pad` and squeeze-and-excitation; Fused-MBConv with and without expansion; residual adds) are
 * rebuilt layer by layer in tfjs (DepthwiseConv2D, Conv2D with its swish / sigmoid activation,
 * GlobalAveragePooling2D, Reshape, Multiply, Add, Rescaling, a Normalization layer written here), our
 * weights copied in by name, and the logits, the input gradient and every weight gradient compared in
 * inference and in training mode (batch statistics). Stochastic depth and dropout are random in both
 * engines, so these models are built with rates 0.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { setup, randArray, relL2 } from './helpers.js';
import {
  Tensor,
  tidy,
  backward,
  noGrad,
  efficientNetB1,
  efficientNetV2B2,
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
  type Model,
  type StateDict,
} from '../src/index.js';

/** Keras's Normalization, y = (x - mean) / max(sqrt(variance), 1e-7), with fixed statistics. */
class NormalizationLayer extends tfl.layers.Layer {
  static className = 'OssifyNormalizationTest';
  constructor(
    private readonly mean: Float32Array,
    private readonly variance: Float32Array,
  ) {
    super({});
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.div(tf.sub(x, tf.tensor1d(this.mean)), tf.maximum(tf.sqrt(tf.tensor1d(this.variance)), 1e-7));
    });
  }
}

type Sym = tfl.SymbolicTensor;
const pair = (v: number | readonly [number, number] | undefined): [number, number] =>
  v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

/** Our module tree as a tfjs functional graph; collects (our layer, tfjs layer) pairs that hold weights. */
function convert(m: Module, x: Sym, pairs: [Module, tfl.layers.Layer][], sd: StateDict): Sym {
  const apply = (l: tfl.layers.Layer, input: Sym | Sym[]) => l.apply(input) as Sym;
  const withWeights = (l: tfl.layers.Layer, input: Sym) => (pairs.push([m, l]), apply(l, input));
  const padding = (p: unknown): 'same' | 'valid' => {
    if (p === 'same' || p === undefined || p === 'valid') return p ?? 'valid';
    throw new Error(`explicit padding ${String(p)}: EfficientNet pads with ZeroPadding2D`);
  };
  if (m instanceof Residual) return apply(tfl.layers.add(), [convert(m.branch, x, pairs, sd), x]);
  if (m instanceof SqueezeExcite) return apply(tfl.layers.multiply(), [x, convert(m.gate, x, pairs, sd)]);
  if (m instanceof Sequential) {
    // Keras's Conv2D(activation=...) in the SE gate: the activation rides on the convolution.
    const kids = m.childModules();
    let s = x;
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i];
      const next = kids[i + 1];
      if (k instanceof Conv2d && next?.hidden && (next instanceof Swish || next instanceof Sigmoid)) {
        s = convConv(k, s, next instanceof Swish ? 'swish' : 'sigmoid');
        i++;
      } else s = convert(k, s, pairs, sd);
    }
    return s;
  }
  function convConv(c: Conv2d, input: Sym, activation?: 'swish' | 'sigmoid'): Sym {
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
  }
  if (m instanceof Conv2d) return convConv(m, x);
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
    if (m.rate !== 0) throw new Error('parity needs rate-0 dropout');
    return x;
  }
  if (m instanceof Rescaling) {
    if (typeof m.scale !== 'number' || typeof m.offset !== 'number') throw new Error('scalar rescaling only');
    return apply(tfl.layers.rescaling({ scale: m.scale, offset: m.offset }), x);
  }
  if (m instanceof Normalization) {
    const mean = sd[`${m.name}.mean`]?.data;
    const variance = sd[`${m.name}.variance`]?.data;
    if (mean && variance) return apply(new NormalizationLayer(mean, variance), x);
    // Fixed statistics (EfficientNetV2): Keras's ImageNet constants.
    const c = m.channels;
    const fixedMean = Float32Array.from([0.485, 0.456, 0.406].slice(0, c));
    const fixedVar = Float32Array.from([0.229 ** 2, 0.224 ** 2, 0.225 ** 2].slice(0, c));
    return apply(new NormalizationLayer(fixedMean, fixedVar), x);
  }
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

/**
 * Random batch-norm gammas and betas and Normalization statistics, and moving statistics from this input's
 * batch (as after training: random ones make the activations of a deep residual network grow to thousands
 * in inference mode, where float32 rounding decides the gradients of any two implementations).
 */
function randomize(m: Model, x: Tensor, seed: number): void {
  let i = 0;
  const draw = (prefix: string, lo: number, hi: number): StateDict => {
    const sd: StateDict = {};
    for (const [k, t] of [...m.namedParameters(), ...m.namedBuffers()])
      if (k.startsWith(prefix) || k.endsWith(prefix))
        sd[k] = { shape: [...t.shape], data: Float32Array.from(randArray(t.size, seed + i++, lo, hi)) };
    return sd;
  };
  m.loadStateDict({ ...draw('.gamma', 0.6, 1.4), ...draw('.beta', -0.3, 0.3) }, { strict: false });
  if (m.namedBuffers().some(([k]) => k === 'normalization.mean'))
    m.loadStateDict(
      { ...draw('normalization.mean', 0.4, 0.5), ...draw('normalization.variance', 0.04, 0.06) },
      { strict: false },
    );
  // One training-mode forward with momentum 0: moving statistics = this batch's. (Spreading them even by 5%
  // is amplified by the channels of near-zero batch variance at the 2x2 maps: logits in the hundreds.)
  // Inference mode then computes the training-mode values through the other path, moving statistics and
  // their backward (no batch-statistics terms), so its gradients differ from training mode's.
  const norms = [...m.modules()].filter((l): l is BatchNorm => l instanceof BatchNorm);
  const momenta = norms.map((b) => b.momentum);
  norms.forEach((b) => ((b as { momentum: number }).momentum = 0));
  m.train();
  noGrad(() => m.forward(x)).dispose();
  norms.forEach((b, j) => ((b as { momentum: number }).momentum = momenta[j]));
}

/** tfjs weights of a layer in its order from our state dict. */
function tfWeights(ours: Module, sd: StateDict): tf.Tensor[] {
  const w = (n: string) => sd[`${ours.name}.${n}`];
  const t = (d: { shape: number[]; data: Float32Array }) => tf.tensor(d.data, d.shape);
  if (ours instanceof BatchNorm) return ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((n) => t(w(n)));
  const kernel = ours instanceof DepthwiseConv2d ? 'depthwise_kernel' : 'kernel';
  return [t(w(kernel)), ...(w('bias') ? [t(w('bias'))] : [])];
}

async function parity(m: Model): Promise<void> {
  const S = m.config.inputSize;
  const N = 2;
  const xv = Float32Array.from(randArray(N * S * S * 3, 77, 0, 255));
  const x0 = Tensor.from(xv, [N, S, S, 3]);
  randomize(m, x0, 40);
  x0.dispose();
  const sd = await m.stateDict();
  const input = tfl.input({ shape: [S, S, 3] });
  const pairs: [Module, tfl.layers.Layer][] = [];
  const tm = tfl.model({ inputs: input, outputs: convert(m, input, pairs, sd) });
  for (const [ours, theirs] of pairs) theirs.setWeights(tfWeights(ours, sd));
  const gv = Float32Array.from(randArray(N * m.config.numClasses, 78));
  for (const training of [false, true]) {
    const what = `${m.name} ${training ? 'training' : 'inference'} mode`;
    // Ours: logits and the gradients of sum(logits * g).
    m.train(training);
    const x = Tensor.from(xv, [N, S, S, 3], { requiresGrad: true });
    const out = tidy(() => m.forward(x));
    backward(out, Tensor.from(gv, out.shape));
    const ours = await out.read();
    // tfjs: the same sum, differentiated with respect to the input and every weight of the paired layers.
    const tx = tf.tensor(xv, [N, S, S, 3]);
    const tg = tf.tensor(gv, [N, m.config.numClasses]);
    const theirs = await (tm.apply(tx, { training }) as tf.Tensor).data();
    expect(relL2(ours, theirs), `${what}: logits ours ${[...ours]} tfjs ${[...theirs]}`).toBeLessThanOrEqual(1e-3);
    // One backward pass for the input (a variable here) and every weight of the paired layers.
    const xvar = tf.variable(tx, true);
    const vars = pairs.flatMap(([, l]) => l.trainableWeights.map((v) => v.read() as tf.Variable));
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.mul(tm.apply(xvar, { training }) as tf.Tensor, tg)) as tf.Scalar,
      [xvar, ...vars],
    );
    const dx = grads[xvar.name];
    expect(relL2(await x.grad!.read(), await dx.data()), `${what}: input gradient`).toBeLessThanOrEqual(1e-3);
    const checks: { key: string; want: Float32Array; p: Tensor }[] = [];
    for (const [layer, tfLayer] of pairs) {
      const names =
        layer instanceof BatchNorm
          ? ['gamma', 'beta']
          : layer instanceof DepthwiseConv2d
            ? ['depthwise_kernel', 'bias']
            : ['kernel', 'bias'];
      const params = new Map(layer.namedParameters());
      tfLayer.trainableWeights.forEach((v, i) => {
        const key = `${layer.name}.${names[i]}`;
        checks.push({
          key,
          want: grads[(v.read() as tf.Variable).name].dataSync() as Float32Array,
          p: params.get(key)!,
        });
      });
    }
    // All weight gradients together within 1e-3 (relative L2), each tensor within 1e-2 (small SE tensors sit at
    // float32's level).
    const all: number[][] = [[], []];
    for (const c of checks) {
      const got = await c.p.grad!.read();
      all[0].push(...got);
      all[1].push(...c.want);
      let norm = 0;
      for (const v of c.want) norm += v * v;
      // A batch norm's beta followed (through a 1x1 convolution) by a training-mode batch norm gets ~0:
      // compare such gradients in absolute terms.
      if (Math.sqrt(norm) < 1e-5) expect(Math.max(...got.map(Math.abs)), `${what}: ${c.key}`).toBeLessThan(1e-4);
      else expect(relL2(got, c.want), `${what}: gradient of ${c.key}`).toBeLessThanOrEqual(1e-2);
    }
    expect(relL2(all[0], all[1]), `${what}: all weight gradients`).toBeLessThanOrEqual(1e-3);
    expect(checks.length).toBe(m.parameters().length);
    m.zeroGrad();
    x.grad?.dispose();
    x.dispose();
    out.dispose();
    tf.dispose([tx, tg, xvar, ...Object.values(grads)]);
  }
  m.dispose();
}

describe('EfficientNet parity with TensorFlow.js layers (CPU): logits and gradients', () => {
  beforeAll(async () => {
    await setup();
    await tf.setBackend('cpu');
  });

  it('EfficientNetB1 (64x64, width 0.25): inference and training mode', async () => {
    await parity(
      efficientNetB1({ numClasses: 2, inputSize: 64, widthMultiplier: 0.25, dropout: 0, dropConnect: 0, seed: 2 }),
    );
  });

  it('EfficientNetV2B2 (64x64, width 0.25): inference and training mode', async () => {
    await parity(
      efficientNetV2B2({ numClasses: 2, inputSize: 64, widthMultiplier: 0.25, dropout: 0, dropConnect: 0, seed: 3 }),
    );
  });
});
