/**
 * The inference-only kernel that inference plans (src/layers/plan.ts) emit: `fused(x, w, opts)`, one
 * launch of a prologue (a per-input-channel affine map and ReLU as x is read), a core and an epilogue (a
 * per-output-channel map and activation as y is stored, optionally into channels of a wider tensor). The
 * cores are the differentiable kernels' own launches: with `w` a dense convolution (1x1 stride-1 unpadded
 * ones, a plain GEMM, alone take a prologue and `from`); without, an average pooling (`pool`), the
 * prologue alone or a copy into `into`. Records no autograd.
 */
import { Tensor, checkTensor, defineOp, isGradEnabled, shapeStr } from '../tensor.js';
import { checkBoolean, checkChoice } from '../validate.js';
import { checkSplits, matmulLaunch } from './matmul.js';
import { EPILOGUE_ACTIVATIONS, type EpilogueActivation, type GemmTarget } from './gemm.js';
import { forwardGemm, isPlainMatmul, resolveConvGeometry, type Conv2dOptions } from './conv2d.js';
import { pool2d, type AvgPool2dOptions } from './pool.js';
import { applyAffineTable } from './batchnorm.js';
import { writeChannels } from './concat.js';
import { reshape } from './elementwise.js';

/**
 * A per-channel affine map then an activation: `table` = [scale, shift] ([2, C]); `relu`: ReLU after the
 * map; `activation` (epilogues only): one of {@link EPILOGUE_ACTIVATIONS} (default 'relu' with `relu`, else 'linear').
 */
export interface AffineMap {
  table: Tensor;
  relu?: boolean;
  activation?: EpilogueActivation;
}

/** Channels [offset, offset + C) of every row of `tensor` (same leading dimensions): a concatenation built in place. */
export interface ChannelSlice {
  tensor: Tensor;
  offset: number;
}

/**
 * Options of {@link fused}: the convolution's (with `w`); `prologue` / `epilogue`: the maps of x as read /
 * y as stored; `from`: read x's channels [offset, offset + C) only; `into`: write the output there
 * (returned); `pool`: average pooling as the core (no `w`); `splits`: split-k count of a GEMM core (tests).
 */
export interface FusedOptions extends Conv2dOptions {
  prologue?: AffineMap;
  epilogue?: AffineMap;
  from?: { offset: number };
  into?: ChannelSlice;
  pool?: AvgPool2dOptions;
  splits?: number;
}

/** A checked map: its table, and its activation ('relu' or 'linear' for a prologue). */
const map = (
  m: AffineMap | undefined,
  C: number,
  what: 'prologue' | 'epilogue',
  of: string,
): { table: Tensor; activation: EpilogueActivation } | undefined => {
  if (!m) return undefined;
  const option = `fused option ${what}`;
  const t = checkTensor(m.table, `${option}.table`);
  if (t.rank !== 2 || t.shape[0] !== 2 || t.shape[1] !== C)
    throw new Error(
      `ossify: fused ${what} table must be [2, ${C}] (scale, shift per channel of ${of}), got ${shapeStr(t.shape)}`,
    );
  const relu = checkBoolean(m.relu, `${option}.relu`, false);
  const allowed = what === 'prologue' ? ['relu', 'linear'] : Object.keys(EPILOGUE_ACTIVATIONS);
  const activation = checkChoice(m.activation ?? (relu ? 'relu' : 'linear'), `${option}.activation`, allowed);
  if (relu && activation !== 'relu')
    throw new Error(`ossify: fused ${what} takes relu: true or activation '${activation}', not both`);
  return { table: t, activation: activation as EpilogueActivation };
};

