// @adapters all
/**
 * Property test of the public ops and options (issue #24). A seeded generator makes calls to the ops,
 * optimizers and backward() with valid arguments (random values, NaN and infinities included where the
 * op defines them), and with one fault each: an invalid option value (NaN, negative, fractional, a
 * wrong string, a huge size), shapes or ranks that do not fit, a disposed tensor, a tensor of a runtime
 * that shutdown() destroyed, or something that is not a tensor. Every call must either give the float64
 * reference's answer or throw an Error whose message names the argument (or the shapes that do not fit)
 * and the problem; after each call, once its results are disposed, live GPU memory must be back where
 * it was (a failed call leaks nothing). Shapes come from a small set so that few kernels are compiled.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import {
  Tensor,
  shutdown,
  runtime,
  tidy,
  backward,
  scale,
  addScalar,
  add,
  sub,
  mul,
  div,
  broadcastTo,
  reshape,
  sum,
  mean,
  matmul,
  conv2d,
  maxPool2d,
  avgPool2d,
  softmaxCrossEntropy,
  softmax,
  batchNorm,
  concat,
  zeroPad2d,
  dropout,
  permute,
  transpose,
  slice,
  pad,
  gather,
  squeeze,
  flatten,
  max,
  min,
  argmax,
  argmin,
  logSumExp,
  prod,
  logSoftmax,
  type SliceRange,
  type PadMode,
  Adam,
  SGD,
  type Conv2dOptions,
  type AvgPool2dOptions,
} from '../src/index.js';
import {
  unary,
  sumReference,
  matmulReference,
  conv2dReference,
  pool2dReference,
  softmaxCrossEntropyReference,
  softmaxReference,
  batchNormReference,
  concatReference,
  zeroPad2dReference,
  permuteReference,
  sliceReference,
  padReference,
  gatherReference,
  reduceOpReference,
  logSoftmaxReference,
  dropoutReference,
  adamReference,
  sgdReference,
  reference,
  type UnaryOp,
} from '../src/internals.js';
import { setup, rng, expectClose, numel } from './helpers.js';

const CALLS = 1200;
/** The generator's seed (OSSIFY_FUZZ_SEED explores others; a failure names the call, reproducible by seed). */
const SEED = Number(process.env.OSSIFY_FUZZ_SEED ?? 24);

type Category =
  'valid' | 'bad option' | 'bad shape' | 'huge size' | 'disposed tensor' | 'foreign tensor' | 'not a tensor';

/** A tensor argument: made from `data` before the call, or replaced by a fault. */
interface Slot {
  /** What an error about this argument must name ("matmul argument b", "batchNorm gamma"). */
  label: string;
  data: ArrayLike<number>;
  shape: number[];
  requiresGrad?: boolean;
  /** The argument also takes non-tensors (an array of class weights): no 'not a tensor' fault. */
  notOnlyTensor?: boolean;
  /** An int32 tensor (indices, labels): `data` holds integers. */
  dtype?: 'int32';
}

interface Expected {
  data: ArrayLike<number>;
  shape: readonly number[];
}

/** The call under test, given the made arguments (tensors, or the faults standing in for them). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the faults are deliberately not tensors
type Call = (args: any[]) => Tensor | Tensor[] | void;

interface Case {
  op: string;
  category: Category;
  slots: Slot[];
  call: Call;
  /** Valid calls: the float64 answer for each returned tensor. */
  want?: () => Expected[];
  tol?: { atol: number; rtol: number };
  /** Failing calls: text the message must hold (an argument or option name, or a shape), and the problem. */
  names?: string[];
  problem?: RegExp;
}

/** A call that must give `want` (within `tol`). */
const valid = (op: string, slots: Slot[], call: Call, want: () => Expected[], tol?: Case['tol']): Case => ({
  op,
  category: 'valid',
  slots,
  call,
  want,
  tol,
});
/** A call that must throw, its message holding every one of `names` and matching `problem`. */
const fails = (op: string, category: Category, slots: Slot[], call: Call, names: string[], problem: RegExp): Case => ({
  op,
  category,
  slots,
  call,
  names,
  problem,
});
const LOOSE = { atol: 1e-4, rtol: 1e-4 };

type R = () => number;
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Values in [-2, 2), rounded to f32, with NaN / infinities put in at random when `special` lists them. */
function values(r: R, n: number, special: readonly number[] = []): Float64Array {
  const v = Float64Array.from({ length: n }, () => Math.fround(-2 + 4 * r()));
  if (special.length && r() < 0.35) {
    for (let k = 0; k < 1 + Math.floor(r() * 2); k++) v[Math.floor(r() * n)] = pick(r, special);
  }
  return v;
}
function slot(r: R, label: string, shape: number[], special: readonly number[] = [], extra: Partial<Slot> = {}): Slot {
  return { label, shape, data: values(r, numel(shape), special), ...extra };
}

const NAN = [NaN];
const NAN_INF = [NaN, Infinity, -Infinity];
const NOT_A_NUMBER = ['2', null, {}, true];
/** Bad values of integer options >= 1 (sizes, strides, splits). */
const BAD_COUNTS = [0, -1, 1.5, NaN, Infinity, ...NOT_A_NUMBER];

// ---- op specs ------------------------------------------------------------------------------------

interface Spec {
  name: string;
  weight: number;
  valid: (r: R) => Case;
  badOption?: (r: R) => Case;
  badShape?: (r: R) => Case;
  huge?: (r: R) => Case;
}

const UNARY_OPS: UnaryOp[] = ['relu', 'sigmoid', 'exp', 'neg', 'square', 'sqrt', 'log', 'tanh'];
const ELEMENTWISE_SHAPES = [[5], [8], [2, 3], [3, 4], [2, 3, 4]];

const unarySpec: Spec = {
  name: 'unary',
  weight: 3,
  valid: (r) => {
    const op = pick(r, UNARY_OPS);
    const x = slot(r, 'unary argument x', pick(r, ELEMENTWISE_SHAPES), NAN_INF, { requiresGrad: r() < 0.3 });
    return valid(
      op,
      [x],
      ([t]) => unary(op, t),
      () => [{ data: reference.unary(op, x.data), shape: x.shape }],
    );
  },
  badOption: (r) => {
    const x = slot(r, 'unary argument x', pick(r, ELEMENTWISE_SHAPES));
    if (r() < 0.5) {
      const op = pick(r, ['Relu', 'Gelu', '', 3]) as UnaryOp;
      return fails('unary', 'bad option', [x], ([t]) => unary(op, t), ['unary op'], /must be 'relu' or/);
    }
    const s = pick(r, ['2', undefined, null, {}]) as number;
    const [name, f] = pick(r, [
      ['scale factor s', scale],
      ['addScalar s', addScalar],
    ] as const);
    return fails(f.name, 'bad option', [x], ([t]) => f(t, s), [name], /must be a number/);
  },
};

const scalarSpec: Spec = {
  name: 'scale/addScalar',
  weight: 1,
  valid: (r) => {
    const s = pick(r, [2, -0.5, 0, NaN, Infinity]);
    const op = pick(r, ['scale', 'addScalar'] as const);
    const x = slot(r, `${op} argument x`, pick(r, ELEMENTWISE_SHAPES), NAN_INF);
    const f = op === 'scale' ? scale : addScalar;
    return valid(
      op,
      [x],
      ([t]) => f(t, s),
      () => [{ data: reference.unary(op, x.data, s), shape: x.shape }],
    );
  },
};

