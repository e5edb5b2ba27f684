/**
 * Transposed 2-D convolution (a "deconvolution"; PyTorch's ConvTranspose2d, Keras's Conv2DTranspose) over
 * NHWC images. It is the gradient with respect to the input of the convolution F that maps an
 * [N, OH, OW, Cout] image to [N, H, W, Cin] with the same kernel, stride, dilation and padding, so it
 * runs on {@link conv2dBackpropInput} (the implicit-GEMM input gradient, stride phases and all), and
 * its own gradients are F's forward (for x) and F's filter gradient (for w).
 *
 * The kernel is [KH, KW, Cout/groups, Cin] (Keras's Conv2DTranspose layout: F's HWIO kernel; PyTorch's
 * ConvTranspose2d weight [Cin, Cout/groups, KH, KW] permuted (2, 3, 1, 0)).
 *
 * Output size and padding, where the frameworks differ:
 * - explicit padding [top, bottom, left, right] (PyTorch's `padding=p` is [p, p, p, p]):
 *   OH = (H - 1) * stride - top - bottom + (KH - 1) * dilation + 1 + outputPadding (PyTorch's formula;
 *   outputPadding defaults to 0 and must be smaller than the stride, as Keras requires: PyTorch also
 *   takes one below the dilation);
 * - 'valid' (Keras): no padding; OH = H * stride + max(span - stride, 0) with span = (KH - 1) * dilation + 1
 *   when outputPadding is not given, else (H - 1) * stride + span + outputPadding;
 * - 'same' (Keras): OH = H * stride when outputPadding is not given, else
 *   (H - 1) * stride + span - 2 * floor(span / 2) + outputPadding; the padding is then TensorFlow's
 *   'same' rule for F on an OH-sized input (the odd row at the bottom).
 */
