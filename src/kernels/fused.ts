/**
 * The inference-only kernel entry: one op, `fused(x, w, opts)`, a launch with a prologue (a per-input-
 * channel affine map and ReLU applied as x is read), a core and an epilogue (a per-output-channel map
 * and ReLU applied as y is stored, into a channel range of a wider tensor with `into`). What inference
 * plans (src/layers/plan.ts) emit; it records no autograd. The cores are the differentiable kernels'
 * own launches, generated from the same sources (the GEMM core of src/kernels/gemm.ts):
 * - `w` given: a dense convolution (1x1 stride-1 unpadded ones as a plain GEMM over the pixels, which
 *   alone take a prologue and `from`, the input channels read out of a wider x);
 * - `w` null with `pool`: an average pooling of the mapped input (DenseNet's transitions pool before
 *   their bias-free 1x1 convolution: the two commute);
 * - `w` null otherwise: the prologue alone (the inference batch norm: one multiply-add per element),
 *   or a copy into `into`.
 */
import { Tensor, checkTensor, defineOp, isGradEnabled, shapeStr } from '../tensor.js';
import { checkBoolean } from '../validate.js';
import { checkSplits, matmulLaunch } from './matmul.js';
import { forwardGemm, isPlainMatmul, resolveConvGeometry, type Conv2dOptions } from './conv2d.js';
import { pool2d, type AvgPool2dOptions } from './pool.js';
import { applyAffineTable } from './batchnorm.js';
import { writeChannels } from './concat.js';
import { reshape } from './elementwise.js';

/** A per-channel affine map then optionally ReLU: `table` = [scale, shift] ([2, C]; see batchNormAffineTable). */
export interface AffineMap {
  table: Tensor;
  relu: boolean;
}

/** Channels [offset, offset + C) of every row of `tensor` (same leading dimensions): a concatenation built in place. */
export interface ChannelSlice {
  tensor: Tensor;
  offset: number;
}

/** Options of {@link fused}: the convolution's (with `w`), then the fused parts. */
export interface FusedOptions extends Conv2dOptions {
  /** Read x as act(x * scale[c] + shift[c]) per input channel c (1x1 stride-1 unpadded convolutions, pooling, or alone). */
  prologue?: AffineMap;
  /** Store act(y * scale[c] + shift[c]) per output channel c (convolutions). */
  epilogue?: AffineMap;
  /** Read only x's channels [offset, offset + C) (C: the convolution's input channels, or the prologue's). */
  from?: { offset: number };
  /** Write the output channels at a channel offset of a wider tensor, which is returned. */
  into?: ChannelSlice;
  /** With `w` null: average pooling as the core. */
  pool?: AvgPool2dOptions;
  /** Split-k count of a GEMM core (tests). */
  splits?: number;
}

const map = (m: AffineMap | undefined, C: number, what: string, of: string): AffineMap | undefined => {
  if (!m) return undefined;
  const t = checkTensor(m.table, `fused option ${what}.table`);
  if (t.rank !== 2 || t.shape[0] !== 2 || t.shape[1] !== C) throw new Error(`ossify: fused ${what} table must be [2, ${C}] (scale, shift per channel of ${of}), got ${shapeStr(t.shape)}`);
  return { table: t, relu: checkBoolean(m.relu, `fused option ${what}.relu`, false) };
};

/**
 * One inference launch: prologue -> core (convolution with `w`, else average pooling or nothing) ->
 * epilogue, see the file comment and {@link FusedOptions}. Records no autograd: it throws under grad
 * mode when x or w require gradients.
 */
export const fused = defineOp('fused', ['x', 'w?'], (x: Tensor, w: Tensor | null, opts: FusedOptions = {}): Tensor => {
  if (isGradEnabled() && (x.requiresGrad || w?.requiresGrad)) throw new Error('ossify: fused records no gradients; run it under noGrad(), or use the differentiable ops for training');
  const X = x.shape[x.rank - 1];
  const into = opts.into && { tensor: checkTensor(opts.into.tensor, 'fused option into.tensor'), offset: opts.into.offset };
  const C = w ? (w.rank === 4 ? w.shape[2] : 0) : opts.from && opts.prologue ? opts.prologue.table.shape[1] : X;
  const off = opts.from?.offset ?? 0;
  if (!Number.isInteger(off) || off < 0 || off + C > X) throw new Error(`ossify: fused cannot read ${C} input channels from channel ${off} of ${shapeStr(x.shape)}`);
  const prologue = map(opts.prologue, C, 'prologue', `the input ${shapeStr(x.shape)}`);
  const slice = into && ((M: number, N: number, lead: readonly number[]) => {
    const t = into.tensor;
    const ldc = t.shape[t.rank - 1];
    if (t.rank !== lead.length + 1 || lead.some((d, i) => d !== t.shape[i]) || !Number.isInteger(into.offset) || into.offset < 0 || into.offset + N > ldc) {
      throw new Error(`ossify: fused cannot write its output [${lead.join(', ')}, ${N}] at channel ${into.offset} of ${shapeStr(t.shape)}: leading sizes must match, channels ${into.offset}..${into.offset + N - 1} within its last axis (${ldc})`);
    }
    return { tensor: t, ldc, offset: into.offset };
  });
  if (!w) {
    if (opts.epilogue) throw new Error('ossify: fused takes an epilogue only with a convolution (w)');
    if (opts.pool) {
      if (!prologue || off || into) throw new Error('ossify: fused pooling takes a prologue, and no from or into');
      return pool2d(x, opts.pool, false, prologue);
    }
    if (!prologue) {
      if (!slice) throw new Error('ossify: fused without w, pool or prologue only copies into a slice (into)');
      writeChannels(x, slice(0, X, x.shape.slice(0, -1)).tensor, into.offset);
      return into.tensor;
    }
    const y = applyAffineTable(x, prologue.table, prologue.relu, off);
    if (!slice) return y;
    writeChannels(y, slice(0, C, y.shape.slice(0, -1)).tensor, into.offset);
    y.dispose();
    return into.tensor;
  }
  const g = resolveConvGeometry(opts.from ? [...x.shape.slice(0, -1), C] : x.shape, w.shape, opts);
  if (g.groups !== 1) throw new Error(`ossify: fused takes dense convolutions (groups = 1), got groups = ${g.groups}`);
  const plain = isPlainMatmul(g);
  if ((opts.from || prologue) && !plain) throw new Error(`ossify: fused maps (prologue) or slices (from) a convolution's input only for 1x1, stride-1, unpadded convolutions; w is ${shapeStr(w.shape)} with stride [${g.sh}, ${g.sw}] and padding [${g.padT}, ${g.padB}, ${g.padL}, ${g.padR}]`);
  const epi = map(opts.epilogue, g.Cout, 'epilogue', `the output of w ${shapeStr(w.shape)}`);
  const epilogue = epi && { table: epi.table.storage, relu: epi.relu };
  const M = g.N * g.OH * g.OW;
  const target = slice?.(M, g.Cout, [g.N, g.OH, g.OW]);
  if (!plain) return forwardGemm(x, w, null, g, epilogue, target);
  const pro = prologue && { table: prologue.table.storage, relu: prologue.relu };
  const y = matmulLaunch(reshape(x, [M, X]), reshape(w, [g.Cin, g.Cout]), false, false, checkSplits(opts.splits, 'fused'), { epilogue, into: target, prologue: pro, from: opts.from ? { lda: X, offset: off } : undefined });
  return into ? y : reshape(y, [g.N, g.OH, g.OW, g.Cout]);
});
