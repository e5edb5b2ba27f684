/** Sums and means over axes (differentiable), on the unrecorded passes of sum-raw.ts. */
import { Tensor, defineOp, type Shape } from '../tensor.js';
import { checkAxes, checkBoolean } from '../validate.js';
import { record } from '../autograd.js';
import { broadcastTo, scale } from './elementwise.js';
import { sumRaw } from './sum-raw.js';
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
