/**
 * Reductions over any axes: sums and means (differentiable), on the unrecorded passes of sum-raw.ts;
 * max, min, argmax, argmin, logSumExp and prod, on one kernel source (shaders/reduce_ops.wgsl, the op
 * an override constant: a pipeline per op used) with one gradient kernel (shaders/reduce_ops_grad.wgsl,
 * the op a uniform). The reduced axes are read as the middle of an [outer, r, inner] view when they
 * are adjacent, else after one permuting copy that brings them last; long reductions with few outputs
 * run in two passes over chunks.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, type Shape } from '../tensor.js';
import { checkAxes, checkAxis, checkBoolean } from '../validate.js';
import { record } from '../autograd.js';
import { broadcastTo, scale } from './elementwise.js';
import { sumRaw } from './sum-raw.js';
import { permuteRaw } from './layout.js';
import reduceOpsSrc from '../../shaders/reduce_ops.wgsl';
import reduceOpsGradSrc from '../../shaders/reduce_ops_grad.wgsl';
export { sumTo } from './sum-raw.js';

function keptShape(shape: Shape, axes: number[], keepDims: boolean): number[] {
  if (keepDims) return shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const s = shape.filter((_, i) => !axes.includes(i));
  return s.length ? s : [1];
}

/** One axis or a list of axes (negative counts from the end). */
type Axes = number | readonly number[];

/** Sum over `axes` (all by default; negative counts from the end). Differentiable. */
export const sum = defineOp('sum', ['x'], (x: Tensor, axes?: Axes, keepDims: boolean = false): Tensor => {
  const ax = checkAxes(axes, x.rank, 'sum axes');
  checkBoolean(keepDims, 'sum keepDims');
  const raw = sumRaw(x, ax, 1);
  const shape = keptShape(x.shape, ax, keepDims);
  const res = raw.alias(shape);
  raw.dispose();
  return record('sum', [x], res, [], (g) => [broadcastTo(g.alias(keptShape(x.shape, ax, true)), x.shape)]);
});

/** Mean over `axes` (all by default; negative counts from the end). Differentiable. */
export const mean = defineOp('mean', ['x'], (x: Tensor, axes?: Axes, keepDims: boolean = false): Tensor => {
  const ax = checkAxes(axes, x.rank, 'mean axes');
  checkBoolean(keepDims, 'mean keepDims');
  const count = ax.reduce((p, a) => p * x.shape[a], 1);
  const raw = sumRaw(x, ax, 1 / count);
  const shape = keptShape(x.shape, ax, keepDims);
  const res = raw.alias(shape);
  raw.dispose();
  return record('mean', [x], res, [], (g) => [
    scale(broadcastTo(g.alias(keptShape(x.shape, ax, true)), x.shape), 1 / count),
  ]);
});

/** The reductions of shaders/reduce_ops.wgsl, by their OP code. */
const REDUCE_OPS = { max: 0, min: 1, argmax: 2, argmin: 3, logSumExp: 4, prod: 5 } as const;
type ReduceOp = keyof typeof REDUCE_OPS;

const count = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

/** x with the (sorted) `axes` as the middle r of an [outer, r, inner] view: x itself, or a permuted copy. */
function asRun(x: Tensor, axes: number[]): { src: Tensor; outer: number; r: number; inner: number; perm?: number[] } {
  const run = axes.every((a, k) => a === axes[0] + k);
  if (run) {
    const [s, e] = [axes[0], axes[axes.length - 1] + 1];
    return { src: x, outer: count(x.shape.slice(0, s)), r: count(x.shape.slice(s, e)), inner: count(x.shape.slice(e)) };
  }
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  return {
    src: permuteRaw(x, perm),
    outer: count(kept.map((i) => x.shape[i])),
    r: count(axes.map((i) => x.shape[i])),
    inner: 1,
    perm,
  };
}

/** One reduction of src viewed as [outer, r, inner] (unrecorded): the result and the per-slot states. */
function reduceOps(src: Tensor, outer: number, r: number, inner: number, op: ReduceOp): { out: Tensor; aux: Tensor } {
  const rt = runtime();
  const int = src.dtype === 'int32';
  const k = rt.kernel(`reduce-ops:${op}`, reduceOpsSrc, { OP: REDUCE_OPS[op], INT: int ? 1 : 0 });
  const pass = (x: Tensor, rr: number, chunk: number, partial: number, dtype: 'f32' | 'int32') => {
    const nchunks = Math.ceil(rr / chunk);
    const out = Tensor.empty([outer * nchunks * inner], { dtype });
    const aux = Tensor.empty([outer * nchunks * inner, 2]);
    rt.dispatch(
      k,
      { x: x.storage, out: out.storage, aux: aux.storage },
      { outer, r: rr, inner, chunk, nchunks, partial },
      rt.grid(outer * nchunks * inner, 256),
    );
    return { out, aux };
  };
  const dtype = op === 'argmax' || op === 'argmin' || int ? 'int32' : 'f32';
  // Few outputs and a long reduction: a first pass over chunks of ~sqrt(r) keeps the GPU busy.
  if (outer * inner < 4096 && r > 1024) {
    const chunk = Math.ceil(Math.sqrt(r));
    const first = pass(src, r, chunk, 0, dtype);
    first.out.dispose();
    const nchunks = Math.ceil(r / chunk);
    const res = pass(first.aux, nchunks, nchunks, 1, dtype);
    first.aux.dispose();
    return res;
  }
  return pass(src, r, r, 0, dtype);
}

