/**
 * Batch normalization over the last (channel) axis of a tensor of any rank: [N, H, W, C] images or
 * [N, C] features (BAM's channel gate).
 *
 * Conventions (Keras, which InceptionV3 / DenseNet121 weights come from):
 * - `momentum` is Keras's: moving = moving * momentum + batch * (1 - momentum), default 0.99.
 *   PyTorch writes the same update as `(1 - p) * moving + p * batch` with p = 0.1, i.e. momentum 0.9 here.
 * - The batch variance that normalises is the biased one (divide by M = N*H*W). Keras also updates the
 *   moving variance with the biased variance (`varianceUpdate: 'biased'`, default); PyTorch uses the
 *   unbiased one (`varianceUpdate: 'unbiased'`, M / (M - 1) times larger).
 * - epsilon defaults to Keras's 1e-3 (InceptionV3); DenseNet121 uses 1.001e-5.
 * - gamma = null is Keras's `scale=False` (InceptionV3), beta = null `center=False`.
 *
 * Kernels (4 channels per invocation when C is a multiple of 4): training forward is 3 dispatches (chunked
 * shifted sums per channel, a Chan merge that also updates the moving statistics in place, then one fused
 * normalise+affine pass); inference is 1. Backward is 3 dispatches in both modes when gamma/beta need
 * gradients (chunked channel sums of g and g * xhat, their merge, the elementwise dx); in inference mode dx
 * alone is one affine pass.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, checkTensor, defineOp, isGradEnabled, shapeStr } from '../tensor.js';
import { checkBoolean, checkChoice, checkOptionalNumber, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import { vecWidth, vecSource } from './vec-width.js';
import statsSrc from '../../shaders/bn_stats.wgsl';
import combineSrc from '../../shaders/bn_combine.wgsl';
import normSrc from '../../shaders/bn_norm.wgsl';
import gradReduceSrc from '../../shaders/bn_grad_reduce.wgsl';
import gradCombineSrc from '../../shaders/bn_grad_combine.wgsl';
import gradSrc from '../../shaders/bn_grad.wgsl';
import affineSrc from '../../shaders/bn_affine.wgsl';
import { reluGradFromOutput } from './elementwise.js';

/** Keras's BatchNormalization defaults (the conventions above); BAM's batch norms and InceptionV3's use them too. */
export const BATCH_NORM_DEFAULTS = { momentum: 0.99, epsilon: 1e-3 } as const;

/** Parameters and state of a batch-norm layer (all per channel, shape [C]). */
export interface BatchNormParams {
  /** Scale; null = Keras `scale=False`. */
  gamma: Tensor | null;
  /** Offset; null = Keras `center=False`. */
  beta: Tensor | null;
  /** Moving mean, updated in place in training mode. */
  movingMean: Tensor;
  /** Moving variance, updated in place in training mode. */
  movingVar: Tensor;
  /** Training mode normalises with batch statistics and updates the moving ones; inference uses the moving ones. */
  training: boolean;
  /** Keras convention (default 0.99), in [0, 1]: moving = moving * momentum + batch * (1 - momentum). */
  momentum?: number;
  /** Added to the variance under the square root (default 1e-3, Keras): a finite number >= 0. */
  epsilon?: number;
  /** Which batch variance updates the moving variance: 'biased' (Keras, default) or 'unbiased' (PyTorch). */
  varianceUpdate?: 'biased' | 'unbiased';
  /** Apply ReLU to the result in the same pass (BN -> ReLU fused; differentiable as the pair). */
  relu?: boolean;
}

/** Chunking of the M rows for channel reductions: enough (chunk, channel) threads to fill a GPU. */
function chunking(M: number, C: number): { rows: number; nchunks: number } {
  const want = Math.max(1, Math.min(Math.ceil(M / 32), Math.ceil(16384 / C)));
  const rows = Math.ceil(M / want);
  return { rows, nchunks: Math.ceil(M / rows) };
}

const VARIANCE_UPDATES = ['biased', 'unbiased'] as const;

