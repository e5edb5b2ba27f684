/**
 * Window geometry shared by the convolutions and poolings over channels-last tensors [N, ...dims, C]
 * (1-D, 2-D, 3-D and transposed): option normalisation, TensorFlow's 'same' rule, and the float64
 * reference loop over windows.
 */
import { checkNumber, inRange, showValue, withDefault } from '../validate.js';
import { numel } from '../tensor.js';

/** One spatial axis of a window: `k` taps `d` apart, stride `s`, padding before / after, output size. */
export interface WindowAxis {
  k: number;
  s: number;
  d: number;
  before: number;
  after: number;
  out: number;
}

/** Per-axis padding: 'valid', 'same' (TensorFlow's rule), 'causal' (all before) or [before, after] pairs. */
export type AxisPadding = 'valid' | 'same' | 'causal' | (readonly [number, number])[];

/** An integer >= 1 (rank 1), or (rank 3) one for every axis or one per axis. */
function checkSizes(v: unknown, rank: number, what: string): number[] {
  if (rank === 1) return [checkNumber(v, what, { integer: true, min: 1 })];
  const t = typeof v === 'number' ? Array<number>(rank).fill(v) : Array.isArray(v) && v.length === rank ? v : null;
  if (!t || !t.every((d) => inRange(d, { integer: true, min: 1 })))
    throw new Error(`ossify: ${what} must be an integer >= 1 or [depth, height, width] of them, got ${showValue(v)}`);
  return t;
}

/** A padding option (rank 1 or 3): 'valid', 'same', 'causal' (where allowed) or 2 * rank non-negative integers. */
function checkWindowPadding(p: unknown, rank: number, what: string, causal = false): AxisPadding {
  if (p === undefined || p === 'valid' || p === 'same' || (causal && p === 'causal')) return p ?? 'valid';
  if (Array.isArray(p) && p.length === 2 * rank && p.every((v) => inRange(v, { integer: true, min: 0 })))
    return Array.from({ length: rank }, (_, i) => [p[2 * i], p[2 * i + 1]] as const);
  const modes = causal ? "'valid', 'same', 'causal'" : "'valid', 'same'";
  const sides = rank === 1 ? '[left, right]' : '[front, back, top, bottom, left, right]';
  throw new Error(`ossify: ${what} must be ${modes} or ${sides} non-negative integers, got ${showValue(p)}`);
}

/** [before, after] of TensorFlow's 'same' padding of an axis of size n (output ceil(n / s), the odd cell after). */
export function samePadding(n: number, span: number, s: number): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + span - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** A 2-D padding option as per-axis padding: a mode, or [top, bottom, left, right] as two pairs. */
export const sides2d = (p: 'valid' | 'same' | readonly number[]): AxisPadding =>
  typeof p === 'string' ? p : [p.slice(0, 2) as [number, number], p.slice(2) as [number, number]];

/** Resolve axis `i` of a window over an axis of size n. */
export function windowAxis(n: number, k: number, s: number, d: number, padding: AxisPadding, i = 0): WindowAxis {
  const span = (k - 1) * d + 1;
  let [before, after] = [0, 0];
  if (padding === 'same') [before, after] = samePadding(n, span, s);
  else if (padding === 'causal') before = span - 1;
  else if (padding !== 'valid') [before, after] = padding[i];
  return { k, s, d, before, after, out: Math.floor((n + before + after - span) / s) + 1 };
}

/**
 * Validate the options of a 1-D or 3-D window op over [N, ...dims, C] and resolve its axes: `k` the
 * kernel's taps, or null to take them from opts.size (pooling, whose stride defaults to the size).
 */
export function windowAxes(
  shape: readonly number[],
  opts: { size?: unknown; stride?: unknown; dilation?: unknown; padding?: unknown },
  what: string,
  k: readonly number[] | null,
  causal = false,
): WindowAxis[] {
  if (typeof opts !== 'object' || opts === null)
    throw new Error(`ossify: ${what}s must be an object, got ${showValue(opts)}`);
  const rank = shape.length - 2;
  const size = k ?? checkSizes(opts.size, rank, `${what} size`);
  const s = checkSizes(withDefault(opts.stride, k ? 1 : opts.size), rank, `${what} stride`);
  const d = checkSizes(withDefault(opts.dilation, 1), rank, `${what} dilation`);
  const padding = checkWindowPadding(opts.padding, rank, `${what} padding`, causal);
  return size.map((ki, i) => {
    const a = windowAxis(shape[i + 1], ki, s[i], d[i], padding, i);
    if (a.out < 1)
      throw new Error(
        `ossify: ${what}s: the window (span ${(ki - 1) * d[i] + 1}) does not fit axis ${i} of size ` +
          `${shape[i + 1]} padded ${a.before}+${a.after}`,
      );
    return a;
  });
}

