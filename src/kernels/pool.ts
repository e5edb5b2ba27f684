/**
 * 2-D pooling over NHWC images: max, average and global average; max and average forward and backward
 * from one WGSL template each (override constants), 4 channels per invocation when C % 4 == 0. Padded
 * cells never win a max (as TensorFlow and PyTorch); the average divides by the real cells unless
 * `countIncludePad` (InceptionV3's 3x3 stride-1 'same' pools depend on it). A window holding NaN pools to
 * NaN (PyTorch's rule), its gradient going to that cell; else the gradient goes to the first maximum in
 * scan order (TensorFlow's CPU kernel), recorded by the forward when a gradient will be needed. The
 * backward gathers (each input cell collects from the windows that contain it), without atomics.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, isGradEnabled, shapeStr } from '../tensor.js';
import { checkBoolean, checkPadding, checkPair, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import { mean, sumReference } from './reduce.js';
import { fillTemplate, reluWgsl, vecWidth, vecSource } from '../gpu/wgsl.js';
import { emptyWindow, forEachWindow, poolReference, sides2d, windowAxis } from './window.js';
import poolSrc from '../../shaders/pool.wgsl';
import poolGradTemplate from '../../shaders/pool_grad.wgsl';
import poolCommonSrc from '../../shaders/pool_common.wgsl';

const poolGradSrc = fillTemplate(poolGradTemplate, { POOL_COMMON: poolCommonSrc, T: '{{T}}', U: '{{U}}' });

/** Padding of a pooling (or convolution) window: 'valid', TensorFlow 'same', or [top, bottom, left, right]. */
export type PoolPadding = 'valid' | 'same' | readonly [number, number, number, number];

/** Options of {@link maxPool2d} and {@link avgPool2d}. */
export interface Pool2dOptions {
  /** Window size: one number for square windows, or [height, width]. */
  size: number | readonly [number, number];
  /** Stride (default: the window size, as Keras). */
  stride?: number | readonly [number, number];
  /** Padding (default 'valid'). */
  padding?: PoolPadding;
  /** Dilation (default 1): the taps are this far apart, spanning (size - 1) * dilation + 1 cells (PyTorch's). */
  dilation?: number | readonly [number, number];
}

/** Options of {@link avgPool2d}. */
export interface AvgPool2dOptions extends Pool2dOptions {
  /** Divide by the full window including padded cells (PyTorch's default) instead of the real cells (Keras/TF). */
  countIncludePad?: boolean;
}

/** Resolve a pooling of an H x W input: its two window `axes`, `pad` [top, bottom, left, right] and OH x OW. */
export function poolGeometry(H: number, W: number, opts: Pool2dOptions) {
  if (typeof opts !== 'object' || opts === null)
    throw new Error(`ossify: pooling options must be an object with a window size, got ${showValue(opts)}`);
  const positive = { integer: true, min: 1 };
  const [kh, kw] = checkPair(opts.size, 'pooling option size', positive);
  const [sh, sw] = checkPair(withDefault(opts.stride, opts.size), 'pooling option stride', positive);
  const [dh, dw] = checkPair(withDefault(opts.dilation, 1), 'pooling option dilation', positive);
  const p = checkPadding(withDefault(opts.padding, 'valid'), 'pooling option padding');
  const [ah, aw] = [windowAxis(H, kh, sh, dh, sides2d(p), 0), windowAxis(W, kw, sw, dw, sides2d(p), 1)];
  const pad = [ah.before, ah.after, aw.before, aw.after];
  const [ekh, ekw] = [(kh - 1) * dh + 1, (kw - 1) * dw + 1];
  const window = `${kh}x${kw} window${dh > 1 || dw > 1 ? ` with dilation ${dh}x${dw} (spanning ${ekh}x${ekw})` : ''}`;
  const padded = `padding [${pad.join(', ')}]`;
  if (typeof p !== 'string' && pad.some((v, i) => v >= (i < 2 ? ekh : ekw)))
    throw new Error(`ossify: explicit pooling option ${padded} must be integers in [0, window span) for a ${window}`);
  if (ah.out < 1 || aw.out < 1)
    throw new Error(`ossify: a ${window} (option size) does not fit a ${H}x${W} input with ${padded}`);
  const [er, ec] = [emptyWindow(ah, H), emptyWindow(aw, W)];
  if (er !== undefined || ec !== undefined) {
    const where = er !== undefined ? `output row ${er}` : `output column ${ec}`;
    throw new Error(
      `ossify: the pooling ${window} at ${where} reads only padding of a ${H}x${W} input: use less padding or dilation`,
    );
  }
  return { axes: [ah, aw] as const, pad, OH: ah.out, OW: aw.out };
}

// The input map of the pool kernel: none, or act(x * table[c] + table[C + c]) (fused.ts's prologue).
const POOL_MAPS = {
  none: 'fn mapX(c: u32, v: {{T}}) -> {{T}} { return v; }',
  affine: `override MAP_RELU: bool = false;
@group(0) @binding(4) var<storage, read> map: array<{{T}}>; // [scale(C), shift(C)]
fn mapX(c: u32, v: {{T}}) -> {{T}} {
  let y = v * map[c] + map[p.C + c];
  return select(y, ${reluWgsl('y', '{{T}}()')}, MAP_RELU);
}`,
};

