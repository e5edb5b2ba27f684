/**
 * Layout ops: permute/transpose, slice, pad (and zeroPad2d), gather/indexSelect and the views
 * squeeze/unsqueeze/flatten. They move 32-bit words, so they take f32 and int32 tensors alike (gradients
 * flow through the f32 ones). Shapes are uniforms: one pipeline per kernel for every shape of rank <= 8.
 * - shaders/strided.wgsl copies through strides, a padded axis finding each cell's source as the mode says:
 *   permute (gradient: the inverse permutation), slice (strides times steps; gradient: the scatter) and pad
 *   (one kernel per mode; gradient: a slice of g, or for reflect and edge one pass per
 *   padded axis of shaders/pad_modes_grad.wgsl).
 * - shaders/gather.wgsl: gather and its gradient, which adds g back into a zero dx (why not the strided
 *   kernel: bench/LAB.md).
 * - shaders/pad.wgsl: zeroPad2d, which the backbones run, copies x into the middle of a zero-filled larger
 *   image; its gradient crops.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, numel, shapeStr, type Shape } from '../tensor.js';
import {
  checkAxes,
  checkAxis,
  checkChoice,
  checkNumber,
  checkSides,
  inRange,
  showValue,
  withDefault,
} from '../validate.js';
import { record } from '../autograd.js';
import { fillTemplate, vecSource, vecTypes, vecWidth } from '../gpu/wgsl.js';
import stridedSrc from '../../shaders/strided.wgsl';
import padGradSrc from '../../shaders/pad_modes_grad.wgsl';
import zeroPadSrc from '../../shaders/pad.wgsl';
import gatherSrc from '../../shaders/gather.wgsl';

/** The largest rank the layout kernels take (their uniforms hold 8 extents and strides). */
export const MAX_LAYOUT_RANK = 8;

/** A per-axis list padded with zeros to MAX_LAYOUT_RANK (the layout and broadcast kernels' uniform arrays). */
export const pad8 = (v: readonly number[]) => [...v, ...Array<number>(MAX_LAYOUT_RANK - v.length).fill(0)];

/** Coordinates of flat index i in `shape` (row-major). */
export function coords(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return c;
}

/** The flat offset of coordinates `c` under `strides`. */
export function dot(c: readonly number[], strides: readonly number[]): number {
  return c.reduce((s, ci, d) => s + ci * strides[d], 0);
}

/** Row-major strides of a shape. */
export function rowMajorStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let m = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = m;
    m *= shape[d];
  }
  return s;
}

function checkRank(x: Tensor, op: string): void {
  if (x.rank > MAX_LAYOUT_RANK)
    throw new Error(`ossify: ${op} takes tensors of rank <= ${MAX_LAYOUT_RANK}, got ${shapeStr(x.shape)}`);
}

/** Elements one invocation of the strided kernel moves along the last axis (its PER). */
const PER = 8;

/**
 * One axis of a strided copy: `n` cells, `stride` elements apart on the strided side; a padded axis reads
 * cell c from source cell c - `before` of its `extent`, or outside them as pad's mode says.
 */
interface StridedAxis {
  n: number;
  stride: number;
  before?: number;
  extent?: number;
}

/**
 * Merge the plain axes that need no index arithmetic of their own: extents of 1 go, and an axis whose
 * stride is its inner neighbour's stride times that neighbour's extent joins it.
 */
function coalesce(axes: readonly StridedAxis[]): StridedAxis[] {
  const merged: StridedAxis[] = [];
  for (const a of axes) {
    const prev = merged[merged.length - 1];
    if (a.extent !== undefined) merged.push(a);
    else if (prev && prev.extent === undefined && prev.stride === a.stride * a.n)
      merged[merged.length - 1] = { n: prev.n * a.n, stride: a.stride };
    else if (a.n > 1) merged.push(a);
  }
  return merged.length ? merged : [{ n: 1, stride: 1 }];
}

