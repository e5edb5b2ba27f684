/**
 * Fused softmax cross-entropy on logits, and the log-softmax (softmax on it). The loss is Keras's
 * `CategoricalCrossentropy(from_logits=True)` (reduction SUM_OVER_BATCH_SIZE): sum_i w_i * ce_i / N, ce_i =
 * -sum_c t_ic log softmax(z_i)_c, w_i = sum_c t_ic * classWeight_c (1 without; Keras's `class_weight`);
 * PyTorch's `CrossEntropyLoss(weight=)` divides by sum_i w_i instead. Targets get no gradient. NaN in a
 * row makes its loss, and the mean, NaN.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, checkTensor, defineOp, noGrad, numel, shapeStr } from '../tensor.js';
import { checkAxis, checkNumber, showValue } from '../validate.js';
import { record } from '../autograd.js';
import { mean, sum } from './reduce.js';
import { oneHot } from './dtype.js';
import { exp, mul, sub } from './elementwise.js';
import ceSrc from '../../shaders/softmax_ce.wgsl';
import ceGradSrc from '../../shaders/softmax_ce_grad.wgsl';
import logSoftmaxSrc from '../../shaders/log_softmax.wgsl';

/** Options of {@link softmaxCrossEntropy}. */
export interface SoftmaxCrossEntropyOptions {
  /** One weight per class (Keras `class_weight`); a per-sample weight is sum_c t_c * w_c. */
  classWeights?: readonly number[] | Tensor;
}

function check2d(name: string, z: Tensor): [number, number] {
  if (z.rank !== 2) throw new Error(`ossify: ${name} takes logits [N, C], got ${shapeStr(z.shape)}`);
  return [z.shape[0], z.shape[1]];
}

/**
 * Mean over the batch of the (weighted) softmax cross-entropy of logits [N, C] against targets: f32
 * [N, C] (one-hot or soft), or int32 class labels [N] (PyTorch's `CrossEntropyLoss` targets; a label
 * outside [0, C) counts as a zero target row). Returns shape [1]. `classWeights`: C finite numbers
 * >= 0 (or a tensor of C values).
 */
export const softmaxCrossEntropy = defineOp(
  'softmaxCrossEntropy',
  ['logits', 'targets:any'],
  (logits: Tensor, targets: Tensor, opts: SoftmaxCrossEntropyOptions = {}): Tensor => {
    const rt = runtime();
    const [N, C] = check2d('softmaxCrossEntropy', logits);
    if (targets.dtype === 'int32') {
      if (targets.rank !== 1 || targets.shape[0] !== N)
        throw new Error(
          `ossify: softmaxCrossEntropy int32 targets must be class labels [${N}], got ${targets.label()}`,
        );
      targets = oneHot(targets, C);
    }
    if (targets.rank !== 2 || targets.shape[0] !== N || targets.shape[1] !== C)
      throw new Error(
        `ossify: softmaxCrossEntropy targets must be [${N}, ${C}] like the logits, got ${shapeStr(targets.shape)}`,
      );
    let cw: Tensor | null = null;
    const weights: unknown = opts.classWeights;
    if (weights !== undefined) {
      const what = 'softmaxCrossEntropy option classWeights';
      const given =
        weights instanceof Tensor ? checkTensor(weights, what).size : Array.isArray(weights) ? weights.length : -1;
      if (given !== C)
        throw new Error(`ossify: ${what} must hold ${C} weights (one per class), got ${showValue(weights)}`);
      const check = (v: unknown, i: number) => checkNumber(v, `${what}[${i}]`, { min: 0 });
      cw = weights instanceof Tensor ? weights : Tensor.from((weights as unknown[]).map(check), [C]);
    }
    const rowLoss = Tensor.empty([N]);
    const aux = Tensor.empty([N, 3]);
    const io = { z: logits.storage, t: targets.storage, cw: (cw ?? targets).storage, loss: rowLoss.storage };
    const k = rt.kernel('softmax-ce', ceSrc, { HAS_WEIGHTS: cw ? 1 : 0 });
    rt.dispatch(k, { ...io, aux: aux.storage }, { N, C }, rt.grid(N, 64));
    const loss = noGrad(() => mean(rowLoss));
    return record('softmaxCrossEntropy', [logits], loss, [logits, targets, aux], (g, [zs, ts, as]) => {
      const dz = Tensor.empty(logits.shape);
      const io = { z: zs.storage, t: ts.storage, aux: as.storage, g: g.storage, dz: dz.storage };
      rt.dispatch(rt.kernel('softmax-ce-grad', ceGradSrc), io, { n: dz.size, C, N }, rt.grid(dz.size, 256));
      return [dz];
    });
  },
);

