/**
 * 2-D convolution (NHWC images, HWIO weights), forward and backward, plus its float64 CPU reference.
 * Dense convolutions run on the GEMM engine as implicit GEMMs whose loaders gather the operands in place:
 * - forward:         M = N*OH*OW, N = Cout, K = KH*KW*Cin   (shaders/conv2d_fwd.wgsl)
 * - input gradient:  per stride phase, M = N*H*W/(sh*sw), N = Cin, K = (taps of the phase)*Cout
 *                    (shaders/conv2d_dx.wgsl)
 * - weight gradient: M = KH*KW*Cin, N = Cout, K = N*OH*OW   (shaders/conv2d_dw.wgsl; split-k)
 * - bias gradient:   sum of dY over N, OH, OW.
 * Depthwise convolutions run src/kernels/depthwise.ts, other grouped ones shaders/conv2d_grouped.wgsl.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, shapeStr, type Shape } from '../tensor.js';
import { checkNumber, checkPadding, checkPair, checkShape, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import { gemm, resolveGemmVariant, rowMajorB, vec4A, type GemmEpilogue, type GemmTarget } from './gemm.js';
import { fillTemplate } from '../gpu/wgsl.js';
import { sum } from './reduce.js';
import { matmul } from './matmul.js';
import { add, reshape } from './elementwise.js';
import { convReference, forEachWindow, sides2d, windowAxis, type WindowAxis } from './window.js';
import { checkIndex, chunkedWeightGrad, depthwisePass, usesDepthwiseKernel } from './depthwise.js';
import commonSrc from '../../shaders/conv2d_common.wgsl';
import fwdSrc from '../../shaders/conv2d_fwd.wgsl';
import dxSrc from '../../shaders/conv2d_dx.wgsl';
import dwSrc from '../../shaders/conv2d_dw.wgsl';
import wtSrc from '../../shaders/conv2d_wt.wgsl';
import scatterSrc from '../../shaders/conv2d_scatter.wgsl';
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
export type ConvGeometry = ReturnType<typeof resolveConvGeometry>;

/** The options of a convolution, checked (and defaulted); `what` names them in errors. */
export function checkConv2dOptions(
  opts: Conv2dOptions,
  what = 'conv2d option',
): { groups: number; stride: [number, number]; dilation: [number, number]; padding: Conv2dPadding } {
  if (typeof opts !== 'object' || opts === null) {
    throw new Error(`ossify: conv2d options must be an object, got ${showValue(opts)}`);
  }
  return {
    groups: checkNumber(withDefault(opts.groups, 1), `${what} groups`, { integer: true, min: 1 }),
    stride: checkPair(withDefault(opts.stride, 1), `${what} stride`, { integer: true, min: 1 }),
    dilation: checkPair(withDefault(opts.dilation, 1), `${what} dilation`, { integer: true, min: 1 }),
    padding: checkPadding(withDefault(opts.padding, 'valid'), `${what} padding`),
  };
}

/**
 * Output size and per-side padding of a convolution of an NHWC `xShape` with HWIO `wShape`.
 * Throws with both shapes named when they do not fit together.
 */