/**
 * The strided copy (unrecorded; shaders/strided.wgsl) over `axes`, the gathered side's shape: a gather
 * into `out` (default: a fresh tensor; padded axes fill as `mode` says, 0 'constant' with the `fill` bits),
 * or a `scatter` of x into `out`. Strides and base count elements of the strided side.
 */
function strided(
  x: Tensor,
  axes: readonly StridedAxis[],
  base: number,
  opts: { out?: Tensor; scatter?: boolean; mode?: number; fill?: number } = {},
): Tensor {
  const rt = runtime();
  const shape = axes.map((a) => a.n);
  const out = opts.out ?? Tensor.empty(shape, { dtype: x.dtype });
  const merged = coalesce(axes);
  const r = merged.length;
  const last = merged[r - 1];
  const plain = last.extent === undefined && last.stride === 1;
  const v = plain ? vecWidth(last.n, base, ...merged.slice(0, -1).map((a) => a.stride)) : 1;
  const vAxes = merged.map((a, d) => (d === r - 1 ? { ...a, n: a.n / v } : { ...a, stride: a.stride / v }));
  const n = numel(vAxes.slice(0, -1).map((a) => a.n)) * Math.ceil(vAxes[r - 1].n / PER);
  const k = rt.kernel('strided', vecSource(stridedSrc, v), { SCATTER: opts.scatter ? 1 : 0, MODE: opts.mode ?? 0 });
  const perAxis = (f: (a: StridedAxis) => number) => pad8(vAxes.map(f));
  const shapes = { shape: perAxis((a) => a.n), stride: perAxis((a) => a.stride) };
  const pads = { before: perAxis((a) => a.before ?? 0), extent: perAxis((a) => a.extent ?? a.n) };
  const params = { n, rank: r, base: base / v, fill: opts.fill ?? 0, ...shapes, ...pads };
  const io = { x: x.storage, out: out.storage };
  rt.dispatch(k, io, params, rt.grid(n, 256));
  return out;
}

/** A permutation of the axes of a rank-`rank` tensor (negative counts from the end), checked. */
function checkPermutation(axes: unknown, rank: number, what: string): number[] {
  const range = { integer: true, min: -rank, max: rank - 1 };
  const ok = Array.isArray(axes) && axes.every((a) => inRange(a, range));
  const perm = ok ? axes.map((a: number) => (a < 0 ? a + rank : a)) : [];
  if (perm.length !== rank || new Set(perm).size !== rank) {
    throw new Error(
      `ossify: ${what} must list each of the ${rank} axes once (integers in [${-rank}, ${rank - 1}], negative ` +
        `counts from the end), got ${showValue(axes)}`,
    );
  }
  return perm;
}

/** The permutation that undoes `perm`. */
export function inversePermutation(perm: readonly number[]): number[] {
  const inverse = new Array<number>(perm.length);
  perm.forEach((a, i) => (inverse[a] = i));
  return inverse;
}

/** x with its axes reordered (unrecorded; perm already checked). */
export function permuteRaw(x: Tensor, perm: readonly number[]): Tensor {
  const xs = rowMajorStrides(x.shape);
  const axes = perm.map((a) => ({ n: x.shape[a], stride: xs[a] }));
  return strided(x, axes, 0);
}

function permuteImpl(op: string, x: Tensor, perm: number[]): Tensor {
  checkRank(x, op);
  if (perm.every((a, i) => a === i)) return view(op, x, [...x.shape]);
  return record(op, [x], permuteRaw(x, perm), [], (g) => [permuteRaw(g, inversePermutation(perm))]);
}

/**
 * Reorder the axes: output axis i is input axis `axes[i]` (PyTorch's `permute`, NumPy's
 * `transpose(x, axes)`). A copy (one kernel, any rank up to 8; vec4 words when the last axis stays
 * last and is a multiple of 4; the identity gives a view). Differentiable; takes f32 and int32.
 */
