/**
 * 3-D convolution and pooling over channels-last volumes [N, D, H, W, C] (Keras's layout), composed from
 * the 2-D kernels: each live depth tap of the window is a 2-D convolution or pooling of the depth slices
 * it reads (a strided slice of the depth-padded input, as an [N * OD, H, W, C] image), summed over the
 * taps (max pooling: `maximum`). Autograd comes from the 2-D ops, the pad, the slices and the sums; the
 * cost is KD 2-D launches and a sliced copy of the input per depth tap.
 */
import { Tensor, defineOp, shapeStr, type Shape } from '../tensor.js';
import { checkNumber, withDefault } from '../validate.js';
import { add, maximum, mul, reshape } from './elementwise.js';
import { conv2d } from './conv2d.js';
import { pool2d } from './pool.js';
import { pad, slice } from './layout.js';
import { convReference, emptyWindow, poolReference, realTaps, windowAxes, type WindowAxis } from './window.js';

/** A number for all three axes, or [depth, height, width]. */
export type Triple = number | readonly [number, number, number];
/** 'valid', 'same' (TensorFlow's rule per axis) or [front, back, top, bottom, left, right]. */
export type Padding3d = 'valid' | 'same' | readonly [number, number, number, number, number, number];

/** Options of {@link conv3d}. */
export interface Conv3dOptions {
  /** Stride (default 1). */
  stride?: Triple;
  /** Dilation (default 1). */
  dilation?: Triple;
  /** Default 'valid'. */
  padding?: Padding3d;
  /** Channel groups (default 1). */
  groups?: number;
}

/** Options of {@link maxPool3d} and {@link avgPool3d}. */
export interface Pool3dOptions {
  /** Window size. */
  size: Triple;
  /** Stride (default: the window size). */
  stride?: Triple;
  /** Default 'valid'; explicit padding must be smaller than the window's span on each axis. */
  padding?: Padding3d;
  /** Dilation (default 1). */
  dilation?: Triple;
  /** Average pooling: divide by the full window (PyTorch's default) instead of the real cells (Keras's). */
  countIncludePad?: boolean;
}

/** The 2-D options of a 3-D window's height and width axes. */
const opts2d = ([, ah, aw]: WindowAxis[]) => ({
  stride: [ah.s, aw.s] as [number, number],
  dilation: [ah.d, aw.d] as [number, number],
  padding: [ah.before, ah.after, aw.before, aw.after] as [number, number, number, number],
});

/**
 * Combine `f(xs, dz)` over the live depth taps dz of the window on axis `a` (those that read a real
 * slice for some output depth): xs [N * OD, H, W, C] holds the depth slices the tap reads from x padded
 * on depth with `fill`. Autograd comes from the pad and the slices.
 */
function overDepth(
  x: Tensor,
  a: WindowAxis,
  fill: number,
  f: (xs: Tensor, dz: number) => Tensor,
  combine: (y: Tensor, yz: Tensor) => Tensor,
): Tensor {
  const [N, D, ...rest] = x.shape;
  const paddings = [[0, 0], [a.before, a.after], ...rest.map(() => [0, 0] as const)] as const;
  const padded = a.before || a.after ? pad(x, paddings, { value: fill }) : x;
  let y: Tensor | null = null;
  for (let dz = 0; dz < a.k; dz++) {
    const first = dz * a.d;
    if (!Array.from({ length: a.out }, (_, o) => o * a.s + first - a.before).some((v) => v >= 0 && v < D)) continue;
    const taps = slice(padded, [undefined, { start: first, stop: first + (a.out - 1) * a.s + 1, step: a.s }]);
    const yz = f(reshape(taps, [N * a.out, ...rest]), dz);
    y = y ? combine(y, yz) : yz;
  }
  if (!y) throw new Error(`ossify: every depth tap of the window reads only padding (x ${shapeStr(x.shape)})`);
  return y;
}

const checkVolume = (x: Tensor, op: string) => {
  if (x.rank !== 5)
    throw new Error(`ossify: ${op} takes a volume [N, D, H, W, C] (channels last), got ${shapeStr(x.shape)}`);
};

/**
 * 3-D convolution of `x` [N, D, H, W, Cin] with `w` [KD, KH, KW, Cin/groups, Cout] (Keras's Conv3D
 * layout; PyTorch's [Cout, Cin/groups, KD, KH, KW] permuted (2, 3, 4, 1, 0)) and an optional `bias`
 * [Cout]: [N, OD, OH, OW, Cout], sizes as PyTorch's Conv3d (explicit padding) or TensorFlow's 'same'.
 * Differentiable in x, w and bias.
 */