/** The batch-norm options every entry point shares (momentum, epsilon, varianceUpdate), checked. */
export function checkBatchNormOptions(
  p: { momentum?: unknown; epsilon?: unknown; varianceUpdate?: unknown },
  what: string,
): { momentum: number; epsilon: number; varianceUpdate: 'biased' | 'unbiased' } {
  return {
    momentum:
      checkOptionalNumber(p.momentum, `${what} momentum (Keras convention)`, { min: 0, max: 1 }) ??
      BATCH_NORM_DEFAULTS.momentum,
    epsilon: checkOptionalNumber(p.epsilon, `${what} epsilon`, { min: 0 }) ?? BATCH_NORM_DEFAULTS.epsilon,
    varianceUpdate: checkChoice(withDefault(p.varianceUpdate, 'biased'), `${what} varianceUpdate`, VARIANCE_UPDATES),
  };
}

/** The per-channel tensors of a batch norm: usable, and C values each. */
function checkChannelTensors(
  C: number,
  what: string,
  inputShape: string,
  tensors: Record<string, Tensor | null | undefined>,
): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t === null || t === undefined) continue;
    checkTensor(t, `${what} ${name}`);
    if (t.size !== C) {
      const got = `${name} has shape ${shapeStr(t.shape)}`;
      throw new Error(`ossify: ${what} ${got}, expected [${C}] for input ${inputShape}`);
    }
  }
}

function check(x: Tensor, p: BatchNormParams): { C: number } & ReturnType<typeof checkBatchNormOptions> {
  if (typeof p !== 'object' || p === null) {
    const fields = '{ gamma, beta, movingMean, movingVar, training }';
    throw new Error(`ossify: batchNorm params must be an object (${fields}), got ${showValue(p)}`);
  }
  const C = x.shape[x.rank - 1];
  checkTensor(p.movingMean, 'batchNorm movingMean');
  checkTensor(p.movingVar, 'batchNorm movingVar');
  const { gamma, beta, movingMean, movingVar } = p;
  checkChannelTensors(C, 'batchNorm', shapeStr(x.shape), { gamma, beta, movingMean, movingVar });
  checkBoolean(p.training, 'batchNorm training');
  checkBoolean(p.relu, 'batchNorm relu', false);
  return { C, ...checkBatchNormOptions(p, 'batchNorm') };
}

/**
 * Batch normalization over the last axis. Training mode normalises with the batch statistics and
 * updates `movingMean` / `movingVar` in place (on the GPU, ordered with other work); inference mode
 * uses the moving statistics. Differentiable in x, gamma and beta in both modes.
 */
export const batchNorm = defineOp('batchNorm', ['x'], (x: Tensor, p: BatchNormParams): Tensor => {
  const rt = runtime();
  const { C, epsilon: eps, momentum, varianceUpdate } = check(x, p);
  const M = x.size / C;
  const y = Tensor.empty(x.shape);
  const v = vecWidth(C);
  let mean: Tensor;
  let s: Tensor;
  if (p.training) {
    const { rows, nchunks } = chunking(M, C / v);
    const part = Tensor.empty([nchunks * 2 * C]);
    rt.dispatch(
      rt.kernel('bn-stats', vecSource(statsSrc, v)),
      { x: x.storage, part: part.storage },
      { M, C: C / v, rows, nchunks },
      rt.grid((nchunks * C) / v, 256),
    );
    mean = Tensor.empty([C]);
    s = Tensor.empty([C]);
    const varScale = varianceUpdate === 'unbiased' && M > 1 ? M / (M - 1) : 1;
    rt.dispatch(
      rt.kernel('bn-combine', combineSrc),
      {
        part: part.storage,
        mean: mean.storage,
        invstd: s.storage,
        movingMean: p.movingMean.storage,
        movingVar: p.movingVar.storage,
      },
      { M, C, rows, nchunks, eps, momentum, varScale },
      [Math.ceil(C / 64)],
    );
    part.dispose();
  } else {
    mean = p.movingMean;
    s = p.movingVar;
  }
  const fromVar = !p.training;
  const k = rt.kernel('bn-norm', vecSource(normSrc, v), {
    HAS_GAMMA: p.gamma ? 1 : 0,
    HAS_BETA: p.beta ? 1 : 0,
    FROM_VAR: fromVar ? 1 : 0,
    RELU: p.relu ? 1 : 0,
  });
  rt.dispatch(
    k,
    {
      x: x.storage,
      mean: mean.storage,
      s: s.storage,
      gamma: (p.gamma ?? mean).storage,
      beta: (p.beta ?? mean).storage,
      y: y.storage,
    },
    { n: x.size / v, C: C / v, eps, ldx: C / v, xOff: 0 },
    rt.grid(x.size / v, 256),
  );
  const inputs = [x, ...(p.gamma ? [p.gamma] : []), ...(p.beta ? [p.beta] : [])];
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) {
    if (p.training) {
      mean.dispose();
      s.dispose();
    }
    return y;
  }
  // Inference mode's backward reads the moving statistics when it runs (only training mode changes them).
  // With the fused ReLU the output is kept too: its sign masks the incoming gradient.
  const saved = [x, mean, s, p.gamma ?? mean, ...(p.relu ? [y] : [])];
  const op = `${p.training ? 'batchNorm' : 'batchNormInference'}${p.relu ? '+relu' : ''}`;
  const out = record(op, inputs, y, saved, (g, sv) => {
    const [xs, ms, ss, gs, ys] = sv;
    const r = batchNormGrad(xs, ys ? reluGradFromOutput(ys, g) : g, ms, ss, p.gamma ? gs : null, {
      training: p.training,
      eps,
      needParams: !!((p.gamma && p.gamma.requiresGrad) || (p.beta && p.beta.requiresGrad)),
      needX: x.requiresGrad,
    });
    return [r.dx, ...(p.gamma ? [r.dgamma] : []), ...(p.beta ? [r.dbeta] : [])];
  });
  if (p.training) {
    mean.dispose();
    s.dispose();
  }
  return out;
});

