/**
 * Depthwise convolution (groups = Cin = Cout: EfficientNet's and MobileNet's 3x3 and 5x5): forward, input and
 * weight gradient on one direct kernel (shaders/conv2d_depthwise.wgsl), one channel or a vec4 of 4 per invocation.
 * An invocation computes a block of outputs that share loads (R pixels along a row share each weight); with
 * dilation 1 and at most WIN_TAPS taps a row, the window paths generated here load each input column of the block
 * once for all taps (the `win` uniform picks the path; shapes are uniforms: one pipeline per pass and width).
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, type Shape } from '../tensor.js';
import { sum } from './reduce.js';
import { variant } from './variants.js';
import { fillTemplate, vecSource, vecWidth } from '../gpu/wgsl.js';
import type { ConvGeometry } from './conv2d.js';
import commonSrc from '../../shaders/conv2d_common.wgsl';
import depthwiseSrc from '../../shaders/conv2d_depthwise.wgsl';

/** Outputs (forward, input gradient) or taps (weight gradient) per invocation: R in the shader. */
const R = 4;
/** Outputs per invocation of the forward's stride-1 and the input gradient's window paths (bench/LAB.md #62, #64). */
const R1 = 8;
/** The widest kernel row (taps per row, or per stride phase for dX) that the window paths hold. */
const WIN_TAPS = 5;

const indent = (code: string, n: number): string => code.replace(/^/gm, ' '.repeat(n));
/** `line(j)` for j < n, one per line. */
const joinLines = (n: number, line: (j: number) => string, from = 0): string =>
  Array.from({ length: n - from }, (_, j) => line(j + from)).join('\n');
/**
 * The forward's window path for stride `s` (dilation 1, KW <= WIN_TAPS) over `r` outputs: the input
 * columns c0 + u that the block reads, u = j*s + kw, each loaded once (those only a tap past KW reads are
 * left zero), then each tap's weight loaded once for the r outputs. Loads per kernel row: KW weights and
 * (r-1)*s + KW inputs, where the loop form loads r inputs per tap.
 */
function forwardWindow(s: number, r: number): string {
  const lines: string[] = [];
  for (let u = 0; u <= (r - 1) * s + WIN_TAPS - 1; u++) {
    const minKw = u - s * Math.min(Math.floor(u / s), r - 1); // the smallest tap that reads column u
    const load = `aAt(rowBase, c0 + ${u}, p.W, cv)`;
    lines.push(
      minKw === 0 ? `let x${u} = ${load};` : `var x${u} = {{T}}(0.0);\nif (p.KW > ${minKw}) { x${u} = ${load}; }`,
    );
  }
  for (let kw = 0; kw < WIN_TAPS; kw++) {
    const fma = Array.from({ length: r }, (_, j) => `a${j} += x${j * s + kw} * wv;`).join(' ');
    lines.push(`${kw ? `if (p.KW > ${kw}) ` : ''}{ let wv = b[wb + ${kw}u * p.CV]; ${fma} }`);
  }
  return lines.join('\n');
}

/**
 * The forward over blocks of `r` output columns per kernel row: `stride1`, the stride-1 window path
 * (forwardWindow1, run where `win` is 1), else the stride-2 window (`win` 2) or the tap loop (`win` 0).
 */
function forwardFn(r: number, stride1: boolean): string {
  const loop = joinLines(r, (j) => `        a${j} += aAt(rowBase, iw + ${j} * p.sw, p.W, cv) * wv;`);
  const body = stride1
    ? indent(forwardWindow(1, r), 4)
    : `    if (p.win == 2) {
${indent(forwardWindow(2, r), 6)}
    } else {
      for (var kw = 0; kw < p.KW; kw++) {
        let wv = b[wb + u32(kw) * p.CV];
        let iw = c0 + kw * p.dilW;
${loop}
      }
    }`;
  return `fn forward${stride1 ? 'Window1' : ''}(n: i32, oh: i32, blk: i32, cv: u32) {
  let ow0 = blk * ${r};
  var a0 = {{T}}(0.0);
  if (p.hasBias == 1u) { a0 = bias[cv]; }
${joinLines(r, (j) => `  var a${j} = a0;`, 1)}
  for (var kh = 0; kh < p.KH; kh++) {
    let ih = oh * p.sh - p.padT + kh * p.dilH;
    if (ih < 0 || ih >= p.H) { continue; }
    let rowBase = (n * p.H + ih) * p.W;
    let c0 = ow0 * p.sw - p.padL; // the input column of tap 0 for output ow0
    let wb = u32(kh * p.KW) * p.CV + cv;
${body}
  }
  let base = u32((n * p.OH + oh) * p.OW + ow0) * p.CV + cv;
  let count = p.OW - ow0;
  out[base] = a0;
${joinLines(r, (j) => `  if (count > ${j}) { out[base + ${j}u * p.CV] = a${j}; }`, 1)}
}`;
}