const BINARY = { add, sub, mul, div } as const;
type BinaryName = keyof typeof BINARY;
const BINARY_NAMES = Object.keys(BINARY) as BinaryName[];
const BROADCASTING = [
  [
    [2, 3],
    [2, 3],
  ],
  [
    [2, 3, 4],
    [3, 4],
  ],
  [
    [3, 4],
    [3, 1],
  ],
  [
    [2, 1, 4],
    [3, 1],
  ],
  [[5], [1]],
  [[8], [8]],
];
const NOT_BROADCASTING = [
  [
    [2, 3],
    [3, 4],
  ],
  [[5], [8]],
  [
    [2, 3, 4],
    [3, 3],
  ],
  [
    [3, 4],
    [2, 4, 2],
  ],
];

const binarySpec: Spec = {
  name: 'binary',
  weight: 3,
  valid: (r) => {
    const op = pick(r, BINARY_NAMES);
    const [sa, sb] = pick(r, BROADCASTING);
    const a = slot(r, `${op} argument a`, sa, NAN_INF, { requiresGrad: r() < 0.3 });
    const b = slot(r, `${op} argument b`, sb, NAN_INF);
    return valid(
      op,
      [a, b],
      ([x, y]) => BINARY[op](x, y),
      () => [reference.binary(op, a.data, sa, b.data, sb)],
    );
  },
  badShape: (r) => {
    const op = pick(r, BINARY_NAMES);
    const [sa, sb] = pick(r, NOT_BROADCASTING);
    const slots = [slot(r, 'a', sa), slot(r, 'b', sb)];
    const names = [shapeText(sa), shapeText(sb)];
    return fails(op, 'bad shape', slots, ([x, y]) => BINARY[op](x, y), names, /cannot be broadcast/);
  },
};

const broadcastSpec: Spec = {
  name: 'broadcastTo',
  weight: 1,
  valid: (r) => {
    const [from, to] = pick(r, [
      [
        [3, 1],
        [2, 3, 4],
      ],
      [[4], [3, 4]],
      [[1], [5]],
    ]);
    const x = slot(r, 'broadcastTo argument x', from, NAN);
    const want = () => [reference.binary('first', x.data, from, new Float64Array(numel(to)), to)];
    return valid('broadcastTo', [x], ([t]) => broadcastTo(t, to), want);
  },
  badOption: (r) => {
    const to = pick(r, [[0], [-1, 4], [2.5], 'x', [3, 2]] as unknown[]) as number[];
    // [3, 2] is a valid shape that [3, 4] does not broadcast to: the error names it.
    const isShape = Array.isArray(to) && to.every((d) => Number.isInteger(d) && d > 0);
    const names = isShape ? [shapeText(to)] : ['broadcastTo shape'];
    const x = slot(r, 'x', [3, 4]);
    return fails('broadcastTo', 'bad option', [x], ([t]) => broadcastTo(t, to), names, /not a valid shape|cannot/);
  },
};

const reshapeSpec: Spec = {
  name: 'reshape',
  weight: 1,
  valid: (r) => {
    const [to, shape] = pick(r, [
      [
        [3, 2],
        [3, 2],
      ],
      [[6], [6]],
      [[-1], [6]],
      [
        [1, -1],
        [1, 6],
      ],
      [
        [2, 1, 3],
        [2, 1, 3],
      ],
    ]);
    const x = slot(r, 'reshape argument x', [2, 3], NAN);
    return valid(
      'reshape',
      [x],
      ([t]) => reshape(t, to),
      () => [{ data: x.data, shape }],
    );
  },
  badOption: (r) => {
    const to = pick(r, [[0, 6], [-1, -1], [2.5, 2], 'x', [-2, -3], [NaN]] as unknown[]) as number[];
    const x = slot(r, 'x', [2, 3]);
    const problem = /must be a list of positive integers/;
    return fails('reshape', 'bad option', [x], ([t]) => reshape(t, to), ['reshape shape'], problem);
  },
  badShape: (r) => {
    const to = pick(r, [[4, 2], [7], [2, 2]]);
    const names = [shapeText([2, 3]), shapeText(to)];
    return fails('reshape', 'bad shape', [slot(r, 'x', [2, 3])], ([t]) => reshape(t, to), names, /cannot reshape/);
  },
};

const reduceSpec: Spec = {
  name: 'sum/mean',
  weight: 2,
  valid: (r) => {
    const op = pick(r, ['sum', 'mean'] as const);
    const shape = pick(r, [[2, 3, 4], [3, 4], [5]]);
    const rank = shape.length;
    const axes = pick(r, [undefined, 0, -1, [0, rank - 1], [rank - 1, -rank]]);
    const keepDims = pick(r, [undefined, true, false]);
    const x = slot(r, `${op} argument x`, shape, NAN_INF, { requiresGrad: r() < 0.3 });
    const ax = axes === undefined ? [...shape.keys()] : [...new Set([axes].flat().map((a) => (a < 0 ? a + rank : a)))];
    const kept = shape.map((d, i) => (ax.includes(i) ? 1 : d));
    const dropped = shape.filter((_, i) => !ax.includes(i));
    const count = ax.reduce((p, a) => p * shape[a], 1);
    const f = op === 'sum' ? sum : mean;
    const want = () => [
      {
        data: sumReference(x.data, shape, ax, op === 'mean' ? 1 / count : 1),
        shape: keepDims ? kept : dropped.length ? dropped : [1],
      },
    ];
    return valid(op, [x], ([t]) => f(t, axes, keepDims), want);
  },
  badOption: (r) => {
    const op = pick(r, ['sum', 'mean'] as const);
    const f = op === 'sum' ? sum : mean;
    const x = slot(r, 'x', [2, 3, 4]);
    if (r() < 0.7) {
      const axes = pick(r, [NaN, 0.5, 3, -4, [0, 9], '0', [0, NaN]] as unknown[]) as number;
      return fails(op, 'bad option', [x], ([t]) => f(t, axes), [`${op} axes`], /must be an integer in \[-3, 2\]/);
    }
    const keepDims = pick(r, ['yes', 1, null] as unknown[]) as boolean;
    return fails(op, 'bad option', [x], ([t]) => f(t, 0, keepDims), [`${op} keepDims`], /must be true or false/);
  },
  huge: (r) => {
    const op = pick(r, ['sum', 'mean'] as const);
    const f = op === 'sum' ? sum : mean;
    const x = slot(r, 'x', [3, 4]);
    return fails(op, 'huge size', [x], ([t]) => f(t, 1e9), [`${op} axes`], /must be an integer in \[-2, 1\]/);
  },
};

/** (M, K, N) and the transposes the matmul cases use. */
const MATMUL_SHAPES: [number, number, number, boolean, boolean][] = [
  [3, 8, 4, false, false],
  [3, 8, 4, true, false],
  [3, 8, 4, false, true],
  [2, 5, 3, false, false],
];
const stored = (rows: number, cols: number, trans: boolean): number[] => (trans ? [cols, rows] : [rows, cols]);
const SPLITS_RULE = /must be an integer in \[1, 65535\]/;