import { Tensor, defineOp, noGrad, shapeStr, type Shape } from '../tensor.js';
import { checkPair, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import { sum } from './reduce.js';
import { add } from './elementwise.js';
import {
  conv2d,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  checkConv2dOptions,
  resolveConvGeometry,
  type Conv2dOptions,
} from './conv2d.js';

/** Options of {@link conv2dTranspose}. Scalars apply to both axes; pairs are [vertical, horizontal]. */
export interface Conv2dTransposeOptions extends Conv2dOptions {
  /**
   * Extra rows / columns at the bottom / right of the output (PyTorch's `output_padding`, Keras's
   * `output_padding`): tells apart the output sizes a strided convolution maps to one input size.
   * Each must be smaller than the stride on its axis.
   */
  outputPadding?: number | readonly [number, number];
}

/** The forward convolution F whose input gradient a transposed convolution is: its input shape and options. */
export interface TransposeGeometry {
  /** F's input shape, the transposed convolution's output [N, OH, OW, Cout]. */
  outShape: number[];
  /** F's options: stride, dilation, groups and the explicit padding [top, bottom, left, right]. */
  forward: Conv2dOptions;
}

/** Resolve a transposed convolution of NHWC `xShape` with `wShape` [KH, KW, Cout/groups, Cin] (file comment). */
export function transposeGeometry(xShape: Shape, wShape: Shape, opts: Conv2dTransposeOptions = {}): TransposeGeometry {
  const shapes = `x ${shapeStr(xShape)} (NHWC), w ${shapeStr(wShape)} ([KH, KW, Cout/groups, Cin])`;
  if (xShape.length !== 4 || wShape.length !== 4)
    throw new Error(`ossify: conv2dTranspose needs 4-D x and w: ${shapes}`);
  const o = checkConv2dOptions(opts, 'conv2dTranspose option');
  const op = checkPair(withDefault(opts.outputPadding, 0), 'conv2dTranspose option outputPadding', {
    integer: true,
    min: 0,
  });
  const given = opts.outputPadding !== undefined;
  const [N, H, W, Cin] = xShape;
  const [KH, KW, Cog] = wShape;
  if (wShape[3] !== Cin)
    throw new Error(`ossify: conv2dTranspose input channels disagree: x has ${Cin}, w expects ${wShape[3]}: ${shapes}`);
  const axes = [
    { n: H, k: KH, s: o.stride[0], d: o.dilation[0], op: op[0], name: 'vertical' },
    { n: W, k: KW, s: o.stride[1], d: o.dilation[1], op: op[1], name: 'horizontal' },
  ];
  const out: number[] = [];
  const pads: number[] = [];
  axes.forEach((a, i) => {
    if (a.op >= a.s)
      throw new Error(
        `ossify: conv2dTranspose option outputPadding (${a.name}) must be smaller than the stride ${a.s}, got ${a.op}`,
      );
    const span = (a.k - 1) * a.d + 1;
    let size: number;
    let before: number;
    let after: number;
    if (o.padding === 'valid') {
      size = given ? (a.n - 1) * a.s + span + a.op : a.n * a.s + Math.max(span - a.s, 0);
      [before, after] = [0, 0];
    } else if (o.padding === 'same') {
      size = given ? (a.n - 1) * a.s + span - 2 * Math.floor(span / 2) + a.op : a.n * a.s;
      if (Math.ceil(size / a.s) !== a.n)
        throw new Error(
          `ossify: conv2dTranspose 'same' with outputPadding ${a.op} gives a ${a.name} output of ${size}, ` +
            `which a 'same' convolution does not map back to ${a.n}: ${shapes}`,
        );
      const total = Math.max((a.n - 1) * a.s + span - size, 0);
      [before, after] = [Math.floor(total / 2), total - Math.floor(total / 2)];
    } else {
      [before, after] = [o.padding[2 * i], o.padding[2 * i + 1]];
      size = (a.n - 1) * a.s - before - after + span + a.op;
    }
    if (size < 1) throw new Error(`ossify: conv2dTranspose output would be empty (${a.name} size ${size}): ${shapes}`);
    out.push(size);
    pads.push(before, after);
  });
  const forward: Conv2dOptions = {
    stride: o.stride,
    dilation: o.dilation,
    groups: o.groups,
    padding: [pads[0], pads[1], pads[2], pads[3]],
  };
  const outShape = [N, out[0], out[1], Cog * o.groups];
  // F must map the output size back to x's (it does by construction; this names the shapes if not).
  const g = resolveConvGeometry(outShape, wShape, forward);
  if (g.OH !== H || g.OW !== W)
    throw new Error(`ossify: internal error: conv2dTranspose geometry ${g.OH}x${g.OW} for ${shapes}`);
  return { outShape, forward };
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
 * co, ci] to output (ih * stride - top + kh * dilation, iw * stride - left + kw * dilation), where it
 * lands inside the output (PyTorch's definition). Output size and padding from {@link transposeGeometry}.
 */
export function conv2dTransposeReference(
  x: ArrayLike<number>,
  xShape: Shape,
  w: ArrayLike<number>,
  wShape: Shape,
  bias: ArrayLike<number> | null,
  opts: Conv2dTransposeOptions = {},
): { out: Float64Array; shape: number[] } {
  const { outShape, forward } = transposeGeometry(xShape, wShape, opts);
  const [N, H, W, Cin] = xShape;
  const [KH, KW, Cog] = wShape;
  const [, OH, OW, Cout] = outShape;
  const [sh, sw] = forward.stride as [number, number];
  const [dh, dw] = forward.dilation as [number, number];
  const [pt, , pl] = forward.padding as [number, number, number, number];
  const groups = forward.groups ?? 1;
  const Cig = Cin / groups;
  const out = new Float64Array(N * OH * OW * Cout);
  if (bias) for (let i = 0; i < out.length; i++) out[i] = bias[i % Cout];
  for (let n = 0; n < N; n++)
    for (let ih = 0; ih < H; ih++)
      for (let iw = 0; iw < W; iw++)
        for (let ci = 0; ci < Cin; ci++) {
          const v = x[((n * H + ih) * W + iw) * Cin + ci];
          const g = Math.floor(ci / Cig);
          for (let kh = 0; kh < KH; kh++) {
            const oh = ih * sh - pt + kh * dh;
            if (oh < 0 || oh >= OH) continue;
            for (let kw = 0; kw < KW; kw++) {
              const ow = iw * sw - pl + kw * dw;
              if (ow < 0 || ow >= OW) continue;
              for (let c = 0; c < Cog; c++)
                out[((n * OH + oh) * OW + ow) * Cout + g * Cog + c] += v * w[((kh * KW + kw) * Cog + c) * Cin + ci];
            }
          }
        }
  return { out, shape: outShape };
}
