/**
 * The unrecorded sums under the reduction ops and broadcasting's gradient, as [outer, r, inner] passes
 * over runs of adjacent axes. (Apart from reduce.ts so that elementwise.ts can use sumTo.)
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, numel, shapeStr, type Shape } from '../tensor.js';
import { checkShape } from '../validate.js';
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

/** x viewed as [outer, r, inner] -> `outShape` ([outer, inner] elements), times `scale`. */
function reduceMiddle(x: Tensor, outer: number, r: number, inner: number, scale: number, outShape: Shape): Tensor {
  const rt = runtime();
  const plan = chunkPlan(outer, r, inner);
  let [src, rr] = [x, r];
  for (const [k, chunk] of plan.entries()) {
    const last = k === plan.length - 1;
    const nchunks = Math.ceil(rr / chunk);
    const out = Tensor.empty(last ? outShape : [outer, nchunks, inner]);
    const params = { outer, r: rr, inner, chunk, nchunks, scale: last ? scale : 1 };
    rt.dispatch(rt.kernel('reduce', reduceSrc), { x: src.storage, out: out.storage }, params, rt.grid(out.size, 256));
    if (src !== x) src.dispose();
    [src, rr] = [out, nchunks];
  }
  return src;
}

/** Sum over `axes` (sorted, distinct) times `scale`, keeping no dims. Not recorded. */
export function sumRaw(x: Tensor, axes: number[], scale: number): Tensor {
  // Reduce runs of adjacent axes, last run first, so earlier axis numbers stay valid.
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a) last[1] = a + 1;
    else runs.push([a, a + 1]);
  }
  let cur = x;
  let shape = [...x.shape];
  for (let i = runs.length - 1; i >= 0; i--) {
    const [s, e] = runs[i];
    const [outer, r, inner] = [numel(shape.slice(0, s)), numel(shape.slice(s, e)), numel(shape.slice(e))];
    const next = [...shape.slice(0, s), ...shape.slice(e)];
    const out = reduceMiddle(cur, outer, r, inner, i === 0 ? scale : 1, next.length ? next : [1]);
    if (cur !== x) cur.dispose();
    cur = out;
    shape = next;
  }
  // No axes: a copy, so that the result is a fresh tensor.
  return cur === x ? reduceMiddle(x, 1, 1, x.size, scale, x.shape) : cur;
}

/** Sum a broadcast gradient back to `shape` (the reverse of broadcasting). Not recorded. */
export const sumTo = defineOp('sumTo', ['g'], (g: Tensor, shape: Shape): Tensor => {
  checkShape(shape, 'sumTo shape');
  if (g.size === numel(shape) && g.rank >= shape.length) return g.alias(shape);
  const lead = g.rank - shape.length;
  if (lead < 0) throw new Error(`ossify: cannot sum ${shapeStr(g.shape)} to ${shapeStr(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  const raw = sumRaw(g, axes, 1);
  const out = raw.alias(shape);
  raw.dispose();
  return out;
});