/**
 * y = x * scale + shift over the last axis (then ReLU) from an affine table ({@link
 * batchNormAffineTable}), reading channels [offset, offset + C) of x: one launch of the inference
 * batch norm. Unchecked: the fused op (src/kernels/fused.ts) checks its arguments.
 */
export function applyAffineTable(x: Tensor, table: Tensor, relu: boolean, offset: number): Tensor {
  const rt = runtime();
  const X = x.shape[x.rank - 1];
  const C = table.shape[1];
  const v = vecWidth(C, X, offset);
  const y = Tensor.empty([...x.shape.slice(0, -1), C]);
  const k = rt.kernel('bn-norm', vecSource(normSrc, v), { TABLE: 1, HAS_GAMMA: 0, HAS_BETA: 0, RELU: relu ? 1 : 0 });
  const t = table.storage;
  rt.dispatch(
    k,
    { x: x.storage, mean: t, s: t, gamma: t, beta: t, y: y.storage },
    { n: y.size / v, C: C / v, eps: 0, ldx: X / v, xOff: offset / v },
    rt.grid(y.size / v, 256),
  );
  return y;
}

/**
 * Inference batch norm (moving statistics) of a preceding convolution as the per-channel affine map a
 * GEMM epilogue applies: a [2, C] table of scale then shift, with the convolution's `bias` folded in.
 */
export const batchNormAffineTable = defineOp(
  'batchNormAffineTable',
  ['', 'bias?'],
  (p: Omit<BatchNormParams, 'training'>, bias: Tensor | null): Tensor => {
    const rt = runtime();
    const C = checkTensor(p.movingMean, 'batchNormAffineTable movingMean').size;
    checkTensor(p.movingVar, 'batchNormAffineTable movingVar');
    const { gamma, beta, movingVar } = p;
    const meanShape = `movingMean ${shapeStr(p.movingMean.shape)}`;
    checkChannelTensors(C, 'batchNormAffineTable', meanShape, { gamma, beta, movingVar, bias });
    const { epsilon } = checkBatchNormOptions(p, 'batchNormAffineTable');
    // Exact-size: layers keep their table as long as their weights.
    const table = Tensor.empty([2, C], { persistent: true });
    const m = p.movingMean;
    rt.dispatch(
      rt.kernel('bn-affine', affineSrc),
      {
        mean: m.storage,
        variance: p.movingVar.storage,
        gamma: (p.gamma ?? m).storage,
        beta: (p.beta ?? m).storage,
        bias: (bias ?? m).storage,
        table: table.storage,
      },
      { C, eps: epsilon, hasGamma: p.gamma ? 1 : 0, hasBeta: p.beta ? 1 : 0, hasBias: bias ? 1 : 0 },
      [Math.ceil(C / 64)],
    );
    return table;
  },
);

