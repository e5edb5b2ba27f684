/**
 * Transposed 2-D convolution (PyTorch's ConvTranspose2d, Keras's Conv2DTranspose) over NHWC images: the
 * input gradient of the convolution F that maps [N, OH, OW, Cout] to [N, H, W, Cin] with the same kernel
 * [KH, KW, Cout/groups, Cin] (Keras's layout; PyTorch's [Cin, Cout/groups, KH, KW] permuted (2, 3, 1, 0)),
 * stride, dilation and padding. It runs on {@link conv2dBackpropInput}; its gradients are F's forward (x)
 * and F's filter gradient (w). Output size, with span = (KH - 1) * dilation + 1:
 * - explicit [top, bottom, left, right] (PyTorch's formula): OH = (H - 1) * stride - top - bottom + span
 *   + outputPadding (outputPadding defaults to 0 and must be smaller than the stride, as Keras requires);
 * - 'valid' (Keras): OH = H * stride + max(span - stride, 0) without outputPadding, else
 *   (H - 1) * stride + span + outputPadding;
 * - 'same' (Keras): OH = H * stride without outputPadding, else (H - 1) * stride + span - 2 * floor(span / 2)
 *   + outputPadding; the padding is TensorFlow's 'same' rule for F on an OH-sized input.
 */