/** A reduction op of {@link REDUCE_OPS} over checked axes, recorded (but argmax and argmin). */
function reduceImpl(op: ReduceOp, x: Tensor, ax: number[], keepDims: boolean): Tensor {
  const { src, outer, r, inner, perm } = asRun(x, ax);
  const { out, aux } = reduceOps(src, outer, r, inner, op);
  const res = out.alias(keptShape(x.shape, ax, keepDims));
  out.dispose();
  if (op === 'argmax' || op === 'argmin' || x.dtype === 'int32') {
    aux.dispose();
    if (src !== x) src.dispose();
    return res;
  }
  const recorded = record(op, [x], res, [src, res, aux], (g, [xs, ys, as]) => {
    const rt = runtime();
    const dx = Tensor.empty(xs.shape);
    rt.dispatch(
      rt.kernel('reduce-ops-grad', reduceOpsGradSrc),
      { x: xs.storage, y: ys.storage, aux: as.storage, g: g.storage, dx: dx.storage },
      { n: dx.size, r, inner, op: REDUCE_OPS[op] },
      rt.grid(dx.size, 256),
    );
    if (!perm) return [dx];
    const inverse = new Array<number>(perm.length);
    perm.forEach((a, i) => (inverse[a] = i));
    return [permuteRaw(dx, inverse)];
  });
  aux.dispose();
  if (src !== x) src.dispose();
  return recorded;
}

const extremum = (op: 'max' | 'min' | 'logSumExp' | 'prod') =>
  defineOp(
    op,
    [op === 'max' || op === 'min' ? 'x:any' : 'x'],
    (x: Tensor, axes?: Axes, keepDims: boolean = false): Tensor => {
      const ax = checkAxes(axes, x.rank, `${op} axes`);
      return reduceImpl(op, x, ax, checkBoolean(keepDims, `${op} keepDims`));
    },
  );

/**
 * Maximum over `axes` (all by default; negative counts from the end), NaN where a NaN is reduced (as
 * PyTorch's `amax`). Differentiable: the gradient splits evenly among the elements equal to the maximum
 * (as TensorFlow's and jax's; PyTorch's `max(dim)` gives it all to one). An int32 tensor gives int32.
 */
export const max = extremum('max');
/** Minimum over `axes`, as {@link max}. */
export const min = extremum('min');
/**
 * log(sum(exp(x))) over `axes`, computed stably (max-subtracted, online): finite for logits of
 * +-1e4; -Infinity when every element is -Infinity; NaN over a NaN. Differentiable (the gradient is
 * the softmax over the axes).
 */
export const logSumExp = extremum('logSumExp');
/**
 * Product over `axes`. Differentiable, zeros included (the gradient at the only zero is the product of
 * the others, 0 elsewhere and where two or more are zero).
 */
export const prod = extremum('prod');

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

/**
 * Float64 reference of the reductions over `axes` (keepDims shape): max, min, argmax, argmin (one axis or
 * all; index along it, or the flat index over all), logSumExp and prod, with NaN as the kernels treat it.
 */
export function reduceOpReference(op: ReduceOp, x: ArrayLike<number>, shape: Shape, axes: number[]): Float64Array {
  const ax = checkAxes(axes, shape.length, 'reduceOpReference axes');
  const groups = new Map<number, number[]>();
  const outShape = shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const n = count(shape);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let o = 0;
    let mul = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      o += (ax.includes(d) ? 0 : c) * mul;
      mul *= outShape[d];
    }
    let g = groups.get(o);
    if (!g) groups.set(o, (g = []));
    g.push(x[i]); // in row-major order: the position in g is the index along the reduced axes
  }
  const out = new Float64Array(count(outShape));
  for (const [o, v] of groups) {
    const nanAt = v.findIndex(Number.isNaN);
    switch (op) {
      case 'max':
      case 'min':
        out[o] = nanAt >= 0 ? NaN : op === 'max' ? Math.max(...v) : Math.min(...v);
        break;
      case 'argmax':
      case 'argmin': {
        const best = op === 'argmax' ? Math.max(...v) : Math.min(...v);
        out[o] = nanAt >= 0 ? nanAt : v.indexOf(best);
        break;
      }
      case 'logSumExp': {
        const m = Math.max(...v);
        out[o] = nanAt >= 0 ? NaN : !Number.isFinite(m) ? m : m + Math.log(v.reduce((s, e) => s + Math.exp(e - m), 0));
        break;
      }
      case 'prod':
        out[o] = v.reduce((p, e) => p * e, 1);
        break;
    }
  }
  return out;
}

/** Float64 CPU reference: sum over axes (keepDims shape). */
export function sumReference(x: ArrayLike<number>, shape: Shape, axes: number[], scale = 1): Float64Array {
  const ax = checkAxes(axes, shape.length, 'sumReference axes');
  const outShape = shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const out = new Float64Array(outShape.reduce((p, d) => p * d, 1));
  const n = shape.reduce((p, d) => p * d, 1);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let o = 0;
    let mulr = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      o += (ax.includes(d) ? 0 : c) * mulr;
      mulr *= outShape[d];
    }
    out[o] += x[i] * scale;
  }
  return out;
}
