/**
 * The unrecorded sums under the reductions and broadcasting's gradient (apart from reduce.ts so that
 * elementwise.ts can use sumTo). Reduced axes are read as the middle r of an [outer, r, inner] view.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, numel, shapeStr, type Shape } from '../tensor.js';
import { checkShape } from '../validate.js';
import { permuteRaw } from './layout.js';
import reduceSrc from '../../shaders/reduce.wgsl';

/**
 * The chunk length of each pass over the middle axis r of [outer, r, inner]: all of r at once, or, with few
 * outputs and a long reduction, chunks of ~sqrt(r) first (to keep a GPU busy), then their partials.
 */
export function chunkPlan(outer: number, r: number, inner: number): number[] {
  if (outer * inner >= 4096 || r <= 1024) return [Math.max(r, 1)];
  const chunk = Math.ceil(Math.sqrt(r));
  return [chunk, Math.ceil(r / chunk)];
}

/** x as [outer, r, inner] with the (sorted) `axes` as r: x itself, or a permuted copy. */
export function asRun(x: Tensor, axes: number[]) {
  if (axes.every((a, k) => a === axes[0] + k)) {
    const [s, e] = axes.length ? [axes[0], axes[axes.length - 1] + 1] : [0, 0];
    return { src: x, outer: numel(x.shape.slice(0, s)), r: numel(x.shape.slice(s, e)), inner: numel(x.shape.slice(e)) };
  }
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const perm = [...kept, ...axes];
  const [outer, r] = [numel(kept.map((i) => x.shape[i])), numel(axes.map((i) => x.shape[i]))];
  return { src: permuteRaw(x, perm), outer, r, inner: 1, perm };
}

/** Sum over `axes` (sorted, distinct; none: a copy) times `scale`, flat ([outer * inner]). Not recorded. */
export function sumRaw(x: Tensor, axes: number[], scale: number): Tensor {
  let s = axes.length - 1;
  while (s > 0 && axes[s - 1] === axes[s] - 1) s--;
  if (s > 0) {
    // Runs of adjacent axes one at a time, the last first (no copy, any rank; earlier axis numbers stay valid).
    const part = sumRaw(x, axes.slice(s), 1);
    const view = part.alias(x.shape.filter((_, i) => !axes.slice(s).includes(i)));
    part.dispose();
    const out = sumRaw(view, axes.slice(0, s), scale);
    view.dispose();
    return out;
  }
  const rt = runtime();
  const { src, outer, r, inner } = asRun(x, axes);
  const plan = chunkPlan(outer, r, inner);
  let [cur, rr] = [src, r];
  for (const [k, chunk] of plan.entries()) {
    const last = k === plan.length - 1;
    const nchunks = Math.ceil(rr / chunk);
    const out = Tensor.empty([outer * nchunks * inner]);
    const params = { outer, r: rr, inner, chunk, nchunks, scale: last ? scale : 1 };
    rt.dispatch(rt.kernel('reduce', reduceSrc), { x: cur.storage, out: out.storage }, params, rt.grid(out.size, 256));
    if (cur !== x) cur.dispose();
    [cur, rr] = [out, nchunks];
  }
  return cur;
}

/** Sum a broadcast gradient back to `shape` (the reverse of broadcasting). Not recorded. */
export const sumTo = defineOp('sumTo', ['g'], (g: Tensor, shape: Shape): Tensor => {
  checkShape(shape, 'sumTo shape');
  if (g.size === numel(shape) && g.rank >= shape.length) return g.alias(shape);
  const lead = g.rank - shape.length;
  if (lead < 0) throw new Error(`ossify: cannot sum ${shapeStr(g.shape)} to ${shapeStr(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return sumRaw(g, axes, 1).alias(shape);
});
