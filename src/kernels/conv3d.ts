/**
 * 3-D convolution and pooling over channels-last volumes [N, D, H, W, C] (Keras's layout; PyTorch's
 * Conv3d is [N, C, D, H, W]), composed from the 2-D kernels: a window's depth taps are summed (or, for
 * max pooling, combined with `maximum`), each a 2-D convolution or pooling of the depth slices it reads.
 * Tap dz reads slice o * strideD - padFront + dz * dilationD for output depth o, gathered into an
 * [N * OD, H, W, C] image by one small kernel (shaders/depth_gather.wgsl, whose adjoint is the same
 * gather backwards); the kernel's slice w[dz] is gathered likewise. Taps that read only padding for
 * every output depth are skipped. Autograd comes from the 2-D ops, the gathers and the sums.
 *
 * Cost: KD 2-D launches and a gathered copy of the input per depth tap (KD times the input's memory
 * at most, freed tap by tap), instead of a dedicated 3-D implicit GEMM.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, shapeStr, type Shape } from '../tensor.js';
import { checkNumber, inRange, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import { add, maximum, mul, reshape } from './elementwise.js';
import { conv2d } from './conv2d.js';
import { pool2d } from './pool.js';
import gatherSrc from '../../shaders/depth_gather.wgsl';

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

function checkTriple(v: unknown, what: string): [number, number, number] {
  const t = typeof v === 'number' ? [v, v, v] : Array.isArray(v) && v.length === 3 ? v : null;
  if (!t || !t.every((d) => inRange(d, { integer: true, min: 1 })))
    throw new Error(`ossify: ${what} must be an integer >= 1 or [depth, height, width] of them, got ${showValue(v)}`);
  return [t[0], t[1], t[2]];
}

/** One axis of a 3-D window: its padding before and after, and the output size. */
export interface Axis3d {
  before: number;
  after: number;
  out: number;
}

/** Resolve the padding and output size of each axis of a 3-D window (TensorFlow's 'same'). */
export function window3d(
  dims: readonly number[],
  k: readonly number[],
  s: readonly number[],
  d: readonly number[],
  padding: unknown,
  what: string,
): Axis3d[] {
  const explicit =
    Array.isArray(padding) && padding.length === 6 && padding.every((v) => inRange(v, { integer: true, min: 0 }));
  if (padding !== 'valid' && padding !== 'same' && !explicit)
    throw new Error(
      `ossify: ${what} padding must be 'valid', 'same' or [front, back, top, bottom, left, right] non-negative ` +
        `integers, got ${showValue(padding)}`,
    );
  return dims.map((n, i) => {
    const span = (k[i] - 1) * d[i] + 1;
    let [before, after] = [0, 0];
    if (padding === 'same') {
      const total = Math.max((Math.ceil(n / s[i]) - 1) * s[i] + span - n, 0);
      [before, after] = [Math.floor(total / 2), total - Math.floor(total / 2)];
    } else if (explicit) [before, after] = [padding[2 * i], padding[2 * i + 1]];
    const out = Math.floor((n + before + after - span) / s[i]) + 1;
    if (out < 1)
      throw new Error(
        `ossify: ${what}: the window (span ${span}) does not fit axis ${i} of size ${n} padded ${before}+${after}`,
      );
    return { before, after, out };
  });
}

/** out[n, o] = x[n, (o * mul + add) / div] where whole and in range, else fill (see the shader). Unrecorded. */
function launchGather(
  x: Tensor,
  N: number,
  Din: number,
  Dout: number,
  m: number,
  a: number,
  div: number,
  fill: number,
) {
  const rt = runtime();
  const P = x.size / (N * Din);
  const out = Tensor.empty([N, Dout, P]);
  rt.dispatch(
    rt.kernel('depth-gather', gatherSrc),
    { x: x.storage, out: out.storage },
    { n: out.size, Din, Dout, P, mul: m, add: a, div, fill },
    rt.grid(out.size, 256),
  );
  return out;
}

/**
 * Depth slices o * stride + offset of x [N, Din, ...rest] for o < Dout (fill outside): [N * Dout, ...rest].
 * Differentiable in x (the gradient gathers back: slice d takes output (d - offset) / stride).
 */
function depthTap(x: Tensor, Dout: number, stride: number, offset: number, fill: number): Tensor {
  const [N, Din, ...rest] = x.shape;
  const out = launchGather(x, N, Din, Dout, stride, offset, 1, fill).alias([N * Dout, ...rest]);
  return record('depthTap', [x], out, [], (g) => [launchGather(g, N, Dout, Din, 1, -offset, stride, 0).alias(x.shape)]);
}

/** Whether depth tap dz reads a real slice for some output depth. */
const tapLive = (a: Axis3d, D: number, s: number, off: number) =>
  Array.from({ length: a.out }, (_, o) => o * s + off).some((v) => v >= 0 && v < D);

