/**
 * Batch normalization over the last (channel) axis, with Keras's conventions ({@link BatchNormParams}):
 * PyTorch's momentum p is 1 - p here, and PyTorch updates the moving variance with the unbiased batch
 * variance (`varianceUpdate: 'unbiased'`). Kernels (vec4 over channels when C % 4 == 0): training runs
 * chunked per-channel sums, their merge (which updates the moving statistics), then the normalise pass;
 * inference that pass alone. Backward: chunked sums of g and g * xhat, their merge, then dx.
 */
import { runtime } from '../gpu/runtime.js';
import { vecWidth, vecSource } from '../gpu/wgsl.js';
import { Tensor, checkTensor, defineOp, isGradEnabled, shapeStr } from '../tensor.js';
import { checkBoolean, checkChoice, checkOptionalNumber, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import chunksSrc from '../../shaders/bn_chunks.wgsl';
import combineSrc from '../../shaders/bn_combine.wgsl';
import normSrc from '../../shaders/bn_norm.wgsl';
import gradCombineSrc from '../../shaders/bn_grad_combine.wgsl';
import gradSrc from '../../shaders/bn_grad.wgsl';
import affineSrc from '../../shaders/bn_affine.wgsl';
import { reluGradFromOutput } from './elementwise.js';

/** Keras's BatchNormalization defaults. */
export const BATCH_NORM_DEFAULTS = { momentum: 0.99, epsilon: 1e-3 } as const;

/** Parameters and state of a batch-norm layer (all per channel, shape [C]). */
export interface BatchNormParams {
  /** Scale; null = Keras `scale=False` (InceptionV3). */
  gamma: Tensor | null;
  /** Offset; null = Keras `center=False`. */
  beta: Tensor | null;
  /** Moving mean, updated in place in training mode. */
  movingMean: Tensor;
  /** Moving variance, updated in place in training mode. */
  movingVar: Tensor;
  /** Training mode normalises with the batch statistics and updates the moving ones; inference uses the moving ones. */
  training: boolean;
  /** Keras convention (default 0.99), in [0, 1]: moving = moving * momentum + batch * (1 - momentum). */
  momentum?: number;
  /** Added to the variance under the square root (default 1e-3, Keras; DenseNet121 uses 1.001e-5): >= 0. */
  epsilon?: number;
  /** Which batch variance updates the moving variance: 'biased' (Keras, default) or 'unbiased' (PyTorch). */
  varianceUpdate?: 'biased' | 'unbiased';
  /** Apply ReLU to the result in the same pass (BN -> ReLU fused; differentiable as the pair). */
  relu?: boolean;
}

const VARIANCE_UPDATES = ['biased', 'unbiased'] as const;

/** The batch-norm options every entry point shares (momentum, epsilon, varianceUpdate), checked. */
export function checkBatchNormOptions(
  p: { momentum?: unknown; epsilon?: unknown; varianceUpdate?: unknown },
  what: string,
): { momentum: number; epsilon: number; varianceUpdate: 'biased' | 'unbiased' } {
  const { momentum, epsilon } = BATCH_NORM_DEFAULTS;
  return {
    momentum: checkOptionalNumber(p.momentum, `${what} momentum (Keras convention)`, { min: 0, max: 1 }) ?? momentum,
    epsilon: checkOptionalNumber(p.epsilon, `${what} epsilon`, { min: 0 }) ?? epsilon,
    varianceUpdate: checkChoice(withDefault(p.varianceUpdate, 'biased'), `${what} varianceUpdate`, VARIANCE_UPDATES),
  };
}

/** Per-channel tensors of a normalization (null or undefined ones skipped): usable, and C values each. */
export function checkChannelTensors(
  C: number,
  what: string,
  input: string,
  tensors: Record<string, Tensor | null | undefined>,
) {
  for (const [name, t] of Object.entries(tensors)) {
    if (t === null || t === undefined) continue;
    checkTensor(t, `${what} ${name}`);
    if (t.size !== C)
      throw new Error(`ossify: ${what} ${name} has shape ${shapeStr(t.shape)}, expected [${C}] for input ${input}`);
  }
}

/** The storage of each tensor of a kernel's bindings. */
export const storages = (io: Record<string, Tensor>) =>
  Object.fromEntries(Object.entries(io).map(([k, t]) => [k, t.storage]));

/**
 * The per-channel sums over x [M, C] in chunks of rows (enough to fill a GPU) into part [nchunks, 2, C], for
 * the caller to merge and dispose: the statistics, or with `grad` the sums of g and g * xhat.
 */
function chunkPass(x: Tensor, grad?: { g: Tensor; mean: Tensor; s: Tensor; eps: number; fromVar: boolean }) {
  const rt = runtime();
  const C = x.shape[x.rank - 1];
  const M = x.size / C;
  const v = vecWidth(C);
  const want = Math.max(1, Math.min(Math.ceil(M / 32), Math.ceil(16384 / (C / v))));
  const rows = Math.ceil(M / want);
  const nchunks = Math.ceil(M / rows);
  const part = Tensor.empty([nchunks * 2 * C]);
  const { g = x, mean = x, s = x, eps = 0, fromVar = false } = grad ?? {};
  const k = rt.kernel('bn-chunks', vecSource(chunksSrc, v), { GRAD: grad ? 1 : 0, FROM_VAR: fromVar ? 1 : 0 });
  const io = storages({ x, g, mean, s, part });
  rt.dispatch(k, io, { M, C: C / v, rows, nchunks, eps }, rt.grid((nchunks * C) / v, 256));
  return { part, rows, nchunks };
}

/** The normalise pass (shaders/bn_norm.wgsl) into y, reading channels [xOff, xOff + C) of x's rows of ldx. */
function launchNorm(
  x: Tensor,
  y: Tensor,
  stats: Record<'mean' | 's' | 'gamma' | 'beta', Tensor>,
  constants: Record<string, number>,
  eps: number,
  xOff = 0,
) {
  const rt = runtime();
  const C = y.shape[y.rank - 1];
  const ldx = x.shape[x.rank - 1];
  const v = vecWidth(C, ldx, xOff);
  const params = { n: y.size / v, C: C / v, eps, ldx: ldx / v, xOff: xOff / v };
  const k = rt.kernel('bn-norm', vecSource(normSrc, v), constants);
  rt.dispatch(k, storages({ x, y, ...stats }), params, rt.grid(y.size / v, 256));
  return y;
}

/**
 * Batch normalization over the last axis; training mode updates `movingMean` / `movingVar` in place (on the
 * GPU, ordered with other work). Differentiable in x, gamma and beta in both modes.
 */
export const batchNorm = defineOp('batchNorm', ['x'], (x: Tensor, p: BatchNormParams): Tensor => {
  if (typeof p !== 'object' || p === null) {
    const fields = '{ gamma, beta, movingMean, movingVar, training }';
    throw new Error(`ossify: batchNorm params must be an object (${fields}), got ${showValue(p)}`);
  }
  const C = x.shape[x.rank - 1];
  const M = x.size / C;
  const { gamma, beta, movingMean, movingVar, training } = p;
  checkTensor(movingMean, 'batchNorm movingMean');
  checkTensor(movingVar, 'batchNorm movingVar');
  checkChannelTensors(C, 'batchNorm', shapeStr(x.shape), { gamma, beta, movingMean, movingVar });
  checkBoolean(training, 'batchNorm training');
  const relu = checkBoolean(p.relu, 'batchNorm relu', false);
  const { epsilon: eps, momentum, varianceUpdate } = checkBatchNormOptions(p, 'batchNorm');
  // Training: the batch mean and s = 1 / sqrt(var + eps), merged per channel (Chan et al.); inference: the
  // moving statistics (s a variance then: FROM_VAR).
  let [mean, s] = [movingMean, movingVar];
  if (training) {
    const { part, rows, nchunks } = chunkPass(x);
    [mean, s] = [Tensor.empty([C]), Tensor.empty([C])];
    const varScale = varianceUpdate === 'unbiased' && M > 1 ? M / (M - 1) : 1;
    const io = storages({ part, mean, invstd: s, movingMean, movingVar });
    const params = { M, C, rows, nchunks, eps, momentum, varScale };
    runtime().dispatch(runtime().kernel('bn-combine', combineSrc), io, params, [Math.ceil(C / 64)]);
  }
  const constants = {
    HAS_GAMMA: gamma ? 1 : 0,
    HAS_BETA: beta ? 1 : 0,
    FROM_VAR: training ? 0 : 1,
    RELU: relu ? 1 : 0,
  };
  const y = launchNorm(x, Tensor.empty(x.shape), { mean, s, gamma: gamma ?? mean, beta: beta ?? mean }, constants, eps);
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  let out = y;
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    // Inference mode's backward reads the moving statistics when it runs (only training mode changes them).
    // With the fused ReLU the output is kept too: its sign masks the incoming gradient.
    const saved = [x, mean, s, gamma ?? mean, ...(relu ? [y] : [])];
    const op = `${training ? 'batchNorm' : 'batchNormInference'}${relu ? '+relu' : ''}`;
    out = record(op, inputs, y, saved, (g, [xs, ms, ss, gs, ys]) => {
      const rt = runtime();
      const dy = ys ? reluGradFromOutput(ys, g) : g;
      // dbeta = sum(dy) and dgamma = sum(dy * xhat), which training's dx reads too.
      let [sg, sgx]: (Tensor | null)[] = [null, null];
      if (training || gamma?.requiresGrad || beta?.requiresGrad) {
        const { part, nchunks } = chunkPass(xs, { g: dy, mean: ms, s: ss, eps, fromVar: !training });
        [sg, sgx] = [Tensor.empty([C]), Tensor.empty([C])];
        const k = rt.kernel('bn-grad-combine', gradCombineSrc);
        rt.dispatch(k, storages({ part, sg, sgx }), { C, nchunks }, [Math.ceil(C / 64)]);
      }
      let dx: Tensor | null = null;
      if (x.requiresGrad) {
        dx = Tensor.empty(x.shape);
        const v = vecWidth(C);
        const constants = { HAS_GAMMA: gamma ? 1 : 0, TRAINING: training ? 1 : 0, FROM_VAR: training ? 0 : 1 };
        const io = storages({ x: xs, g: dy, mean: ms, s: ss, gamma: gs, sg: sg ?? ms, sgx: sgx ?? ms, dx });
        const params = { n: x.size / v, C: C / v, M, eps };
        rt.dispatch(rt.kernel('bn-grad', vecSource(gradSrc, v), constants), io, params, rt.grid(x.size / v, 256));
      }
      return [dx, ...(gamma ? [sgx] : []), ...(beta ? [sg] : [])];
    });
  }
  return out;
});

