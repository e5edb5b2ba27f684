/**
 * 2-D convolution (NHWC images, HWIO weights), forward and backward, plus its float64 CPU reference.
 *
 * Dense convolutions (groups = 1) run on the GEMM engine as implicit GEMMs with their own loaders:
 * - forward:         M = N*OH*OW, N = Cout, K = KH*KW*Cin   (shaders/conv2d_fwd.wgsl)
 * - input gradient:  M = N*H*W,   N = Cin,  K = KH*KW*Cout  (shaders/conv2d_dx.wgsl)
 * - weight gradient: M = KH*KW*Cin, N = Cout, K = N*OH*OW   (shaders/conv2d_dw.wgsl; gemm splits k)
 * - bias gradient:   sum of dY over N, OH, OW.
 * Convolution backward is convolution: dX is dY dilated by the stride, correlated with the flipped,
 * transposed weights (padding k_eff - 1 - pad); dW correlates X with dY (stride and dilation swapped).
 * The loaders gather those operands in place instead of building the dilated/flipped tensors.
 *
 * Grouped and depthwise convolutions (groups > 1) run a direct kernel (shaders/conv2d_grouped.wgsl),
 * one source for forward, input and weight gradients.
 *
 * 'same' padding follows TensorFlow/Keras: OH = ceil(H / stride), total padding
 * max((OH - 1)*stride + (KH - 1)*dilation + 1 - H, 0), top = floor(total / 2), the extra row at the
 * bottom (and likewise left/right). PyTorch's padding='same' (stride 1 only) agrees for stride 1.
 */
import { runtime } from '../gpu/runtime.js';
import { fillTemplate } from '../gpu/wgsl.js';
import { Tensor, shapeStr, type Shape } from '../tensor.js';
import { record } from '../autograd.js';
import { gemm } from './gemm.js';
import { sum } from './reduce.js';
import commonSrc from '../../shaders/conv2d_common.wgsl';
import fwdSrc from '../../shaders/conv2d_fwd.wgsl';
import dxSrc from '../../shaders/conv2d_dx.wgsl';
import dwSrc from '../../shaders/conv2d_dw.wgsl';
import wtSrc from '../../shaders/conv2d_wt.wgsl';
import groupedSrc from '../../shaders/conv2d_grouped.wgsl';

/** Padding of a convolution: Keras 'valid' / 'same', or explicit [top, bottom, left, right]. */
export type Conv2dPadding = 'valid' | 'same' | readonly [number, number, number, number];

/** Options for {@link conv2d}. Scalars apply to both axes; pairs are [vertical, horizontal]. */
export interface Conv2dOptions {
  /** Stride (default 1). */
  stride?: number | readonly [number, number];
  /** Dilation (default 1): tap kh reads row oh*stride - padTop + kh*dilation. */
  dilation?: number | readonly [number, number];
  /** Default 'valid'. 'same' is TensorFlow's rule (extra row/column bottom/right). */
  padding?: Conv2dPadding;
  /** Channel groups (default 1); Cin and Cout must be multiples. groups == Cin is depthwise. */
  groups?: number;
}

/** Everything a convolution launch needs: sizes, strides, dilations and per-side padding. */
export interface ConvGeometry {
  N: number;
  H: number;
  W: number;
  Cin: number;
  KH: number;
  KW: number;
  Cout: number;
  groups: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padT: number;
  padB: number;
  padL: number;
  padR: number;
  OH: number;
  OW: number;
}

function pair(v: number | readonly [number, number] | undefined, name: string): [number, number] {
  const p: [number, number] = v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  for (const d of p) if (!Number.isInteger(d) || d < 1) throw new Error(`ossify: conv2d ${name} must be positive integers, got ${JSON.stringify(v)}`);
  return p;
}

/**
 * Output size and per-side padding of a convolution of an NHWC `xShape` with HWIO `wShape`.
 * Throws with both shapes named when they do not fit together.
 */
