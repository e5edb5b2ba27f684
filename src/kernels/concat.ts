/**
 * Concatenation and splitting along any axis. Both view tensors as [outer, inner] rows (the dimensions
 * before the axis; the axis extent times those after it), each piece a slab of columns that one strided
 * slab-copy kernel moves (vec4 where sizes and offsets allow; copyBufferToBuffer when outer = 1).
 * concat's backward slices g into the pieces; each output of split is its own autograd node, whose
 * backward embeds its gradient into zeros of x's shape (autograd sums them).
 */
import { runtime } from '../gpu/runtime.js';
import { vecWidth, vecSource } from '../gpu/wgsl.js';
import { Tensor, defineOp, numel, shapeStr } from '../tensor.js';
import { checkAxis, showValue } from '../validate.js';
import { record } from '../autograd.js';
import type { HostResult, HostTensor } from './layout.js';
import concatSrc from '../../shaders/concat.wgsl';

/** The [outer, stride] view of pieces of `sizes` along axis `ax` of `shape`: each piece's columns and offset. */
function layout(shape: readonly number[], sizes: readonly number[], ax: number) {
  const trail = numel(shape.slice(ax + 1));
  let stride = 0;
  const parts = sizes.map((s) => {
    const part = { inner: s * trail, off: stride };
    stride += part.inner;
    return part;
  });
  return { outer: numel(shape.slice(0, ax)), stride, parts };
}

/**
 * Copy a slab of `inner` columns per row from [outer, srcStride] at srcOff to [outer, dstStride] at dstOff;
 * `embed` writes every element of dst, zeros outside the slab.
 */
function slab(
  src: Tensor,
  dst: Tensor,
  outer: number,
  inner: number,
  [srcStride, srcOff]: [number, number],
  [dstStride, dstOff]: [number, number],
  embed = false,
): void {
  const rt = runtime();
  if (outer === 1 && !embed) return rt.copy(src.storage, srcOff * 4, dst.storage, dstOff * 4, inner * 4);
  const v = vecWidth(inner, srcStride, srcOff, dstStride, dstOff);
  const n = (outer * (embed ? dstStride : inner)) / v;
  rt.dispatch(
    rt.kernel(embed ? 'slab-embed' : 'slab-copy', vecSource(concatSrc, v), { EMBED: embed ? 1 : 0 }),
    { src: src.storage, dst: dst.storage },
    { n, inner: inner / v, srcStride: srcStride / v, srcOff: srcOff / v, dstStride: dstStride / v, dstOff: dstOff / v },
    rt.grid(n, 256),
  );
}

/** Slice pieces of `sizes` along the axis (unrecorded launch, shared by split and concat's backward). */
function sliceAll(x: Tensor, sizes: readonly number[], ax: number, want?: readonly boolean[]): (Tensor | null)[] {
  const { outer, stride, parts } = layout(x.shape, sizes, ax);
  return parts.map(({ inner, off }, i) => {
    if (want && !want[i]) return null;
    const out = Tensor.empty(
      x.shape.map((d, j) => (j === ax ? sizes[i] : d)),
      { dtype: x.dtype },
    );
    slab(x, out, outer, inner, [stride, off], [inner, 0]);
    return out;
  });
}

/** Concatenate tensors along `axis` (negative counts from the end). Differentiable; f32 or int32 (all alike). */
export const concat = defineOp('concat', ['tensors[]:any'], (tensors: readonly Tensor[], axis: number): Tensor => {
  const rank = tensors[0].rank;
  const ax = checkAxis(axis, rank, 'concat axis');
  for (const t of tensors) {
    if (t.rank !== rank || t.shape.some((d, i) => i !== ax && d !== tensors[0].shape[i]))
      throw new Error(
        `ossify: concat along axis ${ax}: shapes ${tensors.map((u) => shapeStr(u.shape)).join(', ')} differ off ` +
          `the axis`,
      );
  }
  const dtype = tensors[0].dtype;
  const other = tensors.find((t) => t.dtype !== dtype);
  if (other)
    throw new Error(`ossify: concat takes tensors of one dtype, got ${tensors[0].label()} and ${other.label()}`);
  const sizes = tensors.map((t) => t.shape[ax]);
  const shape = tensors[0].shape.map((d, i) => (i === ax ? sizes.reduce((p, s) => p + s, 0) : d));
  const out = Tensor.empty(shape, { dtype });
  const { outer, stride, parts } = layout(shape, sizes, ax);
  parts.forEach(({ inner, off }, i) => slab(tensors[i], out, outer, inner, [inner, 0], [stride, off]));
  const want = tensors.map((t) => t.requiresGrad);
  return record('concat', [...tensors], out, [], (g) => sliceAll(g, sizes, ax, want));
});

/** Copy x ([..., C]) into channels [offset, offset + C) of `dst` (unchecked: the fused op checks). */
export function writeChannels(x: Tensor, dst: Tensor, offset: number): void {
  const C = x.shape[x.rank - 1];
  const D = dst.shape[dst.rank - 1];
  slab(x, dst, x.size / C, C, [C, 0], [D, offset]);
}

/**
 * Split x along `axis` into pieces of the given sizes (which must add up to the axis extent).
 * Differentiable; f32 or int32.
 */
export const split = defineOp('split', ['x:any'], (x: Tensor, sizes: readonly number[], axis: number): Tensor[] => {
  const ax = checkAxis(axis, x.rank, 'split axis');
  if (!Array.isArray(sizes))
    throw new Error(`ossify: split sizes must be a list of positive integers, got ${showValue(sizes)}`);
  if (sizes.some((s) => !Number.isInteger(s) || s < 1) || sizes.reduce((p, d) => p + d, 0) !== x.shape[ax])
    throw new Error(
      `ossify: split sizes [${sizes.join(', ')}] must be positive and add up to ${x.shape[ax]} (axis ${ax} of ` +
        `${shapeStr(x.shape)})`,
    );
  const { outer, stride, parts } = layout(x.shape, sizes, ax);
  return (sliceAll(x, sizes, ax) as Tensor[]).map((o, i) =>
    record('split', [x], o, [], (g) => {
      const dx = Tensor.empty(x.shape);
      slab(g, dx, outer, parts[i].inner, [parts[i].inner, 0], [stride, parts[i].off], true);
      return [dx];
    }),
  );
});

// ---- float64 CPU references -------------------------------------------------------------------

/** Float64 reference of {@link concat}: row by row, each piece's row in turn. */
export function concatReference(parts: HostTensor[], axis: number): HostResult {
  const ax = checkAxis(axis, parts[0].shape.length, 'axis');
  const shape = parts[0].shape.map((d, i) => (i === ax ? parts.reduce((p, t) => p + t.shape[ax], 0) : d));
  const data = new Float64Array(numel(shape));
  let k = 0;
  for (let o = 0; o < numel(shape.slice(0, ax)); o++)
    for (const t of parts) {
      const inner = numel(t.shape.slice(ax));
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
): HostResult[] {
  const ax = checkAxis(axis, shape.length, 'axis');
  const { outer, stride, parts } = layout(shape, sizes, ax);
  return parts.map(({ inner, off }, i) => ({
    data: Float64Array.from({ length: outer * inner }, (_, k) => x[Math.floor(k / inner) * stride + off + (k % inner)]),
    shape: shape.map((d, j) => (j === ax ? sizes[i] : d)),
  }));
}