/** The target of `into`, checked to take an output [...lead, N]: rows `ldc` long from channel `offset`. */
function target(into: ChannelSlice, N: number, lead: readonly number[]): GemmTarget {
  const tensor = checkTensor(into.tensor, 'fused option into.tensor');
  const { offset } = into;
  const ldc = tensor.shape[tensor.rank - 1];
  const sameLead = tensor.rank === lead.length + 1 && lead.every((d, i) => d === tensor.shape[i]);
  if (!sameLead || !Number.isInteger(offset) || offset < 0 || offset + N > ldc)
    throw new Error(
      `ossify: fused cannot write its output [${lead.join(', ')}, ${N}] at channel ${offset} of ` +
        `${shapeStr(tensor.shape)}: leading sizes must match, ` +
        `channels ${offset}..${offset + N - 1} within its last axis (${ldc})`,
    );
  return { tensor, ldc, offset };
}

/** One inference launch (see the file comment); it throws under grad mode when x or w require gradients. */
export const fused = defineOp('fused', ['x', 'w?'], (x: Tensor, w: Tensor | null, opts: FusedOptions = {}): Tensor => {
  if (isGradEnabled() && (x.requiresGrad || w?.requiresGrad))
    throw new Error(
      'ossify: fused records no gradients; run it under noGrad(), or use the differentiable ops for training',
    );
  const X = x.shape[x.rank - 1];
  const C = w ? (w.rank === 4 ? w.shape[2] : 0) : opts.from && opts.prologue ? opts.prologue.table.shape[1] : X;
  const off = opts.from?.offset ?? 0;
  if (!Number.isInteger(off) || off < 0 || off + C > X)
    throw new Error(`ossify: fused cannot read ${C} input channels from channel ${off} of ${shapeStr(x.shape)}`);
  const pm = map(opts.prologue, C, 'prologue', `the input ${shapeStr(x.shape)}`);
  const prologue = pm && { table: pm.table, relu: pm.activation === 'relu' };
  const into = opts.into;
  if (!w) {
    if (opts.epilogue) throw new Error('ossify: fused takes an epilogue only with a convolution (w)');
    if (opts.pool) {
      if (!prologue || off || into) throw new Error('ossify: fused pooling takes a prologue, and no from or into');
      return pool2d(x, opts.pool, false, prologue);
    }
    if (!prologue && !into)
      throw new Error('ossify: fused without w, pool or prologue only copies into a slice (into)');
    // The prologue alone, or a copy into the slice, or both.
    const y = prologue ? applyAffineTable(x, prologue.table, prologue.relu, off) : x;
    if (!into) return y;
    const dst = target(into, y.shape[y.rank - 1], y.shape.slice(0, -1));
    writeChannels(y, dst.tensor, dst.offset);
    if (y !== x) y.dispose();
    return dst.tensor;
  }
  const g = resolveConvGeometry(opts.from ? [...x.shape.slice(0, -1), C] : x.shape, w.shape, opts);
  if (g.groups !== 1) throw new Error(`ossify: fused takes dense convolutions (groups = 1), got groups = ${g.groups}`);
  const plain = isPlainMatmul(g);
  if ((opts.from || prologue) && !plain)
    throw new Error(
      `ossify: fused maps (prologue) or slices (from) a convolution's input only for 1x1, stride-1, unpadded ` +
        `convolutions; w is ${shapeStr(w.shape)} with stride [${g.sh}, ${g.sw}] ` +
        `and padding [${g.padT}, ${g.padB}, ${g.padL}, ${g.padR}]`,
    );
  const epi = map(opts.epilogue, g.Cout, 'epilogue', `the output of w ${shapeStr(w.shape)}`);
  const epilogue = epi && { table: epi.table.storage, activation: epi.activation };
  const M = g.N * g.OH * g.OW;
  const dst = into && target(into, g.Cout, [g.N, g.OH, g.OW]);
  if (!plain) return forwardGemm(x, w, null, g, epilogue, dst);
  const pro = prologue && { table: prologue.table.storage, relu: prologue.relu };
  const y = matmulLaunch(
    reshape(x, [M, X]),
    reshape(w, [g.Cin, g.Cout]),
    false,
    false,
    checkSplits(opts.splits, 'fused'),
    { epilogue, into: dst, prologue: pro, from: opts.from ? { lda: X, offset: off } : undefined },
  );
  return into ? y : reshape(y, [g.N, g.OH, g.OW, g.Cout]);
});