export function resolveConvGeometry(xShape: Shape, wShape: Shape, opts: Conv2dOptions = {}) {
  checkShape(xShape, 'conv2d input shape');
  checkShape(wShape, 'conv2d weight shape');
  const shapes = `x ${shapeStr(xShape)} (NHWC), w ${shapeStr(wShape)} (HWIO [KH, KW, Cin/groups, Cout])`;
  if (xShape.length !== 4 || wShape.length !== 4) throw new Error(`ossify: conv2d needs 4-D x and w: ${shapes}`);
  const [N, H, W, Cin] = xShape;
  const [KH, KW, Cig, Cout] = wShape;
  const {
    groups,
    stride: [sh, sw],
    dilation: [dilH, dilW],
    padding,
  } = checkConv2dOptions(opts);
  if (Cin % groups !== 0 || Cout % groups !== 0)
    throw new Error(`ossify: conv2d groups=${groups} must divide Cin=${Cin} and Cout=${Cout}: ${shapes}`);
  if (Cig * groups !== Cin)
    throw new Error(
      `ossify: conv2d input channels disagree: x has Cin=${Cin}, w expects ` +
        `${Cig}${groups > 1 ? ` per group x ${groups} groups = ${Cig * groups}` : ''}: ${shapes}`,
    );
  const [ah, aw] = [windowAxis(H, KH, sh, dilH, sides2d(padding), 0), windowAxis(W, KW, sw, dilW, sides2d(padding), 1)];
  const [padT, padB, padL, padR, OH, OW] = [ah.before, ah.after, aw.before, aw.after, ah.out, aw.out];
  if (OH < 1 || OW < 1) {
    const [effH, effW] = [(KH - 1) * dilH + 1, (KW - 1) * dilW + 1];
    const kernel = `${effH}x${effW} effective kernel (${KH}x${KW}, dilation [${dilH}, ${dilW}], stride [${sh}, ${sw}])`;
    const padded = `${H + padT + padB}x${W + padL + padR}`;
    const problem = `the ${kernel} does not fit the padded ${padded} input`;
    throw new Error(`ossify: conv2d output would be empty (${OH}x${OW}): ${problem}: ${shapes}`);
  }
  return { N, H, W, Cin, KH, KW, Cout, groups, sh, sw, dilH, dilW, padT, padB, padL, padR, OH, OW };
}

// ---- launches ---------------------------------------------------------------------------------

const withCommon = (src: string): string => `${src}\n${commonSrc}`;
const FWD = withCommon(fwdSrc);
const DW = withCommon(dwSrc);
const DX = withCommon(dxSrc);
const GROUPED = withCommon(groupedSrc);
const WT = withCommon(wtSrc);
/** The phase-weight gather: 4x4 blocks as vec4s when Cin and Cout allow, else one element per invocation. */
const wtKernel = (block: boolean): string =>
  fillTemplate(
    WT,
    block ? { BLOCK: 4, T: 'vec4<f32>', BODY: WT_BLOCK } : { BLOCK: 1, T: 'f32', BODY: '  wt[i] = w[src];' },
  );
const WT_BLOCK = `  let r0 = w[src]; let r1 = w[src + p.CoutB];
  let r2 = w[src + 2u * p.CoutB]; let r3 = w[src + 3u * p.CoutB];
  let dst = (q1.x * p.CoutB * 4u + q1.y * 4u) * p.CinB + q0.y; // wt row (t, co = cob*4) in vec4s
  wt[dst] = vec4<f32>(r0.x, r1.x, r2.x, r3.x);
  wt[dst + p.CinB] = vec4<f32>(r0.y, r1.y, r2.y, r3.y);
  wt[dst + 2u * p.CinB] = vec4<f32>(r0.z, r1.z, r2.z, r3.z);
  wt[dst + 3u * p.CinB] = vec4<f32>(r0.w, r1.w, r2.w, r3.w);`;

/**
 * The input gradient's B read from the HWIO weights themselves (vec4s along co, Cout % 4 == 0), for
 * cores that read B four k at a time: four vec4 loads, transposed in registers.
 */
const DX_FROM_W = `// w[tap, 0, co] for k = (t, co): t is the phase's tap (jh, jw),
// i.e. w's (kh0 + jh*khStep, kw0 + jw*kwStep).
fn wRow(k: u32) -> u32 {
  let q0 = divmod(k, p.Cout, p.invCout); // (t, co)
  let q1 = divmod(q0.x, p.nKw, p.invNKw); // (jh, jw)
  let tap = (p.kh0 + q1.x * p.khStep) * p.KW + p.kw0 + q1.y * p.kwStep;
  return tap * p.Cin * p.Cout + q0.y;
}
fn loadB(k: u32, n: u32) -> f32 {
  if (n >= p.N) { return 0.0; }
  let i = wRow(k) + n * p.Cout;
  return wt[i / 4u][i % 4u];
}
fn loadB4x4(k: u32, n: u32) -> mat4x4<f32> {
  let row = wRow(k) / 4u;
  let cs = p.Cout / 4u;
  let last = p.N - 1u;
  let c0 = wt[row + min(n, last) * cs];
  let c1 = wt[row + min(n + 1u, last) * cs];
  let c2 = wt[row + min(n + 2u, last) * cs];
  let c3 = wt[row + min(n + 3u, last) * cs];
  return transpose(mat4x4<f32>(c0, c1, c2, c3)); // columns c_j = B[k..k+3, n + j] -> rows
}`;