const matmulSpec: Spec = {
  name: 'matmul',
  weight: 2,
  valid: (r) => {
    const [M, K, N, ta, tb] = pick(r, MATMUL_SHAPES);
    const splits = pick(r, [undefined, undefined, 1, 2, 3]);
    const a = slot(r, 'matmul argument a', stored(M, K, ta), NAN, { requiresGrad: r() < 0.3 });
    const b = slot(r, 'matmul argument b', stored(K, N, tb), NAN);
    const opts = { transA: ta || undefined, transB: tb || undefined, splits };
    const want = () => [{ data: matmulReference(a.data, a.shape, b.data, b.shape, ta, tb), shape: [M, N] }];
    return valid('matmul', [a, b], ([x, y]) => matmul(x, y, opts), want, LOOSE);
  },
  badOption: (r) => {
    const slots = [slot(r, 'a', [3, 8]), slot(r, 'b', [8, 4])];
    if (r() < 0.7) {
      const splits = pick(r, BAD_COUNTS) as number;
      const call: Call = ([x, y]) => matmul(x, y, { splits });
      return fails('matmul', 'bad option', slots, call, ['matmul option splits'], SPLITS_RULE);
    }
    const [name, v] = pick(r, [
      ['transA', 'yes'],
      ['transB', 1],
      ['transA', null],
    ] as const);
    const call: Call = ([x, y]) => matmul(x, y, { [name]: v });
    return fails('matmul', 'bad option', slots, call, [`matmul option ${name}`], /must be true or false/);
  },
  badShape: (r) => {
    const [sa, sb] = pick(r, [
      [
        [3, 8],
        [5, 4],
      ],
      [[3], [3, 4]],
      // A batched matmul whose inner dimensions disagree (batched operands are valid: issue #25).
      [
        [2, 3, 4],
        [5, 2],
      ],
      [[3, 8], [8]],
    ]);
    const slots = [slot(r, 'a', sa), slot(r, 'b', sb)];
    const names = [shapeText(sa), shapeText(sb)];
    return fails('matmul', 'bad shape', slots, ([x, y]) => matmul(x, y), names, /rank >= 2|do not agree/);
  },
  huge: (r) => {
    const splits = pick(r, [1e9, 2 ** 40]);
    const slots = [slot(r, 'a', [3, 8]), slot(r, 'b', [8, 4])];
    const call: Call = ([x, y]) => matmul(x, y, { splits });
    return fails('matmul', 'huge size', slots, call, ['matmul option splits'], SPLITS_RULE);
  },
};

/** x shape, w shape and the groups that fit them. */
const CONV_SHAPES: [number[], number[], number][] = [
  [[1, 5, 5, 4], [3, 3, 4, 4], 1],
  [[1, 5, 5, 4], [1, 1, 4, 4], 1],
  [[2, 4, 4, 3], [3, 3, 3, 4], 1],
  [[1, 5, 5, 4], [3, 3, 2, 4], 2],
];

/** Output size of one axis, or 0 when the window does not fit (the test's own geometry). */
function outSize(size: number, k: number, s: number, d: number, padding: Conv2dOptions['padding'], axis: 0 | 1) {
  if (padding === 'same') return Math.ceil(size / s);
  const pads = Array.isArray(padding) ? padding[2 * axis] + padding[2 * axis + 1] : 0;
  return Math.max(0, Math.floor((size + pads - (k - 1) * d - 1) / s) + 1);
}

function validConv(r: R): { x: Slot; w: Slot; b: Slot | null; opts: Conv2dOptions } {
  for (;;) {
    const [xs, ws, groups] = pick(r, CONV_SHAPES);
    const opts: Conv2dOptions = {
      stride: pick(r, [undefined, 1, 2, [1, 2]]),
      padding: pick(r, [undefined, 'valid', 'same', [1, 0, 1, 0]]),
      dilation: pick(r, [undefined, 1, 2]),
      groups: groups > 1 ? groups : pick(r, [undefined, 1]),
    };
    const [sh, sw] = typeof opts.stride === 'object' ? opts.stride : [opts.stride ?? 1, opts.stride ?? 1];
    const d = Number(opts.dilation ?? 1);
    const fits = outSize(xs[1], ws[0], sh, d, opts.padding, 0) > 0 && outSize(xs[2], ws[1], sw, d, opts.padding, 1) > 0;
    if (!fits) continue;
    const x = slot(r, 'conv2d argument x', xs, NAN, { requiresGrad: r() < 0.3 });
    const w = slot(r, 'conv2d argument w', ws);
    const b = r() < 0.5 ? slot(r, 'conv2d argument bias', [ws[3]]) : null;
    return { x, w, b, opts };
  }
}

const convSpec: Spec = {
  name: 'conv2d',
  weight: 3,
  valid: (r) => {
    const { x, w, b, opts } = validConv(r);
    const want = () => {
      const ref = conv2dReference(x.data, x.shape, w.data, w.shape, b?.data ?? null, opts);
      return [{ data: ref.out, shape: ref.shape }];
    };
    return valid('conv2d', b ? [x, w, b] : [x, w], ([xt, wt, bt]) => conv2d(xt, wt, bt ?? null, opts), want, LOOSE);
  },
  badOption: (r) => {
    const { x, w, b, opts } = validConv(r);
    const [name, value] = pick(r, [
      ...BAD_COUNTS.map((v) => ['stride', v]),
      ['stride', [1]],
      ['stride', [1, 0]],
      ['dilation', 0],
      ['dilation', NaN],
      ['dilation', [1, -2]],
      ['padding', 'SAME'],
      ['padding', 'Same'],
      ['padding', 'full'],
      ['padding', [1, 1]],
      ['padding', [1, -1, 0, 0]],
      ['padding', [0.5, 0, 0, 0]],
      ['padding', 3],
      ['groups', 0],
      ['groups', 0.5],
      ['groups', NaN],
      ['groups', -2],
    ] as [string, unknown][]);
    const call: Call = ([xt, wt, bt]) => conv2d(xt, wt, bt ?? null, { ...opts, [name]: value });
    return fails('conv2d', 'bad option', b ? [x, w, b] : [x, w], call, [`conv2d option ${name}`], /must be/);
  },
  badShape: (r) => {
    const [xs, ws, bs, names] = pick(r, [
      [[1, 5, 5, 4], [3, 3, 5, 4], null, ['Cin=4', shapeText([3, 3, 5, 4])]],
      [[5, 5, 4], [3, 3, 4, 4], null, ['4-D', shapeText([5, 5, 4])]],
      [[1, 5, 5, 4], [3, 3, 4, 4], [5], ['bias', shapeText([5])]],
      [[1, 2, 2, 4], [3, 3, 4, 4], null, ['empty', shapeText([1, 2, 2, 4])]],
    ] as [number[], number[], number[] | null, string[]][]);
    const slots = [slot(r, 'x', xs), slot(r, 'w', ws), ...(bs ? [slot(r, 'bias', bs)] : [])];
    const call: Call = ([xt, wt, bt]) => conv2d(xt, wt, bt ?? null);
    return fails('conv2d', 'bad shape', slots, call, names, /needs 4-D|disagree|bias must be|would be empty/);
  },
  huge: (r) => {
    // A huge stride is a valid (if odd) single step; a huge dilation leaves no room for the kernel.
    if (r() < 0.5) {
      const stride = pick(r, [2 ** 53, 1e300]);
      const x = slot(r, 'conv2d argument x', [1, 5, 5, 4]);
      const w = slot(r, 'conv2d argument w', [3, 3, 4, 4]);
      const ref = () => conv2dReference(x.data, x.shape, w.data, w.shape, null, { stride: 3 });
      const want = () => [{ data: ref().out, shape: [1, 1, 1, 4] }];
      const call: Call = ([xt, wt]) => conv2d(xt, wt, null, { stride });
      return { ...valid('conv2d', [x, w], call, want, LOOSE), category: 'huge size' };
    }
    const slots = [slot(r, 'x', [1, 5, 5, 4]), slot(r, 'w', [3, 3, 4, 4])];
    const call: Call = ([xt, wt]) => conv2d(xt, wt, null, { dilation: 1e9 });
    return fails('conv2d', 'huge size', slots, call, ['dilation [1000000000, 1000000000]'], /would be empty/);
  },
};

