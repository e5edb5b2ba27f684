/**
 * Depthwise convolution (groups = Cin = Cout, channel multiplier 1: EfficientNet's and MobileNet's
 * 3x3 and 5x5 convolutions), forward, input gradient and weight gradient, on one direct kernel
 * (shaders/conv2d_depthwise.wgsl): each invocation computes R = 4 outputs that share a weight (forward,
 * input gradient) or a dY value (weight gradient) for one channel, or 4 adjacent channels as a vec4 when
 * C % 4 == 0. Shapes, strides, dilations and padding are uniforms, so one pipeline per mode and width
 * serves every layer (at most 6 kernels to compile).
 *
 * conv2d (src/kernels/conv2d.ts) sends depthwise convolutions here and the other grouped ones to the
 * general grouped kernel; `setVariant('depthwise', 'grouped')` sends depthwise ones there too (for
 * comparisons: bench/LAB.md, eleventh round). The float64 reference is conv2d's.
 *
 * Backward is convolution: dX is dY dilated by the stride, correlated with the flipped kernel (padding
 * k_eff - 1 - pad), computed per stride phase so that no tap multiplies an inserted zero; dW correlates
 * x with dY (stride and dilation swapped), summed over the batch and pixels in chunks whose partial sums
 * are added afterwards.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, type Shape } from '../tensor.js';
import { sum } from './reduce.js';
import { variant } from './variants.js';
import { vecSource, vecWidth } from './vec-width.js';
import type { ConvGeometry } from './conv2d.js';
import commonSrc from '../../shaders/conv2d_common.wgsl';
import depthwiseSrc from '../../shaders/conv2d_depthwise.wgsl';

const SRC = `${depthwiseSrc}\n${commonSrc}`;
/** Outputs (forward, input gradient) or taps (weight gradient) per invocation: R in the shader. */
const R = 4;
/** The kernel splits invocation indices with divmod, exact below 2^24. */
const INDEX_LIMIT = 2 ** 24 - 4096;

/**
 * Which kernel runs a depthwise convolution: 'direct' (shaders/conv2d_depthwise.wgsl, the default on
 * every adapter) or 'grouped' (the general grouped kernel, shaders/conv2d_grouped.wgsl, the path before
 * it), chosen with `setVariant('depthwise', ...)`.
 */
export type DepthwiseVariant = 'direct' | 'grouped';

/** Whether a convolution is depthwise with channel multiplier 1 and runs on the depthwise kernel. */
export function usesDepthwiseKernel(g: ConvGeometry): boolean {
  return (
    g.groups > 1 &&
    g.groups === g.Cin &&
    g.Cout === g.Cin &&
    variant<DepthwiseVariant>('depthwise', { cpu: 'direct', gpu: 'direct' }) === 'direct'
  );
}

type Mode = 0 | 1 | 2;
/**
 * One launch over `n` x `rows` x `blocks` x channel vectors (mode 2: n = chunks, rows = 1, blocks of taps).
 * `a` and `b` as the shader binds them; the output is [n*rows*..., C] shaped `outShape`.
 */
function launch(
  mode: Mode,
  a: Tensor,
  b: Tensor,
  bias: Tensor | null,
  g: ConvGeometry,
  outShape: Shape,
  grid: { n: number; rows: number; blocks: number; MB?: number; chunk?: number },
): Tensor {
  const rt = runtime();
  const vw = vecWidth(g.Cin);
  const CV = g.Cin / vw;
  const total = grid.n * grid.rows * grid.blocks * CV;
  if (total >= INDEX_LIMIT)
    throw new Error(
      `ossify: depthwise conv2d needs ${total} invocations, beyond the 2^24 its kernel indexes exactly ` +
        `(N=${g.N}, ${g.H}x${g.W}x${g.Cin} -> ${g.OH}x${g.OW}); split the batch`,
    );
  const out = Tensor.empty(outShape);
  const positions = g.N * g.OH * g.OW;
  rt.dispatch(
    rt.kernel(`conv2d_depthwise_${mode}${vw === 4 ? '_vec4' : ''}`, vecSource(SRC, vw), { MODE: mode }),
    { a: a.storage, b: b.storage, bias: (bias ?? a).storage, out: out.storage },
    {
      total,
      CV,
      blocks: grid.blocks,
      rows: grid.rows,
      MB: grid.MB ?? 1,
      H: g.H,
      W: g.W,
      OH: g.OH,
      OW: g.OW,
      KH: g.KH,
      KW: g.KW,
      sh: g.sh,
      sw: g.sw,
      dilH: g.dilH,
      dilW: g.dilW,
      padT: g.padT,
      padL: g.padL,
      hasBias: bias ? 1 : 0,
      taps: g.KH * g.KW,
      positions,
      chunk: grid.chunk ?? positions,
    },
    rt.grid(total, 256),
  );
  return out;
}

/** Forward: y [N, OH, OW, C]; a block is R consecutive output columns of one row. */
export function depthwiseForward(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeometry): Tensor {
  return launch(0, x, w, bias, g, [g.N, g.OH, g.OW, g.Cout], {
    n: g.N,
    rows: g.OH,
    blocks: Math.ceil(g.OW / R),
  });
}

/** dX [N, H, W, C]: per row, sw stride phases of MB blocks of R columns each (iw = px + sw*(m0 + j)). */
export function depthwiseInputGrad(dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const MB = Math.ceil(Math.ceil(g.W / g.sw) / R);
  return launch(1, dy, w, null, g, [g.N, g.H, g.W, g.Cin], { n: g.N, rows: g.H, blocks: g.sw * MB, MB });
}

/**
 * dW [KH, KW, 1, C]: few outputs (KH*KW*C) and a long sum over N*OH*OW, so the sum is split into chunks
 * of at least 32 output pixels, enough of them for about 8192 invocations, whose partials are then added.
 */
export function depthwiseWeightGrad(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const wShape = [g.KH, g.KW, 1, g.Cout];
  const blocks = Math.ceil((g.KH * g.KW) / R);
  const perChunk = blocks * (g.Cin / vecWidth(g.Cin));
  const positions = g.N * g.OH * g.OW;
  const nchunks = Math.max(1, Math.min(Math.ceil(positions / 32), Math.ceil(8192 / perChunk)));
  const chunk = Math.ceil(positions / nchunks);
  const used = Math.ceil(positions / chunk);
  if (used === 1) return launch(2, x, dy, null, g, wShape, { n: 1, rows: 1, blocks });
  const partial = launch(2, x, dy, null, g, [used, ...wShape], { n: used, rows: 1, blocks, chunk });
  const res = sum(partial, 0);
  partial.dispose();
  return res;
}