/** How many taps of output position o on axis `a` land inside [0, n). */
export const realTaps = (a: WindowAxis, o: number, n: number): number =>
  Array.from({ length: a.k }, (_, j) => o * a.s - a.before + j * a.d).filter((v) => v >= 0 && v < n).length;

/** The first output position on axis `a` whose window reads only padding (a dilated window can step over the input). */
export const emptyWindow = (a: WindowAxis, n: number): number | undefined =>
  Array.from({ length: a.out }, (_, o) => o).find((o) => realTaps(a, o, n) === 0);

/**
 * Float64 reference loop of a window op over [N, ...dims, C]: calls `cell(o, taps)` for every output
 * cell o (flat over [N, ...outputs]) with its taps inside the input as [t, i]: t the flat tap over the
 * window's axes, i the flat input cell over [N, ...dims].
 */
export function forEachWindow(
  N: number,
  dims: readonly number[],
  axes: readonly WindowAxis[],
  cell: (o: number, taps: [number, number][]) => void,
): void {
  const taps = numel(axes.map((a) => a.k));
  for (let o = 0; o < N * numel(axes.map((a) => a.out)); o++) {
    const inside: [number, number][] = [];
    for (let t = 0; t < taps; t++) {
      let [ro, rt, at, stride, ok] = [o, t, 0, 1, true];
      for (let a = axes.length - 1; a >= 0; a--) {
        const { k, s, d, before, out } = axes[a];
        const pos = (ro % out) * s - before + (rt % k) * d;
        ok &&= pos >= 0 && pos < dims[a];
        at += pos * stride;
        stride *= dims[a];
        ro = Math.floor(ro / out);
        rt = Math.floor(rt / k);
      }
      if (ok) inside.push([t, at + ro * stride]);
    }
    cell(o, inside);
  }
}

/** Float64 reference of a convolution of x [N, ...dims, Cin] with w [...taps, Cin/groups, Cout]. */
export function convReference(
  x: ArrayLike<number>,
  xShape: readonly number[],
  w: ArrayLike<number>,
  wShape: readonly number[],
  bias: ArrayLike<number> | null,
  axes: readonly WindowAxis[],
  groups = 1,
): { out: Float64Array; shape: number[] } {
  const [Cin, [Cig, Cout]] = [xShape[xShape.length - 1], wShape.slice(-2)];
  const shape = [xShape[0], ...axes.map((a) => a.out), Cout];
  const out = new Float64Array(numel(shape));
  forEachWindow(xShape[0], xShape.slice(1, -1), axes, (o, taps) => {
    for (let co = 0; co < Cout; co++) {
      const g = Math.floor(co / (Cout / groups));
      let acc = bias ? bias[co] : 0;
      for (const [t, i] of taps)
        for (let j = 0; j < Cig; j++) acc += x[i * Cin + g * Cig + j] * w[(t * Cig + j) * Cout + co];
      out[o * Cout + co] = acc;
    }
  });
  return { out, shape };
}

/**
 * Float64 reference of max or average pooling of x [N, ...dims, C], and for max each output's arg-max
 * (the first maximum in scan order; a NaN wins).
 */
export function poolReference(
  x: ArrayLike<number>,
  xShape: readonly number[],
  kind: 'max' | 'avg',
  axes: readonly WindowAxis[],
  countIncludePad = false,
): { out: Float64Array; shape: number[]; argmax: Int32Array } {
  const C = xShape[xShape.length - 1];
  const shape = [xShape[0], ...axes.map((a) => a.out), C];
  const out = new Float64Array(numel(shape));
  const argmax = new Int32Array(out.length).fill(-1);
  const full = numel(axes.map((a) => a.k));
  forEachWindow(xShape[0], xShape.slice(1, -1), axes, (o, taps) => {
    for (let c = 0; c < C; c++) {
      const cells = taps.map(([, i]) => i * C + c);
      if (kind === 'max') {
        argmax[o * C + c] = cells.reduce((b, i) => (Number.isNaN(x[b]) || x[i] <= x[b] ? b : i));
        out[o * C + c] = x[argmax[o * C + c]];
      } else out[o * C + c] = cells.reduce((s, i) => s + x[i], 0) / (countIncludePad ? full : cells.length);
    }
  });
  return { out, shape, argmax };
}