/**
 * y = x * scale + shift (then ReLU) from a {@link batchNormAffineTable}, reading channels [offset, offset +
 * C) of x. Unchecked: the fused op (src/kernels/fused.ts) checks its arguments.
 */
export function applyAffineTable(x: Tensor, table: Tensor, relu: boolean, offset: number): Tensor {
  const y = Tensor.empty([...x.shape.slice(0, -1), table.shape[1]]);
  const stats = { mean: table, s: table, gamma: table, beta: table };
  return launchNorm(x, y, stats, { TABLE: 1, HAS_GAMMA: 0, HAS_BETA: 0, RELU: relu ? 1 : 0 }, 0, offset);
}

/**
 * Inference batch norm (moving statistics) of a preceding convolution as the per-channel affine map a
 * GEMM epilogue applies: a [2, C] table of scale then shift, with the convolution's `bias` folded in.
 */
export const batchNormAffineTable = defineOp(
  'batchNormAffineTable',
  ['', 'bias?'],
  (p: Omit<BatchNormParams, 'training'>, bias: Tensor | null): Tensor => {
    const C = checkTensor(p.movingMean, 'batchNormAffineTable movingMean').size;
    checkTensor(p.movingVar, 'batchNormAffineTable movingVar');
    const { gamma, beta, movingMean: m, movingVar } = p;
    checkChannelTensors(C, 'batchNormAffineTable', `movingMean ${shapeStr(m.shape)}`, { gamma, beta, movingVar, bias });
    const { epsilon } = checkBatchNormOptions(p, 'batchNormAffineTable');
    // Exact-size: layers keep their table as long as their weights.
    const table = Tensor.empty([2, C], { persistent: true });
    const io = storages({ mean: m, variance: movingVar, gamma: gamma ?? m, beta: beta ?? m, bias: bias ?? m, table });
    const params = { C, eps: epsilon, hasGamma: gamma ? 1 : 0, hasBeta: beta ? 1 : 0, hasBias: bias ? 1 : 0 };
    runtime().dispatch(runtime().kernel('bn-affine', affineSrc), io, params, [Math.ceil(C / 64)]);
    return table;
  },
);

