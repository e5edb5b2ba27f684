/**
 * Layer normalization and group normalization, differentiable in x, gamma and beta: "rows" normalized
 * with their own mean and biased variance (PyTorch and Keras alike), no running statistics. One kernel
 * serves both: a row is (batch b, group g) of `pixels * cg` values at ((b * pixels + q) * channels + g *
 * cg + c) (channels last: a group is a run of channels); layer norm is pixels = 1, one group, cg = channels
 * (the normalized trailing axes, flattened). A row goes to a workgroup of 64, or on CPU adapters with many
 * rows to one invocation (`setVariant('norm', 'workgroup' | 'serial')` forces one).
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, numel, shapeStr } from '../tensor.js';
import { checkAxis, checkNumber, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import { sumRaw } from './sum-raw.js';
import { checkChannelTensors, storages } from './batchnorm.js';
import { variant } from './variants.js';
import normSrc from '../../shaders/norm_rows.wgsl';

/** How a normalization views its input: rows of `pixels * cg` values (see the file comment). */
export type NormLayout = ReturnType<typeof normLayout>;

/** Options of {@link groupNorm}. */
export interface GroupNormOptions {
  /** Added to the variance; default 1e-5 (PyTorch; Keras uses 1e-3). */
  epsilon?: number;
}

/** Options of {@link layerNorm}. */
export interface LayerNormOptions extends GroupNormOptions {
  /** The first normalized axis, through the last (PyTorch: `normalized_shape = x.shape[axis:]`); default -1. */
  axis?: number;
}

const checkEpsilon = (eps: unknown, what: string): number => checkNumber(withDefault(eps, 1e-5), what, { min: 0 });

/** Normalize x by `layout`, recording the gradient of x, gamma and beta (each checked here: L.channels values). */
function normalize(name: string, x: Tensor, gamma: Tensor | null, beta: Tensor | null, L: NormLayout, eps: number) {
  const rt = runtime();
  checkChannelTensors(L.channels, name, shapeStr(x.shape), { gamma, beta });
  const affine = !!(gamma || beta);
  // A missing half of the affine map is the identity's (PyTorch's bias=False).
  const g = gamma ?? (affine ? Tensor.ones([L.channels]) : x);
  const b = beta ?? (affine ? Tensor.zeros([L.channels]) : x);
  const [y, stats] = [Tensor.empty(x.shape), Tensor.empty([L.rows, 2])];
  // An invocation per row on CPU adapters (barriers are slow there) once there are two workgroups of rows.
  const serial = variant('norm', { cpu: L.rows >= 128 ? 'serial' : 'workgroup', gpu: 'workgroup' }) === 'serial';
  const launch = (grad: boolean, io: Record<string, Tensor>) => {
    const constants = { AFFINE: affine ? 1 : 0, GRAD: grad ? 1 : 0, SERIAL: serial ? 1 : 0 };
    const k = rt.kernel(`norm-rows${grad ? '-grad' : ''}`, normSrc, constants);
    rt.dispatch(k, storages(io), { ...L, eps }, rt.grid(L.rows, serial ? 64 : 1));
  };
  // dy and dyxhat are stand-ins (a written binding may not alias another one).
  launch(false, { x, gamma: g, beta: b, dy: x, stats, out: y, dyxhat: Tensor.empty([1]) });
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  return record(name, inputs, y, [x, g, stats], (dy, [xs, gs, st]) => {
    const [dx, dyxhat] = [Tensor.empty(x.shape), Tensor.empty(x.shape)];
    launch(true, { x: xs, gamma: gs, beta: gs, dy, stats: st, out: dx, dyxhat });
    // gamma's and beta's gradients: per-channel sums over every (batch, pixel).
    const perChannel = (t: Tensor, like: Tensor) =>
      sumRaw(t.alias([x.size / L.channels, L.channels]), [0], 1).alias(like.shape);
    return [
      dx,
      ...(gamma ? [gamma.requiresGrad ? perChannel(dyxhat, gamma) : null] : []),
      ...(beta ? [beta.requiresGrad ? perChannel(dy, beta) : null] : []),
    ];
  });
}