export const permute = defineOp('permute', ['x:any'], (x: Tensor, axes: readonly number[]): Tensor =>
  permuteImpl('permute', x, checkPermutation(axes, x.rank, 'permute axes')),
);

/**
 * NumPy's transpose: the axes reversed by default (a matrix's transpose), or reordered as `axes` says
 * (as {@link permute}). Differentiable; takes f32 and int32.
 */
export const transpose = defineOp('transpose', ['x:any'], (x: Tensor, axes?: readonly number[]): Tensor => {
  const perm =
    axes === undefined ? [...Array(x.rank).keys()].reverse() : checkPermutation(axes, x.rank, 'transpose axes');
  return permuteImpl('transpose', x, perm);
});

/**
 * One axis of a {@link slice}: Python's `start:stop:step` (each optional; negative start and stop count
 * from the end and clamp to the axis as Python's do; a negative step walks backwards).
 */
export interface SliceRange {
  /** First index (default: 0, or the last index for a negative step). */
  start?: number;
  /** Index to stop before (default: past the end in the step's direction). */
  stop?: number;
  /** Step (default 1; not 0). */
  step?: number;
}

/** Python's slice.indices() for one axis: [start, step, length]. */
function sliceIndices(n: number, r: SliceRange, what: string): [number, number, number] {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    throw new Error(`ossify: ${what} must be an object { start?, stop?, step? } or undefined, got ${showValue(r)}`);
  }
  const step = checkNumber(withDefault(r.step, 1), `${what} step`, { integer: true });
  if (step === 0) throw new Error(`ossify: ${what} step must be a non-zero integer, got 0`);
  const bound = (v: number | undefined, name: string, dflt: number): number => {
    if (v === undefined) return dflt;
    let i = checkNumber(v, `${what} ${name}`, { integer: true });
    if (i < 0) i += n;
    return step > 0 ? Math.min(Math.max(i, 0), n) : Math.min(Math.max(i, -1), n - 1);
  };
  const start = bound(r.start, 'start', step > 0 ? 0 : n - 1);
  const stop = bound(r.stop, 'stop', step > 0 ? n : -1);
  const len = Math.max(0, Math.ceil((stop - start) / step));
  return [start, step, len];
}

/**
 * Python slicing: `ranges[d]` slices axis d (`undefined`, or axes past the list, keep the whole axis),
 * e.g. `slice(x, [{ start: 1, stop: -1 }, undefined, { step: -1 }])` is `x[1:-1, :, ::-1]`. The result
 * must hold at least one element on every axis. A copy (one kernel); differentiable; takes f32 and int32.
 */
export const slice = defineOp('slice', ['x:any'], (x: Tensor, ranges: readonly (SliceRange | undefined)[]): Tensor => {
  checkRank(x, 'slice');
  if (!Array.isArray(ranges) || ranges.length > x.rank) {
    throw new Error(
      `ossify: slice ranges must be a list of at most ${x.rank} entries (one per axis of ${shapeStr(x.shape)}), ` +
        `got ${showValue(ranges)}`,
    );
  }
  const xs = rowMajorStrides(x.shape);
  let base = 0;
  const axes = x.shape.map((n, d) => {
    const r = ranges[d];
    const [start, step, len] = r === undefined ? [0, 1, n] : sliceIndices(n, r, `slice range of axis ${d}`);
    if (len === 0) {
      throw new Error(
        `ossify: slice range of axis ${d} ${showValue(r)} selects no element of ${n} (ossify has no empty tensors)`,
      );
    }
    base += start * xs[d];
    return { n: len, stride: xs[d] * step };
  });
  const out = strided(x, axes, base);
  return record('slice', [x], out, [], (g) => [strided(g, axes, base, { out: Tensor.zeros(x.shape), scatter: true })]);
});

/** How {@link pad} fills the new cells. */
export type PadMode = 'constant' | 'reflect' | 'edge';
const PAD_MODES: readonly PadMode[] = ['constant', 'reflect', 'edge'];