/** Uniforms of the forward, weight-gradient and grouped kernels: sizes, strides, dilations, padding. */
function geomParams(g: ConvGeometry) {
  const { H, W, Cin, OH, OW, sh, sw, dilH, dilW, padT, padL } = g;
  return { H, W, Cin, OH, OW, sh, sw, dilH, dilW, padT, padL };
}

/** The window axes (vertical, horizontal) of a convolution's geometry. */
const convAxes = (g: ConvGeometry): WindowAxis[] => [
  { k: g.KH, s: g.sh, d: g.dilH, before: g.padT, after: g.padB, out: g.OH },
  { k: g.KW, s: g.sw, d: g.dilW, before: g.padL, after: g.padR, out: g.OW },
];

/**
 * The taps of each axis (vertical, horizontal) that read inside the input for at least one output
 * position: [first, last], or null when none does.
 */
export function liveTapRange(g: ConvGeometry): ([number, number] | null)[] {
  return convAxes(g).map((a, i) => {
    const live = [...Array(a.k).keys()].filter((k) => {
      const o = Math.max(0, Math.ceil((a.before - k * a.d) / a.s)); // the first output whose tap k is not before 0
      return o < a.out && o * a.s - a.before + k * a.d < (i ? g.W : g.H);
    });
    return live.length ? [live[0], live[live.length - 1]] : null;
  });
}

/**
 * The part of the kernel that the forward pass and the weight gradient compute with, leaving out taps
 * that read only padding (small maps have many): whole kernel rows kh0.. (and, for a single row, columns
 * kw0..), whose weights are one block of w's rows from `row0`; `padT` and `padL` as the window sees them.
 */
export function tapWindow(g: ConvGeometry) {
  const [rows, cols] = liveTapRange(g);
  // No live tap at all (an output of padding only): keep the whole kernel, which computes the zeros.
  const [kh0, kh1] = rows && cols ? rows : [0, g.KH - 1];
  const [kw0, kw1] = rows && cols && kh0 === kh1 ? cols : [0, g.KW - 1];
  const [KH, KW] = [kh1 - kh0 + 1, kw1 - kw0 + 1];
  const [padT, padL] = [g.padT - kh0 * g.dilH, g.padL - kw0 * g.dilW];
  return { kh0, kw0, KH, KW, padT, padL, row0: (kh0 * g.KW + kw0) * g.Cin, whole: KH === g.KH && KW === g.KW };
}

/** The implicit-GEMM forward launch (`into` checked by the caller). */
export function forwardGemm(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  epilogue?: GemmEpilogue,
  into?: GemmTarget,
): Tensor {
  const win = tapWindow(g);
  const M = g.N * g.OH * g.OW;
  const K = win.KH * win.KW * g.Cin;
  checkIndex(M, 'N*OH*OW', g);
  checkIndex(K, 'KH*KW*Cin', g);
  return gemm({
    label: 'conv2d_fwd',
    loaders: fillTemplate(FWD, { ...rowMajorB('w', g.Cout, 'k + p.kOff'), ...vec4A('x', g.Cin % 4 === 0) }),
    kStep4: g.Cin % 4 === 0 && g.Cout % 4 === 0,
    vecA: g.Cin % 4 === 0,
    M,
    N: g.Cout,
    K,
    // Without a bias, x stands in for the (unread) bias binding: two read-only bindings may alias.
    inputs: { x: x.storage, w: w.storage, bias: (bias ?? x).storage },
    params: { ...windowParams(g, win), hasBias: bias ? 1 : 0, kOff: win.row0 },
    outShape: [g.N, g.OH, g.OW, g.Cout],
    epilogue,
    // The plain forward (training) and the fused one (inference: batch norm and activation) share a pipeline.
    into,
  });
}