export function resolveConvGeometry(xShape: Shape, wShape: Shape, opts: Conv2dOptions = {}): ConvGeometry {
  const shapes = `x ${shapeStr(xShape)} (NHWC), w ${shapeStr(wShape)} (HWIO [KH, KW, Cin/groups, Cout])`;
  if (xShape.length !== 4 || wShape.length !== 4) throw new Error(`ossify: conv2d needs 4-D x and w: ${shapes}`);
  const [N, H, W, Cin] = xShape;
  const [KH, KW, Cig, Cout] = wShape;
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`ossify: conv2d groups must be a positive integer, got ${groups}`);
  if (Cin % groups !== 0 || Cout % groups !== 0) throw new Error(`ossify: conv2d groups=${groups} must divide Cin=${Cin} and Cout=${Cout}: ${shapes}`);
  if (Cig * groups !== Cin) throw new Error(`ossify: conv2d input channels disagree: x has Cin=${Cin}, w expects ${Cig}${groups > 1 ? ` per group x ${groups} groups = ${Cig * groups}` : ''}: ${shapes}`);
  const [sh, sw] = pair(opts.stride, 'stride');
  const [dh, dw] = pair(opts.dilation, 'dilation');
  const effH = (KH - 1) * dh + 1;
  const effW = (KW - 1) * dw + 1;
  const padding = opts.padding ?? 'valid';
  let padT = 0, padB = 0, padL = 0, padR = 0, OH: number, OW: number;
  if (padding === 'same') {
    OH = Math.ceil(H / sh);
    OW = Math.ceil(W / sw);
    const th = Math.max((OH - 1) * sh + effH - H, 0);
    const tw = Math.max((OW - 1) * sw + effW - W, 0);
    [padT, padB, padL, padR] = [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  } else {
    if (padding !== 'valid') {
      if (padding.length !== 4 || padding.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`ossify: conv2d padding must be 'valid', 'same' or [top, bottom, left, right] of non-negative integers, got ${JSON.stringify(padding)}`);
      [padT, padB, padL, padR] = padding;
    }
    OH = Math.floor((H + padT + padB - effH) / sh) + 1;
    OW = Math.floor((W + padL + padR - effW) / sw) + 1;
  }
  if (OH < 1 || OW < 1) throw new Error(`ossify: conv2d output would be empty (${OH}x${OW}): the ${effH}x${effW} effective kernel does not fit the padded ${H + padT + padB}x${W + padL + padR} input: ${shapes}`);
  return { N, H, W, Cin, KH, KW, Cout, groups, sh, sw, dh, dw, padT, padB, padL, padR, OH, OW };
}

// ---- launches ---------------------------------------------------------------------------------

/** The divmod trick in the loaders is exact below 2^24; keep every decomposed index there. */
const INDEX_LIMIT = 2 ** 24 - 4096;
function checkIndex(n: number, what: string, g: ConvGeometry): void {
  if (n >= INDEX_LIMIT) throw new Error(`ossify: conv2d ${what} = ${n} is beyond the 2^24 the kernels index exactly (N=${g.N}, ${g.H}x${g.W}x${g.Cin} -> ${g.OH}x${g.OW}x${g.Cout}); split the batch`);
}

const withCommon = (src: string): string => `${src}\n${commonSrc}`;
const FWD = withCommon(fwdSrc);
const DW = withCommon(dwSrc);

function geomParams(g: ConvGeometry) {
  return { sh: g.sh, sw: g.sw, dh: g.dh, dw: g.dw, padT: g.padT, padL: g.padL };
}

function forwardGemm(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const M = g.N * g.OH * g.OW;
  const K = g.KH * g.KW * g.Cin;
  checkIndex(M, 'N*OH*OW', g);
  checkIndex(K, 'KH*KW*Cin', g);
  return gemm({
    label: 'conv2d_fwd',
    loaders: FWD,
    M,
    N: g.Cout,
    K,
    // Without a bias, x stands in for the (unread) bias binding: two read-only bindings may alias.
    inputs: { x: x.storage, w: w.storage, bias: (bias ?? x).storage },
    params: { ...geomParams(g), H: g.H, W: g.W, Cin: g.Cin, KW: g.KW, OH: g.OH, OW: g.OW, hasBias: bias ? 1 : 0, invCin: 1 / g.Cin, invKW: 1 / g.KW, invOH: 1 / g.OH, invOW: 1 / g.OW },
    outShape: [g.N, g.OH, g.OW, g.Cout],
  });
}