/**
 * The input gradient's window path (dilation 1, at most WIN_TAPS taps per stride phase) over blocks of
 * `r` columns of one stride phase: the phase's taps kw = k0 + sw*t, t < nT, reach ow = o0 - t + m0 + j,
 * so tap f = nT - 1 - t reads dY columns base + j + f; those r + nT - 1 columns are each loaded once,
 * then each tap's weight once for the r outputs.
 */
function inputGradWindowFn(r: number): string {
  const lines: string[] = [];
  for (let u = 0; u < r + WIN_TAPS - 1; u++) {
    const load = `aAt(rowBase, base + ${u}, p.OW, cv)`;
    lines.push(u < r ? `let y${u} = ${load};` : `var y${u} = {{T}}(0.0);\nif (nT > ${u - r + 1}) { y${u} = ${load}; }`);
  }
  for (let f = 0; f < WIN_TAPS; f++) {
    const fma = Array.from({ length: r }, (_, j) => `a${j} += y${j + f} * wv;`).join(' ');
    lines.push(`${f ? `if (nT > ${f}) ` : ''}{ let wv = b[wb + u32(k0 + p.sw * (nT - 1 - ${f})) * p.CV]; ${fma} }`);
  }
  return `fn inputGradWindow(n: i32, ih: i32, blk: i32, cv: u32) {
  let q = divmod(u32(blk), p.MB, p.invMB); // (stride phase px, block of the phase)
  let px = i32(q.x);
  let m0 = i32(q.y) * ${r};
  let k0 = (px + p.padL) % p.sw;
  let nT = max(0, (p.KW - k0 + p.sw - 1) / p.sw);
  let base = (px + p.padL - k0) / p.sw - (nT - 1) + m0;
  var a0 = {{T}}(0.0);
${joinLines(r, (j) => `  var a${j} = a0;`, 1)}
  if (nT > 0) {
    for (var kh = 0; kh < p.KH; kh++) {
      let ty = ih + p.padT - kh * p.dilH;
      let oh = ty / p.sh;
      if (ty < 0 || oh * p.sh != ty || oh >= p.OH) { continue; }
      let rowBase = (n * p.OH + oh) * p.OW;
      let wb = u32(kh * p.KW) * p.CV + cv;
${indent(lines.join('\n'), 6)}
    }
  }
  let iw0 = px + p.sw * m0;
  let count = (p.W - iw0 + p.sw - 1) / p.sw; // columns of the phase left from iw0
  if (count <= 0) { return; }
  let base0 = u32((n * p.H + ih) * p.W + iw0) * p.CV + cv;
  let step = u32(p.sw) * p.CV;
  out[base0] = a0;
${joinLines(r, (j) => `  if (count > ${j}) { out[base0 + ${j}u * step] = a${j}; }`, 1)}
}`;
}

const SRC = fillTemplate(`${depthwiseSrc}\n${commonSrc}`, {
  FORWARD: `${forwardFn(R, false)}\n\n${forwardFn(R1, true)}`,
  DX_WINDOW: inputGradWindowFn(R1),
  T: '{{T}}',
});

/**
 * The window path of a launch (the `win` uniform), with dilation 1: forward and weight gradient 1 or 2 for strides
 * 1 and 2 and KW <= WIN_TAPS; input gradient 1 with at most WIN_TAPS taps per stride phase; else 0 (the tap loop).
 */
export function windowPath(mode: Mode, g: ConvGeometry): number {
  if (g.dilW !== 1 || depthwiseVariant() === 'loops') return 0;
  if (mode === 1) return Math.ceil(g.KW / g.sw) <= WIN_TAPS ? 1 : 0;
  return g.KW <= WIN_TAPS && g.sw <= 2 ? g.sw : 0;
}
/** The geometry the shader takes as uniforms. */
const GEOMETRY_UNIFORMS = ['H', 'W', 'OH', 'OW', 'KH', 'KW', 'sh', 'sw', 'dilH', 'dilW', 'padT', 'padL'] as const;
/** Throws unless index `n` stays below 2^24 (less a margin), where the kernels' divmod is exact. */
export function checkIndex(n: number, what: string, g: ConvGeometry): void {
  if (n >= 2 ** 24 - 4096)
    throw new Error(
      `ossify: conv2d ${what} = ${n} is beyond the 2^24 the kernels index exactly (N=${g.N}, ` +
        `${g.H}x${g.W}x${g.Cin} -> ${g.OH}x${g.OW}x${g.Cout}); split the batch`,
    );
}