/** Geometry uniforms of the forward and weight-gradient loaders for a window of the kernel. */
function windowParams(g: ConvGeometry, win: ReturnType<typeof tapWindow>) {
  return { ...geomParams(g), padT: win.padT, padL: win.padL, KW: win.KW };
}

/**
 * The taps k in [0, KS) that reach input rows of residue r (= phase + pad) at stride s and dilation d, the
 * k with (r - k*d) = 0 (mod s), that are also live ([lo, hi] from {@link liveTapRange}): solutions of a linear
 * congruence, so an arithmetic progression k0 + j*step, j < n (step: that of all the phase's taps).
 */
type PhaseTaps = { k0: number; step: number; n: number };
function phaseTaps(r: number, KS: number, d: number, s: number, live: [number, number] | null): PhaseTaps {
  const all = [...Array(KS).keys()].filter((k) => (((r - k * d) % s) + s) % s === 0);
  const taps = live ? all.filter((k) => k >= live[0] && k <= live[1]) : all;
  return taps.length
    ? { k0: taps[0], step: all.length > 1 ? all[1] - all[0] : 1, n: taps.length }
    : { k0: 0, step: 1, n: 0 };
}

/** Where a stride phase's taps lie in w: the uniforms of shaders/conv2d_dx.wgsl and conv2d_wt.wgsl. */
type TapParams = { KW: number; nKw: number; kh0: number; khStep: number; kw0: number; kwStep: number };

/** The weights of one stride phase's taps as a row-major [K, Cin] matrix (shaders/conv2d_wt.wgsl). */
function gatherPhaseWeights(w: Tensor, g: ConvGeometry, taps: TapParams, K: number): Tensor {
  const rt = runtime();
  const wt = Tensor.empty([K, g.Cin]);
  const B = g.Cin % 4 === 0 && g.Cout % 4 === 0 ? 4 : 1;
  const [CinB, CoutB] = [g.Cin / B, g.Cout / B];
  const blocks = wt.size / (B * B);
  rt.dispatch(
    rt.kernel('conv2d_wt', wtKernel(B === 4)),
    { w: w.storage, wt: wt.storage },
    { total: blocks, CinB, CoutB, ...taps },
    rt.grid(blocks, 256),
  );
  return wt;
}