const POOL_SHAPES = [
  [1, 5, 5, 4],
  [2, 4, 4, 3],
];
const pool = (kind: 'max' | 'avg', t: Tensor, o: AvgPool2dOptions): Tensor =>
  kind === 'max' ? maxPool2d(t, o) : avgPool2d(t, o);

const poolSpec: Spec = {
  name: 'maxPool2d/avgPool2d',
  weight: 2,
  valid: (r) => {
    const kind = pick(r, ['max', 'avg'] as const);
    const shape = pick(r, POOL_SHAPES);
    const o: AvgPool2dOptions = {
      size: pick(r, [2, 3, [2, 3]]),
      stride: pick(r, [undefined, 1, 2]),
      padding: pick(r, [undefined, 'valid', 'same', [1, 0, 1, 0]]),
      countIncludePad: kind === 'avg' ? pick(r, [undefined, true, false]) : undefined,
    };
    const x = slot(r, `${kind}Pool2d argument x`, shape, NAN_INF, { requiresGrad: r() < 0.3 });
    const want = () => {
      const ref = pool2dReference(x.data, shape, kind, o);
      return [{ data: ref.y, shape: ref.shape }];
    };
    return valid(`${kind}Pool2d`, [x], ([t]) => pool(kind, t, o), want);
  },
  badOption: (r) => {
    const kind = pick(r, ['max', 'avg'] as const);
    const [name, value] = pick(r, [
      ...BAD_COUNTS.map((v) => ['size', v]),
      ['stride', 0],
      ['stride', NaN],
      ['stride', 1.5],
      ['padding', 'SAME'],
      ['padding', 'full'],
      ['padding', [2, 0, 0, 0]],
      ['padding', [1, 1]],
      ...(kind === 'avg' ? [['countIncludePad', 'yes']] : []),
    ] as [string, unknown][]);
    const o = { size: 2, [name]: value } as AvgPool2dOptions;
    const x = slot(r, 'x', [1, 5, 5, 4]);
    return fails(`${kind}Pool2d`, 'bad option', [x], ([t]) => pool(kind, t, o), [`option ${name}`], /must be/);
  },
  badShape: (r) => {
    const x = slot(r, 'x', [5, 5, 4]);
    return fails('maxPool2d', 'bad shape', [x], ([t]) => maxPool2d(t, { size: 2 }), [shapeText([5, 5, 4])], /NHWC/);
  },
  huge: (r) => {
    const x = slot(r, 'x', [1, 5, 5, 4]);
    return fails('avgPool2d', 'huge size', [x], ([t]) => avgPool2d(t, { size: 1e9 }), ['option size'], /does not fit/);
  },
};

const lossSpec: Spec = {
  name: 'softmaxCrossEntropy/softmax',
  weight: 2,
  valid: (r) => {
    const [N, C] = [3, 4];
    const z = slot(r, 'softmaxCrossEntropy argument logits', [N, C], NAN, { requiresGrad: r() < 0.3 });
    const targets = values(r, N * C, NAN).map(Math.abs);
    const t: Slot = { label: 'softmaxCrossEntropy argument targets', shape: [N, C], data: targets };
    if (r() < 0.25) {
      z.label = 'softmax argument logits';
      const want = () => [{ data: softmaxReference(z.data, N, C), shape: [N, C] }];
      return valid('softmax', [z], ([zt]) => softmax(zt), want);
    }
    const weights = pick(r, ['none', 'array', 'tensor'] as const);
    const cw = values(r, C).map(Math.abs);
    const cwSlot: Slot = { label: 'softmaxCrossEntropy option classWeights', shape: [C], data: cw };
    cwSlot.notOnlyTensor = true;
    const call: Call = ([zt, tt, ct]) => {
      const classWeights = weights === 'tensor' ? ct : Array.from(cw);
      return softmaxCrossEntropy(zt, tt, weights === 'none' ? {} : { classWeights });
    };
    const loss = () => softmaxCrossEntropyReference(z.data, t.data, N, C, weights === 'none' ? undefined : cw).loss;
    const slots = weights === 'tensor' ? [z, t, cwSlot] : [z, t];
    return valid('softmaxCrossEntropy', slots, call, () => [{ data: [loss()], shape: [1] }]);
  },
  badOption: (r) => {
    const cw = pick(r, [[1, 2], [1, NaN, 1, 1], [1, -1, 1, 1], [1, 1, 1, '1'], 'x'] as unknown[]) as number[];
    const slots = [slot(r, 'logits', [3, 4]), slot(r, 'targets', [3, 4])];
    const call: Call = ([z, t]) => softmaxCrossEntropy(z, t, { classWeights: cw });
    const names = ['softmaxCrossEntropy option classWeights'];
    const problem = /must (hold 4 weights|be a finite number >= 0)/;
    return fails('softmaxCrossEntropy', 'bad option', slots, call, names, problem);
  },
  badShape: (r) => {
    const [zs, ts] = pick(r, [
      [
        [3, 4],
        [3, 5],
      ],
      [
        [3, 4],
        [4, 3],
      ],
      [[12], [12]],
    ]);
    const slots = [slot(r, 'logits', zs), slot(r, 'targets', ts)];
    const names = [shapeText(zs.length === 2 ? ts : zs)];
    const call: Call = ([z, t]) => softmaxCrossEntropy(z, t);
    return fails('softmaxCrossEntropy', 'bad shape', slots, call, names, /must be \[3, 4\]|takes logits/);
  },
};

interface BatchNormSlots {
  x: Slot;
  gamma: Slot | null;
  beta: Slot | null;
  mean: Slot;
  variance: Slot;
}

function bnSlots(r: R, shape: number[]): BatchNormSlots {
  const C = shape[shape.length - 1];
  return {
    x: slot(r, 'batchNorm argument x', shape, NAN),
    gamma: r() < 0.7 ? slot(r, 'batchNorm gamma', [C]) : null,
    beta: r() < 0.7 ? slot(r, 'batchNorm beta', [C]) : null,
    mean: slot(r, 'batchNorm movingMean', [C]),
    variance: { label: 'batchNorm movingVar', shape: [C], data: values(r, C).map((v) => 0.5 + Math.abs(v)) },
  };
}

