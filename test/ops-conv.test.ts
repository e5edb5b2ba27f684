// @adapters all
/**
 * The convolution family of issue #25: dilated 2-D pooling, 1-D convolution and pooling (lifted onto the
 * 2-D kernels) and transposed 2-D convolution, each against a float64 reference written directly (not
 * through the 2-D references), with PyTorch's output-size formulas, and gradients against finite
 * differences of the references.
 */
import { describe, it, beforeAll, expect } from 'vitest';
import {
  Tensor,
  tidy,
  maxPool2d,
  avgPool2d,
  conv1d,
  maxPool1d,
  avgPool1d,
  conv2dTranspose,
  conv3d,
  maxPool3d,
  avgPool3d,
  type Conv3dOptions,
  type Pool3dOptions,
  type AvgPool2dOptions,
  type Conv1dOptions,
  type Pool1dOptions,
  type Conv2dTransposeOptions,
} from '../src/index.js';
import {
  pool2dReference,
  poolGeometry,
  conv1dReference,
  pool1dReference,
  conv2dTransposeReference,
  conv3dReference,
  pool3dReference,
} from '../src/internals.js';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, numel } from './helpers.js';

beforeAll(setup);

const F = { atol: 1e-5, rtol: 1e-4 };
const G = { atol: 1e-4, rtol: 2e-3 };

/**
 * Forward of `op` on inputs against `ref`, and each input's gradient against central differences of
 * `ref` (sampled coordinates).
 */
async function checkOp(
  what: string,
  op: (...t: Tensor[]) => Tensor,
  inputs: { data: Float64Array; shape: number[] }[],
  ref: (...v: Float64Array[]) => { out: Float64Array; shape: number[] },
  seed: number,
): Promise<void> {
  const want = ref(...inputs.map((i) => i.data));
  const w = randArray(want.out.length, seed);
  const { out, grads } = await gpuGrads(op, inputs, w);
  expectClose(out, want.out, { what: `${what} forward`, ...F });
  for (const [k, input] of inputs.entries()) {
    const f = (v: Float64Array) => weightedSum(ref(...inputs.map((i, j) => (j === k ? v : i.data))).out, w);
    const [idx, fd] = finiteDiff(f, input.data, { eps: 1e-6, count: 20, seed: seed + k });
    expectClose(
      idx.map((i) => grads[k][i]),
      fd,
      { what: `${what} gradient ${k}`, ...G },
    );
  }
}

describe('dilated 2-D pooling', () => {
  const cases: { shape: number[]; o: AvgPool2dOptions }[] = [
    { shape: [2, 9, 8, 3], o: { size: 3, stride: 1, dilation: 2 } },
    { shape: [2, 9, 8, 4], o: { size: 3, stride: 2, dilation: [2, 3], padding: 'same' } },
    { shape: [1, 7, 7, 5], o: { size: [2, 3], stride: [2, 1], dilation: [3, 2], padding: [2, 1, 3, 0] } },
    { shape: [1, 7, 7, 5], o: { size: 2, stride: 1, dilation: 2, padding: [1, 1, 1, 1], countIncludePad: true } },
  ];
  for (const [ci, c] of cases.entries()) {
    for (const kind of ['max', 'avg'] as const) {
      if (kind === 'max' && c.o.countIncludePad) continue;
      it(`${kind} ${c.shape} ${JSON.stringify(c.o)}`, async () => {
        // Distinct values: max pooling's gradient is only defined away from ties.
        const x = randArray(numel(c.shape), 40 + ci, -3, 3);
        const op = (t: Tensor) => (kind === 'max' ? maxPool2d(t, c.o) : avgPool2d(t, c.o));
        const ref = (v: Float64Array) => {
          const r = pool2dReference(v, c.shape, kind, c.o);
          return { out: r.y, shape: r.shape };
        };
        await checkOp(`${kind}Pool2d`, op, [{ data: x, shape: c.shape }], ref, 50 + ci);
      });
    }
  }

  it("PyTorch's output size floor((H + 2p - d (k - 1) - 1) / s) + 1, and empty windows refused", () => {
    for (const [H, k, s, p, d] of [
      [10, 3, 1, 0, 2],
      [11, 3, 2, 2, 3],
      [7, 2, 3, 1, 4],
    ]) {
      const g = poolGeometry(H, H, { size: k, stride: s, padding: [p, p, p, p], dilation: d });
      expect(g.OH).toBe(Math.floor((H + 2 * p - d * (k - 1) - 1) / s) + 1);
    }
    expect(() => poolGeometry(2, 6, { size: 2, stride: 1, dilation: 4, padding: [2, 2, 0, 0] })).toThrow(
      /reads only padding/,
    );
    expect(() => poolGeometry(5, 5, { size: 2, dilation: 0 })).toThrow(/pooling option dilation/);
  });
});

