/**
 * Independent oracle: pooling, batch normalization and softmax cross-entropy against TensorFlow.js's CPU
 * backend, forward and gradients (tf.grads through the same computation).
 */
import { describe, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients (the tfjs umbrella package imports them).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { Tensor, swish } from '../src/index.js';
import { maxPool2d, avgPool2d } from '../src/kernels/pool.js';
import { batchNorm } from '../src/kernels/batchnorm.js';
import { softmaxCrossEntropy } from '../src/kernels/loss.js';
import { setup, randArray, expectClose, gpuGrads, numel, rng } from './helpers.js';

beforeAll(async () => {
  await setup();
  await tf.setBackend('cpu');
});

/** Values and gradients of sum(f(inputs) * w) in tfjs. */
async function tfGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: { data: ArrayLike<number>; shape: number[] }[],
  w: ArrayLike<number>,
) {
  const ts = inputs.map((i) => tf.tensor(Float32Array.from(i.data), i.shape));
  const y = f(...ts);
  const wt = tf.tensor(Float32Array.from(w), y.shape);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), wt)))(ts);
  return { out: await y.data(), grads: await Promise.all(grads.map((g) => g.data())) };
}

describe('oracle: swish vs tfjs-cpu (x * sigmoid(x))', () => {
  it('forward and gradient on an odd shape', async () => {
    const shape = [3, 5, 7];
    const x = randArray(numel(shape), 21, -8, 8);
    const w = randArray(numel(shape), 22);
    const want = await tfGrads((t) => tf.mul(t, tf.sigmoid(t)), [{ data: x, shape }], w);
    const got = await gpuGrads((t) => swish(t), [{ data: x, shape }], w);
    expectClose(got.out, want.out, { atol: 1e-6, rtol: 1e-5, what: 'y' });
    expectClose(got.grads[0], want.grads[0], { atol: 1e-6, rtol: 1e-5, what: 'dx' });
  });
});

describe('oracle: pooling vs tfjs-cpu', () => {
  const cases = [
    {
      name: "avgPool 3x3 stride 1 'same' (tf excludes padding)",
      shape: [2, 7, 6, 3],
      max: false,
      k: 3,
      s: 1,
      pad: 'same',
    },
    { name: "avgPool 3x3 stride 2 'same'", shape: [2, 8, 7, 3], max: false, k: 3, s: 2, pad: 'same' },
    { name: "maxPool 3x3 stride 2 'same'", shape: [2, 9, 8, 4], max: true, k: 3, s: 2, pad: 'same' },
    { name: "maxPool 3x3 stride 2 'valid'", shape: [1, 9, 10, 3], max: true, k: 3, s: 2, pad: 'valid' },
  ] as const;
  for (const c of cases) {
    it(`${c.name}: forward and gradient`, async () => {
      const tfPool = (t: tf.Tensor) =>
        c.max ? tf.maxPool(t as tf.Tensor4D, c.k, c.s, c.pad) : tf.avgPool(t as tf.Tensor4D, c.k, c.s, c.pad);
      const x = randArray(numel(c.shape), 3);
      const yShape = tfPool(tf.tensor(Float32Array.from(x), [...c.shape])).shape;
      const w = randArray(numel(yShape), 4);
      const want = await tfGrads(tfPool, [{ data: x, shape: [...c.shape] }], w);
      const o = { size: c.k, stride: c.s, padding: c.pad };
      const got = await gpuGrads((t) => (c.max ? maxPool2d(t, o) : avgPool2d(t, o)), [{ data: x, shape: c.shape }], w);
      expectClose(got.out, want.out, { atol: 1e-6, rtol: 1e-5, what: 'y' });
      if (c.max) {
        expectClose(got.grads[0], want.grads[0], { atol: 1e-6, rtol: 1e-5, what: 'dx' });
        return;
      }
      // tfjs-cpu's AvgPoolGrad divides by the full window even where its forward pass excluded padded
      // cells (TensorFlow's own AvgPoolGrad does not), so tf.grads(tf.avgPool) is not the adjoint of
      // tf.avgPool with 'same' padding. The oracle for our gradient is the same average written as a
      // differentiable composite in tfjs: a depthwise box-filter sum divided by the count of real cells.
      const box = tf.ones([c.k, c.k, c.shape[3], 1]) as tf.Tensor4D;
      const count = tf.depthwiseConv2d(tf.ones([...c.shape]) as tf.Tensor4D, box, c.s, c.pad);
      const composite = await tfGrads(
        (t) => tf.div(tf.depthwiseConv2d(t as tf.Tensor4D, box, c.s, c.pad), count),
        [{ data: x, shape: [...c.shape] }],
        w,
      );
      expectClose(composite.out, want.out, { atol: 1e-6, rtol: 1e-5, what: 'tfjs composite forward = tf.avgPool' });
      expectClose(got.grads[0], composite.grads[0], { atol: 1e-6, rtol: 1e-5, what: 'dx' });
      // And tfjs's own avgPool gradient is exactly the count-include-pad (PyTorch) gradient.
      const inc = await gpuGrads(
        (t) => avgPool2d(t, { ...o, countIncludePad: true }),
        [{ data: x, shape: c.shape }],
        w,
      );
      expectClose(inc.grads[0], want.grads[0], {
        atol: 1e-6,
        rtol: 1e-5,
        what: 'countIncludePad dx = tfjs avgPool grad',
      });
    });
  }
});

