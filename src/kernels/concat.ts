/**
 * Concatenation and splitting along any axis (Inception joins its 4 branches on the channel axis;
 * DenseNet concatenates every layer's new features onto the running block).
 *
 * Both view tensors as [outer, inner] rows, where outer is the product of the dimensions before the
 * axis and inner the axis extent times the dimensions after it; each piece is then a slab of columns.
 * One strided slab-copy kernel moves a piece (one dispatch per piece, every thread one element, or one
 * vec4 when sizes and offsets are multiples of 4 as in the models' channel counts; adjacent threads
 * touch adjacent elements); when outer = 1 (e.g. axis 0) the slab is contiguous and a plain
 * copyBufferToBuffer does it.
 *
 * Gradients: concat's backward slices g into the pieces (the same copy, reversed). Autograd nodes have
 * one output, so each output of split is its own slice node; its backward embeds its gradient into a
 * zero tensor of x's shape in a single pass (zeros for the rest), and autograd sums those. Outputs that
 * never reach the loss contribute nothing (the zeros of the brief's rule).
 */
import { runtime } from '../gpu/runtime.js';
import { vecWidth, vecSource } from './vec-width.js';
import { Tensor, defineOp, shapeStr } from '../tensor.js';
import { checkAxis, showValue } from '../validate.js';
import { record } from '../autograd.js';
import concatSrc from '../../shaders/concat.wgsl';

const normAxis = (axis: number, rank: number, what = 'axis'): number => checkAxis(axis, rank, what);

const prod = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

/** Copy a slab of `inner` columns per row between [outer, *] views (copyBufferToBuffer when contiguous). */
function copySlab(
  src: Tensor,
  dst: Tensor,
  outer: number,
  inner: number,
  srcStride: number,
  srcOff: number,
  dstStride: number,
  dstOff: number,
): void {
  const rt = runtime();
  if (outer === 1) {
    rt.copy(src.storage, srcOff * 4, dst.storage, dstOff * 4, inner * 4);
    return;
  }
  const v = vecWidth(inner, srcStride, srcOff, dstStride, dstOff);
  const n = (outer * inner) / v;
  const k = rt.kernel('slab-copy', vecSource(concatSrc, v), { EMBED: 0 });
  rt.dispatch(
    k,
    { src: src.storage, dst: dst.storage },
    { n, inner: inner / v, srcStride: srcStride / v, srcOff: srcOff / v, dstStride: dstStride / v, dstOff: dstOff / v },
    rt.grid(n, 256),
  );
}

/** Write `src` ([outer, inner]) at column dstOff of a fresh [outer, dstStride] tensor of `shape`, zeros elsewhere. */
function embedSlab(
  src: Tensor,
  shape: readonly number[],
  outer: number,
  inner: number,
  dstStride: number,
  dstOff: number,
): Tensor {
  const rt = runtime();
  const dst = Tensor.empty(shape);
  const v = vecWidth(inner, dstStride, dstOff);
  const n = (outer * dstStride) / v;
  const k = rt.kernel('slab-embed', vecSource(concatSrc, v), { EMBED: 1 });
  rt.dispatch(
    k,
    { src: src.storage, dst: dst.storage },
    { n, inner: inner / v, srcStride: inner / v, srcOff: 0, dstStride: dstStride / v, dstOff: dstOff / v },
    rt.grid(n, 256),
  );
  return dst;
}

/** Slice pieces of `sizes` along the axis (unrecorded launch, shared by split and concat's backward). */
function sliceAll(x: Tensor, sizes: readonly number[], ax: number, want?: readonly boolean[]): (Tensor | null)[] {
  const outer = prod(x.shape.slice(0, ax));
  const trail = prod(x.shape.slice(ax + 1));
  const stride = x.shape[ax] * trail;
  let off = 0;
  return sizes.map((s, i) => {
    const inner = s * trail;
    const at = off;
    off += inner;
    if (want && !want[i]) return null;
    const shape = [...x.shape];
    shape[ax] = s;
    const out = Tensor.empty(shape, { dtype: x.dtype });
    copySlab(x, out, outer, inner, stride, at, inner, 0);
    return out;
  });
}