/** Options of {@link pad}. */
export interface PadOptions {
  /**
   * 'constant' (default: `value`), 'reflect' (mirrored without repeating the edge: NumPy's and
   * PyTorch's 'reflect'; each pad < the axis extent) or 'edge' (the edge repeated: NumPy's 'edge',
   * PyTorch's 'replicate', TensorFlow's 'SYMMETRIC' is not this).
   */
  mode?: PadMode;
  /** The constant mode's value (default 0; any number, NaN and infinities too; an integer for int32 tensors). */
  value?: number;
}

/** Pad-grad along one axis (reflect or edge) of g, whose axis `axis` is padded to P from `len`. */
function padGradAxis(g: Tensor, axis: number, len: number, before: number, mode: number): Tensor {
  const rt = runtime();
  const shape = [...g.shape];
  const P = shape[axis];
  shape[axis] = len;
  const dx = Tensor.empty(shape);
  const params = { n: dx.size, len, inner: numel(shape.slice(axis + 1)), P, before, mode };
  rt.dispatch(rt.kernel('pad-modes-grad', padGradSrc), { g: g.storage, dx: dx.storage }, params, rt.grid(dx.size, 256));
  return dx;
}

/**
 * Pad every axis: `paddings[d] = [before, after]` cells (integers >= 0) on axis d, one pair per axis
 * (NumPy's `pad` and TensorFlow's `pad` layout), filled as `mode` says. One kernel; differentiable
 * (reflect and edge add the gradient of every copy back to its source); takes f32 and int32.
 */
export const pad = defineOp(
  'pad',
  ['x:any'],
  (x: Tensor, paddings: readonly (readonly [number, number])[], opts: PadOptions = {}): Tensor => {
    checkRank(x, 'pad');
    const pair = (p: unknown) =>
      Array.isArray(p) && p.length === 2 && p.every((v) => inRange(v, { integer: true, min: 0 }));
    if (!Array.isArray(paddings) || paddings.length !== x.rank || !paddings.every(pair)) {
      throw new Error(
        `ossify: pad paddings must be ${x.rank} pairs [before, after] of integers >= 0 (one per axis of ` +
          `${shapeStr(x.shape)}), got ${showValue(paddings)}`,
      );
    }
    const mode = checkChoice(withDefault(opts.mode, 'constant'), 'pad option mode', PAD_MODES);
    // Any number for f32 (NaN and infinities too, as a scalar operand); an int32 tensor takes int32 values.
    const given = withDefault(opts.value, 0);
    const int = x.dtype === 'int32';
    const range = int ? { integer: true, min: -(2 ** 31), below: 2 ** 31 } : {};
    const value = typeof given === 'number' && !int ? given : checkNumber(given, 'pad option value', range);
    if (mode === 'reflect') {
      paddings.forEach(([b, a], d) => {
        if (b >= x.shape[d] || a >= x.shape[d]) {
          throw new Error(
            `ossify: pad mode 'reflect' needs each pad of axis ${d} under its extent ${x.shape[d]} (the edge is ` +
              `not repeated), got [${b}, ${a}]: use 'edge', or pad in steps`,
          );
        }
      });
    }
    const before = paddings.map((p) => p[0]);
    const shape = x.shape.map((n, d) => before[d] + n + paddings[d][1]);
    const out = Tensor.empty(shape, { dtype: x.dtype });
    // shaders/strided.wgsl finds each padded cell's source (no table to upload: an upload flushes the encoder).
    const xs = rowMajorStrides(x.shape);
    const axes = x.shape.map((n, d): StridedAxis => {
      if (shape[d] === n) return { n, stride: xs[d] };
      return { n: shape[d], stride: xs[d], before: before[d], extent: n };
    });
    const fill = int ? value >>> 0 : new Uint32Array(new Float32Array([value]).buffer)[0];
    strided(x, axes, 0, { out, mode: PAD_MODES.indexOf(mode), fill });
    return record('pad', [x], out, [], (g) => {
      if (mode === 'constant') {
        const gs = rowMajorStrides(shape);
        const crop = x.shape.map((n, d) => ({ n, stride: gs[d] }));
        return [strided(g, crop, dot(before, gs))];
      }
      let cur = g;
      for (let d = x.rank - 1; d >= 0; d--) {
        if (shape[d] === x.shape[d]) continue;
        const next = padGradAxis(cur, d, x.shape[d], before[d], PAD_MODES.indexOf(mode));
        if (cur !== g) cur.dispose();
        cur = next;
      }
      return [cur === g ? g.alias() : cur];
    });
  },
);

