/**
 * 2-D pooling over NHWC images: max, average and global average. One WGSL template serves max and
 * average (override constants), forward and backward, with 4 channels per invocation when C is a
 * multiple of 4.
 *
 * Conventions:
 * - padding 'valid' (none), 'same' (TensorFlow: output ceil(H / stride); the odd extra padded row/column
 *   goes to the bottom/right), or explicit [top, bottom, left, right] (each smaller than the window).
 * - Padded cells never win a max (TensorFlow and PyTorch alike). Keras DenseNet121's stem is
 *   ZeroPadding2D(1) then MaxPooling2D(3, 2): there the zeros take part in the max, which gives the same
 *   values after a ReLU (every window holds a real cell >= 0), and the same gradients through the ReLU.
 * - Average pooling divides by the number of real (unpadded) cells in the window by default, as
 *   Keras/TensorFlow do; `countIncludePad: true` divides by the full window size as PyTorch's default
 *   `count_include_pad=True` does. InceptionV3's 3x3 stride-1 'same' branch pools depend on this.
 * - A window holding NaN pools to NaN (PyTorch's rule), and its gradient goes to that NaN cell.
 * - Max-pool gradients go to the first maximum of each window in scan order (rows, then columns) when
 *   values tie, as TensorFlow's CPU kernel does. The forward pass records that arg-max when a gradient
 *   will be needed; the backward pass is a gather (each input cell collects from the windows that
 *   contain it), so no atomics are used.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, isGradEnabled, shapeStr } from '../tensor.js';
import { checkBoolean, checkPadding, checkPair, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import { mean } from './reduce.js';
import { vecWidth, vecSource } from './vec-width.js';
import { fillTemplate, reluWgsl } from '../gpu/wgsl.js';
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
  /**
   * Dilation: the window's taps are this far apart (default 1; a number or [vertical, horizontal]), as
   * PyTorch's MaxPool2d `dilation` and TensorFlow's `tf.nn.pool` `dilations`. The window spans
   * (size - 1) * dilation + 1 cells, which 'same' padding and the padding limit use.
   */
  dilation?: number | readonly [number, number];
}

/** Options of {@link avgPool2d}. */
export interface AvgPool2dOptions extends Pool2dOptions {
  /**
   * Divide by the full window including padded cells (PyTorch's default) instead of the real cells
   * only (Keras/TF, default false).
   */
  countIncludePad?: boolean;
}

/** The resolved geometry of a pooling window over an H x W image. */
export interface PoolGeometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** Dilation (taps dh, dw apart). */
  dh: number;
  dw: number;
  /** Padding [top, bottom, left, right]. */
  pad: [number, number, number, number];
  OH: number;
  OW: number;
}