const batchNormSpec: Spec = {
  name: 'batchNorm',
  weight: 2,
  valid: (r) => {
    const shape = pick(r, [
      [2, 3, 4],
      [6, 3],
    ]);
    const s = bnSlots(r, shape);
    const p = {
      training: pick(r, [true, false]),
      momentum: pick(r, [undefined, 0.9, 0]),
      epsilon: pick(r, [undefined, 1e-5, 0.1]),
      varianceUpdate: pick(r, [undefined, 'biased', 'unbiased'] as const),
      relu: pick(r, [undefined, true, false]),
    };
    const slots = [s.x, s.mean, s.variance, ...(s.gamma ? [s.gamma] : []), ...(s.beta ? [s.beta] : [])];
    // The moving statistics are updated in place (training): they are outputs too.
    const call: Call = ([x, m, v, ...gb]) => {
      const [gamma, beta] = [s.gamma ? gb[0] : null, s.beta ? gb[s.gamma ? 1 : 0] : null];
      return [batchNorm(x, { ...p, movingMean: m, movingVar: v, gamma, beta }), m, v];
    };
    const want = () => {
      const [gamma, beta] = [s.gamma?.data ?? null, s.beta?.data ?? null];
      const [movingMean, movingVar] = [s.mean.data, s.variance.data];
      const ref = batchNormReference(s.x.data, shape, { ...p, gamma, beta, movingMean, movingVar });
      const y = p.relu ? ref.y.map((v) => (v < 0 ? 0 : v)) : ref.y;
      const C = s.mean.shape;
      return [
        { data: y, shape },
        { data: ref.movingMean, shape: C },
        { data: ref.movingVar, shape: C },
      ];
    };
    return valid('batchNorm', slots, call, want, LOOSE);
  },
  badOption: (r) => {
    const s = bnSlots(r, [2, 3, 4]);
    const [name, value, problem] = pick(r, [
      ['epsilon', -1, /epsilon must be a finite number >= 0/],
      ['epsilon', NaN, /epsilon must be/],
      ['epsilon', '1e-3', /epsilon must be/],
      ['momentum', 1.5, /momentum \(Keras convention\) must be a finite number in \[0, 1\]/],
      ['momentum', -0.1, /momentum/],
      ['momentum', NaN, /momentum/],
      ['varianceUpdate', 'pytorch', /must be 'biased' or 'unbiased'/],
      ['varianceUpdate', 'Biased', /must be 'biased' or 'unbiased'/],
      ['training', 'yes', /must be true or false/],
      ['relu', 1, /must be true or false/],
    ] as [string, unknown, RegExp][]);
    const call: Call = ([x, m, v]) =>
      batchNorm(x, { gamma: null, beta: null, movingMean: m, movingVar: v, training: true, [name]: value });
    return fails('batchNorm', 'bad option', [s.x, s.mean, s.variance], call, [`batchNorm ${name}`], problem);
  },
  badShape: (r) => {
    const s = bnSlots(r, [2, 3, 4]);
    const gamma = slot(r, 'batchNorm gamma', [5]);
    const call: Call = ([x, m, v, g]) =>
      batchNorm(x, { gamma: g, beta: null, movingMean: m, movingVar: v, training: true });
    const names = ['batchNorm gamma', shapeText([5])];
    return fails('batchNorm', 'bad shape', [s.x, s.mean, s.variance, gamma], call, names, /expected \[4\]/);
  },
};

const concatSpec: Spec = {
  name: 'concat',
  weight: 1,
  valid: (r) => {
    const pieces: [number[], number[], number][] = [
      [[2, 3], [2, 2], 1],
      [[2, 3], [1, 3], 0],
      [[2, 3], [2, 1], -1],
    ];
    const [sa, sb, axis] = pick(r, pieces);
    const a = slot(r, 'concat argument tensors[0]', sa, NAN_INF);
    const b = slot(r, 'concat argument tensors[1]', sb, NAN_INF);
    return valid(
      'concat',
      [a, b],
      ([x, y]) => concat([x, y], axis),
      () => [concatReference([a, b], axis)],
    );
  },
  badOption: (r) => {
    const axis = pick(r, [2, -3, NaN, 0.5, '1']) as number;
    const slots = [slot(r, 'a', [2, 3]), slot(r, 'b', [2, 3])];
    const call: Call = ([x, y]) => concat([x, y], axis);
    return fails('concat', 'bad option', slots, call, ['concat axis'], /must be an integer in \[-2, 1\]/);
  },
  badShape: (r) => {
    if (r() < 0.3) {
      return fails('concat', 'bad shape', [], () => concat([], 0), ['concat argument tensors'], /non-empty array/);
    }
    const slots = [slot(r, 'a', [2, 3]), slot(r, 'b', [3, 2])];
    const names = [shapeText([2, 3]), shapeText([3, 2])];
    return fails('concat', 'bad shape', slots, ([x, y]) => concat([x, y], 1), names, /differ off the axis/);
  },
};

type Pad = [number, number, number, number];

const padSpec: Spec = {
  name: 'zeroPad2d',
  weight: 1,
  valid: (r) => {
    const pad = pick(r, [
      [1, 0, 2, 1],
      [0, 0, 0, 0],
      [1, 1, 1, 1],
    ] as Pad[]);
    const x = slot(r, 'zeroPad2d argument x', [1, 3, 3, 2], NAN_INF);
    const want = () => {
      const ref = zeroPad2dReference(x.data, x.shape, pad);
      return [{ data: ref.out, shape: ref.shape }];
    };
    return valid('zeroPad2d', [x], ([t]) => zeroPad2d(t, pad), want);
  },
  badOption: (r) => {
    const pad = pick(r, [[1, -1, 0, 0], [1, 1], 'x', [0.5, 0, 0, 0], [NaN, 0, 0, 0]]) as Pad;
    const x = slot(r, 'x', [1, 3, 3, 2]);
    const call: Call = ([t]) => zeroPad2d(t, pad);
    return fails('zeroPad2d', 'bad option', [x], call, ['zeroPad2d padding'], /non-negative integers/);
  },
};

/** Issue #25's layout ops: permute/transpose, slice, pad (three modes) and the views. */
const layoutSpec: Spec = {
  name: 'permute/slice/pad/views',
  weight: 2,
  valid: (r) => {
    const shape = pick(r, [
      [2, 3, 4],
      [3, 5],
      [4, 1, 3],
    ]);
    const rank = shape.length;
    const x = slot(r, '', shape, NAN_INF, { requiresGrad: r() < 0.3 });
    const host = { data: x.data, shape };
    const op = pick(r, ['permute', 'transpose', 'slice', 'pad', 'squeeze', 'flatten'] as const);
    x.label = `${op} argument x`;
    const same = () => [{ data: x.data, shape: [] as number[] }];
    switch (op) {
      case 'permute':
      case 'transpose': {
        const perm = [...shape.keys()].sort(() => r() - 0.5);
        const f = op === 'permute' ? permute : transpose;
        return valid(
          op,
          [x],
          ([t]) => f(t, perm),
          () => [permuteReference(host, perm)],
        );
      }
      case 'slice': {
        const ranges: SliceRange[] = shape.map((n) =>
          pick(r, [{}, { start: -1 }, { step: -1 }, { start: n - 1, stop: -n - 5, step: -2 }, { stop: 100, step: 2 }]),
        );
        return valid(
          op,
          [x],
          ([t]) => slice(t, ranges),
          () => [sliceReference(host, ranges)],
        );
      }
      case 'pad': {
        const mode = pick(r, ['constant', 'reflect', 'edge'] as PadMode[]);
        const paddings = shape.map((n) => [Math.floor(r() * n), Math.floor(r() * n)] as [number, number]);
        const value = pick(r, [0, -1.5, NaN, Infinity]);
        const call: Call = ([t]) => pad(t, paddings, { mode, value });
        return valid(op, [x], call, () => [padReference(host, paddings, mode, value)]);
      }
      case 'squeeze': {
        const want = shape.filter((d) => d !== 1);
        return valid(
          op,
          [x],
          ([t]) => squeeze(t),
          () => [{ ...same()[0], shape: want }],
        );
      }
      default: {
        const start = Math.floor(r() * rank);
        const want = [...shape.slice(0, start), numel(shape.slice(start))];
        return valid(
          op,
          [x],
          ([t]) => flatten(t, start),
          () => [{ ...same()[0], shape: want }],
        );
      }
    }
  },
  badOption: (r) => {
    const x = slot(r, 'x', [3, 4]);
    const which = pick(r, ['permute', 'slice', 'pad', 'reflect'] as const);
    if (which === 'permute') {
      const axes = pick(r, [[0], [0, 0], [0, 2], [1, NaN], 'ab', [0, 1, 2]] as unknown[]) as number[];
      return fails('permute', 'bad option', [x], ([t]) => permute(t, axes), ['permute axes'], /each of the 2 axes/);
    }
    if (which === 'slice') {
      const ranges = pick(r, [[{ step: 0 }], [{ start: 0.5 }], [{ start: 2, stop: 1 }], [{ stop: NaN }]] as unknown[]);
      const call: Call = ([t]) => slice(t, ranges as SliceRange[]);
      return fails('slice', 'bad option', [x], call, ['slice range of axis 0'], /must be|selects no element/);
    }
    if (which === 'pad') {
      const p = pick(r, [
        [[1, 1]],
        [
          [-1, 0],
          [0, 0],
        ],
        [
          [0.5, 0],
          [0, 0],
        ],
        'x',
      ] as unknown[]);
      const call: Call = ([t]) => pad(t, p as [number, number][]);
      return fails('pad', 'bad option', [x], call, ['pad paddings'], /2 pairs \[before, after\] of integers >= 0/);
    }
    const call: Call = ([t]) =>
      pad(
        t,
        [
          [0, 3],
          [0, 0],
        ],
        { mode: 'reflect' },
      );
    return fails('pad', 'bad option', [x], call, ["pad mode 'reflect'", 'axis 0'], /under its extent 3/);
  },
  huge: (r) => {
    const x = slot(r, 'x', [3, 4]);
    const call: Call = ([t]) =>
      pad(t, [
        [0, 2 ** 40],
        [0, 2 ** 40],
      ]);
    return fails('pad', 'huge size', [x], call, ['tensor shape'], /not a valid shape|exceeds|too large|size/);
  },
};