/**
 * Layer normalization (Ba et al. 2016): each slice over the axes from `opts.axis` (default the last) to
 * the end is normalized to mean 0 and variance 1 (biased), then scaled by gamma and shifted by beta
 * (each of the normalized slice's size, or null). PyTorch's `layer_norm(x, x.shape[axis:], gamma, beta,
 * eps)`; Keras's `LayerNormalization(axis=-1)` with `epsilon: 1e-3`.
 */
export const layerNorm = defineOp(
  'layerNorm',
  ['x', 'gamma?', 'beta?'],
  (x: Tensor, gamma: Tensor | null, beta: Tensor | null, opts: LayerNormOptions = {}): Tensor => {
    const axis = checkAxis(withDefault(opts.axis, -1), x.rank, 'layerNorm option axis');
    const eps = checkEpsilon(opts.epsilon, 'layerNorm option epsilon');
    return normalize('layerNorm', x, gamma, beta, normLayout(x.shape, 'layer', axis), eps);
  },
);

/**
 * Group normalization (Wu & He 2018) of a channels-last tensor [N, ..., C]: the C channels are split into
 * `groups` runs of C / groups; each (sample, group) is normalized over its spatial positions and
 * channels, then scaled by gamma and shifted by beta ([C] each, or null). PyTorch's `GroupNorm` (on NCHW)
 * and Keras's `GroupNormalization` (channels-last; `epsilon: 1e-3`). groups = C is instance
 * normalization, groups = 1 normalizes each sample over everything.
 */
export const groupNorm = defineOp(
  'groupNorm',
  ['x', '', 'gamma?', 'beta?'],
  (x: Tensor, groups: number, gamma: Tensor | null, beta: Tensor | null, opts: GroupNormOptions = {}): Tensor => {
    if (x.rank < 2)
      throw new Error(`ossify: groupNorm needs x of rank >= 2 ([N, ..., C], channels last), got ${shapeStr(x.shape)}`);
    const C = x.shape[x.rank - 1];
    const G = checkNumber(groups, 'groupNorm groups', { integer: true, min: 1 });
    if (C % G !== 0)
      throw new Error(`ossify: groupNorm groups must divide the ${C} channels (last axis), got ${showValue(groups)}`);
    const eps = checkEpsilon(opts.epsilon, 'groupNorm option epsilon');
    return normalize('groupNorm', x, gamma, beta, normLayout(x.shape, 'group', G), eps);
  },
);

/** The row layout of {@link layerNorm} over the axes from `axis`, and of {@link groupNorm}, for references. */
export function normLayout(shape: readonly number[], kind: 'layer' | 'group', axisOrGroups: number) {
  if (kind === 'layer') {
    const n = numel(shape.slice(axisOrGroups < 0 ? axisOrGroups + shape.length : axisOrGroups));
    return { rows: numel(shape) / n, groups: 1, pixels: 1, channels: n, cg: n };
  }
  const [N, G, C] = [shape[0], axisOrGroups, shape[shape.length - 1]];
  return { rows: N * G, groups: G, pixels: numel(shape) / (N * C), channels: C, cg: C / G };
}

/** Float64 CPU reference of {@link layerNorm} and {@link groupNorm} for the layout `L`. */
export function normReference(
  x: ArrayLike<number>,
  L: NormLayout,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  eps = 1e-5,
): Float64Array {
  const y = new Float64Array(x.length);
  const m = L.pixels * L.cg;
  for (let row = 0; row < L.rows; row++) {
    const [b, g] = [Math.floor(row / L.groups), row % L.groups];
    const idx = (j: number) => (b * L.pixels + Math.floor(j / L.cg)) * L.channels + g * L.cg + (j % L.cg);
    let mean = 0;
    for (let j = 0; j < m; j++) mean += x[idx(j)] / m;
    let v = 0;
    for (let j = 0; j < m; j++) v += (x[idx(j)] - mean) ** 2 / m;
    for (let j = 0; j < m; j++) {
      const ch = g * L.cg + (j % L.cg);
      y[idx(j)] = ((x[idx(j)] - mean) / Math.sqrt(v + eps)) * (gamma ? gamma[ch] : 1) + (beta ? beta[ch] : 0);
    }
  }
  return y;
}
