/**
 * Reductions over any axes: sum and mean on sum-raw.ts; max, min, argmax, argmin and prod on one kernel
 * (shaders/reduce_ops.wgsl, the op an override constant) with one gradient kernel; logSumExp composed.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, noGrad, numel, type Shape } from '../tensor.js';
import { checkAxes, checkAxis, checkBoolean } from '../validate.js';
import { record } from '../autograd.js';
import { add, broadcastTo, clip, exp, log, reshape, scale, sub } from './elementwise.js';
import { asRun, chunkPlan, sumRaw } from './sum-raw.js';
import { coords, dot, inversePermutation, permuteRaw, rowMajorStrides } from './layout.js';
import reduceOpsSrc from '../../shaders/reduce_ops.wgsl';
import reduceOpsGradSrc from '../../shaders/reduce_ops_grad.wgsl';
export { sumTo } from './sum-raw.js';

function keptShape(shape: Shape, axes: number[], keepDims: boolean): number[] {
  if (keepDims) return shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const s = shape.filter((_, i) => !axes.includes(i));
  return s.length ? s : [1];
}

/** The reductions of shaders/reduce_ops.wgsl, by their OP code. */
const REDUCE_OPS = { max: 0, min: 1, argmax: 2, argmin: 3, prod: 4 } as const;
type ReduceOp = keyof typeof REDUCE_OPS;
const F32_MAX = 3.4028234663852886e38;

/** sum or mean over checked axes, recorded. */
function sumImpl(op: 'sum' | 'mean', x: Tensor, ax: number[], keepDims: boolean): Tensor {
  const s = op === 'mean' ? 1 / ax.reduce((p, a) => p * x.shape[a], 1) : 1;
  return record(op, [x], sumRaw(x, ax, s).alias(keptShape(x.shape, ax, keepDims)), [], (g) => {
    const dx = broadcastTo(g.alias(keptShape(x.shape, ax, true)), x.shape);
    return [op === 'mean' ? scale(dx, s) : dx];
  });
}

/** One reduction of src viewed as [outer, r, inner] (unrecorded): the result and the per-slot states. */
function reduceOps(src: Tensor, outer: number, r: number, inner: number, op: ReduceOp): { out: Tensor; aux: Tensor } {
  const rt = runtime();
  const int = src.dtype === 'int32';
  const k = rt.kernel(`reduce-ops:${op}`, reduceOpsSrc, { OP: REDUCE_OPS[op], INT: int ? 1 : 0 });
  const dtype = op === 'argmax' || op === 'argmin' || int ? 'int32' : 'f32';
  let [input, rr] = [src, r];
  let out: Tensor | undefined;
  // A second pass (partial = 1) folds the first one's states: its input, freed with the first result.
  for (const [pass, chunk] of chunkPlan(outer, r, inner).entries()) {
    const nchunks = Math.ceil(rr / chunk);
    const size = outer * nchunks * inner;
    const next = { out: Tensor.empty([size], { dtype }), aux: Tensor.empty([size, 2]) };
    const params = { outer, r: rr, inner, chunk, nchunks, partial: pass > 0 ? 1 : 0 };
    rt.dispatch(k, { x: input.storage, out: next.out.storage, aux: next.aux.storage }, params, rt.grid(size, 256));
    if (pass > 0) [out!, input].forEach((t) => t.dispose());
    [out, input, rr] = [next.out, next.aux, nchunks];
  }
  return { out: out!, aux: input };
}

/** A reduction of {@link REDUCE_OPS} over checked axes, recorded (but argmax, argmin and int32 ones). */
function reduceImpl(op: ReduceOp, x: Tensor, ax: number[], keepDims: boolean): Tensor {
  const { src, outer, r, inner, perm } = asRun(x, ax);
  const { out, aux } = reduceOps(src, outer, r, inner, op);
  const res = out.alias(keptShape(x.shape, ax, keepDims));
  if (op === 'argmax' || op === 'argmin' || x.dtype === 'int32') return res;
  return record(op, [x], res, [src, res, aux], (g, [xs, ys, as]) => {
    const rt = runtime();
    const dx = Tensor.empty(xs.shape);
    const io = { x: xs.storage, y: ys.storage, aux: as.storage, g: g.storage, dx: dx.storage };
    const params = { n: dx.size, r, inner, op: REDUCE_OPS[op] };
    rt.dispatch(rt.kernel('reduce-ops-grad', reduceOpsGradSrc), io, params, rt.grid(dx.size, 256));
    return [perm ? permuteRaw(dx, inversePermutation(perm)) : dx];
  });
}

/**
 * log(sum(exp(x - m))) + m, m the maximum clipped to finite values (PyTorch's algorithm): a constant to the
 * gradient, which is the softmax.
 */