/** gather on int32 indices (any shape, negative and out-of-range ones). */
const gatherSpec: Spec = {
  name: 'gather',
  weight: 1,
  valid: (r) => {
    const [shape, axis] = pick(r, [
      [[4, 3], 0],
      [[2, 5], 1],
      [[2, 3, 4], -1],
    ] as [number[], number][]);
    const x = slot(r, 'gather argument x', shape, NAN_INF, { requiresGrad: r() < 0.3 });
    const len = shape.at(axis)!;
    const idxShape = pick(r, [[3], [2, 2]]);
    const idx: Slot = {
      label: 'gather argument indices',
      shape: idxShape,
      data: Array.from({ length: numel(idxShape) }, () => Math.floor(r() * (2 * len + 2)) - len - 1),
      dtype: 'int32',
    };
    const call: Call = ([t, i]) => gather(t, i, axis);
    return valid('gather', [x, idx], call, () => [gatherReference({ data: x.data, shape }, idx, axis)]);
  },
  badShape: (r) => {
    const slots = [slot(r, 'x', [4, 3]), slot(r, 'indices', [2])];
    const call: Call = ([t, i]) => gather(t, i);
    return fails('gather', 'bad shape', slots, call, ['gather argument indices'], /must be an int32 tensor/);
  },
  badOption: (r) => {
    const slots = [slot(r, 'x', [4, 3]), { label: 'i', shape: [2], data: [0, 1], dtype: 'int32' as const }];
    const axis = pick(r, [2, -3, 0.5, NaN]);
    return fails('gather', 'bad option', slots, ([t, i]) => gather(t, i, axis), ['gather axis'], /integer in/);
  },
};

/** Issue #25's reductions: max, min, logSumExp, prod, argmax, argmin and logSoftmax. */
const reduceOpsSpec: Spec = {
  name: 'max/min/argmax/logSumExp/prod/logSoftmax',
  weight: 2,
  valid: (r) => {
    const shape = pick(r, [[2, 3, 4], [3, 5], [7]]);
    const rank = shape.length;
    const op = pick(r, ['max', 'min', 'logSumExp', 'prod', 'argmax', 'argmin', 'logSoftmax'] as const);
    const x = slot(r, `${op} argument x`, shape, NAN_INF, { requiresGrad: r() < 0.3 });
    if (op === 'logSoftmax') {
      const axis = pick(r, [-1, 0]);
      const want = () => [{ data: logSoftmaxReference(x.data, shape, axis), shape }];
      return valid(op, [x], ([t]) => logSoftmax(t, axis), want, LOOSE);
    }
    if (op === 'argmax' || op === 'argmin') {
      const axis = pick(r, [undefined, 0, -1]);
      const ax = axis === undefined ? [...shape.keys()] : [axis < 0 ? axis + rank : axis];
      const kept = shape.filter((_, i) => !ax.includes(i));
      const f = op === 'argmax' ? argmax : argmin;
      const want = () => [{ data: reduceOpReference(op, x.data, shape, ax), shape: kept.length ? kept : [1] }];
      return valid(op, [x], ([t]) => f(t, axis), want);
    }
    const axes = pick(r, [undefined, 0, -1, [0, rank - 1]]);
    const keepDims = pick(r, [undefined, true, false]);
    const ax = axes === undefined ? [...shape.keys()] : [...new Set([axes].flat().map((a) => (a < 0 ? a + rank : a)))];
    const kept = shape.map((d, i) => (ax.includes(i) ? 1 : d));
    const dropped = shape.filter((_, i) => !ax.includes(i));
    const f = { max, min, logSumExp, prod }[op];
    const want = () => [
      { data: reduceOpReference(op, x.data, shape, ax), shape: keepDims ? kept : dropped.length ? dropped : [1] },
    ];
    return valid(op, [x], ([t]) => f(t, axes, keepDims), want, LOOSE);
  },
  badOption: (r) => {
    const x = slot(r, 'x', [2, 3, 4]);
    const op = pick(r, ['max', 'argmax', 'logSoftmax'] as const);
    const bad = pick(r, [NaN, 0.5, 3, -4, '0'] as unknown[]) as number;
    const call: Call = ([t]) => (op === 'max' ? max(t, bad) : op === 'argmax' ? argmax(t, bad) : logSoftmax(t, bad));
    const name = op === 'max' ? 'max axes' : `${op} axis`;
    return fails(op, 'bad option', [x], call, [name], /must be an integer in \[-3, 2\]/);
  },
};

const dropoutSpec: Spec = {
  name: 'dropout',
  weight: 1,
  valid: (r) => {
    const rate = pick(r, [0, 0.3, 0.5]);
    const training = pick(r, [true, false, undefined]);
    const seed = Math.floor(r() * 1000);
    const x = slot(r, 'dropout argument x', pick(r, ELEMENTWISE_SHAPES), NAN_INF);
    const active = training !== false && rate > 0;
    const want = () => [{ data: active ? dropoutReference(x.data, rate, seed) : x.data, shape: x.shape }];
    return valid('dropout', [x], ([t]) => dropout(t, rate, seed, training), want);
  },
  badOption: (r) => {
    const [name, rate, seed, training] = pick(r, [
      ['rate', 1],
      ['rate', -0.1],
      ['rate', NaN],
      ['rate', '0.5'],
      ['seed', 0.5, 0.5],
      ['seed', 0.5, NaN],
      ['training', 0.5, 1, 'yes'],
    ] as [string, number, number?, boolean?][]);
    const call: Call = ([t]) => dropout(t, rate, seed ?? 1, training ?? true);
    return fails('dropout', 'bad option', [slot(r, 'x', [8])], call, [`dropout ${name}`], /must be/);
  },
};