/** Per-side padding [top, bottom, left, right]. */
export type Pad2d = readonly [number, number, number, number];

/** out = x[:, i + offY, j + offX, :] inside x, else 0, with out of spatial size OH x OW. */
function windowCopy(x: Tensor, OH: number, OW: number, offY: number, offX: number): Tensor {
  const [N, H, W, C] = x.shape;
  const rt = runtime();
  const out = Tensor.empty([N, OH, OW, C]);
  const v = vecWidth(C);
  const total = out.size / v;
  rt.dispatch(
    rt.kernel('pad', vecSource(zeroPadSrc, v)),
    { x: x.storage, out: out.storage },
    { total, H, W, C: C / v, OH, OW, offY, offX },
    rt.grid(total, 256),
  );
  return out;
}

/** Pad NHWC images with zeros (Keras's ZeroPadding2D): [N, H + top + bottom, W + left + right, C]. Differentiable. */
export const zeroPad2d = defineOp('zeroPad2d', ['x'], (x: Tensor, pad: Pad2d): Tensor => {
  if (x.rank !== 4) throw new Error(`ossify: zeroPad2d takes an NHWC tensor, got ${shapeStr(x.shape)}`);
  checkSides(pad, 'zeroPad2d padding');
  const [, H, W] = x.shape;
  const [t, b, l, r] = pad;
  const out = windowCopy(x, H + t + b, W + l + r, -t, -l);
  return record('zeroPad2d', [x], out, [], (g) => [windowCopy(g, H, W, t, l)]);
});

/** gather's launch (axis checked): x as [outer, len, inner] and flat indices -> [outer, nIdx, inner]. */
function gatherImpl(op: string, x: Tensor, indices: Tensor, ax: number): Tensor {
  const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
  const outer = numel(x.shape.slice(0, ax));
  const len = x.shape[ax];
  const inner = numel(x.shape.slice(ax + 1));
  const v = vecWidth(inner);
  const rt = runtime();
  const launch = (src: Tensor, dst: Tensor, grad: boolean, n: number) => {
    const wgsl = fillTemplate(gatherSrc, { T: vecTypes(v)[grad ? 'T' : 'U'] });
    const k = rt.kernel(grad ? 'gather-grad' : 'gather', wgsl, { GRAD: grad ? 1 : 0 });
    const io = { x: src.storage, idx: indices.storage, out: dst.storage };
    rt.dispatch(k, io, { n, len, nIdx: indices.size, inner: inner / v }, rt.grid(n, 256));
  };
  const out = Tensor.empty(outShape, { dtype: x.dtype });
  launch(x, out, false, outer * indices.size * Math.ceil(inner / v / PER));
  return record(op, [x, indices], out, [indices], (g) => {
    const dx = Tensor.zeros(x.shape);
    launch(g, dx, true, (outer * inner) / v);
    return [dx, null];
  });
}

/**
 * Take the entries of x at `indices` (an int32 tensor of any shape) along `axis` (default 0): the
 * result has shape x.shape[:axis] + indices.shape + x.shape[axis + 1:] (TensorFlow's `gather`, jax's
 * `take`; not PyTorch's `torch.gather`, which is take-along-axis). Negative indices count from the end;
 * an index outside [-len, len) reads 0 (as TensorFlow on a GPU). Differentiable in x (repeated indices
 * add their gradients); x may be f32 or int32 (an embedding lookup, a label remap).
 */