function logSumExpImpl(x: Tensor, ax: number[], keepDims: boolean): Tensor {
  const m = noGrad(() => clip(reduceImpl('max', x, ax, true), -F32_MAX, F32_MAX));
  const lse = log(sumImpl('sum', exp(sub(x, m)), ax, keepDims));
  return add(lse, reshape(m, lse.shape));
}

/** A reduction over `axes` under its own name. */
const reduction = (op: 'sum' | 'mean' | 'max' | 'min' | 'logSumExp' | 'prod') =>
  defineOp(
    op,
    [op === 'max' || op === 'min' ? 'x:any' : 'x'],
    (x: Tensor, axes?: number | readonly number[], keepDims: boolean = false): Tensor => {
      const ax = checkAxes(axes, x.rank, `${op} axes`);
      checkBoolean(keepDims, `${op} keepDims`);
      if (op === 'sum' || op === 'mean') return sumImpl(op, x, ax, keepDims);
      return op === 'logSumExp' ? logSumExpImpl(x, ax, keepDims) : reduceImpl(op, x, ax, keepDims);
    },
  );

/** Sum over `axes` (all by default; negative counts from the end). Differentiable. */
export const sum = reduction('sum');
/** Mean over `axes` (all by default; negative counts from the end). Differentiable. */
export const mean = reduction('mean');
/**
 * Maximum over `axes` (all by default; negative counts from the end), NaN where a NaN is reduced (as
 * PyTorch's `amax`). Differentiable: the gradient splits evenly among the elements equal to the maximum
 * (as TensorFlow's and jax's; PyTorch's `max(dim)` gives it all to one). An int32 tensor gives int32.
 */
export const max = reduction('max');
/** Minimum over `axes`, as {@link max}. */
export const min = reduction('min');
/**
 * log(sum(exp(x))) over `axes`, computed stably (max-subtracted): finite for logits of +-1e4; -Infinity when
 * every element is -Infinity; NaN over a NaN. Differentiable (the gradient is the softmax over the axes).
 */
export const logSumExp = reduction('logSumExp');
/**
 * Product over `axes`. Differentiable, zeros included (the gradient at the only zero is the product of
 * the others, 0 elsewhere and where two or more are zero).
 */
export const prod = reduction('prod');

const argExtremum = (op: 'argmax' | 'argmin') =>
  defineOp(op, ['x:any'], (x: Tensor, axis?: number, keepDims: boolean = false): Tensor => {
    const ax = axis === undefined ? [...x.shape.keys()] : [checkAxis(axis, x.rank, `${op} axis`)];
    return reduceImpl(op, x, ax, checkBoolean(keepDims, `${op} keepDims`));
  });

/**
 * The int32 index of the maximum along `axis` (by default over all elements, flattened in row-major
 * order), the first one where several are equal, the first NaN if any (as PyTorch and NumPy). Not
 * differentiable (an index). x may be f32 or int32 (compared as integers).
 */
export const argmax = argExtremum('argmax');
/** The int32 index of the minimum along `axis`, as {@link argmax}. */
export const argmin = argExtremum('argmin');

/** The values of x grouped by their element of the keepDims output over `axes`, each group in row-major order. */
function groups(x: ArrayLike<number>, shape: Shape, axes: number[]): number[][] {
  const ax = checkAxes(axes, shape.length, 'reference axes');
  const outShape = shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const strides = rowMajorStrides(outShape).map((s, d) => (ax.includes(d) ? 0 : s));
  const out = Array.from({ length: numel(outShape) }, (): number[] => []);
  for (let i = 0; i < x.length; i++) out[dot(coords(i, shape), strides)].push(x[i]);
  return out;
}

/**
 * Float64 reference of the reductions over `axes` (keepDims shape): max, min, argmax, argmin (one axis or
 * all; index along it, or the flat index over all), logSumExp and prod, with NaN as the kernels treat it.
 */
export function reduceOpReference(
  op: ReduceOp | 'logSumExp',
  x: ArrayLike<number>,
  shape: Shape,
  axes: number[],
): Float64Array {
  return Float64Array.from(groups(x, shape, axes), (v) => {
    if (op === 'prod') return v.reduce((p, e) => p * e, 1);
    const nanAt = v.findIndex(Number.isNaN);
    const m = op === 'min' || op === 'argmin' ? Math.min(...v) : Math.max(...v);
    switch (op) {
      case 'max':
      case 'min':
        return nanAt >= 0 ? NaN : m;
      case 'argmax':
      case 'argmin':
        return nanAt >= 0 ? nanAt : v.indexOf(m);
      case 'logSumExp':
        return nanAt >= 0 ? NaN : !Number.isFinite(m) ? m : m + Math.log(v.reduce((s, e) => s + Math.exp(e - m), 0));
    }
  });
}

/** Float64 CPU reference: sum over axes (keepDims shape). */
export function sumReference(x: ArrayLike<number>, shape: Shape, axes: number[], scale = 1): Float64Array {
  return Float64Array.from(groups(x, shape, axes), (v) => v.reduce((s, e) => s + e * scale, 0));
}