/** {@link BatchNormParams} on plain arrays, for the float64 reference. */
export interface BatchNormReferenceParams {
  gamma: ArrayLike<number> | null;
  beta: ArrayLike<number> | null;
  movingMean: ArrayLike<number>;
  movingVar: ArrayLike<number>;
  training: boolean;
  momentum?: number;
  epsilon?: number;
  varianceUpdate?: 'biased' | 'unbiased';
}

/**
 * Float64 reference of {@link batchNorm}: y, the statistics used (mean, biased variance), the moving ones
 * after, and for an output gradient g the gradients (dx empty without).
 */
export function batchNormReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  p: BatchNormReferenceParams,
  g: ArrayLike<number> | null = null,
) {
  const C = shape[shape.length - 1];
  const M = x.length / C;
  const eps = p.epsilon ?? BATCH_NORM_DEFAULTS.epsilon;
  const mom = p.momentum ?? BATCH_NORM_DEFAULTS.momentum;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const movingMean = Float64Array.from(p.movingMean);
  const movingVar = Float64Array.from(p.movingVar);
  if (p.training) {
    for (let i = 0; i < x.length; i++) mean[i % C] += x[i] / M;
    for (let i = 0; i < x.length; i++) variance[i % C] += (x[i] - mean[i % C]) ** 2 / M;
    const scale = p.varianceUpdate === 'unbiased' && M > 1 ? M / (M - 1) : 1;
    for (let c = 0; c < C; c++) {
      movingMean[c] = movingMean[c] * mom + mean[c] * (1 - mom);
      movingVar[c] = movingVar[c] * mom + variance[c] * scale * (1 - mom);
    }
  } else {
    mean.set(p.movingMean);
    variance.set(p.movingVar);
  }
  const inv = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
  const xhat = Float64Array.from(x, (v, i) => (v - mean[i % C]) * inv[i % C]);
  const y = Float64Array.from(xhat, (v, i) => v * (p.gamma?.[i % C] ?? 1) + (p.beta?.[i % C] ?? 0));
  const [dx, dgamma, dbeta] = [new Float64Array(g ? x.length : 0), new Float64Array(C), new Float64Array(C)];
  if (g) {
    for (let i = 0; i < x.length; i++) {
      dbeta[i % C] += g[i];
      dgamma[i % C] += g[i] * xhat[i];
    }
    for (let i = 0; i < x.length; i++) {
      const c = i % C;
      const k = (p.gamma?.[c] ?? 1) * inv[c];
      dx[i] = p.training ? (k / M) * (M * g[i] - dbeta[c] - xhat[i] * dgamma[c]) : g[i] * k;
    }
  }
  return { y, mean, variance, movingMean, movingVar, dx, dgamma, dbeta };
}