/** The gradient launches: dx, dgamma = sum(g * xhat), dbeta = sum(g) (the sums only when needed). */
function batchNormGrad(
  x: Tensor,
  g: Tensor,
  mean: Tensor,
  s: Tensor,
  gamma: Tensor | null,
  o: { training: boolean; eps: number; needParams: boolean; needX: boolean },
): { dx: Tensor | null; dgamma: Tensor | null; dbeta: Tensor | null } {
  const rt = runtime();
  const C = x.shape[x.rank - 1];
  const M = x.size / C;
  const v = vecWidth(C);
  const fromVar = !o.training;
  let sg: Tensor | null = null;
  let sgx: Tensor | null = null;
  if (o.training || o.needParams) {
    const { rows, nchunks } = chunking(M, C / v);
    const part = Tensor.empty([nchunks * 2 * C]);
    rt.dispatch(
      rt.kernel('bn-grad-reduce', vecSource(gradReduceSrc, v), { FROM_VAR: fromVar ? 1 : 0 }),
      { x: x.storage, g: g.storage, mean: mean.storage, s: s.storage, part: part.storage },
      { M, C: C / v, rows, nchunks, eps: o.eps },
      rt.grid((nchunks * C) / v, 256),
    );
    sg = Tensor.empty([C]);
    sgx = Tensor.empty([C]);
    rt.dispatch(
      rt.kernel('bn-grad-combine', gradCombineSrc),
      { part: part.storage, sg: sg.storage, sgx: sgx.storage },
      { C, nchunks },
      [Math.ceil(C / 64)],
    );
    part.dispose();
  }
  let dx: Tensor | null = null;
  if (o.needX) {
    dx = Tensor.empty(x.shape);
    const k = rt.kernel('bn-grad', vecSource(gradSrc, v), {
      HAS_GAMMA: gamma ? 1 : 0,
      TRAINING: o.training ? 1 : 0,
      FROM_VAR: fromVar ? 1 : 0,
    });
    rt.dispatch(
      k,
      {
        x: x.storage,
        g: g.storage,
        mean: mean.storage,
        s: s.storage,
        gamma: (gamma ?? mean).storage,
        sg: (sg ?? mean).storage,
        sgx: (sgx ?? mean).storage,
        dx: dx.storage,
      },
      { n: x.size / v, C: C / v, M, eps: o.eps },
      rt.grid(x.size / v, 256),
    );
  }
  return { dx, dgamma: sgx, dbeta: sg };
}

// ---- float64 CPU references -------------------------------------------------------------------

/** Options of the float64 reference (same meaning as {@link BatchNormParams}, on plain arrays). */
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
 * Float64 reference of {@link batchNorm}: the output, the statistics used (mean, biased variance) and
 * the moving statistics after the update (unchanged in inference mode). x is [..., C] row-major.
 */
export function batchNormReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  p: BatchNormReferenceParams,
): { y: Float64Array; mean: Float64Array; variance: Float64Array; movingMean: Float64Array; movingVar: Float64Array } {
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
    mean.set(Float64Array.from(p.movingMean));
    variance.set(Float64Array.from(p.movingVar));
  }
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    y[i] = ((x[i] - mean[c]) / Math.sqrt(variance[c] + eps)) * (p.gamma ? p.gamma[c] : 1) + (p.beta ? p.beta[c] : 0);
  }
  return { y, mean, variance, movingMean, movingVar };
}

/** Float64 reference gradients of {@link batchNorm} for an output gradient g. */
export function batchNormBackwardReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  g: ArrayLike<number>,
  p: BatchNormReferenceParams,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const C = shape[shape.length - 1];
  const M = x.length / C;
  const eps = p.epsilon ?? BATCH_NORM_DEFAULTS.epsilon;
  const { mean, variance } = batchNormReference(x, shape, p);
  const inv = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    dbeta[c] += g[i];
    dgamma[c] += g[i] * (x[i] - mean[c]) * inv[c];
  }
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    const k = (p.gamma ? p.gamma[c] : 1) * inv[c];
    if (p.training) {
      const xhat = (x[i] - mean[c]) * inv[c];
      dx[i] = (k / M) * (M * g[i] - dbeta[c] - xhat * dgamma[c]);
    } else dx[i] = g[i] * k;
  }
  return { dx, dgamma, dbeta };
}