export const gather = defineOp(
  'gather',
  ['x:any', 'indices:int32'],
  (x: Tensor, indices: Tensor, axis: number = 0): Tensor =>
    gatherImpl('gather', x, indices, checkAxis(axis, x.rank, 'gather axis')),
);

/**
 * PyTorch's `index_select(x, axis, indices)`: the entries of x at the int32 `indices` (a 1-D list)
 * along `axis`, which keeps its rank (its extent becomes the number of indices). As {@link gather}.
 */
export const indexSelect = defineOp(
  'indexSelect',
  ['x:any', '', 'indices:int32'],
  (x: Tensor, axis: number, indices: Tensor): Tensor => {
    const ax = checkAxis(axis, x.rank, 'indexSelect axis');
    if (indices.rank !== 1) {
      throw new Error(`ossify: indexSelect indices must be 1-D (use gather for more), got ${indices.label()}`);
    }
    return gatherImpl('indexSelect', x, indices, ax);
  },
);

/** A view of x with another shape (no copy), recorded so that gradients flow back. */
function view(op: string, x: Tensor, shape: number[]): Tensor {
  return record(op, [x], x.alias(shape), [], (g) => [g.alias(x.shape)]);
}

/**
 * Drop axes of extent 1: all of them by default, or those `axes` names (each must have extent 1).
 * A view (no copy). A tensor of ones keeps one axis ([1, 1] -> [1]): ossify has no rank-0 tensors.
 */
export const squeeze = defineOp('squeeze', ['x:any'], (x: Tensor, axes?: number | readonly number[]): Tensor => {
  const ax =
    axes === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : checkAxes(axes, x.rank, 'squeeze axes');
  const bad = ax.find((a) => x.shape[a] !== 1);
  if (bad !== undefined) {
    throw new Error(`ossify: squeeze axis ${bad} of ${shapeStr(x.shape)} has extent ${x.shape[bad]}, not 1`);
  }
  const shape = x.shape.filter((_, i) => !ax.includes(i));
  return view('squeeze', x, shape.length ? shape : [1]);
});