export const conv3d = defineOp(
  'conv3d',
  ['x', 'w', 'bias?'],
  (x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv3dOptions = {}): Tensor => {
    checkVolume(x, 'conv3d');
    if (w.rank !== 5)
      throw new Error(`ossify: conv3d takes a kernel [KD, KH, KW, Cin/groups, Cout], got ${shapeStr(w.shape)}`);
    const [KD, KH, KW, Cig, Cout] = w.shape;
    const axes = windowAxes(x.shape, opts, 'conv3d option', [KD, KH, KW]);
    const groups = checkNumber(withDefault(opts.groups, 1), 'conv3d option groups', { integer: true, min: 1 });
    if (Cig * groups !== x.shape[4])
      throw new Error(
        `ossify: conv3d input channels disagree: x has ${x.shape[4]}, w expects ${Cig} x ${groups} groups: ` +
          `x ${shapeStr(x.shape)}, w ${shapeStr(w.shape)}`,
      );
    if (bias && (bias.rank !== 1 || bias.shape[0] !== Cout))
      throw new Error(`ossify: conv3d bias must be [${Cout}], got ${shapeStr(bias.shape)}`);
    const tap = (dz: number) => reshape(slice(w, [{ start: dz, stop: dz + 1 }]), [KH, KW, Cig, Cout]);
    const conv = (xs: Tensor, dz: number) => conv2d(xs, tap(dz), null, { ...opts2d(axes), groups });
    const y = overDepth(x, axes[0], 0, conv, add);
    return reshape(bias ? add(y, bias) : y, [x.shape[0], ...axes.map((a) => a.out), Cout]);
  },
);

function pool3d(x: Tensor, opts: Pool3dOptions, isMax: boolean): Tensor {
  const op = isMax ? 'maxPool3d' : 'avgPool3d';
  checkVolume(x, op);
  const axes = windowAxes(x.shape, opts, `${op} option`, null);
  const [ad, D] = [axes[0], x.shape[1]];
  const spanD = (ad.k - 1) * ad.d + 1;
  if (ad.before >= spanD || ad.after >= spanD)
    throw new Error(`ossify: ${op} depth padding must be smaller than the window's depth span ${spanD}`);
  const empty = emptyWindow(ad, D);
  if (empty !== undefined)
    throw new Error(
      `ossify: the ${op} window at output depth ${empty} reads only padding: use less padding or dilation`,
    );
  const countIncludePad = opts.countIncludePad ?? false;
  const size = [axes[1].k, axes[2].k] as [number, number];
  const pool = (xs: Tensor) => pool2d(xs, { ...opts2d(axes), size, countIncludePad }, isMax);
  // Max: slices outside the volume are -inf (never win); average: 0 (add nothing).
  const y = overDepth(x, ad, isMax ? -Infinity : 0, pool, isMax ? maximum : add);
  const out = reshape(y, [x.shape[0], ...axes.map((a) => a.out), x.shape[4]]);
  if (isMax) return out;
  // The 2-D pooling divided by the real (or all) cells of each slice; the depth divisor per output depth.
  const scale = Array.from({ length: ad.out }, (_, o) => 1 / (countIncludePad ? ad.k : realTaps(ad, o, D)));
  return mul(out, Tensor.from(scale, [1, ad.out, 1, 1, 1]));
}

/** Max pooling over volumes [N, D, H, W, C] (differentiable; ties go to the first maximum, depth first). */
export const maxPool3d = defineOp('maxPool3d', ['x'], (x: Tensor, opts: Pool3dOptions): Tensor =>
  pool3d(x, opts, true),
);

/** Average pooling over [N, D, H, W, C] (differentiable; padding leaves the divisor unless countIncludePad). */
export const avgPool3d = defineOp('avgPool3d', ['x'], (x: Tensor, opts: Pool3dOptions): Tensor =>
  pool3d(x, opts, false),
);

// ---- float64 CPU references (direct 3-D windows) ------------------------------------------------

/** Float64 reference of {@link conv3d}: output [N, OD, OH, OW, Cout]. */
export function conv3dReference(
  x: ArrayLike<number>,
  xShape: Shape,
  w: ArrayLike<number>,
  wShape: Shape,
  bias: ArrayLike<number> | null,
  opts: Conv3dOptions = {},
): { out: Float64Array; shape: number[] } {
  const axes = windowAxes(xShape, opts, 'conv3dReference option', wShape.slice(0, 3));
  return convReference(x, xShape, w, wShape, bias, axes, opts.groups);
}

/** Float64 reference of {@link maxPool3d} / {@link avgPool3d}: output [N, OD, OH, OW, C]. */
export function pool3dReference(
  x: ArrayLike<number>,
  shape: Shape,
  kind: 'max' | 'avg',
  opts: Pool3dOptions,
): { out: Float64Array; shape: number[] } {
  return poolReference(x, shape, kind, windowAxes(shape, opts, 'pool3dReference option', null), opts.countIncludePad);
}
