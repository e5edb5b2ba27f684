/**
 * 1-D convolution and pooling over channels-last sequences [N, L, C] (Keras's layout; PyTorch's Conv1d
 * is [N, C, L]), lifted onto the 2-D kernels as images of height 1: x is viewed as [N, 1, L, C] and the
 * kernel [K, Cin/groups, Cout] as [1, K, Cin/groups, Cout], so the implicit-GEMM convolution, its
 * gradients and the pooling kernels run as they are (the views cost nothing, and a height-1 window
 * reads exactly the 1-D taps). Autograd comes from the 2-D ops and the reshapes.
 */
import { Tensor, defineOp, shapeStr } from '../tensor.js';
import { checkNumber, showValue, withDefault, inRange } from '../validate.js';
import { reshape } from './elementwise.js';
import { conv2d } from './conv2d.js';
import { pool2d } from './pool.js';

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

const positive = { integer: true, min: 1 };
const isSides = (v: unknown): v is readonly [number, number] =>
  Array.isArray(v) && v.length === 2 && v.every((d) => inRange(d, { integer: true, min: 0 }));

/** A 1-D padding as the 2-D ops take it (none above or below). */
function padding2d(
  p: unknown,
  what: string,
  causalLeft: number | null,
): 'valid' | 'same' | [number, number, number, number] {
  if (p === undefined || p === 'valid') return 'valid';
  if (p === 'same') return 'same';
  if (p === 'causal' && causalLeft !== null) return [0, 0, causalLeft, 0];
  if (isSides(p)) return [0, 0, p[0], p[1]];
  const modes = causalLeft !== null ? "'valid', 'same', 'causal'" : "'valid', 'same'";
  throw new Error(`ossify: ${what} must be ${modes} or [left, right] non-negative integers, got ${showValue(p)}`);
}

function checkSequence(x: Tensor, op: string): [number, number, number] {
  if (x.rank !== 3)
    throw new Error(`ossify: ${op} takes a sequence [N, L, C] (channels last), got ${shapeStr(x.shape)}`);
  return [x.shape[0], x.shape[1], x.shape[2]];
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
    if (typeof opts !== 'object' || opts === null)
      throw new Error(`ossify: conv1d options must be an object, got ${showValue(opts)}`);
    const [N, L, C] = checkSequence(x, 'conv1d');
    if (w.rank !== 3) throw new Error(`ossify: conv1d takes a kernel [K, Cin/groups, Cout], got ${shapeStr(w.shape)}`);
    const stride = checkNumber(withDefault(opts.stride, 1), 'conv1d option stride', positive);
    const dilation = checkNumber(withDefault(opts.dilation, 1), 'conv1d option dilation', positive);
    const padding = padding2d(opts.padding, 'conv1d option padding', (w.shape[0] - 1) * dilation);
    const y = conv2d(reshape(x, [N, 1, L, C]), reshape(w, [1, ...w.shape]), bias, {
      stride: [1, stride],
      dilation: [1, dilation],
      padding,
      groups: opts.groups,
    });
    return reshape(y, [N, y.shape[2], y.shape[3]]);
  },
);

function pool1d(x: Tensor, opts: Pool1dOptions, isMax: boolean): Tensor {
  const op = isMax ? 'maxPool1d' : 'avgPool1d';
  if (typeof opts !== 'object' || opts === null)
    throw new Error(`ossify: ${op} options must be an object with a window size, got ${showValue(opts)}`);
  const [N, L, C] = checkSequence(x, op);
  const size = checkNumber(opts.size, `${op} option size`, positive);
  const stride = checkNumber(withDefault(opts.stride, size), `${op} option stride`, positive);
  const dilation = checkNumber(withDefault(opts.dilation, 1), `${op} option dilation`, positive);
  const y = pool2d(
    reshape(x, [N, 1, L, C]),
    {
      size: [1, size],
      stride: [1, stride],
      dilation: [1, dilation],
      padding: padding2d(opts.padding, `${op} option padding`, null),
      countIncludePad: opts.countIncludePad,
    },
    isMax,
  );
  return reshape(y, [N, y.shape[2], C]);
}