describe('oracle: batchNorm vs tfjs-cpu (tf.moments + tf.batchNorm)', () => {
  for (const shape of [
    [3, 5, 4, 6],
    [7, 9],
  ]) {
    it(`training ${shape.join('x')}: forward and gradients for x, gamma, beta`, async () => {
      const C = shape[shape.length - 1];
      const axes = shape.slice(0, -1).map((_, i) => i);
      const x = randArray(numel(shape), 5, -2, 3);
      const gamma = randArray(C, 6, 0.5, 1.5);
      const beta = randArray(C, 7, -0.5, 0.5);
      const w = randArray(numel(shape), 8);
      const eps = 1e-3;
      const want = await tfGrads(
        (xt, gt, bt) => {
          const { mean, variance } = tf.moments(xt, axes);
          return tf.batchNorm(xt, mean, variance, bt, gt, eps);
        },
        [
          { data: x, shape },
          { data: gamma, shape: [C] },
          { data: beta, shape: [C] },
        ],
        w,
      );
      const mm = Tensor.zeros([C]);
      const mv = Tensor.ones([C]);
      const got = await gpuGrads(
        (xt, gt, bt) =>
          batchNorm(xt, { gamma: gt, beta: bt, movingMean: mm, movingVar: mv, training: true, epsilon: eps }),
        [
          { data: x, shape },
          { data: gamma, shape: [C] },
          { data: beta, shape: [C] },
        ],
        w,
      );
      expectClose(got.out, want.out, { atol: 1e-5, rtol: 1e-4, what: 'y' });
      expectClose(got.grads[0], want.grads[0], { atol: 1e-4, rtol: 1e-3, what: 'dx' });
      expectClose(got.grads[1], want.grads[1], { atol: 1e-4, rtol: 1e-4, what: 'dgamma' });
      expectClose(got.grads[2], want.grads[2], { atol: 1e-4, rtol: 1e-4, what: 'dbeta' });
      // The moving statistics follow Keras: 0.99 * old + 0.01 * batch (biased variance from tf.moments).
      const m = tf.moments(tf.tensor(Float32Array.from(x), shape), axes);
      const mean = await m.mean.data();
      const variance = await m.variance.data();
      expectClose(
        await mm.read(),
        Array.from(mean, (v) => 0.01 * v),
        { atol: 1e-6, rtol: 1e-4, what: 'movingMean' },
      );
      expectClose(
        await mv.read(),
        Array.from(variance, (v) => 0.99 + 0.01 * v),
        { atol: 1e-6, rtol: 1e-4, what: 'movingVar' },
      );
    });
  }
});

describe('oracle: softmaxCrossEntropy vs tf.losses.softmaxCrossEntropy', () => {
  for (const weighted of [false, true]) {
    it(`${weighted ? 'with class weights (as per-sample weights)' : 'unweighted'}: loss and dlogits`, async () => {
      const N = 6;
      const C = 4;
      const r = rng(11);
      const labels = new Float64Array(N * C);
      for (let i = 0; i < N; i++) labels[i * C + Math.floor(r() * C)] = 1;
      const z = randArray(N * C, 12, -5, 5);
      z[0] = 1000; // extreme logit stays finite in both
      const cw = [0.5, 2, 1, 3];
      const sampleW = Array.from({ length: N }, (_, i) => cw.reduce((s, v, c) => s + v * labels[i * C + c], 0));
      const lt = tf.tensor(Float32Array.from(labels), [N, C]);
      const wt = weighted ? tf.tensor(sampleW, [N]) : undefined;
      // tf's default reduction SUM_BY_NONZERO_WEIGHTS divides by N when every weight is nonzero: Keras's
      // SUM_OVER_BATCH_SIZE.
      const f = (logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(lt, logits, wt);
      const zt = tf.tensor(Float32Array.from(z), [N, C]);
      const wantLoss = (await f(zt).data())[0];
      const wantGrad = await tf.grad(f)(zt).data();
      const zg = Tensor.from(Float32Array.from(z), [N, C], { requiresGrad: true });
      const loss = softmaxCrossEntropy(
        zg,
        Tensor.from(Float32Array.from(labels), [N, C]),
        weighted ? { classWeights: cw } : {},
      );
      const { backward } = await import('../src/index.js');
      backward(loss);
      expectClose([await loss.item()], [wantLoss], { atol: 1e-4, rtol: 1e-5, what: 'loss' });
      expectClose(await zg.grad!.read(), wantGrad, { atol: 1e-6, rtol: 1e-4, what: 'dlogits' });
    });
  }
});
