/**
 * Winograd F(2x2, 3x3) convolution forward (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016) for 3x3, stride-1, undilated dense convolutions: each 2x2 output tile comes from a
 * 4x4 input tile d as Y = A^T [(G g G^T) * (B^T d B)] A, 16 multiplies per tile and channel pair
 * instead of 36, so the GEMM runs 2.25x fewer multiply-adds than the implicit GEMM. Four passes:
 * - weights: U = G g G^T, row-major [16 * Cin, Cout] (shaders/winograd_weights.wgsl);
 * - input: V = B^T d B, [16, tiles, Cin] (shaders/winograd_input.wgsl; four times the input's size);
 * - the 16 products V[xi] U[xi] as one launch of the GEMM engine: a split-k GEMM over K = 16 * Cin
 *   whose splits are the 16 blocks, so its unsummed partials are the products (shaders/winograd_gemm.wgsl);
 * - output: A^T M A per tile, plus the bias, then the fused epilogue and the (strided) store
 *   (shaders/winograd_output.wgsl).
 * Exact in real arithmetic; in f32 it rounds differently from the direct sum (relative errors ~1e-6
 * with these small, well-conditioned matrices). The convolution's backward stays the implicit GEMM's.
 */
import { runtime, type BufferLike } from '../gpu/runtime.js';
import { Tensor, defineOp } from '../tensor.js';
import { fillTemplate } from '../gpu/wgsl.js';
import { gemm, rowMajorB, vec4A, epilogueMode, EPILOGUE_FN, type GemmEpilogue } from './gemm.js';
import type { ConvGeometry } from './conv2d.js';
import commonSrc from '../../shaders/conv2d_common.wgsl';
import weightsSrc from '../../shaders/winograd_weights.wgsl';
import inputSrc from '../../shaders/winograd_input.wgsl';
import gemmSrc from '../../shaders/winograd_gemm.wgsl';
import outputSrc from '../../shaders/winograd_output.wgsl';

const GEMM_LOADERS = `${gemmSrc}\n${commonSrc}`;
const OUTPUT = fillTemplate(outputSrc, { EPILOGUE: EPILOGUE_FN });
const inputKernel = (vec: boolean): string => fillTemplate(inputSrc, { T: vec ? 'vec4<f32>' : 'f32' });

/** Whether Winograd F(2x2, 3x3) computes this convolution: 3x3, stride 1, dilation 1, dense. */
export function winogradApplies(g: ConvGeometry): boolean {
  return g.KH === 3 && g.KW === 3 && g.sh === 1 && g.sw === 1 && g.dilH === 1 && g.dilW === 1 && g.groups === 1;
}

/**
 * The 4x4-transformed weights U = G g G^T of HWIO 3x3 weights `w`, row-major [16 * Cin, Cout]: what
 * {@link winogradConv2d} multiplies by.
 */
export const winogradWeights = defineOp('winogradWeights', ['w'], (w: Tensor): Tensor => {
  const [KH, KW, Cin, Cout] = w.shape;
  if (w.rank !== 4 || KH !== 3 || KW !== 3)
    throw new Error(`ossify: winogradWeights takes 3x3 HWIO weights, got [${w.shape.join(', ')}]`);
  const rt = runtime();
  const u = Tensor.empty([16 * Cin, Cout]);
  const total = Cin * Cout;
  rt.dispatch(
    rt.kernel('winograd-weights', weightsSrc),
    { w: w.storage, u: u.storage },
    { total },
    rt.grid(total, 256),
  );
  return u;
});

/**
 * The forward convolution of NHWC `x` by 3x3 weights `w` with geometry `g` ({@link winogradApplies}),
 * plus `bias`, then `epilogue`; stored into `into` (rows `ldc` long from column `offset`, with the
 * output's pixels) or a new [N, OH, OW, Cout] tensor.
 */
export const winogradConv2d = defineOp(
  'winogradConv2d',
  ['x', 'w', 'bias?'],
  (
    x: Tensor,
    w: Tensor,
    bias: Tensor | null,
    g: ConvGeometry,
    opts: { epilogue?: GemmEpilogue; into?: { tensor: Tensor; ldc: number; offset: number } } = {},
  ): Tensor => {
    if (!winogradApplies(g))
      throw new Error('ossify: internal error: Winograd F(2x2, 3x3) takes 3x3, stride-1, undilated dense convolutions');
    const rt = runtime();
    const [TH, TW] = [Math.ceil(g.OH / 2), Math.ceil(g.OW / 2)];
    const tiles = g.N * TH * TW;
    const u = winogradWeights(w);
    // Input tiles, 4 channels per invocation when Cin % 4 == 0.
    const vec = g.Cin % 4 === 0;
    const C = vec ? g.Cin / 4 : g.Cin;
    const v = Tensor.empty([16, tiles, g.Cin]);
    rt.dispatch(
      rt.kernel('winograd-input', inputKernel(vec)),
      { x: x.storage, v: v.storage },
      { total: tiles * C, tiles, H: g.H, W: g.W, C, TH, TW, padT: g.padT, padL: g.padL },
      rt.grid(tiles * C, 256),
    );
    const products = gemm({
      label: 'winograd',
      loaders: fillTemplate(GEMM_LOADERS, { ...rowMajorB('u', g.Cout), ...vec4A('vt', vec) }),
      kStep4: vec && g.Cout % 4 === 0,
      vecA: vec,
      M: tiles,
      N: g.Cout,
      K: 16 * g.Cin,
      batches: 16,
      inputs: { vt: v.storage, u: u.storage },
      params: { Cin: g.Cin },
      outShape: [16, tiles, g.Cout],
    });
    v.dispose();
    u.dispose();
    const into = opts.into;
    const y = into ? into.tensor : Tensor.empty([g.N, g.OH, g.OW, g.Cout]);
    const total = tiles * g.Cout;
    const epi = opts.epilogue;
    const none: BufferLike = products.storage;
    rt.dispatch(
      // One pipeline with or without the epilogue (the uniform epiMode selects it).
      rt.kernel('winograd-output', OUTPUT, { HAS_BIAS: bias ? 1 : 0 }),
      // Unused bindings (no bias, no epilogue) alias the products: read-only bindings may.
      { m: products.storage, y: y.storage, bias: bias?.storage ?? none, epi: epi?.table ?? none },
      {
        total,
        tiles,
        N: g.Cout,
        OH: g.OH,
        OW: g.OW,
        TH,
        TW,
        ldc: into?.ldc ?? g.Cout,
        cOff: into?.offset ?? 0,
        epiMode: epilogueMode(epi),
      },
      rt.grid(total, 256),
    );
    products.dispose();
    return y;
  },
);