/** dX: one dense GEMM per stride phase (see shaders/conv2d_dx.wgsl), interleaved into dX. */
function inputGradGemm(dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const rt = runtime();
  checkIndex(g.N * g.H * g.W, 'N*H*W', g);
  checkIndex(g.KH * g.KW * g.Cout, 'KH*KW*Cout', g);
  const xShape = [g.N, g.H, g.W, g.Cin];
  const single = g.sh === 1 && g.sw === 1;
  const phases = [];
  // Taps that read only padding carry no gradient either (see tapWindow); here each axis on its own.
  const [liveRows, liveCols] = liveTapRange(g);
  for (let py = 0; py < Math.min(g.sh, g.H); py++)
    for (let px = 0; px < Math.min(g.sw, g.W); px++) {
      const th = phaseTaps(py + g.padT, g.KH, g.dilH, g.sh, liveRows);
      const tw = phaseTaps(px + g.padL, g.KW, g.dilW, g.sw, liveCols);
      phases.push({ py, px, th, tw, Hp: Math.ceil((g.H - py) / g.sh), Wp: Math.ceil((g.W - px) / g.sw) });
    }
  // Phases that no tap reaches (e.g. a 1x1 stride-2 conv never reads odd rows) get zero gradient.
  const dx = single
    ? null
    : phases.some((q) => q.th.n === 0 || q.tw.n === 0)
      ? Tensor.zeros(xShape)
      : Tensor.empty(xShape);
  const wtB = rowMajorB('wt', g.Cin);
  for (const { py, px, th, tw, Hp, Wp } of phases) {
    if (th.n === 0 || tw.n === 0) continue;
    const K = th.n * tw.n * g.Cout;
    const shape = {
      label: 'conv2d_dx',
      M: g.N * Hp * Wp,
      N: g.Cin,
      K,
      kStep4: g.Cout % 4 === 0 && g.Cin % 4 === 0,
      vecA: g.Cout % 4 === 0,
    };
    // Cores that read B four k at a time take it from w directly; the others (the GPU's shared-memory
    // core) from a per-phase transposed copy, coalesced along Cin.
    const direct = shape.kStep4 && resolveGemmVariant(shape).sgLanes > 0;
    const taps = { KW: g.KW, nKw: tw.n, kh0: th.k0, khStep: th.step, kw0: tw.k0, kwStep: tw.step };
    const wt = direct ? null : gatherPhaseWeights(w, g, taps, K);
    // dY's pixel of tap 0 and the step between taps (whole pixels: the phase's taps are those that land).
    const offsets = {
      ohOff: (py + g.padT - th.k0 * g.dilH) / g.sh,
      owOff: (px + g.padL - tw.k0 * g.dilW) / g.sw,
      ohStep: (th.step * g.dilH) / g.sh,
      owStep: (tw.step * g.dilW) / g.sw,
    };
    const out = gemm({
      ...shape,
      // B: w itself (DX_FROM_W) or the phase-gathered weights `wt`, row-major [K, Cin].
      loaders: fillTemplate(DX, {
        B_TYPE: direct ? 'vec4<f32>' : wtB.B_TYPE,
        B_LOADERS: direct ? DX_FROM_W : wtB.B_LOADERS,
        ...vec4A('dy', g.Cout % 4 === 0),
      }),
      inputs: { dy: dy.storage, wt: (wt ?? w).storage },
      params: { ...taps, ...offsets, Hp, Wp, OH: g.OH, OW: g.OW, Cout: g.Cout, Cin: g.Cin },
      outShape: [g.N, Hp, Wp, g.Cin],
    });
    wt?.dispose();
    if (!dx) return out;
    rt.dispatch(
      rt.kernel('conv2d_scatter', scatterSrc),
      { phase: out.storage, dx: dx.storage },
      { total: out.size, Hp, Wp, C: g.Cin, H: g.H, W: g.W, py, px, sh: g.sh, sw: g.sw },
      rt.grid(out.size, 256),
    );
    out.dispose();
  }
  return dx!;
}

function weightGradGemm(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const win = tapWindow(g);
  const M = win.KH * win.KW * g.Cin;
  const K = g.N * g.OH * g.OW;
  checkIndex(M, 'KH*KW*Cin', g);
  checkIndex(K, 'N*OH*OW', g);
  const wShape = [g.KH, g.KW, g.Cin, g.Cout];
  // Taps outside the window have zero gradient: the window's rows go into a zero-filled dW.
  const into = win.whole ? undefined : { tensor: Tensor.zeros(wShape), ldc: g.Cout, offset: win.row0 * g.Cout };
  return gemm({
    label: 'conv2d_dw',
    loaders: fillTemplate(DW, { ...rowMajorB('dy', g.Cout), ...vec4A('x', g.Cin % 4 === 0) }),
    rowsA4: g.Cin % 4 === 0,
    kNext: true,
    M,
    N: g.Cout,
    K,
    inputs: { x: x.storage, dy: dy.storage },
    // Offsets that move k (an output pixel) to the next one without decomposing k again (aKNext in
    // shaders/conv2d_dw.wgsl): along the row, at the end of a row, at the end of an image.
    params: {
      ...windowParams(g, win),
      colStep: g.sw * g.Cin,
      rowEnd: g.OW * g.sw,
      imageEnd: g.OH * g.sh,
      rowJump: (g.sh * g.W - g.OW * g.sw) * g.Cin,
      imageJump: (g.H - g.OH * g.sh) * g.W * g.Cin,
    },
    outShape: wShape,
    into,
  });
}