/**
 * Which kernel runs a depthwise convolution (`setVariant('depthwise', ...)`): 'direct' (the default), 'loops' (its
 * window paths off) or 'grouped' (the general grouped kernel); the last two for comparisons (bench/LAB.md, round 11).
 */
export type DepthwiseVariant = 'direct' | 'loops' | 'grouped';
const depthwiseVariant = (): DepthwiseVariant =>
  variant<DepthwiseVariant>('depthwise', { cpu: 'direct', gpu: 'direct' });

/** Whether a convolution is depthwise with channel multiplier 1 and runs on the depthwise kernel. */
export function usesDepthwiseKernel(g: ConvGeometry): boolean {
  return g.groups > 1 && g.groups === g.Cin && g.Cout === g.Cin && depthwiseVariant() !== 'grouped';
}

/** 0 forward, 1 input gradient, 2 weight gradient (MODE in the shader). */
export type Mode = 0 | 1 | 2;
/**
 * Pass `mode` of a depthwise convolution, `a` and `b` as the shader binds them: forward (a block is R, on the
 * stride-1 window path R1, consecutive output columns of one row), input gradient (per row, sw stride phases of MB
 * blocks of R or R1 columns, iw = px + sw*(m0 + j)) or weight gradient (see below).
 */
export function depthwisePass(mode: Mode, a: Tensor, b: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  const rt = runtime();
  const vw = vecWidth(g.Cin);
  const CV = g.Cin / vw;
  const win = windowPath(mode, g);
  // One launch over n x rows x blocks x channel vectors (weight gradient: n = chunks, rows = 1, blocks of taps).
  type Grid = { n: number; rows: number; blocks: number; MB?: number; positions?: number; chunk?: number };
  const run = (outShape: Shape, grid: Grid): Tensor => {
    const { n, rows, blocks, MB = 1, positions = g.N * g.OH * g.OW, chunk = positions } = grid;
    const total = n * rows * blocks * CV;
    checkIndex(total, 'depthwise invocations', g);
    const out = Tensor.empty(outShape);
    const geometry = Object.fromEntries(GEOMETRY_UNIFORMS.map((k) => [k, g[k]]));
    rt.dispatch(
      rt.kernel(`conv2d_depthwise_${mode}${vw === 4 ? '_vec4' : ''}`, vecSource(SRC, vw), { MODE: mode }),
      { a: a.storage, b: b.storage, bias: (bias ?? a).storage, out: out.storage },
      { ...geometry, total, CV, blocks, rows, MB, hasBias: bias ? 1 : 0, taps: g.KH * g.KW, positions, chunk, win },
      rt.grid(total, 256),
    );
    return out;
  };
  const block = win === 1 ? R1 : R;
  if (mode === 0) return run([g.N, g.OH, g.OW, g.Cout], { n: g.N, rows: g.OH, blocks: Math.ceil(g.OW / block) });
  const MB = Math.ceil(Math.ceil(g.W / g.sw) / block);
  if (mode === 1) return run([g.N, g.H, g.W, g.Cin], { n: g.N, rows: g.H, blocks: g.sw * MB, MB });
  // dW [KH, KW, 1, C] in chunks. Window path: blocks are kernel rows and chunks hold whole output rows (at
  // least one); else blocks of R taps and chunks of at least 32 output pixels.
  const blocks = win > 0 ? g.KH : Math.ceil((g.KH * g.KW) / R);
  const positions = win > 0 ? g.N * g.OH : g.N * g.OH * g.OW;
  return chunkedWeightGrad([g.KH, g.KW, 1, g.Cout], positions, win > 0 ? 1 : 32, blocks * CV, (chunk, used, shape) =>
    run(shape, { n: used, rows: 1, blocks, positions, chunk }),
  );
}

/**
 * A weight gradient `wShape`: few outputs and a long sum over `positions` output pixels (or rows), split into
 * chunks of at least `minChunk`, enough for about 8192 invocations (`perChunk` a chunk), whose partials are
 * added. `launch(chunk, used, shape)` computes the partials of `used` chunks.
 */
export function chunkedWeightGrad(
  wShape: Shape,
  positions: number,
  minChunk: number,
  perChunk: number,
  launch: (chunk: number, used: number, shape: Shape) => Tensor,
): Tensor {
  const nchunks = Math.max(1, Math.min(Math.ceil(positions / minChunk), Math.ceil(8192 / perChunk)));
  const chunk = Math.ceil(positions / nchunks);
  const used = Math.ceil(positions / chunk);
  if (used === 1) return launch(chunk, used, wShape);
  const partial = launch(chunk, used, [used, ...wShape]);
  const res = sum(partial, 0);
  partial.dispose();
  return res;
}