import { Tensor, defineOp, noGrad, shapeStr, type Shape } from '../tensor.js';
import { checkPair, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import { sum } from './reduce.js';
import { add } from './elementwise.js';
import { conv2d, conv2dBackpropFilter, conv2dBackpropInput, checkConv2dOptions, type Conv2dOptions } from './conv2d.js';
import { forEachWindow, samePadding, type WindowAxis } from './window.js';

/** Options of {@link conv2dTranspose}. Scalars apply to both axes; pairs are [vertical, horizontal]. */
export interface Conv2dTransposeOptions extends Conv2dOptions {
  /**
   * Extra rows / columns at the bottom / right of the output (PyTorch's and Keras's `output_padding`), each
   * smaller than the stride: tells apart the output sizes a strided convolution maps to one input size.
   */
  outputPadding?: number | readonly [number, number];
}

/**
 * Resolve a transposed convolution of NHWC `xShape` with `wShape` [KH, KW, Cout/groups, Cin] (file comment)
 * as the convolution F whose input gradient it is: F's input shape `outShape` (the output [N, OH, OW, Cout]),
 * its options `forward` (explicit padding) and its window `axes`, whose outputs are x's height and width.
 */
export function transposeGeometry(xShape: Shape, wShape: Shape, opts: Conv2dTransposeOptions = {}) {
  const shapes = `x ${shapeStr(xShape)} (NHWC), w ${shapeStr(wShape)} ([KH, KW, Cout/groups, Cin])`;
  if (xShape.length !== 4 || wShape.length !== 4)
    throw new Error(`ossify: conv2dTranspose needs 4-D x and w: ${shapes}`);
  const o = checkConv2dOptions(opts, 'conv2dTranspose option');
  const op = checkPair(withDefault(opts.outputPadding, 0), 'conv2dTranspose option outputPadding', {
    integer: true,
    min: 0,
  });
  const [N, H, W, Cin] = xShape;
  const [KH, KW, Cog] = wShape;
  if (wShape[3] !== Cin)
    throw new Error(`ossify: conv2dTranspose input channels disagree: x has ${Cin}, w expects ${wShape[3]}: ${shapes}`);
  const given = opts.outputPadding !== undefined;
  const perAxis = [
    { n: H, k: KH, s: o.stride[0], d: o.dilation[0], op: op[0], name: 'vertical' },
    { n: W, k: KW, s: o.stride[1], d: o.dilation[1], op: op[1], name: 'horizontal' },
  ];
  const sizes: number[] = [];
  const axes = perAxis.map((a, i): WindowAxis => {
    if (a.op >= a.s)
      throw new Error(
        `ossify: conv2dTranspose option outputPadding (${a.name}) must be smaller than the stride ${a.s}, got ${a.op}`,
      );
    const span = (a.k - 1) * a.d + 1;
    let size: number;
    let [before, after] = [0, 0];
    if (o.padding === 'valid') size = given ? (a.n - 1) * a.s + span + a.op : a.n * a.s + Math.max(span - a.s, 0);
    else if (o.padding === 'same') {
      size = given ? (a.n - 1) * a.s + span - 2 * Math.floor(span / 2) + a.op : a.n * a.s;
      if (Math.ceil(size / a.s) !== a.n)
        throw new Error(
          `ossify: conv2dTranspose 'same' with outputPadding ${a.op} gives a ${a.name} output of ${size}, ` +
            `which a 'same' convolution does not map back to ${a.n}: ${shapes}`,
        );
      [before, after] = samePadding(size, span, a.s);
    } else {
      [before, after] = [o.padding[2 * i], o.padding[2 * i + 1]];
      size = (a.n - 1) * a.s - before - after + span + a.op;
    }
    if (size < 1) throw new Error(`ossify: conv2dTranspose output would be empty (${a.name} size ${size}): ${shapes}`);
    sizes.push(size);
    return { k: a.k, s: a.s, d: a.d, before, after, out: a.n };
  });
  const [ah, aw] = axes;
  const padding = [ah.before, ah.after, aw.before, aw.after] as const;
  const forward: Conv2dOptions = { stride: o.stride, dilation: o.dilation, groups: o.groups, padding };
  // F maps the output size back to x's: floor(outputPadding / stride) = 0, and 'same' was checked above.
  return { outShape: [N, sizes[0], sizes[1], Cog * o.groups], forward, axes };
}

/**
 * Transposed 2-D convolution of NHWC `x` [N, H, W, Cin] with `w` [KH, KW, Cout/groups, Cin] and an
 * optional `bias` [Cout]: [N, OH, OW, Cout] (sizes and padding conventions in the file comment; the
 * default padding is 'valid'). Differentiable in x, w and bias.
 */
export const conv2dTranspose = defineOp(
  'conv2dTranspose',
  ['x', 'w', 'bias?'],
  (x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv2dTransposeOptions = {}): Tensor => {
    if (typeof opts !== 'object' || opts === null)
      throw new Error(`ossify: conv2dTranspose options must be an object, got ${showValue(opts)}`);
    const { outShape, forward } = transposeGeometry(x.shape, w.shape, opts);
    const Cout = outShape[3];
    if (bias && (bias.rank !== 1 || bias.shape[0] !== Cout))
      throw new Error(`ossify: conv2dTranspose bias must be [${Cout}], got ${shapeStr(bias.shape)}`);
    const y = conv2dBackpropInput(x, w, outShape, forward);
    // The bias is added unrecorded: this op's node carries its gradient.
    const out = bias ? noGrad(() => add(y, bias)) : y;
    return record('conv2dTranspose', bias ? [x, w, bias] : [x, w], out, [x, w], (g, [xs, ws]) => [
      x.requiresGrad ? conv2d(g, ws, null, forward) : null,
      w.requiresGrad ? conv2dBackpropFilter(g, xs, w.shape, forward) : null,
      ...(bias ? [bias.requiresGrad ? sum(g, [0, 1, 2]) : null] : []),
    ]);
  },
);

// ---- float64 CPU reference (the scatter definition, independent of the convolution kernels) -----

/**
 * Float64 reference of {@link conv2dTranspose}: every input pixel scatters x[n, ih, iw, ci] * w[kh, kw,
 * co, ci] to the output pixel that F's tap (kh, kw) at (ih, iw) reads, where it lands inside the output
 * (PyTorch's definition).
 */
export function conv2dTransposeReference(
  x: ArrayLike<number>,
  xShape: Shape,
  w: ArrayLike<number>,
  wShape: Shape,
  bias: ArrayLike<number> | null,
  opts: Conv2dTransposeOptions = {},
): { out: Float64Array; shape: number[] } {
  const { outShape, forward, axes } = transposeGeometry(xShape, wShape, opts);
  const [N, , , Cin] = xShape;
  const [, OH, OW, Cout] = outShape;
  const [Cog, Cig] = [wShape[2], Cin / (forward.groups ?? 1)];
  const out = new Float64Array(N * OH * OW * Cout);
  if (bias) for (let i = 0; i < out.length; i++) out[i] = bias[i % Cout];
  forEachWindow(N, [OH, OW], axes, (o, taps) => {
    for (let ci = 0; ci < Cin; ci++) {
      const g = Math.floor(ci / Cig);
      for (const [t, i] of taps)
        for (let c = 0; c < Cog; c++) out[i * Cout + g * Cog + c] += x[o * Cin + ci] * w[(t * Cog + c) * Cin + ci];
    }
  });
  return { out, shape: outShape };
}