/**
 * Pass `mode` (0 forward, 1 input gradient, 2 weight gradient) of a grouped convolution: on the depthwise
 * kernel where it applies, else on the direct grouped one, an invocation per pixel (or weight tap and chunk)
 * and quad of 4 output channels; `a` and `b` as shaders/conv2d_grouped.wgsl binds them.
 */
function groupedPass(mode: 0 | 1 | 2, a: Tensor, b: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  if (usesDepthwiseKernel(g)) return depthwisePass(mode, a, b, bias, g);
  const rt = runtime();
  const [Cig, Cog] = [g.Cin / g.groups, g.Cout / g.groups];
  const positions = g.N * g.OH * g.OW;
  const run = (outShape: Shape, items: number, channels: number, chunk = positions): Tensor => {
    checkIndex(items, 'pixels (or weight taps x chunks)', g);
    const out = Tensor.empty(outShape);
    const quads = Math.ceil(channels / 4);
    const { Cout, KH, KW } = g;
    rt.dispatch(
      rt.kernel(`conv2d_grouped_${mode}`, GROUPED, { MODE: mode }),
      { a: a.storage, b: b.storage, bias: (bias ?? a).storage, out: out.storage },
      {
        ...geomParams(g),
        Cout,
        KH,
        KW,
        Cig,
        Cog,
        quads,
        positions,
        total: items * quads,
        hasBias: bias ? 1 : 0,
        chunk,
      },
      rt.grid(items * quads, 256),
    );
    return out;
  };
  if (mode === 0) return run([g.N, g.OH, g.OW, g.Cout], positions, g.Cout);
  if (mode === 1) return run([g.N, g.H, g.W, g.Cin], g.N * g.H * g.W, g.Cin);
  const taps = g.KH * g.KW * Cig;
  return chunkedWeightGrad(
    [g.KH, g.KW, Cig, g.Cout],
    positions,
    32,
    taps * Math.ceil(g.Cout / 4),
    (chunk, used, shape) => run(shape, used * taps, g.Cout, chunk),
  );
}

/**
 * Gradient of a convolution with respect to its input x (TensorFlow's Conv2DBackpropInput): dY
 * [N, OH, OW, Cout] and the weights -> dX of shape `xShape`. What {@link conv2d}'s backward runs.
 */
export const conv2dBackpropInput = defineOp(
  'conv2dBackpropInput',
  ['dy', 'w'],
  (dy: Tensor, w: Tensor, xShape: Shape, opts: Conv2dOptions = {}): Tensor => {
    const g = resolveConvGeometry(xShape, w.shape, opts);
    checkGradShape(dy, g);
    return g.groups > 1 ? groupedPass(1, dy, w, null, g) : inputGradGemm(dy, w, g);
  },
);

/**
 * Gradient of a convolution with respect to its weights (TensorFlow's Conv2DBackpropFilter): x and
 * dY [N, OH, OW, Cout] -> dW of shape `wShape` (HWIO). What {@link conv2d}'s backward runs.
 */
export const conv2dBackpropFilter = defineOp(
  'conv2dBackpropFilter',
  ['x', 'dy'],
  (x: Tensor, dy: Tensor, wShape: Shape, opts: Conv2dOptions = {}): Tensor => {
    const g = resolveConvGeometry(x.shape, wShape, opts);
    checkGradShape(dy, g);
    return g.groups > 1 ? groupedPass(2, x, dy, null, g) : weightGradGemm(x, dy, g);
  },
);

/** 1x1, stride 1, unpadded, dense: a plain matmul over the pixels of NHWC x. */
export const isPlainMatmul = (g: ConvGeometry): boolean =>
  g.KH === 1 && g.KW === 1 && g.sh === 1 && g.sw === 1 && g.groups === 1 && g.padT + g.padB + g.padL + g.padR === 0;