/** Max pooling over sequences [N, L, C] (differentiable; ties and NaN as {@link maxPool2d}). */
export const maxPool1d = defineOp('maxPool1d', ['x'], (x: Tensor, opts: Pool1dOptions): Tensor =>
  pool1d(x, opts, true),
);

/** Average pooling over sequences [N, L, C] (differentiable; padded cells leave the divisor unless countIncludePad). */
export const avgPool1d = defineOp('avgPool1d', ['x'], (x: Tensor, opts: Pool1dOptions): Tensor =>
  pool1d(x, opts, false),
);

// ---- float64 CPU references (written directly in 1-D, independent of the 2-D lift) ---------------

/** [left, right] padding and output length of a 1-D window (TensorFlow's 'same'; 'causal' left only). */
export function window1d(
  L: number,
  K: number,
  stride: number,
  dilation: number,
  padding: Padding1d = 'valid',
): { left: number; right: number; OL: number } {
  const span = (K - 1) * dilation + 1;
  let [left, right] = [0, 0];
  if (padding === 'same') {
    const total = Math.max((Math.ceil(L / stride) - 1) * stride + span - L, 0);
    [left, right] = [Math.floor(total / 2), total - Math.floor(total / 2)];
  } else if (padding === 'causal') left = span - 1;
  else if (padding !== 'valid') [left, right] = padding;
  return { left, right, OL: Math.floor((L + left + right - span) / stride) + 1 };
}

/** Float64 reference of {@link conv1d}: output [N, OL, Cout]. */
export function conv1dReference(
  x: ArrayLike<number>,
  [N, L, Cin]: readonly number[],
  w: ArrayLike<number>,
  [K, Cig, Cout]: readonly number[],
  bias: ArrayLike<number> | null,
  opts: Conv1dOptions = {},
): { out: Float64Array; shape: number[] } {
  const [s, d, groups] = [opts.stride ?? 1, opts.dilation ?? 1, opts.groups ?? 1];
  const { left, OL } = window1d(L, K, s, d, opts.padding);
  const Cog = Cout / groups;
  const out = new Float64Array(N * OL * Cout);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < OL; o++)
      for (let co = 0; co < Cout; co++) {
        let acc = bias ? bias[co] : 0;
        const g = Math.floor(co / Cog);
        for (let k = 0; k < K; k++) {
          const i = o * s - left + k * d;
          if (i < 0 || i >= L) continue;
          for (let j = 0; j < Cig; j++) acc += x[(n * L + i) * Cin + g * Cig + j] * w[(k * Cig + j) * Cout + co];
        }
        out[(n * OL + o) * Cout + co] = acc;
      }
  return { out, shape: [N, OL, Cout] };
}

/** Float64 reference of {@link maxPool1d} / {@link avgPool1d}: output [N, OL, C]. */
export function pool1dReference(
  x: ArrayLike<number>,
  [N, L, C]: readonly number[],
  kind: 'max' | 'avg',
  opts: Pool1dOptions,
): { out: Float64Array; shape: number[] } {
  const [s, d] = [opts.stride ?? opts.size, opts.dilation ?? 1];
  const padding = opts.padding === undefined ? 'valid' : opts.padding;
  const { left, OL } = window1d(L, opts.size, s, d, padding);
  const out = new Float64Array(N * OL * C);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < OL; o++)
      for (let c = 0; c < C; c++) {
        const vals: number[] = [];
        for (let k = 0; k < opts.size; k++) {
          const i = o * s - left + k * d;
          if (i >= 0 && i < L) vals.push(x[(n * L + i) * C + c]);
        }
        const sum = vals.reduce((a, v) => a + v, 0);
        out[(n * OL + o) * C + c] =
          kind === 'max'
            ? vals.reduce((a, v) => (Number.isNaN(a) ? a : !(v <= a) ? v : a))
            : sum / (opts.countIncludePad ? opts.size : vals.length);
      }
  return { out, shape: [N, OL, C] };
}
