/**
 * Argument checks of every public op, layer, optimizer, CLI flag and sweep grid, where values enter: a refusal
 * names the argument, the value and what is accepted ("ossify: matmul option splits must be an integer >= 1, got 0").
 */

/** The allowed range of a numeric argument (always finite): `min`/`max` inclusive, `above`/`below` exclusive. */
export interface NumberRange {
  integer?: boolean;
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

/** A value as an error message shows it: NaN, -1, 'SAME', [1, 2], undefined, a Tensor by id and shape. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined || v === null || ['number', 'bigint', 'boolean'].includes(typeof v)) return String(v);
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return v.length > 8 ? `an array of ${v.length} values` : `[${v.map(showValue).join(', ')}]`;
  const s = String(v);
  return s === '[object Object]' ? 'an object' : s;
}

/** "an integer in [1, 64]", "a finite number > 0"; `plain` (CLI and grids): "an integer from 32 to 2048", ... */
function describeRange(r: NumberRange, plain = false): string {
  const kind = r.integer ? 'an integer' : plain ? 'a number' : 'a finite number';
  const lo = r.min !== undefined ? `[${r.min}` : r.above !== undefined ? `(${r.above}` : null;
  const hi = r.max !== undefined ? `${r.max}]` : r.below !== undefined ? `${r.below})` : null;
  if (plain && r.integer && lo === '[1' && !hi) return 'a positive integer';
  if (plain && lo && hi) return `${kind} from ${lo.slice(1)} to ${hi.endsWith(')') ? 'below ' : ''}${hi.slice(0, -1)}`;
  if (lo && hi) return `${kind} in ${lo}, ${hi}`;
  if (lo) return `${kind} ${lo[0] === '[' ? '>=' : '>'} ${lo.slice(1)}`;
  if (hi) return `${kind} ${hi.endsWith(']') ? '<=' : '<'} ${hi.slice(0, -1)}`;
  return kind;
}

/** Whether `v` is a finite number within `r`. */
export function inRange(v: unknown, r: NumberRange): v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  if (r.integer && !Number.isInteger(v)) return false;
  if (r.min !== undefined && v < r.min) return false;
  if (r.max !== undefined && v > r.max) return false;
  if (r.above !== undefined && v <= r.above) return false;
  if (r.below !== undefined && v >= r.below) return false;
  return true;
}

/** `v` if it is a finite number within `r`; otherwise an Error naming `what` and the range. */
export function checkNumber(v: unknown, what: string, r: NumberRange = {}): number {
  if (!inRange(v, r)) throw new Error(`ossify: ${what} must be ${describeRange(r)}, got ${showValue(v)}`);
  return v;
}

/** `v` if it is undefined (the default applies) or a number within `r`. */
export function checkOptionalNumber(v: unknown, what: string, r: NumberRange = {}): number | undefined {
  return v === undefined ? undefined : checkNumber(v, what, r);
}

/** `v` if it is one of `choices` (exactly: 'SAME' is not 'same'); otherwise an Error listing them. */
export function checkChoice<T extends string | boolean>(v: unknown, what: string, choices: readonly T[]): T {
  if (!choices.includes(v as T)) {
    throw new Error(`ossify: ${what} must be ${choices.map(showValue).join(' or ')}, got ${showValue(v)}`);
  }
  return v as T;
}

/** What a CLI or grid option's value must be ("a positive integer", '"sum" or "product"'); null when it is. */
export function optionProblem(v: unknown, want: NumberRange | readonly unknown[]): string | null {
  if (!('length' in want)) return inRange(v, want) ? null : describeRange(want, true);
  if (want.includes(v)) return null;
  const words = want.map((w) => JSON.stringify(w));
  return words.length === 2 ? words.join(' or ') : `one of ${words.join(', ')}`;
}

/** `v` if it is true or false; undefined gives `fallback` when one is given (a default), else is refused. */
export function checkBoolean(v: unknown, what: string, fallback?: boolean): boolean {
  if (v === undefined && fallback !== undefined) return fallback;
  return checkChoice(v, what, [true, false]);
}

