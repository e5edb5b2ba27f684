/**
 * 1-D convolution and pooling over channels-last sequences [N, L, C] (Keras's layout; PyTorch's Conv1d
 * is [N, C, L]), lifted onto the 2-D kernels as images of height 1: x is viewed as [N, 1, L, C] and the
 * kernel [K, Cin/groups, Cout] as [1, K, Cin/groups, Cout]. Autograd comes from the 2-D ops and the reshapes.
 */
import { Tensor, defineOp, shapeStr } from '../tensor.js';
import { reshape } from './elementwise.js';
import { conv2d } from './conv2d.js';
import { pool2d } from './pool.js';
import { convReference, poolReference, windowAxes } from './window.js';

/** Padding of a 1-D window: 'valid', 'same' (TensorFlow's rule), 'causal' (all on the left), or [left, right]. */
export type Padding1d = 'valid' | 'same' | 'causal' | readonly [number, number];

/** Options of {@link conv1d}. */
export interface Conv1dOptions {
  /** Stride (default 1). */
  stride?: number;
  /** Dilation (default 1): tap k reads position o * stride - left + k * dilation. */
  dilation?: number;
  /**
   * Default 'valid'. 'same': TensorFlow's rule (output ceil(L / stride), the odd padding on the right);
   * 'causal': (K - 1) * dilation zeros on the left (Keras's Conv1D padding='causal'); [left, right]:
   * explicit (PyTorch's `padding=p` is [p, p]).
   */
  padding?: Padding1d;
  /** Channel groups (default 1); Cin and Cout must be multiples. */
  groups?: number;
}

/** Options of {@link maxPool1d} and {@link avgPool1d}. */
export interface Pool1dOptions {
  /** Window size. */
  size: number;
  /** Stride (default: the window size, as Keras and PyTorch). */
  stride?: number;
  /** Default 'valid'; 'same' is TensorFlow's rule; [left, right] explicit (each smaller than the window span). */
  padding?: 'valid' | 'same' | readonly [number, number];
  /** Dilation (default 1): the window's taps are this far apart. */
  dilation?: number;
  /** Average pooling only: divide by the full window (PyTorch's default) instead of the real cells (Keras's). */
  countIncludePad?: boolean;
}

/** Validate a 1-D op (`K` the kernel's taps, null for pooling): x as [N, 1, L, C] and the 2-D options. */
function lift(x: Tensor, op: string, opts: Conv1dOptions | Pool1dOptions, K: number | null) {
  if (x.rank !== 3)
    throw new Error(`ossify: ${op} takes a sequence [N, L, C] (channels last), got ${shapeStr(x.shape)}`);
  const [a] = windowAxes(x.shape, opts, `${op} option`, K === null ? null : [K], K !== null);
  const x2d = reshape(x, [x.shape[0], 1, x.shape[1], x.shape[2]]);
  return { x2d, size: [1, a.k], stride: [1, a.s], dilation: [1, a.d], padding: [0, 0, a.before, a.after] } as const;
}

/**
 * 1-D convolution of `x` [N, L, Cin] with the kernel `w` [K, Cin/groups, Cout] (Keras's Conv1D layout;
 * PyTorch's [Cout, Cin/groups, K] is its transpose) and an optional `bias` [Cout]: [N, OL, Cout], with
 * OL = floor((L + left + right - (K - 1) * dilation - 1) / stride) + 1 as PyTorch's Conv1d. Differentiable.
 */
export const conv1d = defineOp(
  'conv1d',
  ['x', 'w', 'bias?'],
  (x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv1dOptions = {}): Tensor => {
    if (w.rank !== 3) throw new Error(`ossify: conv1d takes a kernel [K, Cin/groups, Cout], got ${shapeStr(w.shape)}`);
    const { x2d, stride, dilation, padding } = lift(x, 'conv1d', opts, w.shape[0]);
    const y = conv2d(x2d, reshape(w, [1, ...w.shape]), bias, { stride, dilation, padding, groups: opts.groups });
    return reshape(y, [y.shape[0], y.shape[2], y.shape[3]]);
  },
);

function pool1d(x: Tensor, opts: Pool1dOptions, isMax: boolean): Tensor {
  const { x2d, ...lifted } = lift(x, isMax ? 'maxPool1d' : 'avgPool1d', opts, null);
  const y = pool2d(x2d, { ...lifted, countIncludePad: opts.countIncludePad }, isMax);
  return reshape(y, [y.shape[0], y.shape[2], y.shape[3]]);
}

/** Max pooling over sequences [N, L, C] (differentiable; ties and NaN as {@link maxPool2d}). */
export const maxPool1d = defineOp('maxPool1d', ['x'], (x: Tensor, opts: Pool1dOptions): Tensor =>
  pool1d(x, opts, true),
);

/** Average pooling over sequences [N, L, C] (differentiable; padded cells leave the divisor unless countIncludePad). */
export const avgPool1d = defineOp('avgPool1d', ['x'], (x: Tensor, opts: Pool1dOptions): Tensor =>
  pool1d(x, opts, false),
);

// ---- float64 CPU references (direct 1-D windows, independent of the 2-D lift) -------------------

/** Float64 reference of {@link conv1d}: output [N, OL, Cout]. */
export function conv1dReference(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  bias: ArrayLike<number> | null,
  opts: Conv1dOptions = {},
): { out: Float64Array; shape: number[] } {
  const axes = windowAxes(xShape, opts, 'conv1dReference option', [wShape[0]], true);
  return convReference(x, xShape, w, wShape, bias, axes, opts.groups);
}

/** Float64 reference of {@link maxPool1d} / {@link avgPool1d}: output [N, OL, C]. */
export function pool1dReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  kind: 'max' | 'avg',
  opts: Pool1dOptions,
): { out: Float64Array; shape: number[] } {
  return poolReference(x, shape, kind, windowAxes(shape, opts, 'pool1dReference option', null), opts.countIncludePad);
}