/** Resolve window, stride and padding for an H x W input (TensorFlow's 'same' rule). */
export function poolGeometry(H: number, W: number, opts: Pool2dOptions): PoolGeometry {
  if (typeof opts !== 'object' || opts === null) {
    throw new Error(`ossify: pooling options must be an object with a window size, got ${showValue(opts)}`);
  }
  const [kh, kw] = checkPair(opts.size, 'pooling option size', { integer: true, min: 1 });
  const [sh, sw] = checkPair(withDefault(opts.stride, opts.size), 'pooling option stride', { integer: true, min: 1 });
  const [dh, dw] = checkPair(withDefault(opts.dilation, 1), 'pooling option dilation', { integer: true, min: 1 });
  const padding = checkPadding(withDefault(opts.padding, 'valid'), 'pooling option padding');
  // The dilated window's span.
  const [ekh, ekw] = [(kh - 1) * dh + 1, (kw - 1) * dw + 1];
  const window = `${kh}x${kw} window${dh > 1 || dw > 1 ? ` with dilation ${dh}x${dw} (spanning ${ekh}x${ekw})` : ''}`;
  let pad: [number, number, number, number];
  if (padding === 'valid') pad = [0, 0, 0, 0];
  else if (padding === 'same') {
    const total = (n: number, k: number, s: number) => Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
    const th = total(H, ekh, sh);
    const tw = total(W, ekw, sw);
    pad = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else {
    pad = [padding[0], padding[1], padding[2], padding[3]];
    if (pad.some((v, i) => v >= (i < 2 ? ekh : ekw))) {
      const rule = `integers in [0, window span) for a ${window}`;
      throw new Error(`ossify: explicit pooling option padding [${pad.join(', ')}] must be ${rule}`);
    }
  }
  const OH = Math.floor((H + pad[0] + pad[1] - ekh) / sh) + 1;
  const OW = Math.floor((W + pad[2] + pad[3] - ekw) / sw) + 1;
  if (OH < 1 || OW < 1) {
    const input = `a ${H}x${W} input with padding [${pad.join(', ')}]`;
    throw new Error(`ossify: a ${window} (option size) does not fit ${input}`);
  }
  // A dilated window can step over a small image: every window must hold a real cell.
  const empty = (O: number, s: number, p: number, k: number, d: number, n: number) =>
    Array.from({ length: O }, (_, o) => o).find((o) => {
      const t = Array.from({ length: k }, (_, j) => o * s - p + j * d);
      return !t.some((v) => v >= 0 && v < n);
    });
  const er = dh > 1 ? empty(OH, sh, pad[0], kh, dh, H) : undefined;
  const ec = dw > 1 ? empty(OW, sw, pad[2], kw, dw, W) : undefined;
  if (er !== undefined || ec !== undefined) {
    const where = er !== undefined ? `output row ${er}` : `output column ${ec}`;
    throw new Error(
      `ossify: the pooling ${window} at ${where} reads only padding of a ${H}x${W} input: use less padding or dilation`,
    );
  }
  return { kh, kw, sh, sw, dh, dw, pad, OH, OW };
}

function params(x: Tensor, geo: PoolGeometry, n: number, v: number): Record<string, number> {
  const [, H, W, C] = x.shape;
  return {
    n: n / v,
    H,
    W,
    C: C / v,
    OH: geo.OH,
    OW: geo.OW,
    kh: geo.kh,
    kw: geo.kw,
    sh: geo.sh,
    sw: geo.sw,
    dh: geo.dh,
    dw: geo.dw,
    pt: geo.pad[0],
    pl: geo.pad[2],
  };
}

// The input map of the pool kernel: none, or act(x * table[c] + table[C + c]) (the fused op's prologue,
// src/kernels/fused.ts).
const POOL_MAPS = {
  none: 'fn mapX(c: u32, v: {{T}}) -> {{T}} { return v; }',
  affine: `override MAP_RELU: bool = false;
@group(0) @binding(4) var<storage, read> map: array<{{T}}>; // [scale(C), shift(C)]
fn mapX(c: u32, v: {{T}}) -> {{T}} {
  let y = v * map[c] + map[p.C + c];
  return select(y, ${reluWgsl('y', '{{T}}()')}, MAP_RELU);
}`,
};

/** One pooling launch; `map`: an input map (inference only: the fused op checks it and x). */
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
  const geo = poolGeometry(H, W, opts);
  const countIncludePad = checkBoolean(opts.countIncludePad, 'avgPool2d option countIncludePad', false);
  const includePad = !isMax && countIncludePad;
  const y = Tensor.empty([N, geo.OH, geo.OW, C]);
  const needArg = isMax && isGradEnabled() && x.requiresGrad;
  // The arg-max indices are u32 bit patterns in an f32 tensor's storage (the shader reads them as u32).
  const arg = needArg ? Tensor.empty(y.shape) : Tensor.empty([1]);
  const v = vecWidth(C);
  const src = vecSource(
    fillTemplate(poolSrc, {
      MAP: map ? POOL_MAPS.affine : POOL_MAPS.none,
      POOL_COMMON: poolCommonSrc,
      T: '{{T}}',
      U: '{{U}}',
    }),
    v,
  );
  const name = `${isMax ? 'max' : 'avg'}-pool${map ? (map.relu ? '+pre-affine+relu' : '+pre-affine') : ''}`;
  const k = rt.kernel(name, src, {
    IS_MAX: isMax ? 1 : 0,
    INCLUDE_PAD: includePad ? 1 : 0,
    ...(map ? { MAP_RELU: map.relu ? 1 : 0 } : {}),
  });
  rt.dispatch(
    k,
    { x: x.storage, y: y.storage, arg: arg.storage, ...(map ? { map: map.table.storage } : {}) },
    // Whether to save the arg-max is a uniform: a training forward and an inference one share the pipeline.
    { ...params(x, geo, y.size, v), saveArg: needArg ? 1 : 0 },
    rt.grid(y.size / v, 256),
  );
  // A mapped pooling records nothing: the fused op refused x that needs a gradient.
  const out = record(isMax ? 'maxPool2d' : 'avgPool2d', [x], y, needArg ? [arg] : [], (g, saved) => {
    const dx = Tensor.empty(x.shape);
    const kg = rt.kernel(isMax ? 'max-pool-grad' : 'avg-pool-grad', vecSource(poolGradSrc, v), {
      IS_MAX: isMax ? 1 : 0,
      INCLUDE_PAD: includePad ? 1 : 0,
    });
    // Average pooling reads no arg-max: g stands in for the binding.
    rt.dispatch(
      kg,
      { g: g.storage, arg: (saved[0] ?? g).storage, dx: dx.storage },
      params(x, geo, dx.size, v),
      rt.grid(dx.size / v, 256),
    );
    return [dx];
  });
  arg.dispose();
  return out;
}