function checkVolume(x: Tensor, op: string): number[] {
  if (x.rank !== 5)
    throw new Error(`ossify: ${op} takes a volume [N, D, H, W, C] (channels last), got ${shapeStr(x.shape)}`);
  return [...x.shape];
}

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
    if (typeof opts !== 'object' || opts === null)
      throw new Error(`ossify: conv3d options must be an object, got ${showValue(opts)}`);
    const [N, D, H, W, Cin] = checkVolume(x, 'conv3d');
    if (w.rank !== 5)
      throw new Error(`ossify: conv3d takes a kernel [KD, KH, KW, Cin/groups, Cout], got ${shapeStr(w.shape)}`);
    const [KD, KH, KW, Cig, Cout] = w.shape;
    const s = checkTriple(withDefault(opts.stride, 1), 'conv3d option stride');
    const d = checkTriple(withDefault(opts.dilation, 1), 'conv3d option dilation');
    const groups = checkNumber(withDefault(opts.groups, 1), 'conv3d option groups', { integer: true, min: 1 });
    if (Cig * groups !== Cin)
      throw new Error(
        `ossify: conv3d input channels disagree: x has ${Cin}, w expects ${Cig} x ${groups} groups: ` +
          `x ${shapeStr(x.shape)}, w ${shapeStr(w.shape)}`,
      );
    const [ad, ah, aw] = window3d([D, H, W], [KD, KH, KW], s, d, withDefault(opts.padding, 'valid'), 'conv3d option');
    if (bias && (bias.rank !== 1 || bias.shape[0] !== Cout))
      throw new Error(`ossify: conv3d bias must be [${Cout}], got ${shapeStr(bias.shape)}`);
    const opts2d = {
      stride: [s[1], s[2]] as [number, number],
      dilation: [d[1], d[2]] as [number, number],
      padding: [ah.before, ah.after, aw.before, aw.after] as [number, number, number, number],
      groups,
    };
    let y: Tensor | null = null;
    for (let dz = 0; dz < KD; dz++) {
      const off = dz * d[0] - ad.before;
      if (!tapLive(ad, D, s[0], off)) continue;
      const xs = depthTap(x, ad.out, s[0], off, 0);
      const ws = reshape(depthTap(reshape(w, [1, KD, KH * KW * Cig * Cout]), 1, 1, dz, 0), [KH, KW, Cig, Cout]);
      const yz = conv2d(xs, ws, null, opts2d);
      y = y ? add(y, yz) : yz;
    }
    if (!y) throw new Error(`ossify: conv3d: every depth tap reads only padding (x ${shapeStr(x.shape)})`);
    return reshape(bias ? add(y, bias) : y, [N, ad.out, ah.out, aw.out, Cout]);
  },
);