describe('conv1d (lifted onto conv2d with height 1)', () => {
  const cases: { x: number[]; w: number[]; o: Conv1dOptions }[] = [
    { x: [2, 11, 3], w: [3, 3, 5], o: {} },
    { x: [2, 13, 4], w: [4, 4, 3], o: { stride: 2, padding: 'same' } },
    { x: [1, 12, 3], w: [3, 3, 4], o: { dilation: 2, padding: 'causal' } },
    { x: [3, 9, 2], w: [5, 2, 3], o: { stride: 3, dilation: 2, padding: [3, 1] } },
    { x: [2, 10, 6], w: [3, 2, 6], o: { groups: 3, padding: [1, 1] } },
  ];
  for (const [ci, c] of cases.entries()) {
    it(`x ${c.x}, w ${c.w}, ${JSON.stringify(c.o)}: forward and gradients of x, w, bias`, async () => {
      const x = randArray(numel(c.x), 60 + ci);
      const w = randArray(numel(c.w), 70 + ci);
      const b = randArray(c.w[2], 80 + ci);
      await checkOp(
        'conv1d',
        (xt, wt, bt) => conv1d(xt, wt, bt, c.o),
        [
          { data: x, shape: c.x },
          { data: w, shape: c.w },
          { data: b, shape: [c.w[2]] },
        ],
        (xv, wv, bv) => conv1dReference(xv, c.x, wv, c.w, bv, c.o),
        90 + ci,
      );
    });
  }

  it("output lengths: PyTorch's Conv1d formula, TensorFlow's 'same', Keras's 'causal'", () => {
    tidy(() => {
      const x = Tensor.zeros([1, 17, 2]);
      const w = Tensor.zeros([4, 2, 1]);
      // floor((L + 2p - d (K - 1) - 1) / s) + 1
      expect(conv1d(x, w, null, { stride: 3, dilation: 2, padding: [2, 2] }).shape).toEqual([1, 5, 1]);
      expect(conv1d(x, w, null, { stride: 2, padding: 'same' }).shape).toEqual([1, 9, 1]);
      expect(conv1d(x, w, null, { dilation: 3, padding: 'causal' }).shape).toEqual([1, 17, 1]);
    });
  });

  it('causal padding: output t depends on inputs up to t only', async () => {
    const x = Tensor.from(
      Array.from({ length: 8 }, (_, i) => (i === 5 ? 1 : 0)),
      [1, 8, 1],
    );
    const y = await conv1d(x, Tensor.from([1, 1, 1], [3, 1, 1]), null, { padding: 'causal', dilation: 2 }).read();
    expectClose(y, [0, 0, 0, 0, 0, 1, 0, 1]);
  });
});

describe('maxPool1d and avgPool1d', () => {
  const cases: { x: number[]; o: Pool1dOptions }[] = [
    { x: [2, 11, 3], o: { size: 3 } },
    { x: [2, 11, 4], o: { size: 3, stride: 2, padding: 'same' } },
    { x: [1, 13, 5], o: { size: 3, stride: 1, dilation: 3, padding: [2, 3] } },
    { x: [1, 13, 5], o: { size: 4, stride: 2, padding: [1, 2], countIncludePad: true } },
  ];
  for (const [ci, c] of cases.entries()) {
    for (const kind of ['max', 'avg'] as const) {
      if (kind === 'max' && c.o.countIncludePad) continue;
      it(`${kind} ${c.x} ${JSON.stringify(c.o)}`, async () => {
        const x = randArray(numel(c.x), 100 + ci, -3, 3);
        const op = (t: Tensor) => (kind === 'max' ? maxPool1d(t, c.o) : avgPool1d(t, c.o));
        await checkOp(`${kind}Pool1d`, op, [{ data: x, shape: c.x }], (v) => pool1dReference(v, c.x, kind, c.o), 110);
      });
    }
  }
});

