/**
 * The unrecorded sums under the reduction ops and broadcasting's gradient, as [outer, r, inner] passes
 * over runs of adjacent axes. (Apart from reduce.ts so that elementwise.ts can use sumTo.)
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, numel, shapeStr, type Shape } from '../tensor.js';
import { checkShape } from '../validate.js';
import reduceSrc from '../../shaders/reduce.wgsl';

/** One pass: x viewed as [outer, r, inner] -> [outer, inner], times `scale`. */
function reduceMiddle(x: Tensor, outer: number, r: number, inner: number, scale: number, outShape: Shape): Tensor {
  const rt = runtime();
  const k = rt.kernel('reduce', reduceSrc);
  const pass = (src: Tensor, rr: number, chunk: number, s: number, shape: Shape): Tensor => {
    const nchunks = Math.ceil(rr / chunk);
    const out = Tensor.empty(shape);
    rt.dispatch(
      k,
      { x: src.storage, out: out.storage },
      { outer, r: rr, inner, chunk, nchunks, scale: s },
      rt.grid(outer * nchunks * inner, 256),
    );
    return out;
  };
  // Few outputs and a long reduction: a first pass over chunks of ~sqrt(r) keeps the GPU busy.
  if (outer * inner < 4096 && r > 1024) {
    const chunk = Math.ceil(Math.sqrt(r));
    const partial = pass(x, r, chunk, 1, [outer, Math.ceil(r / chunk), inner]);
    const out = pass(partial, Math.ceil(r / chunk), Math.ceil(r / chunk), scale, outShape);
    partial.dispose();
    return out;
  }
  return pass(x, r, Math.max(r, 1), scale, outShape);
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