function inputGradGemm(dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const rt = runtime();
  const M = g.N * g.H * g.W;
  const K = g.KH * g.KW * g.Cout;
  checkIndex(M, 'N*H*W', g);
  checkIndex(K, 'KH*KW*Cout', g);
  // wt = w as [KH, KW, Cout, Cin], the B operand read row-major.
  const taps = g.KH * g.KW;
  const wt = Tensor.empty([taps, g.Cout, g.Cin]);
  rt.dispatch(rt.kernel('conv2d_wt', wtSrc), { w: w.storage, wt: wt.storage }, { taps, Cin: g.Cin, Cout: g.Cout }, rt.grid(wt.size, 256));
  const out = gemm({
    label: `conv2d_dx_s${g.sh}x${g.sw}`,
    loaders: withCommon(fillTemplate(dxSrc, { SH: g.sh, SW: g.sw })),
    M,
    N: g.Cin,
    K,
    inputs: { dy: dy.storage, wt: wt.storage },
    params: { dh: g.dh, dw: g.dw, padT: g.padT, padL: g.padL, H: g.H, W: g.W, OH: g.OH, OW: g.OW, Cout: g.Cout, KW: g.KW, invH: 1 / g.H, invW: 1 / g.W, invCout: 1 / g.Cout, invKW: 1 / g.KW },
    outShape: [g.N, g.H, g.W, g.Cin],
  });
  wt.dispose();
  return out;
}

function weightGradGemm(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const M = g.KH * g.KW * g.Cin;
  const K = g.N * g.OH * g.OW;
  checkIndex(M, 'KH*KW*Cin', g);
  checkIndex(K, 'N*OH*OW', g);
  return gemm({
    label: 'conv2d_dw',
    loaders: DW,
    M,
    N: g.Cout,
    K,
    inputs: { x: x.storage, dy: dy.storage },
    params: { ...geomParams(g), H: g.H, W: g.W, Cin: g.Cin, KW: g.KW, OH: g.OH, OW: g.OW, invCin: 1 / g.Cin, invKW: 1 / g.KW, invOH: 1 / g.OH, invOW: 1 / g.OW },
    outShape: [g.KH, g.KW, g.Cin, g.Cout],
  });
}

type GroupedMode = 0 | 1 | 2;
/** One launch of the direct grouped kernel; `chunks` > 1 only for the weight gradient. */
function groupedLaunch(mode: GroupedMode, a: Tensor, b: Tensor, bias: Tensor | null, g: ConvGeometry, outShape: Shape, chunks = 1, chunk = 0): Tensor {
  const rt = runtime();
  const out = Tensor.empty(outShape);
  const k = rt.kernel(`conv2d_grouped_${mode}`, groupedSrc, { MODE: mode });
  const params = {
    ...geomParams(g),
    total: out.size,
    H: g.H,
    W: g.W,
    Cin: g.Cin,
    OH: g.OH,
    OW: g.OW,
    Cout: g.Cout,
    KH: g.KH,
    KW: g.KW,
    Cig: g.Cin / g.groups,
    Cog: g.Cout / g.groups,
    hasBias: bias ? 1 : 0,
    positions: g.N * g.OH * g.OW,
    chunk: chunks > 1 ? chunk : g.N * g.OH * g.OW,
  };
  rt.dispatch(k, { a: a.storage, b: b.storage, bias: (bias ?? a).storage, out: out.storage }, params, rt.grid(out.size, 256));
  return out;
}

function groupedWeightGrad(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  // Few outputs (depthwise: KH*KW*C) and a long sum over N*OH*OW: split the sum into chunks so that
  // enough invocations run, then add the chunk partials.
  const wShape = [g.KH, g.KW, g.Cin / g.groups, g.Cout];
  const ws = wShape.reduce((p, d) => p * d, 1);
  const positions = g.N * g.OH * g.OW;
  const nchunks = Math.max(1, Math.min(Math.ceil(positions / 32), Math.ceil(16384 / ws)));
  const chunk = Math.ceil(positions / nchunks);
  const used = Math.ceil(positions / chunk);
  if (used === 1) return groupedLaunch(2, x, dy, null, g, wShape);
  const partial = groupedLaunch(2, x, dy, null, g, [used, ...wShape], used, chunk);
  const res = sum(partial, 0);
  partial.dispose();
  return res;
}