describe('conv2dTranspose', () => {
  const cases: { x: number[]; w: number[]; o: Conv2dTransposeOptions; out: number[] }[] = [
    // PyTorch ConvTranspose2d(k=3, stride=2, padding=1, output_padding=1): (5 - 1) * 2 - 2 + 3 + 1 = 10.
    { x: [2, 5, 4, 3], w: [3, 3, 4, 3], o: { stride: 2, padding: [1, 1, 1, 1], outputPadding: 1 }, out: [2, 10, 8, 4] },
    // Without output padding: 9 x 7.
    { x: [2, 5, 4, 3], w: [3, 3, 4, 3], o: { stride: 2, padding: [1, 1, 1, 1] }, out: [2, 9, 7, 4] },
    // Keras 'same': H * stride.
    { x: [1, 4, 3, 2], w: [3, 3, 3, 2], o: { stride: 2, padding: 'same' }, out: [1, 8, 6, 3] },
    // Keras 'valid': H * stride + max(k - stride, 0); kernel smaller than the stride.
    { x: [1, 3, 4, 2], w: [4, 2, 2, 2], o: { stride: [2, 3], padding: 'valid' }, out: [1, 8, 12, 2] },
    // Dilation, a non-square kernel, stride (1, 2), output padding on one axis.
    {
      x: [1, 4, 5, 3],
      w: [2, 3, 2, 3],
      o: { stride: [1, 2], dilation: [2, 1], padding: [0, 1, 1, 0], outputPadding: [0, 1] },
      out: [1, 5, 11, 2],
    },
    // Groups: Cin 4 and Cout 6 in 2 groups.
    { x: [1, 3, 3, 4], w: [2, 2, 3, 4], o: { stride: 2, groups: 2 }, out: [1, 6, 6, 6] },
  ];
  for (const [ci, c] of cases.entries()) {
    it(`x ${c.x}, w ${c.w}, ${JSON.stringify(c.o)} -> ${c.out}`, async () => {
      const x = randArray(numel(c.x), 120 + ci);
      const w = randArray(numel(c.w), 130 + ci);
      const Cout = c.out[3];
      const b = randArray(Cout, 140 + ci);
      const ref = (xv: Float64Array, wv: Float64Array, bv: Float64Array) =>
        conv2dTransposeReference(xv, c.x, wv, c.w, bv, c.o);
      expect(ref(x, w, b).shape).toEqual(c.out);
      await checkOp(
        'conv2dTranspose',
        (xt, wt, bt) => conv2dTranspose(xt, wt, bt, c.o),
        [
          { data: x, shape: c.x },
          { data: w, shape: c.w },
          { data: b, shape: [Cout] },
        ],
        ref,
        150 + ci,
      );
    });
  }

  it('refuses bad shapes and options', () => {
    tidy(() => {
      const x = Tensor.zeros([1, 4, 4, 3]);
      const w = Tensor.zeros([3, 3, 2, 3]);
      expect(() => conv2dTranspose(x, w, null, { stride: 2, outputPadding: 2 })).toThrow(
        /outputPadding \(vertical\) must be smaller than the stride 2, got 2/,
      );
      expect(() => conv2dTranspose(x, Tensor.zeros([3, 3, 2, 5]))).toThrow(
        /input channels disagree: x has 3, w expects 5/,
      );
      expect(() => conv2dTranspose(x, w, Tensor.zeros([3]))).toThrow(/bias must be \[2\]/);
      expect(() => conv2dTranspose(Tensor.zeros([4, 4, 3]), w)).toThrow(/needs 4-D x and w/);
      expect(() => conv2dTranspose(x, w, null, { padding: [5, 5, 0, 0] })).toThrow(/output would be empty/);
      expect(() => conv1d(Tensor.zeros([1, 5]), Tensor.zeros([3, 1, 1]))).toThrow(/sequence \[N, L, C\]/);
      const ints = Tensor.from(new Int32Array(5), [1, 5, 1]);
      expect(() => conv1d(ints, Tensor.zeros([3, 1, 1]))).toThrow(/conv1d argument x must be a f32 tensor/);
      expect(() => maxPool1d(ints, { size: 2 })).toThrow(/maxPool1d argument x must be a f32 tensor/);
      expect(() =>
        conv1d(Tensor.zeros([1, 5, 1]), Tensor.zeros([3, 1, 1]), null, { padding: 'full' as 'same' }),
      ).toThrow(/conv1d option padding must be 'valid', 'same', 'causal' or \[left, right\]/);
      expect(() => maxPool1d(Tensor.zeros([1, 5, 1]), { size: 2, padding: 'causal' as 'same' })).toThrow(
        /maxPool1d option padding must be 'valid', 'same' or \[left, right\]/,
      );
    });
  });
});

