/**
 * Fused softmax + cross-entropy on logits, and a forward-only softmax.
 *
 * Semantics follow Keras's `CategoricalCrossentropy(from_logits=True)` with the default reduction
 * SUM_OVER_BATCH_SIZE: loss = sum_i w_i * ce_i / N, where ce_i = -sum_c t_ic log softmax(z_i)_c and the
 * per-sample weight w_i = sum_c t_ic * classWeight_c (1 without class weights; for one-hot targets this is
 * the weight of the true class, as Keras's `class_weight` in fit()). PyTorch's `CrossEntropyLoss(weight=)`
 * with reduction 'mean' divides by sum_i w_i instead of N; multiply by N / sum(w) to get it.
 * Targets may be one-hot or soft; they are constants (no gradient flows to them).
 *
 * Numerics: max-subtracted log-sum-exp, so logits of +-1e3 stay finite. NaN in a row's logits or
 * targets makes that row's loss, and so the mean, NaN (as in PyTorch and TensorFlow).
 * Kernels: forward one pass per sample row plus a mean over N (the existing reduction); backward one
 * elementwise pass: dz = (softmax(z) * sum_c t - t) * w_i * g / N.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, checkTensor, defineOp, noGrad, shapeStr } from '../tensor.js';
import { checkNumber, showValue } from '../validate.js';
import { record } from '../autograd.js';
import { mean } from './reduce.js';
import ceTemplate from '../../shaders/softmax_ce.wgsl';
import ceGradSrc from '../../shaders/softmax_ce_grad.wgsl';
import softmaxTemplate from '../../shaders/softmax.wgsl';
import rowLseSrc from '../../shaders/row_lse.wgsl';
import { fillTemplate } from '../gpu/wgsl.js';

// Both softmax kernels share the row log-sum-exp (shaders/row_lse.wgsl).
const ceSrc = fillTemplate(ceTemplate, { ROW_LSE: rowLseSrc });
const softmaxSrc = fillTemplate(softmaxTemplate, { ROW_LSE: rowLseSrc });

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
 * Mean over the batch of the (weighted) softmax cross-entropy of logits [N, C] against targets [N, C].
 * Returns shape [1]. `classWeights`: C finite numbers >= 0 (or a tensor of C values).
 */
export const softmaxCrossEntropy = defineOp(
  'softmaxCrossEntropy',
  ['logits', 'targets'],
  (logits: Tensor, targets: Tensor, opts: SoftmaxCrossEntropyOptions = {}): Tensor => {
    const rt = runtime();
    const [N, C] = check2d('softmaxCrossEntropy', logits);
    if (targets.rank !== 2 || targets.shape[0] !== N || targets.shape[1] !== C)
      throw new Error(
        `ossify: softmaxCrossEntropy targets must be [${N}, ${C}] like the logits, got ${shapeStr(targets.shape)}`,
      );
    let cw: Tensor | null = null;
    let ownWeights = false;
    const weights: unknown = opts.classWeights;
    if (weights !== undefined) {
      const what = 'softmaxCrossEntropy option classWeights';
      const given =
        weights instanceof Tensor ? checkTensor(weights, what).size : Array.isArray(weights) ? weights.length : -1;
      if (given !== C) {
        throw new Error(`ossify: ${what} must hold ${C} weights (one per class), got ${showValue(weights)}`);
      }
      if (weights instanceof Tensor) cw = weights;
      else {
        (weights as unknown[]).forEach((v, i) => checkNumber(v, `${what}[${i}]`, { min: 0 }));
        cw = Tensor.from(weights as number[], [C]);
        ownWeights = true;
      }
    }
    const rowLoss = Tensor.empty([N]);
    const aux = Tensor.empty([N, 3]);
    rt.dispatch(
      rt.kernel('softmax-ce', ceSrc, { HAS_WEIGHTS: cw ? 1 : 0 }),
      { z: logits.storage, t: targets.storage, cw: (cw ?? targets).storage, loss: rowLoss.storage, aux: aux.storage },
      { N, C },
      rt.grid(N, 64),
    );
    if (ownWeights) cw!.dispose();
    const loss = noGrad(() => mean(rowLoss));
    rowLoss.dispose();
    const out = record('softmaxCrossEntropy', [logits], loss, [logits, targets, aux], (g, [zs, ts, as]) => {
      const dz = Tensor.empty(logits.shape);
      rt.dispatch(
        rt.kernel('softmax-ce-grad', ceGradSrc),
        { z: zs.storage, t: ts.storage, aux: as.storage, g: g.storage, dz: dz.storage },
        { n: dz.size, C, N },
        rt.grid(dz.size, 256),
      );
      return [dz];
    });
    aux.dispose();
    return out;
  },
);

/** Row softmax of logits [N, C] (forward only: inference probabilities). */
export const softmax = defineOp('softmax', ['logits'], (logits: Tensor): Tensor => {
  const rt = runtime();
  const [N, C] = check2d('softmax', logits);
  const y = Tensor.empty(logits.shape);
  rt.dispatch(rt.kernel('softmax', softmaxSrc), { z: logits.storage, y: y.storage }, { N, C }, rt.grid(N, 64));
  return y;
});

// ---- float64 CPU references -------------------------------------------------------------------

/** Float64 reference of {@link softmax} over rows of [N, C]. */
export function softmaxReference(z: ArrayLike<number>, N: number, C: number): Float64Array {
  const y = new Float64Array(N * C);
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, z[i * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[i * C + c] - m);
    for (let c = 0; c < C; c++) y[i * C + c] = Math.exp(z[i * C + c] - m) / s;
  }
  return y;
}

/** Float64 reference of {@link softmaxCrossEntropy}: the loss and d loss / d logits (for g = 1). */
export function softmaxCrossEntropyReference(
  z: ArrayLike<number>,
  t: ArrayLike<number>,
  N: number,
  C: number,
  classWeights?: ArrayLike<number>,
): { loss: number; dlogits: Float64Array } {
  const p = softmaxReference(z, N, C);
  const dlogits = new Float64Array(N * C);
  let loss = 0;
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, z[i * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[i * C + c] - m);
    const lse = m + Math.log(s);
    let ce = 0;
    let st = 0;
    let w = classWeights ? 0 : 1;
    for (let c = 0; c < C; c++) {
      const tv = t[i * C + c];
      if (tv !== 0) ce += tv * (lse - z[i * C + c]);
      st += tv;
      if (classWeights) w += tv * classWeights[c];
    }
    loss += (w * ce) / N;
    for (let c = 0; c < C; c++) dlogits[i * C + c] = ((p[i * C + c] * st - t[i * C + c]) * w) / N;
  }
  return { loss, dlogits };
}