/**
 * 2-D convolution of NHWC `x` [N, H, W, Cin] with HWIO weights `w` [KH, KW, Cin/groups, Cout] and an
 * optional `bias` [Cout]; returns [N, OH, OW, Cout]. Differentiable in x, w and bias.
 */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const g = resolveConvGeometry(x.shape, w.shape, opts);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.Cout)) throw new Error(`ossify: conv2d bias must be [${g.Cout}] (Cout of w ${shapeStr(w.shape)}), got ${shapeStr(bias.shape)}`);
  const grouped = g.groups > 1;
  const out = grouped ? groupedLaunch(0, x, w, bias, g, [g.N, g.OH, g.OW, g.Cout]) : forwardGemm(x, w, bias, g);
  const inputs = bias ? [x, w, bias] : [x, w];
  return record('conv2d', inputs, out, [x, w], (dy, [xs, ws]) => [
    x.requiresGrad ? (grouped ? groupedLaunch(1, dy, ws, null, g, x.shape) : inputGradGemm(dy, ws, g)) : null,
    w.requiresGrad ? (grouped ? groupedWeightGrad(xs, dy, g) : weightGradGemm(xs, dy, g)) : null,
    ...(bias ? [bias.requiresGrad ? sum(dy, [0, 1, 2]) : null] : []),
  ]);
}

// ---- float64 CPU reference --------------------------------------------------------------------

/**
 * Visit every (output, input, weight) index triple of a convolution: the one loop nest that the
 * reference forward and gradients share, so they cannot disagree on geometry.
 */
function forEachTap(g: ConvGeometry, f: (o: number, xi: number, wi: number, co: number) => void): void {
  const Cig = g.Cin / g.groups;
  const Cog = g.Cout / g.groups;
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++)
      for (let ow = 0; ow < g.OW; ow++)
        for (let kh = 0; kh < g.KH; kh++) {
          const ih = oh * g.sh - g.padT + kh * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          for (let kw = 0; kw < g.KW; kw++) {
            const iw = ow * g.sw - g.padL + kw * g.dw;
            if (iw < 0 || iw >= g.W) continue;
            for (let co = 0; co < g.Cout; co++) {
              const c0 = Math.floor(co / Cog) * Cig;
              const o = ((n * g.OH + oh) * g.OW + ow) * g.Cout + co;
              for (let j = 0; j < Cig; j++) f(o, ((n * g.H + ih) * g.W + iw) * g.Cin + c0 + j, ((kh * g.KW + kw) * Cig + j) * g.Cout + co, co);
            }
          }
        }
}

/** Float64 CPU reference of {@link conv2d}: returns the output values and shape. */
export function conv2dReference(x: ArrayLike<number>, xShape: Shape, w: ArrayLike<number>, wShape: Shape, bias: ArrayLike<number> | null, opts: Conv2dOptions = {}): { out: Float64Array; shape: number[] } {
  const g = resolveConvGeometry(xShape, wShape, opts);
  const out = new Float64Array(g.N * g.OH * g.OW * g.Cout);
  if (bias) for (let i = 0; i < out.length; i++) out[i] = bias[i % g.Cout];
  forEachTap(g, (o, xi, wi) => {
    out[o] += x[xi] * w[wi];
  });
  return { out, shape: [g.N, g.OH, g.OW, g.Cout] };
}

/** Float64 CPU reference gradients of {@link conv2d} for an output gradient `dy` [N, OH, OW, Cout]. */
export function conv2dReferenceGrads(x: ArrayLike<number>, xShape: Shape, w: ArrayLike<number>, wShape: Shape, dy: ArrayLike<number>, opts: Conv2dOptions = {}): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const g = resolveConvGeometry(xShape, wShape, opts);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(g.Cout);
  for (let i = 0; i < dy.length; i++) db[i % g.Cout] += dy[i];
  forEachTap(g, (o, xi, wi) => {
    dx[xi] += dy[o] * w[wi];
    dw[wi] += dy[o] * x[xi];
  });
  return { dx, dw, db };
}