const creationSpec: Spec = {
  name: 'Tensor.from/zeros/full',
  weight: 2,
  valid: (r) => {
    const shape = pick(r, ELEMENTWISE_SHAPES);
    const kind = pick(r, ['from', 'zeros', 'full'] as const);
    const data = values(r, numel(shape), NAN_INF);
    const v = pick(r, [1.5, NaN, -Infinity]);
    const fill = kind === 'zeros' ? 0 : v;
    const call: Call = () => (kind === 'from' ? Tensor.from(data, shape) : Tensor.full(shape, fill));
    const want = () => [{ data: kind === 'from' ? data : new Float64Array(numel(shape)).fill(fill), shape }];
    return valid(`Tensor.${kind}`, [], call, want);
  },
  badShape: (r) => {
    const shape = pick(r, [[0], [-1], [1.5], [NaN], [2, 0], 'x', [Infinity]] as unknown[]) as number[];
    const kind = pick(r, ['zeros', 'ones', 'empty'] as const);
    const call: Call = () => Tensor[kind](shape);
    return fails(`Tensor.${kind}`, 'bad shape', [], call, ['tensor shape'], /is not a valid shape/);
  },
  badOption: (r) => {
    if (r() < 0.5) {
      const call: Call = () => Tensor.from([1, 2, 3], [2, 2]);
      return fails('Tensor.from', 'bad option', [], call, ['3 values', shapeText([2, 2])], /cannot fill/);
    }
    const v = pick(r, ['1', null, undefined] as unknown[]) as number;
    return fails('Tensor.full', 'bad option', [], () => Tensor.full([2], v), ['Tensor.full value'], /must be a number/);
  },
  huge: (r) => {
    const shape = pick(r, [[2 ** 26, 2 ** 26], [2 ** 30, 2 ** 30], [1e9, 1e9, 1e9], [2 ** 40]]);
    const problem = /is not a valid shape|exceeds this adapter's limits/;
    return fails('Tensor.zeros', 'huge size', [], () => Tensor.zeros(shape), ['tensor shape'], problem);
  },
};

const optimizerSpec: Spec = {
  name: 'Adam/SGD',
  weight: 2,
  valid: (r) => {
    const kind = pick(r, ['Adam', 'SGD'] as const);
    const n = pick(r, [5, 8]);
    const p = slot(r, `${kind} parameter 0`, [n], [], { requiresGrad: true });
    const g = values(r, n);
    const adam = {
      lr: pick(r, [0.01, 0, 1]),
      beta1: pick(r, [0.9, 0]),
      beta2: pick(r, [0.999, 0.5]),
      epsilon: pick(r, [1e-7, 0]),
      weightDecay: pick(r, [0, 0.01]),
    };
    const sgd = {
      lr: pick(r, [0.05, 0]),
      momentum: pick(r, [0, 0.9]),
      nesterov: false,
      weightDecay: pick(r, [0, 1e-3]),
    };
    const call: Call = ([pt]) => {
      const opt = kind === 'Adam' ? new Adam([pt], adam) : new SGD([pt], sgd);
      pt.grad = Tensor.from(g, [n]);
      opt.step();
      opt.zeroGrad();
      opt.dispose();
      return [pt];
    };
    const p0 = Float64Array.from(p.data);
    const after = () => (kind === 'Adam' ? adamReference(p0, [g], adam) : sgdReference(p0, [g], sgd));
    const want = () => [{ data: after(), shape: [n] }];
    return valid(kind, [p], call, want, { atol: 1e-5, rtol: 1e-4 });
  },
  badOption: (r) => {
    const p = slot(r, 'p', [5], [], { requiresGrad: true });
    const [kind, name, value, problem] = pick(r, [
      ['Adam', 'lr', NaN, /lr must be a finite number >= 0/],
      ['Adam', 'lr', -1, /lr must be/],
      ['Adam', 'lr', Infinity, /lr must be/],
      ['Adam', 'lr', '0.1', /lr must be/],
      ['Adam', 'beta1', 1.5, /beta1 must be a finite number in \[0, 1\)/],
      ['Adam', 'beta1', 1, /beta1 must be/],
      ['Adam', 'beta2', NaN, /beta2 must be/],
      ['Adam', 'epsilon', -1, /epsilon must be/],
      ['Adam', 'weightDecay', -0.1, /weightDecay must be/],
      ['SGD', 'momentum', -1, /momentum must be/],
      ['SGD', 'momentum', 1, /momentum must be/],
      ['SGD', 'nesterov', 'yes', /nesterov must be true or false/],
      ['SGD', 'nesterov', true, /nesterov needs a momentum/],
      ['SGD', 'lr', NaN, /lr must be/],
    ] as ['Adam' | 'SGD', string, unknown, RegExp][]);
    const opts = { [name]: value };
    const call: Call = ([pt]) => void (kind === 'Adam' ? new Adam([pt], opts) : new SGD([pt], opts));
    return fails(kind, 'bad option', [p], call, [`${kind} ${name}`], problem);
  },
  badShape: (r) => {
    const [params, names, problem] = pick(r, [
      ['no grad', ['Adam parameter 0'], /does not require gradients/],
      ['empty', ['Adam needs a non-empty array of parameters'], /got/],
      ['twice', ['Adam parameter 1'], /is parameter 0 again/],
    ] as [string, string[], RegExp][]);
    const p = slot(r, 'p', [5], [], { requiresGrad: params !== 'no grad' });
    const call: Call = ([pt]) => void new Adam(params === 'empty' ? [] : params === 'twice' ? [pt, pt] : [pt]);
    return fails('Adam', 'bad shape', params === 'empty' ? [] : [p], call, names, problem);
  },
};

const backwardSpec: Spec = {
  name: 'backward',
  weight: 1,
  valid: (r) => {
    const w = slot(r, 'matmul argument a', [3, 8], [], { requiresGrad: true });
    const x = slot(r, 'matmul argument b', [8, 4]);
    const seed = slot(r, 'backward grad', [3, 4]);
    // tidy() frees the forward's output, and everything when backward() throws.
    const call: Call = ([wt, xt, st]) =>
      tidy(() => {
        backward(matmul(wt, xt), st);
        return [wt.grad!];
      });
    const want = () => [{ data: matmulReference(seed.data, [3, 4], x.data, [8, 4], false, true), shape: [3, 8] }];
    return valid('backward', [w, x, seed], call, want, LOOSE);
  },
  badShape: (r) => {
    const shape = pick(r, [[3], [4, 3], [1], [3, 4, 1]]);
    const slots = [slot(r, 'w', [3, 8], [], { requiresGrad: true }), slot(r, 'x', [8, 4]), slot(r, 'seed', shape)];
    const call: Call = ([wt, xt, st]) => tidy(() => backward(matmul(wt, xt), st));
    const names = ['backward grad', shapeText([3, 4]), shapeText(shape)];
    return fails('backward', 'bad shape', slots, call, names, /must have the shape of the loss/);
  },
};

const SPECS: Spec[] = [
  unarySpec,
  scalarSpec,
  binarySpec,
  broadcastSpec,
  reshapeSpec,
  reduceSpec,
  matmulSpec,
  convSpec,
  poolSpec,
  lossSpec,
  batchNormSpec,
  concatSpec,
  padSpec,
  layoutSpec,
  gatherSpec,
  reduceOpsSpec,
  dropoutSpec,
  creationSpec,
  optimizerSpec,
  backwardSpec,
];

// ---- the generator -------------------------------------------------------------------------------

/** Faults of a tensor argument and what the error must then say. */
const TENSOR_FAULTS = {
  'disposed tensor': /was used after dispose\(\)/,
  'foreign tensor': /belongs to a runtime that shutdown\(\) destroyed/,
  'not a tensor': /must be a Tensor, got/,
} as const;
type TensorFault = keyof typeof TENSOR_FAULTS;
const NOT_TENSORS = [3, 'x', [1, 2], {}, true];