/** Max or average pooling; `map`: an input map (inference only: the fused op checks it and x). */
export function pool2d(
  x: Tensor,
  opts: AvgPool2dOptions,
  isMax: boolean,
  map?: { table: Tensor; relu: boolean },
): Tensor {
  if (x.rank !== 4)
    throw new Error(
      `ossify: ${isMax ? 'maxPool2d' : 'avgPool2d'} takes an NHWC tensor, got shape ${shapeStr(x.shape)}`,
    );
  const rt = runtime();
  const [N, H, W, C] = x.shape;
  const [h, w] = poolGeometry(H, W, opts).axes;
  const countIncludePad = checkBoolean(opts.countIncludePad, 'avgPool2d option countIncludePad', false);
  const flags = { IS_MAX: isMax ? 1 : 0, INCLUDE_PAD: !isMax && countIncludePad ? 1 : 0 };
  const y = Tensor.empty([N, h.out, w.out, C]);
  const needArg = isMax && isGradEnabled() && x.requiresGrad;
  // The arg-max indices are u32 bit patterns in an f32 tensor's storage (the shader reads them as u32).
  const arg = needArg ? Tensor.empty(y.shape) : Tensor.empty([1]);
  const v = vecWidth(C);
  const dims = { H, W, C: C / v, OH: h.out, OW: w.out, kh: h.k, kw: w.k, sh: h.s, sw: w.s, dh: h.d, dw: w.d };
  // Whether to save the arg-max is a uniform: a training forward and an inference one share the pipeline.
  const params = { ...dims, pt: h.before, pl: w.before, saveArg: needArg ? 1 : 0 };
  const T = { T: '{{T}}', U: '{{U}}' };
  const src = fillTemplate(poolSrc, { MAP: map ? POOL_MAPS.affine : POOL_MAPS.none, POOL_COMMON: poolCommonSrc, ...T });
  const name = `${isMax ? 'max' : 'avg'}-pool${map ? (map.relu ? '+pre-affine+relu' : '+pre-affine') : ''}`;
  rt.dispatch(
    rt.kernel(name, vecSource(src, v), { ...flags, ...(map ? { MAP_RELU: map.relu ? 1 : 0 } : {}) }),
    { x: x.storage, y: y.storage, arg: arg.storage, ...(map ? { map: map.table.storage } : {}) },
    { ...params, n: y.size / v },
    rt.grid(y.size / v, 256),
  );
  // A mapped pooling records nothing: the fused op refused x that needs a gradient.
  const out = record(isMax ? 'maxPool2d' : 'avgPool2d', [x], y, needArg ? [arg] : [], (g, saved) => {
    const dx = Tensor.empty(x.shape);
    // Average pooling reads no arg-max: g stands in for the binding.
    rt.dispatch(
      rt.kernel(isMax ? 'max-pool-grad' : 'avg-pool-grad', vecSource(poolGradSrc, v), flags),
      { g: g.storage, arg: (saved[0] ?? g).storage, dx: dx.storage },
      { ...params, n: dx.size / v },
      rt.grid(dx.size / v, 256),
    );
    return [dx];
  });
  arg.dispose();
  return out;
}

/** Max pooling over NHWC (differentiable; ties and NaN as the file comment says). */
export const maxPool2d = defineOp('maxPool2d', ['x'], (x: Tensor, opts: Pool2dOptions): Tensor =>
  pool2d(x, opts, true),
);

/** Average pooling over NHWC (differentiable). Padded cells are excluded from the divisor unless `countIncludePad`. */
export const avgPool2d = defineOp('avgPool2d', ['x'], (x: Tensor, opts: AvgPool2dOptions): Tensor =>
  pool2d(x, opts, false),
);

/** Global average pooling: [N, H, W, C] -> [N, C] (the channel-contiguous mean over H and W; differentiable). */
export const globalAvgPool2d = defineOp('globalAvgPool2d', ['x'], (x: Tensor): Tensor => {
  if (x.rank !== 4) throw new Error(`ossify: globalAvgPool2d takes an NHWC tensor, got shape ${shapeStr(x.shape)}`);
  return mean(x, [1, 2]);
});

// ---- float64 CPU references -------------------------------------------------------------------

/** Float64 reference of max / average pooling: [N, OH, OW, C] and, for max, each output's arg-max input index. */
export function pool2dReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  kind: 'max' | 'avg',
  opts: AvgPool2dOptions,
): { y: Float64Array; shape: number[]; argmax: Int32Array } {
  const { axes } = poolGeometry(shape[1], shape[2], opts);
  const r = poolReference(x, shape, kind, axes, opts.countIncludePad);
  return { y: r.out, shape: r.shape, argmax: r.argmax };
}

/** Float64 reference gradient of pooling w.r.t. x for an output gradient g (scatter form: the forward's adjoint). */
export function pool2dBackwardReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  g: ArrayLike<number>,
  kind: 'max' | 'avg',
  opts: AvgPool2dOptions,
): Float64Array {
  const { axes } = poolGeometry(shape[1], shape[2], opts);
  const { argmax } = poolReference(x, shape, 'max', axes);
  const C = shape[3];
  const dx = new Float64Array(x.length);
  forEachWindow(shape[0], shape.slice(1, 3), axes, (o, taps) => {
    for (let c = 0; c < C; c++) {
      const q = o * C + c;
      if (kind === 'max') dx[argmax[q]] += g[q];
      else
        for (const [, i] of taps) dx[i * C + c] += g[q] / (opts.countIncludePad ? axes[0].k * axes[1].k : taps.length);
    }
  });
  return dx;
}

/** Float64 reference of {@link globalAvgPool2d}: [N, C]. */
export function globalAvgPool2dReference(x: ArrayLike<number>, shape: readonly number[]): Float64Array {
  return sumReference(x, shape, [1, 2], 1 / (shape[1] * shape[2]));
}