function pool3d(x: Tensor, opts: Pool3dOptions, isMax: boolean): Tensor {
  const op = isMax ? 'maxPool3d' : 'avgPool3d';
  if (typeof opts !== 'object' || opts === null)
    throw new Error(`ossify: ${op} options must be an object with a window size, got ${showValue(opts)}`);
  const [N, D, H, W, C] = checkVolume(x, op);
  const k = checkTriple(opts.size, `${op} option size`);
  const s = checkTriple(withDefault(opts.stride, opts.size), `${op} option stride`);
  const d = checkTriple(withDefault(opts.dilation, 1), `${op} option dilation`);
  const [ad, ah, aw] = window3d([D, H, W], k, s, d, withDefault(opts.padding, 'valid'), `${op} option`);
  const spanD = (k[0] - 1) * d[0] + 1;
  if (ad.before >= spanD || ad.after >= spanD)
    throw new Error(`ossify: ${op} depth padding must be smaller than the window's depth span ${spanD}`);
  // Every output depth needs a real slice among its taps (a dilated window can step over a thin volume).
  for (let o = 0; o < ad.out; o++)
    if (!Array.from({ length: k[0] }, (_, j) => o * s[0] - ad.before + j * d[0]).some((v) => v >= 0 && v < D))
      throw new Error(`ossify: the ${op} window at output depth ${o} reads only padding: use less padding or dilation`);
  const countIncludePad = opts.countIncludePad ?? false;
  const opts2d = {
    size: [k[1], k[2]] as [number, number],
    stride: [s[1], s[2]] as [number, number],
    dilation: [d[1], d[2]] as [number, number],
    padding: [ah.before, ah.after, aw.before, aw.after] as [number, number, number, number],
    countIncludePad,
  };
  let y: Tensor | null = null;
  for (let dz = 0; dz < k[0]; dz++) {
    const off = dz * d[0] - ad.before;
    if (!tapLive(ad, D, s[0], off)) continue;
    // Max: slices outside the volume are -inf (never win); average: 0 (add nothing).
    const yz = pool2d(depthTap(x, ad.out, s[0], off, isMax ? -Infinity : 0), opts2d, isMax);
    y = y ? (isMax ? maximum(y, yz) : add(y, yz)) : yz;
  }
  const out = reshape(y!, [N, ad.out, ah.out, aw.out, C]);
  if (isMax) return out;
  // The 2-D pooling divided by the real (or all) cells of each slice; the depth divisor per output depth.
  const scale = Array.from({ length: ad.out }, (_, o) => {
    const real = Array.from({ length: k[0] }, (_, j) => o * s[0] - ad.before + j * d[0]).filter((v) => v >= 0 && v < D);
    return 1 / (countIncludePad ? k[0] : real.length);
  });
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

// ---- float64 CPU references (direct 3-D loops) -------------------------------------------------

/** Float64 reference of {@link conv3d}: output [N, OD, OH, OW, Cout]. */
export function conv3dReference(
  x: ArrayLike<number>,
  xShape: Shape,
  w: ArrayLike<number>,
  wShape: Shape,
  bias: ArrayLike<number> | null,
  opts: Conv3dOptions = {},
): { out: Float64Array; shape: number[] } {
  const [N, D, H, W, Cin] = xShape;
  const [KD, KH, KW, Cig, Cout] = wShape;
  const s = checkTriple(opts.stride ?? 1, 'stride');
  const d = checkTriple(opts.dilation ?? 1, 'dilation');
  const ax = window3d([D, H, W], [KD, KH, KW], s, d, opts.padding ?? 'valid', 'conv3dReference');
  const [OD, OH, OW] = ax.map((a) => a.out);
  const Cog = Cout / (opts.groups ?? 1);
  const out = new Float64Array(N * OD * OH * OW * Cout);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let od = 0; od < OD; od++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++)
          for (let co = 0; co < Cout; co++, o++) {
            let acc = bias ? bias[co] : 0;
            const g = Math.floor(co / Cog);
            for (let kd = 0; kd < KD; kd++)
              for (let kh = 0; kh < KH; kh++)
                for (let kw = 0; kw < KW; kw++) {
                  const [id, ih, iw] = [
                    od * s[0] - ax[0].before + kd * d[0],
                    oh * s[1] - ax[1].before + kh * d[1],
                    ow * s[2] - ax[2].before + kw * d[2],
                  ];
                  if (id < 0 || id >= D || ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  for (let j = 0; j < Cig; j++)
                    acc +=
                      x[(((n * D + id) * H + ih) * W + iw) * Cin + g * Cig + j] *
                      w[(((kd * KH + kh) * KW + kw) * Cig + j) * Cout + co];
                }
            out[o] = acc;
          }
  return { out, shape: [N, OD, OH, OW, Cout] };
}

/** Float64 reference of {@link maxPool3d} / {@link avgPool3d}: output [N, OD, OH, OW, C]. */
export function pool3dReference(
  x: ArrayLike<number>,
  [N, D, H, W, C]: readonly number[],
  kind: 'max' | 'avg',
  opts: Pool3dOptions,
): { out: Float64Array; shape: number[] } {
  const k = checkTriple(opts.size, 'size');
  const s = checkTriple(opts.stride ?? opts.size, 'stride');
  const d = checkTriple(opts.dilation ?? 1, 'dilation');
  const ax = window3d([D, H, W], k, s, d, opts.padding ?? 'valid', 'pool3dReference');
  const [OD, OH, OW] = ax.map((a) => a.out);
  const out = new Float64Array(N * OD * OH * OW * C);
  let o = 0;
  for (let n = 0; n < N; n++)
    for (let od = 0; od < OD; od++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++)
          for (let c = 0; c < C; c++, o++) {
            const vals: number[] = [];
            for (let kd = 0; kd < k[0]; kd++)
              for (let kh = 0; kh < k[1]; kh++)
                for (let kw = 0; kw < k[2]; kw++) {
                  const [id, ih, iw] = [
                    od * s[0] - ax[0].before + kd * d[0],
                    oh * s[1] - ax[1].before + kh * d[1],
                    ow * s[2] - ax[2].before + kw * d[2],
                  ];
                  if (id >= 0 && id < D && ih >= 0 && ih < H && iw >= 0 && iw < W)
                    vals.push(x[(((n * D + id) * H + ih) * W + iw) * C + c]);
                }
            out[o] =
              kind === 'max'
                ? vals.reduce((a, v) => (Number.isNaN(a) ? a : !(v <= a) ? v : a))
                : vals.reduce((a, v) => a + v, 0) / (opts.countIncludePad ? k[0] * k[1] * k[2] : vals.length);
          }
  return { out, shape: [N, OD, OH, OW, C] };
}