/** Insert an axis of extent 1 at `axis` (in [-rank - 1, rank]; negative counts from the end). A view. */
export const unsqueeze = defineOp('unsqueeze', ['x:any'], (x: Tensor, axis: number): Tensor => {
  const a = checkAxis(axis, x.rank + 1, 'unsqueeze axis');
  return view('unsqueeze', x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
});

/**
 * Merge axes startAxis..endAxis (inclusive; defaults 0 and -1: everything) into one (PyTorch's
 * `flatten`; Keras's Flatten layer is `flatten(x, 1)`). A view (no copy).
 */
export const flatten = defineOp(
  'flatten',
  ['x:any'],
  (x: Tensor, startAxis: number = 0, endAxis: number = -1): Tensor => {
    const s = checkAxis(startAxis, x.rank, 'flatten startAxis');
    const e = checkAxis(endAxis, x.rank, 'flatten endAxis');
    if (e < s)
      throw new Error(`ossify: flatten endAxis ${endAxis} (axis ${e}) comes before startAxis ${startAxis} (axis ${s})`);
    return view('flatten', x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
  },
);

// ---- float64 CPU references -------------------------------------------------------------------

/** A tensor on the CPU: row-major values and a shape. */
export interface HostTensor {
  data: ArrayLike<number>;
  shape: readonly number[];
}

/** A float64 reference's result. */
export type HostResult = { data: Float64Array; shape: number[] };

/** Float64 reference of {@link permute}. */
export function permuteReference(x: HostTensor, axes: readonly number[]): HostResult {
  const r = x.shape.length;
  const perm = axes.map((a) => (a < 0 ? a + r : a));
  const shape = perm.map((a) => x.shape[a]);
  const xs = rowMajorStrides(x.shape);
  const strides = perm.map((a) => xs[a]);
  return { data: Float64Array.from({ length: numel(shape) }, (_, i) => x.data[dot(coords(i, shape), strides)]), shape };
}

/** Float64 reference of {@link slice}: Python's slicing, index by index. */
export function sliceReference(x: HostTensor, ranges: readonly (SliceRange | undefined)[]): HostResult {
  // Python's own rule, written out independently of sliceIndices: walk from start by step while in range.
  const picks = x.shape.map((n, d) => {
    const r = ranges[d] ?? {};
    const step = r.step ?? 1;
    const norm = (v: number) => (v < 0 ? v + n : v);
    const out: number[] = [];
    if (step > 0) {
      const lo = Math.max(0, Math.min(n, r.start === undefined ? 0 : norm(r.start)));
      const hi = Math.max(0, Math.min(n, r.stop === undefined ? n : norm(r.stop)));
      for (let i = lo; i < hi; i += step) out.push(i);
    } else {
      const hi = Math.max(-1, Math.min(n - 1, r.start === undefined ? n - 1 : norm(r.start)));
      const lo = r.stop === undefined ? -1 : Math.max(-1, Math.min(n - 1, norm(r.stop)));
      for (let i = hi; i > lo; i += step) out.push(i);
    }
    return out;
  });
  const shape = picks.map((p) => p.length);
  const xs = rowMajorStrides(x.shape);
  const source = (i: number) => coords(i, shape).map((c, d) => picks[d][c]);
  return { data: Float64Array.from({ length: numel(shape) }, (_, i) => x.data[dot(source(i), xs)]), shape };
}

/** Float64 reference of {@link pad}. */
export function padReference(
  x: HostTensor,
  paddings: readonly (readonly [number, number])[],
  mode: PadMode = 'constant',
  value = 0,
): HostResult {
  const shape = x.shape.map((n, d) => n + paddings[d][0] + paddings[d][1]);
  const xs = rowMajorStrides(x.shape);
  const data = new Float64Array(numel(shape));
  outer: for (let i = 0; i < data.length; i++) {
    const c = coords(i, shape);
    let at = 0;
    for (let d = 0; d < c.length; d++) {
      const n = x.shape[d];
      let s = c[d] - paddings[d][0];
      if (s < 0 || s >= n) {
        if (mode === 'constant') {
          data[i] = value;
          continue outer;
        }
        if (mode === 'edge') s = Math.min(Math.max(s, 0), n - 1);
        else s = s < 0 ? -s : 2 * (n - 1) - s;
      }
      at += s * xs[d];
    }
    data[i] = x.data[at];
  }
  return { data, shape };
}

/** Float64 reference of {@link zeroPad2d}. */
export function zeroPad2dReference(
  x: ArrayLike<number>,
  shape: Shape,
  pad: Pad2d,
): { out: Float64Array; shape: number[] } {
  const r = padReference({ data: x, shape }, [[0, 0], pad.slice(0, 2), pad.slice(2), [0, 0]] as [number, number][]);
  return { out: r.data, shape: r.shape };
}

/** Float64 reference of {@link gather} (out-of-range indices read 0). */
export function gatherReference(x: HostTensor, indices: HostTensor, axis = 0): HostResult {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const outer = numel(x.shape.slice(0, ax));
  const len = x.shape[ax];
  const inner = numel(x.shape.slice(ax + 1));
  const k = indices.data.length;
  const data = new Float64Array(outer * k * inner);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < k; j++) {
      let ix = indices.data[j];
      if (ix < 0) ix += len;
      if (ix < 0 || ix >= len) continue;
      for (let i = 0; i < inner; i++) data[(o * k + j) * inner + i] = x.data[(o * len + ix) * inner + i];
    }
  return { data, shape: [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)] };
}