describe('conv3d and 3-D pooling (depth taps over the 2-D kernels)', () => {
  const convs: { x: number[]; w: number[]; o: Conv3dOptions }[] = [
    { x: [2, 4, 5, 3, 2], w: [2, 3, 2, 2, 3], o: {} },
    { x: [1, 5, 4, 5, 3], w: [3, 2, 3, 3, 4], o: { stride: [2, 1, 2], padding: 'same' } },
    { x: [1, 6, 3, 4, 2], w: [2, 2, 2, 2, 2], o: { dilation: [2, 1, 1], padding: [1, 2, 0, 1, 1, 0] } },
    { x: [1, 3, 3, 3, 4], w: [3, 1, 2, 2, 6], o: { groups: 2, stride: [1, 2, 1], padding: [1, 1, 0, 0, 0, 0] } },
  ];
  for (const [ci, c] of convs.entries()) {
    it(`conv3d x ${c.x}, w ${c.w}, ${JSON.stringify(c.o)}`, async () => {
      const x = randArray(numel(c.x), 160 + ci);
      const w = randArray(numel(c.w), 170 + ci);
      const b = randArray(c.w[4], 180 + ci);
      await checkOp(
        'conv3d',
        (xt, wt, bt) => conv3d(xt, wt, bt, c.o),
        [
          { data: x, shape: c.x },
          { data: w, shape: c.w },
          { data: b, shape: [c.w[4]] },
        ],
        (xv, wv, bv) => conv3dReference(xv, c.x, wv, c.w, bv, c.o),
        190 + ci,
      );
    });
  }

  const pools: { x: number[]; o: Pool3dOptions }[] = [
    { x: [2, 4, 5, 4, 3], o: { size: 2 } },
    { x: [1, 5, 5, 4, 4], o: { size: [3, 2, 3], stride: [2, 1, 2], padding: 'same' } },
    { x: [1, 6, 4, 4, 2], o: { size: 2, stride: 1, dilation: [2, 1, 2], padding: [1, 0, 0, 1, 1, 1] } },
    { x: [1, 5, 4, 4, 2], o: { size: 3, stride: 2, padding: [1, 1, 1, 1, 1, 1], countIncludePad: true } },
  ];
  for (const [ci, c] of pools.entries()) {
    for (const kind of ['max', 'avg'] as const) {
      if (kind === 'max' && c.o.countIncludePad) continue;
      it(`${kind}Pool3d x ${c.x}, ${JSON.stringify(c.o)}`, async () => {
        const x = randArray(numel(c.x), 200 + ci, -3, 3);
        const op = (t: Tensor) => (kind === 'max' ? maxPool3d(t, c.o) : avgPool3d(t, c.o));
        await checkOp(`${kind}Pool3d`, op, [{ data: x, shape: c.x }], (v) => pool3dReference(v, c.x, kind, c.o), 210);
      });
    }
  }

  it("output sizes follow PyTorch's Conv3d formula; bad shapes and options are refused", () => {
    tidy(() => {
      const x = Tensor.zeros([1, 9, 8, 7, 2]);
      const w = Tensor.zeros([3, 2, 3, 2, 1]);
      const o = { stride: [2, 3, 1] as [number, number, number], dilation: [2, 1, 2] as [number, number, number] };
      const y = conv3d(x, w, null, { ...o, padding: [1, 1, 2, 2, 0, 0] });
      // floor((n + 2p - d (k - 1) - 1) / s) + 1 per axis.
      expect(y.shape).toEqual([1, 4, 4, 3, 1]);
      expect(conv3d(x, w, null, { ...o, padding: 'same' }).shape).toEqual([1, 5, 3, 7, 1]);
      expect(() => conv3d(Tensor.zeros([1, 4, 4, 2]), w)).toThrow(/volume \[N, D, H, W, C\]/);
      expect(() => conv3d(x, Tensor.zeros([3, 2, 3, 3, 1]))).toThrow(/input channels disagree/);
      expect(() => conv3d(x, w, null, { stride: [1, 2] as unknown as number })).toThrow(/conv3d option stride must be/);
      expect(() => conv3d(x, w, null, { padding: [1, 1] as unknown as 'same' })).toThrow(/conv3d option padding/);
      expect(() => maxPool3d(x, { size: 2, padding: [2, 0, 0, 0, 0, 0] })).toThrow(/depth padding must be smaller/);
    });
  });
});