/** Categories by cumulative probability. */
const CATEGORIES: [number, Category][] = [
  [0.4, 'valid'],
  [0.58, 'bad option'],
  [0.68, 'bad shape'],
  [0.74, 'huge size'],
  [0.83, 'disposed tensor'],
  [0.91, 'foreign tensor'],
  [1, 'not a tensor'],
];
const MAKERS = { valid: 'valid', 'bad option': 'badOption', 'bad shape': 'badShape', 'huge size': 'huge' } as const;

/** One generated call: a category drawn by weight, then an op that has it. */
function generate(r: R): Case & { fault?: { slot: number; kind: TensorFault; value: unknown } } {
  const u = r();
  const category = CATEGORIES.find(([p]) => u < p)![1];
  const total = SPECS.reduce((s, p) => s + p.weight, 0);
  for (;;) {
    let w = r() * total;
    const spec = SPECS.find((s) => (w -= s.weight) < 0) ?? SPECS[0];
    if (category in MAKERS) {
      const make = spec[MAKERS[category as keyof typeof MAKERS]];
      if (make) return make(r);
      continue;
    }
    // A tensor fault: a valid call with one tensor argument replaced.
    const base = spec.valid(r);
    const kind = category as TensorFault;
    const eligible = base.slots.map((_, i) => i).filter((i) => kind !== 'not a tensor' || !base.slots[i].notOnlyTensor);
    if (!eligible.length) continue;
    const i = pick(r, eligible);
    const fault = { slot: i, kind, value: pick(r, NOT_TENSORS) };
    return { ...base, category, want: undefined, names: [base.slots[i].label], problem: TENSOR_FAULTS[kind], fault };
  }
}

// ---- the run -------------------------------------------------------------------------------------

/** Every shape a slot of the cases has: a foreign tensor of each stands in for it. */
const FOREIGN_SHAPES = [
  [1],
  [5],
  [8],
  [2, 3],
  [3, 4],
  [3, 8],
  [8, 4],
  [2, 5],
  [5, 3],
  [8, 3],
  [4, 8],
  [2, 3, 4],
  [6, 3],
  [4],
  [3],
  [2, 2],
  [1, 3],
  [2, 1],
  [3, 1],
  [2, 1, 4],
  [1, 3, 3, 2],
  [1, 5, 5, 4],
  [2, 4, 4, 3],
  [3, 3, 4, 4],
  [1, 1, 4, 4],
  [3, 3, 3, 4],
  [3, 3, 2, 4],
];

describe('generated calls over the public ops and options (issue #24)', () => {
  /** Tensors of a runtime that shutdown() destroyed, one per shape the cases use. */
  const foreign = new Map<string, Tensor>();

  beforeAll(async () => {
    await setup();
    for (const shape of FOREIGN_SHAPES) foreign.set(shapeText(shape), Tensor.zeros(shape));
    shutdown();
    await setup();
  });

  it(`${CALLS} calls: each gives the float64 reference's answer or a named error, and leaks nothing`, async () => {
    const rt = runtime();
    const r = rng(SEED);
    const live0 = rt.memory().liveBytes;
    const counts = new Map<string, { calls: number; named: number; correct: number }>();
    const ops = new Set<string>();
    const failures: string[] = [];
    for (let n = 0; n < CALLS; n++) {
      const c = generate(r);
      ops.add(c.op);
      const tally = counts.get(c.category) ?? { calls: 0, named: 0, correct: 0 };
      counts.set(c.category, tally);
      tally.calls++;
      // The arguments: tensors made now (a disposed one made and disposed), or the fault's stand-in.
      const made: Tensor[] = [];
      const args = c.slots.map((s, i) => {
        if (c.fault?.slot === i && c.fault.kind === 'not a tensor') return c.fault.value;
        if (c.fault?.slot === i && c.fault.kind === 'foreign tensor') {
          return foreign.get(shapeText(s.shape)) ?? foreign.get('[1]');
        }
        const t = s.dtype
          ? Tensor.from(Int32Array.from(s.data), s.shape)
          : Tensor.from(Float32Array.from(s.data), s.shape, { requiresGrad: s.requiresGrad });
        if (c.fault?.slot === i) t.dispose();
        else made.push(t);
        return t;
      });
      const before = rt.memory();
      const what = `call ${n}: ${c.op} (${c.category})`;
      let outputs: Tensor[] = [];
      let error: unknown = null;
      try {
        const res = c.call(args);
        outputs = res instanceof Tensor ? [res] : Array.isArray(res) ? res : [];
      } catch (e) {
        error = e;
      }
      try {
        if (c.want) {
          if (error) throw new Error(`threw for a valid call: ${(error as Error).message}`);
          const want = c.want();
          expect(outputs.length, `${what}: outputs`).toBe(want.length);
          for (let k = 0; k < want.length; k++) {
            expect([...outputs[k].shape], `${what}: shape of output ${k}`).toEqual([...want[k].shape]);
            const tol = c.tol ?? { atol: 1e-5, rtol: 1e-4 };
            expectClose(await outputs[k].read(), want[k].data, { ...tol, what: `${what}, output ${k}` });
          }
          tally.correct++;
        } else {
          if (!error) throw new Error('did not throw');
          if (!(error instanceof Error)) throw new Error(`threw a non-Error: ${String(error)}`);
          const m = error.message;
          if (!m.startsWith('ossify: ')) throw new Error(`message does not start with 'ossify: ': ${m}`);
          const missing = (c.names ?? []).filter((s) => !m.includes(s));
          if (missing.length) throw new Error(`message does not name ${missing.map((s) => `'${s}'`).join(', ')}: ${m}`);
          if (c.problem && !c.problem.test(m)) throw new Error(`message does not say ${c.problem}: ${m}`);
          tally.named++;
        }
      } catch (e) {
        failures.push(`${what}: ${(e as Error).message.split('\n')[0]}`);
      }
      for (const o of outputs) if (!made.includes(o)) o.dispose();
      const after = rt.memory();
      if (after.liveBytes !== before.liveBytes || after.liveBuffers !== before.liveBuffers) {
        const leak = `${after.liveBytes - before.liveBytes} bytes in ${after.liveBuffers - before.liveBuffers} buffers`;
        failures.push(`${what}: leaked ${leak}`);
      }
      for (const t of made) {
        t.grad?.dispose();
        t.dispose();
      }
    }
    const rows = [...counts].map(([k, v]) => {
      const results = [v.correct && `${v.correct} correct`, v.named && `${v.named} named errors`].filter(Boolean);
      return `${k}: ${v.calls} calls (${results.join(', ')})`;
    });
    const total = [...counts.values()].reduce((s, v) => s + v.calls, 0);
    const ok = [...counts.values()].reduce((s, v) => s + v.correct + v.named, 0);
    const share = ((100 * ok) / total).toFixed(1);
    const leaked = rt.memory().liveBytes - live0;
    const summary = `${total} calls over ${ops.size} ops; ${ok} (${share} %) correct or named`;
    console.log(`fuzz (seed ${SEED}): ${summary}; ${rows.join('; ')}; leaked ${leaked} bytes`);
    expect(failures.slice(0, 20), `${failures.length} of ${total} calls failed`).toEqual([]);
    expect(total).toBeGreaterThanOrEqual(1000);
    // Nothing is held any more, and the runtime still computes.
    expect(rt.memory().liveBytes).toBe(live0);
    const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = Tensor.from([1, 0, -1, 2, 0.5, 1], [3, 2]);
    const y = tidy(() => add(matmul(a, b), Tensor.from([1, -1], [2])));
    expectClose(await y.read(), [0.5 + 1, 7 - 1, 2 + 1, 16 - 1]);
    for (const t of [a, b, y]) t.dispose();
    expect(rt.memory().liveBytes).toBe(live0);
  });
});