/**
 * Max pooling over NHWC (differentiable; ties send the gradient to the first maximum in scan order;
 * a window holding NaN gives NaN).
 */
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

/**
 * Float64 reference of max / average pooling: output [N, OH, OW, C] and, for max, the arg-max input
 * index per output.
 */
export function pool2dReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  kind: 'max' | 'avg',
  opts: AvgPool2dOptions,
): { y: Float64Array; shape: number[]; argmax: Int32Array } {
  const [N, H, W, C] = shape;
  const geo = poolGeometry(H, W, opts);
  const { kh, kw, sh, sw, dh, dw, OH, OW } = geo;
  const [pt, , pl] = geo.pad;
  const y = new Float64Array(N * OH * OW * C);
  const argmax = new Int32Array(y.length).fill(-1);
  for (let b = 0; b < N; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let bi = -1;
          let s = 0;
          let cnt = 0;
          for (let dy = 0; dy < kh; dy++)
            for (let dx = 0; dx < kw; dx++) {
              const h = oh * sh - pt + dy * dh;
              const w = ow * sw - pl + dx * dw;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              const at = ((b * H + h) * W + w) * C + c;
              // The first cell starts the max; a larger one or a NaN (unless NaN already won) takes over.
              if (bi < 0 || (!(x[at] <= best) && !Number.isNaN(best))) {
                best = x[at];
                bi = at;
              }
              s += x[at];
              cnt++;
            }
          const o = ((b * OH + oh) * OW + ow) * C + c;
          if (kind === 'max') {
            y[o] = best;
            argmax[o] = bi;
          } else y[o] = s / (opts.countIncludePad ? kh * kw : cnt);
        }
  return { y, shape: [N, OH, OW, C], argmax };
}

/**
 * Float64 reference gradient of pooling w.r.t. x for an output gradient g (scatter form, the
 * adjoint of the forward).
 */
export function pool2dBackwardReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  g: ArrayLike<number>,
  kind: 'max' | 'avg',
  opts: AvgPool2dOptions,
): Float64Array {
  const [N, H, W, C] = shape;
  const geo = poolGeometry(H, W, opts);
  const { kh, kw, sh, sw, dh, dw, OH, OW } = geo;
  const [pt, , pl] = geo.pad;
  const { argmax } = pool2dReference(x, shape, 'max', opts);
  const dx = new Float64Array(x.length);
  for (let b = 0; b < N; b++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++)
        for (let c = 0; c < C; c++) {
          const o = ((b * OH + oh) * OW + ow) * C + c;
          if (kind === 'max') {
            dx[argmax[o]] += g[o];
            continue;
          }
          const cells: number[] = [];
          for (let dy = 0; dy < kh; dy++)
            for (let ddx = 0; ddx < kw; ddx++) {
              const h = oh * sh - pt + dy * dh;
              const w = ow * sw - pl + ddx * dw;
              if (h >= 0 && h < H && w >= 0 && w < W) cells.push(((b * H + h) * W + w) * C + c);
            }
          const d = opts.countIncludePad ? kh * kw : cells.length;
          for (const at of cells) dx[at] += g[o] / d;
        }
  return dx;
}

/** Float64 reference of {@link globalAvgPool2d}: [N, C]. */
export function globalAvgPool2dReference(x: ArrayLike<number>, shape: readonly number[]): Float64Array {
  const [N, H, W, C] = shape;
  const y = new Float64Array(N * C);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    const b = Math.floor(i / (H * W * C));
    y[b * C + c] += x[i] / (H * W);
  }
  return y;
}