/** A number for both axes, or a [vertical, horizontal] pair, each within `r`: the pair. */
export function checkPair(v: unknown, what: string, r: NumberRange): [number, number] {
  const pair = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : null;
  if (!pair || !pair.every((d) => inRange(d, r))) {
    const allowed = `${describeRange(r)} or a pair [vertical, horizontal] of them`;
    throw new Error(`ossify: ${what} must be ${allowed}, got ${showValue(v)}`);
  }
  return [pair[0], pair[1]];
}

/** The axes `axes` names (one or a list, negative from the end, all when undefined), sorted, without repeats. */
export function checkAxes(axes: unknown, rank: number, what: string): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : Array.isArray(axes) ? axes : null;
  const range = { integer: true, min: -rank, max: rank - 1 };
  if (!list || !list.every((a) => inRange(a, range))) {
    const axis = `an axis of a rank-${rank} tensor; negative counts from the end`;
    const allowed = `${describeRange(range)} (${axis}) or a list of them`;
    throw new Error(`ossify: ${what} must be ${allowed}, got ${showValue(axes)}`);
  }
  return [...new Set(list.map((a: number) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
}

/** One axis of a rank-`rank` tensor (negative counts from the end), as a non-negative index. */
export function checkAxis(axis: unknown, rank: number, what: string): number {
  const range = { integer: true, min: -rank, max: rank - 1 };
  const a = checkNumber(axis, `${what} (an axis of a rank-${rank} tensor; negative counts from the end)`, range);
  return a < 0 ? a + rank : a;
}

/** Largest number of elements a shape may have (its f32 bytes stay exact as a JavaScript number). */
const MAX_ELEMENTS = 2 ** 50;

/** `shape` if it is a list of positive integers with a representable size; otherwise an Error naming it. */
export function checkShape(shape: unknown, what: string): readonly number[] {
  const dims = Array.isArray(shape) ? shape : null;
  let n = 1;
  for (const d of dims ?? []) n *= typeof d === 'number' ? d : NaN;
  if (!dims || !dims.every((d) => inRange(d, { integer: true, min: 1 })) || !(n <= MAX_ELEMENTS)) {
    const rule = 'it must be a list of positive integers (every dimension >= 1) of at most 2^50 elements';
    throw new Error(`ossify: ${what} ${showValue(shape)} is not a valid shape: ${rule}`);
  }
  return dims;
}

/** Per-side sizes [top, bottom, left, right]. */
type Sides = readonly [number, number, number, number];
const SIDES = '[top, bottom, left, right] of non-negative integers';
const isSides = (v: unknown): v is Sides =>
  Array.isArray(v) && v.length === 4 && v.every((d) => inRange(d, { integer: true, min: 0 }));

/** `v` if it is [top, bottom, left, right] non-negative integers (explicit padding); otherwise an Error. */
export function checkSides(v: unknown, what: string): Sides {
  if (!isSides(v)) throw new Error(`ossify: ${what} must be ${SIDES}, got ${showValue(v)}`);
  return v;
}

/** Padding of a window: 'valid', 'same' (lower case, TensorFlow's rule) or explicit [top, bottom, left, right]. */
export function checkPadding(v: unknown, what: string): 'valid' | 'same' | Sides {
  if (v === 'valid' || v === 'same' || isSides(v)) return v;
  const lower = typeof v === 'string' ? v.toLowerCase() : '';
  const hint = lower === 'valid' || lower === 'same' ? ` (write '${lower}', lower case)` : '';
  throw new Error(`ossify: ${what} must be 'valid', 'same' or ${SIDES}, got ${showValue(v)}${hint}`);
}

/** `v`, or `fallback` when it is undefined (only undefined: a null option is checked, and refused). */
export function withDefault<T>(v: T | undefined, fallback: T): T {
  return v === undefined ? fallback : v;
}