/** Concatenate tensors along `axis` (negative counts from the end). Differentiable; f32 or int32 (all alike). */
export const concat = defineOp('concat', ['tensors[]:any'], (tensors: readonly Tensor[], axis: number): Tensor => {
  const rank = tensors[0].rank;
  const ax = normAxis(axis, rank, 'concat axis');
  for (const t of tensors) {
    if (t.rank !== rank || t.shape.some((d, i) => i !== ax && d !== tensors[0].shape[i])) {
      throw new Error(
        `ossify: concat along axis ${ax}: shapes ${tensors.map((u) => shapeStr(u.shape)).join(', ')} differ off ` +
          `the axis`,
      );
    }
  }
  const dtype = tensors[0].dtype;
  const other = tensors.find((t) => t.dtype !== dtype);
  if (other) {
    throw new Error(`ossify: concat takes tensors of one dtype, got ${tensors[0].label()} and ${other.label()}`);
  }
  const sizes = tensors.map((t) => t.shape[ax]);
  const shape = [...tensors[0].shape];
  shape[ax] = sizes.reduce((p, d) => p + d, 0);
  const out = Tensor.empty(shape, { dtype });
  const outer = prod(shape.slice(0, ax));
  const trail = prod(shape.slice(ax + 1));
  const stride = shape[ax] * trail;
  let off = 0;
  for (const t of tensors) {
    const inner = t.shape[ax] * trail;
    copySlab(t, out, outer, inner, inner, 0, stride, off);
    off += inner;
  }
  return record('concat', [...tensors], out, [], (g) =>
    sliceAll(
      g,
      sizes,
      ax,
      tensors.map((t) => t.requiresGrad),
    ),
  );
});

/** Copy x ([..., C]) into channels [offset, offset + C) of `dst` (unchecked: the fused op checks). */
export function writeChannels(x: Tensor, dst: Tensor, offset: number): void {
  const C = x.shape[x.rank - 1];
  const D = dst.shape[dst.rank - 1];
  copySlab(x, dst, x.size / C, C, C, 0, D, offset);
}

/**
 * Split x along `axis` into pieces of the given sizes (which must add up to the axis extent).
 * Differentiable; f32 or int32.
 */
export const split = defineOp('split', ['x:any'], (x: Tensor, sizes: readonly number[], axis: number): Tensor[] => {
  const ax = normAxis(axis, x.rank, 'split axis');
  if (!Array.isArray(sizes)) {
    throw new Error(`ossify: split sizes must be a list of positive integers, got ${showValue(sizes)}`);
  }
  if (sizes.some((s) => !Number.isInteger(s) || s < 1) || sizes.reduce((p, d) => p + d, 0) !== x.shape[ax]) {
    throw new Error(
      `ossify: split sizes [${sizes.join(', ')}] must be positive and add up to ${x.shape[ax]} (axis ${ax} of ` +
        `${shapeStr(x.shape)})`,
    );
  }
  const outs = sliceAll(x, sizes, ax) as Tensor[];
  const outer = prod(x.shape.slice(0, ax));
  const trail = prod(x.shape.slice(ax + 1));
  let off = 0;
  return outs.map((o, i) => {
    const at = off;
    off += sizes[i] * trail;
    return record('split', [x], o, [], (g) => [
      embedSlab(g, x.shape, outer, sizes[i] * trail, x.shape[ax] * trail, at),
    ]);
  });
});

// ---- float64 CPU references -------------------------------------------------------------------

/** Float64 reference of {@link concat}. */
export function concatReference(
  parts: { data: ArrayLike<number>; shape: readonly number[] }[],
  axis: number,
): { data: Float64Array; shape: number[] } {
  const ax = normAxis(axis, parts[0].shape.length);
  const shape = [...parts[0].shape];
  shape[ax] = parts.reduce((p, t) => p + t.shape[ax], 0);
  const outer = prod(shape.slice(0, ax));
  const trail = prod(shape.slice(ax + 1));
  const data = new Float64Array(prod(shape));
  let k = 0;
  for (let o = 0; o < outer; o++)
    for (const t of parts) {
      const inner = t.shape[ax] * trail;
      for (let j = 0; j < inner; j++) data[k++] = t.data[o * inner + j];
    }
  return { data, shape };
}

/** Float64 reference of {@link split}. */
export function splitReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  sizes: readonly number[],
  axis: number,
): { data: Float64Array; shape: number[] }[] {
  const ax = normAxis(axis, shape.length);
  const outer = prod(shape.slice(0, ax));
  const trail = prod(shape.slice(ax + 1));
  const stride = shape[ax] * trail;
  let off = 0;
  return sizes.map((s) => {
    const inner = s * trail;
    const data = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) data[o * inner + j] = x[o * stride + off + j];
    off += inner;
    const sh = [...shape];
    sh[ax] = s;
    return { data, shape: sh };
  });
}