/** Row softmax of logits [N, C] (inference probabilities): exp of {@link logSoftmax}, so differentiable too. */
export const softmax = defineOp('softmax', ['logits'], (logits: Tensor): Tensor => {
  check2d('softmax', logits);
  return exp(logSoftmax(logits));
});

/**
 * log(softmax(x)) along `axis` (default -1, the last), fused and stable: x - max - log(sum(exp(x - max)))
 * in one kernel, so logits of +-100 give -200, not the -Infinity of `log(softmax(x))`. A row holding
 * NaN is NaN. Differentiable (dx = g - softmax(x) * sum(g)).
 */
export const logSoftmax = defineOp('logSoftmax', ['x'], (x: Tensor, axis: number = -1): Tensor => {
  const rt = runtime();
  const ax = checkAxis(axis, x.rank, 'logSoftmax axis');
  const [outer, inner] = [numel(x.shape.slice(0, ax)), numel(x.shape.slice(ax + 1))];
  const r = x.shape[ax];
  const y = Tensor.empty(x.shape);
  const k = rt.kernel('log-softmax', logSoftmaxSrc);
  rt.dispatch(k, { x: x.storage, out: y.storage }, { outer, r, inner }, rt.grid(outer * inner, 64));
  return record('logSoftmax', [x], y, [y], (g, [ys]) => [sub(g, mul(exp(ys), sum(g, ax, true)))]);
});

/** Float64 reference of {@link logSoftmax} along `axis` of `shape`. */
export function logSoftmaxReference(x: ArrayLike<number>, shape: readonly number[], axis = -1): Float64Array {
  const ax = axis < 0 ? axis + shape.length : axis;
  const [outer, r, inner] = [numel(shape.slice(0, ax)), shape[ax], numel(shape.slice(ax + 1))];
  const y = new Float64Array(x.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const at = Array.from({ length: r }, (_, j) => (o * r + j) * inner + i);
      const m = Math.max(...at.map((k) => x[k]));
      const lse = m + Math.log(at.reduce((s, k) => s + Math.exp(x[k] - m), 0));
      for (const k of at) y[k] = x[k] - lse;
    }
  return y;
}

/** Float64 reference of {@link softmax} over rows of [N, C]. */
export function softmaxReference(z: ArrayLike<number>, N: number, C: number): Float64Array {
  return Float64Array.from(logSoftmaxReference(z, [N, C]), Math.exp);
}

/** Float64 reference of {@link softmaxCrossEntropy}: the loss and d loss / d logits (for g = 1). */
export function softmaxCrossEntropyReference(
  z: ArrayLike<number>,
  t: ArrayLike<number>,
  N: number,
  C: number,
  classWeights?: ArrayLike<number>,
): { loss: number; dlogits: Float64Array } {
  const logp = logSoftmaxReference(z, [N, C]);
  const dlogits = new Float64Array(N * C);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    let [ce, st, w] = [0, 0, classWeights ? 0 : 1];
    for (let c = 0; c < C; c++) {
      const tv = t[i * C + c];
      if (tv !== 0) ce -= tv * logp[i * C + c];
      st += tv;
      if (classWeights) w += tv * classWeights[c];
    }
    loss += (w * ce) / N;
    for (let c = 0; c < C; c++) dlogits[i * C + c] = ((Math.exp(logp[i * C + c]) * st - t[i * C + c]) * w) / N;
  }
  return { loss, dlogits };
}