function checkGradShape(dy: Tensor, g: ConvGeometry): void {
  const want = [g.N, g.OH, g.OW, g.Cout];
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== want[i]))
    throw new Error(`ossify: conv2d output gradient must be ${shapeStr(want)}, got ${shapeStr(dy.shape)}`);
}

/**
 * 2-D convolution of NHWC `x` [N, H, W, Cin] with HWIO weights `w` [KH, KW, Cin/groups, Cout] and an
 * optional `bias` [Cout]; returns [N, OH, OW, Cout]. Differentiable in x, w and bias.
 */
export const conv2d = defineOp(
  'conv2d',
  ['x', 'w', 'bias?'],
  (x: Tensor, w: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor => {
    const g = resolveConvGeometry(x.shape, w.shape, opts);
    if (bias && (bias.rank !== 1 || bias.shape[0] !== g.Cout))
      throw new Error(
        `ossify: conv2d bias must be [${g.Cout}] (Cout of w ${shapeStr(w.shape)}), got ${shapeStr(bias.shape)}`,
      );
    // 1x1, stride 1, unpadded: a plain matmul (autograd from matmul, add and the views).
    if (isPlainMatmul(g)) {
      const y = matmul(reshape(x, [g.N * g.H * g.W, g.Cin]), reshape(w, [g.Cin, g.Cout]));
      return reshape(bias ? add(y, bias) : y, [g.N, g.OH, g.OW, g.Cout]);
    }
    const out = g.groups > 1 ? groupedPass(0, x, w, bias, g) : forwardGemm(x, w, bias, g);
    const inputs = bias ? [x, w, bias] : [x, w];
    return record('conv2d', inputs, out, [x, w], (dy, [xs, ws]) => [
      x.requiresGrad ? conv2dBackpropInput(dy, ws, x.shape, opts) : null,
      w.requiresGrad ? conv2dBackpropFilter(xs, dy, w.shape, opts) : null,
      ...(bias ? [bias.requiresGrad ? sum(dy, [0, 1, 2]) : null] : []),
    ]);
  },
);

// ---- float64 CPU reference --------------------------------------------------------------------

/** Float64 CPU reference of {@link conv2d}: returns the output values and shape. */
export function conv2dReference(
  x: ArrayLike<number>,
  xShape: Shape,
  w: ArrayLike<number>,
  wShape: Shape,
  bias: ArrayLike<number> | null,
  opts: Conv2dOptions = {},
): { out: Float64Array; shape: number[] } {
  const g = resolveConvGeometry(xShape, wShape, opts);
  return convReference(x, xShape, w, wShape, bias, convAxes(g), g.groups);
}

/** Float64 CPU reference gradients of {@link conv2d} for an output gradient `dy` [N, OH, OW, Cout]. */
export function conv2dReferenceGrads(
  x: ArrayLike<number>,
  xShape: Shape,
  w: ArrayLike<number>,
  wShape: Shape,
  dy: ArrayLike<number>,
  opts: Conv2dOptions = {},
): { dX: Float64Array; dW: Float64Array; dB: Float64Array } {
  const g = resolveConvGeometry(xShape, wShape, opts);
  const [Cig, Cog] = [g.Cin / g.groups, g.Cout / g.groups];
  const dX = new Float64Array(x.length);
  const dW = new Float64Array(w.length);
  const dB = new Float64Array(g.Cout);
  for (let i = 0; i < dy.length; i++) dB[i % g.Cout] += dy[i];
  forEachWindow(g.N, [g.H, g.W], convAxes(g), (o, taps) => {
    for (let co = 0; co < g.Cout; co++)
      for (const [t, i] of taps)
        for (let j = 0; j < Cig; j++) {
          const [xi, wi] = [i * g.Cin + Math.floor(co / Cog) * Cig + j, (t * Cig + j) * g.Cout + co];
          dX[xi] += dy[o * g.Cout + co] * w[wi];
          dW[wi] += dy[o * g.Cout + co] * x[xi];
        }
  });
  return { dX, dW, dB };
}
