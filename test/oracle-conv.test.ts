/**
 * Independent oracle: conv2d forward and gradients against TensorFlow.js's CPU backend (tf.conv2d,
 * NHWC/HWIO, TensorFlow's 'same' rule), on a few geometries. tfjs cannot differentiate dilated
 * convolutions, so those compare the forward pass only.
 */
import { describe, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core alone registers no gradients (the tfjs umbrella package imports them).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { conv2d, type Conv2dOptions } from '../src/kernels/conv2d.js';
import { setup, randArray, expectClose, gpuGrads, numel } from './helpers.js';

interface OracleCase {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  opts: Conv2dOptions;
  /** The same convolution in tfjs: (x, w) -> y. */
  tfConv: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;
  grads: boolean;
}

const CASES: OracleCase[] = [
  {
    name: "3x3 stride 2 'same' (odd input)",
    x: [2, 9, 8, 3],
    w: [3, 3, 3, 5],
    opts: { stride: 2, padding: 'same' },
    tfConv: (x, w) => tf.conv2d(x, w, 2, 'same'),
    grads: true,
  },
  {
    name: "3x3 stride 2 'same' (even input)",
    x: [1, 8, 10, 4],
    w: [3, 3, 4, 3],
    opts: { stride: 2, padding: 'same' },
    tfConv: (x, w) => tf.conv2d(x, w, 2, 'same'),
    grads: true,
  },
  {
    name: "1x7 'same'",
    x: [1, 9, 9, 4],
    w: [1, 7, 4, 6],
    opts: { padding: 'same' },
    tfConv: (x, w) => tf.conv2d(x, w, 1, 'same'),
    grads: true,
  },
  {
    name: "7x1 'same'",
    x: [2, 9, 6, 3],
    w: [7, 1, 3, 4],
    opts: { padding: 'same' },
    tfConv: (x, w) => tf.conv2d(x, w, 1, 'same'),
    grads: true,
  },
  {
    name: 'explicit asymmetric padding [2,1,0,3] via tf.pad, stride 2',
    x: [1, 7, 8, 3],
    w: [3, 3, 3, 4],
    opts: { stride: 2, padding: [2, 1, 0, 3] },
    tfConv: (x, w) =>
      tf.conv2d(
        tf.pad(x, [
          [0, 0],
          [2, 1],
          [0, 3],
          [0, 0],
        ]),
        w,
        2,
        'valid',
      ),
    grads: true,
  },
  {
    name: "dilation 2 'same' (forward only)",
    x: [1, 10, 9, 3],
    w: [3, 3, 3, 4],
    opts: { dilation: 2, padding: 'same' },
    tfConv: (x, w) => tf.conv2d(x, w, 1, 'same', 'NHWC', 2),
    grads: false,
  },
  {
    name: 'BAM dilation 4 padding 4 via tf.pad (forward only)',
    x: [1, 11, 9, 4],
    w: [3, 3, 4, 4],
    opts: { dilation: 4, padding: [4, 4, 4, 4] },
    tfConv: (x, w) =>
      tf.conv2d(
        tf.pad(x, [
          [0, 0],
          [4, 4],
          [4, 4],
          [0, 0],
        ]),
        w,
        1,
        'valid',
        'NHWC',
        4,
      ),
    grads: false,
  },
  {
    name: 'depthwise 3x3 stride 2 same',
    x: [1, 9, 8, 4],
    w: [3, 3, 1, 4],
    opts: { groups: 4, stride: 2, padding: 'same' },
    tfConv: (x, w) => tf.depthwiseConv2d(x, tf.reshape(w, [3, 3, 4, 1]), 2, 'same'),
    grads: true,
  },
  {
    name: "depthwise 5x5 stride 2 'same' (even input), 8 channels",
    x: [2, 10, 12, 8],
    w: [5, 5, 1, 8],
    opts: { groups: 8, stride: 2, padding: 'same' },
    tfConv: (x, w) => tf.depthwiseConv2d(x, tf.reshape(w, [5, 5, 8, 1]), 2, 'same'),
    grads: true,
  },
  {
    name: "depthwise 3x3 'same', 7 channels",
    x: [2, 9, 11, 7],
    w: [3, 3, 1, 7],
    opts: { groups: 7, padding: 'same' },
    tfConv: (x, w) => tf.depthwiseConv2d(x, tf.reshape(w, [3, 3, 7, 1]), 1, 'same'),
    grads: true,
  },
  {
    name: 'depthwise 3x3 dilation 2 (forward only)',
    x: [1, 11, 10, 4],
    w: [3, 3, 1, 4],
    opts: { groups: 4, dilation: 2, padding: 'same' },
    tfConv: (x, w) => tf.depthwiseConv2d(x, tf.reshape(w, [3, 3, 4, 1]), 1, 'same', 'NHWC', 2),
    grads: false,
  },
];

describe('conv2d vs TensorFlow.js (cpu backend)', () => {
  beforeAll(async () => {
    await setup();
    await tf.setBackend('cpu');
  });

  for (const [i, c] of CASES.entries()) {
    it(c.name, async () => {
      const x = Float32Array.from(randArray(numel(c.x), 300 + i));
      const w = Float32Array.from(randArray(numel(c.w), 400 + i));
      const xt = tf.tensor4d(x, c.x);
      const wt = tf.tensor4d(w, c.w);
      const yt = c.tfConv(xt, wt);
      const want = await yt.data();
      const gw = Float32Array.from(randArray(want.length, 500 + i));
      const mine = await gpuGrads(
        (a, b) => conv2d(a, b, null, c.opts),
        [
          { data: x, shape: c.x },
          { data: w, shape: c.w },
        ],
        gw,
      );
      expectClose(mine.out, want, { atol: 1e-5, rtol: 1e-4, what: `${c.name}: forward vs tfjs` });
      if (c.grads) {
        const gwt = tf.tensor(gw, yt.shape);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(c.tfConv(a as tf.Tensor4D, b as tf.Tensor4D), gwt)),
        )([xt, wt]);
        expectClose(mine.grads[0], await dx.data(), { atol: 1e-5, rtol: 1e-4, what: `${c.name}: dx vs tfjs` });
        expectClose(mine.grads[1], await dw.data(), { atol: 5e-5, rtol: 1e-4, what: `${c.name}: dw vs tfjs` });
        tf.dispose([gwt, dx, dw]);
      }
      tf.dispose([xt, wt, yt]);
    });
  }
});
