// @adapters all
/**
 * zeroPad2d vs its float64 reference, its gradient (a crop) vs the reference gradient and finite
 * differences, and DenseNet's stem as a composite: zeroPad2d(3) then a 'valid' 7x7 stride-2 conv must
 * equal the conv with explicit padding 3, values and gradients.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { zeroPad2d, zeroPad2dReference, type Pad2d } from '../src/kernels/layout.js';
import { conv2d } from '../src/kernels/conv2d.js';
import { Tensor } from '../src/tensor.js';
import { setup, randArray, expectClose, gpuGrads, checkOp, numel } from './helpers.js';

const CASES: { shape: [number, number, number, number]; pad: Pad2d }[] = [
  { shape: [1, 5, 4, 3], pad: [3, 3, 3, 3] },
  { shape: [2, 7, 6, 5], pad: [0, 1, 2, 0] },
  { shape: [3, 1, 1, 1], pad: [1, 0, 0, 2] },
  { shape: [1, 4, 3, 2], pad: [0, 0, 0, 0] },
  // C a multiple of 4: the vec4 kernel
  { shape: [2, 5, 3, 8], pad: [1, 2, 0, 3] },
  { shape: [1, 3, 7, 4], pad: [2, 0, 1, 1] },
];

describe('zeroPad2d', () => {
  beforeAll(setup);

  for (const c of CASES) {
    it(`${JSON.stringify(c.shape)} pad ${JSON.stringify(c.pad)}: forward and crop gradient`, () =>
      checkOp({
        op: (t) => zeroPad2d(t, c.pad),
        inputs: [{ shape: c.shape, seed: 3 }],
        ref: (x) => zeroPad2dReference(x, c.shape, c.pad).out,
        fwd: { atol: 0, rtol: 0 },
        fd: { atol: 1e-6, rtol: 1e-5 },
        dy: 4,
      }));
  }

  it('gives the padded shape and rejects bad input', () => {
    const x = Tensor.zeros([2, 3, 4, 5]);
    const y = zeroPad2d(x, [1, 2, 3, 4]);
    expect(y.shape).toEqual([2, 6, 11, 5]);
    expect(() => zeroPad2d(x, [1, -1, 0, 0])).toThrow(/non-negative/);
    expect(() => zeroPad2d(Tensor.zeros([3, 4, 5]), [1, 1, 1, 1])).toThrow(/NHWC.*\[3, 4, 5\]/);
    x.dispose();
    y.dispose();
  });

  it("DenseNet stem: zeroPad2d(3) + 'valid' 7x7 s2 conv equals explicit padding 3", async () => {
    const xs = [2, 13, 12, 3] as const;
    const ws = [7, 7, 3, 4] as const;
    const x = randArray(numel(xs), 11);
    const w = randArray(numel(ws), 12);
    const outLen = 2 * 7 * 6 * 4;
    const gw = randArray(outLen, 13);
    const inputs = [
      { data: x, shape: xs },
      { data: w, shape: ws },
    ];
    const a = await gpuGrads((xt, wt) => conv2d(zeroPad2d(xt, [3, 3, 3, 3]), wt, null, { stride: 2 }), inputs, gw);
    const b = await gpuGrads((xt, wt) => conv2d(xt, wt, null, { stride: 2, padding: [3, 3, 3, 3] }), inputs, gw);
    expect(a.out.length).toBe(outLen);
    expectClose(a.out, b.out, { atol: 1e-5, rtol: 1e-5, what: 'composite forward' });
    expectClose(a.grads[0], b.grads[0], { atol: 1e-5, rtol: 1e-5, what: 'composite dx' });
    expectClose(a.grads[1], b.grads[1], { atol: 1e-4, rtol: 1e-5, what: 'composite dw' });
  });
});
