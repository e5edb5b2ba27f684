/**
 * Elementwise ops. Unary and binary ops are declared as data (a WGSL expression for the value and one
 * for the gradient); the table generates the kernels, the autograd rules and the CPU references.
 */
import { runtime, type BufferLike } from '../gpu/runtime.js';
import { fillTemplate, reluWgsl, vecWidth, vecTypes } from '../gpu/wgsl.js';
import { Tensor, checkTensor, defineOp, numel, shapeStr, type Shape } from '../tensor.js';
import { checkChoice, checkNumber, checkShape, showValue, withDefault } from '../validate.js';
import { record } from '../autograd.js';
import { sumTo } from './sum-raw.js';
import { MAX_LAYOUT_RANK, coords, dot, pad8, rowMajorStrides } from './layout.js';
import unarySrc from '../../shaders/unary.wgsl';
import unaryGradSrc from '../../shaders/unary_grad.wgsl';
import binarySrc from '../../shaders/binary.wgsl';
import whereSrc from '../../shaders/where.wgsl';
import fnsSrc from '../../shaders/pointwise_fns.wgsl';

/**
 * A unary op: WGSL for y = f(x, alpha, beta) and for dx = f'(x, y, g, alpha, beta), and a float64 reference.
 * x, y, g have type T (f32 or vec4<f32>: constants are written T(...)); alpha and beta are f32 scalars.
 * The expressions may call shaders/pointwise_fns.wgsl (`nanLike`, `powT`, ...).
 */
interface UnaryDef {
  expr: string;
  grad: string;
  ref: (x: number, alpha: number, beta: number) => number;
}
function unaryTable<K extends string>(rows: Record<K, [string, string, UnaryDef['ref']]>): Record<K, UnaryDef> {
  const entries = Object.entries<[string, string, UnaryDef['ref']]>(rows);
  return Object.fromEntries(entries.map(([op, [expr, grad, ref]]) => [op, { expr, grad, ref }])) as Record<K, UnaryDef>;
}

/** erf(x) in float64 (its Taylor series, summed with all terms positive: exact to about 1e-15). */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  let term = a;
  let total = a;
  for (let n = 1; term > 1e-17 * total; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    total += term;
  }
  return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * total);
}
const normCdf = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2));
const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;

/** The unary ops: [expr, grad, ref]. NaN propagates as in PyTorch and TensorFlow (relu(NaN) is NaN, its gradient 0). */
export const UNARY = unaryTable({
  relu: [reluWgsl('x', 'T(0.0)'), 'select(T(0.0), g, x > T(0.0))', (x) => (x < 0 ? 0 : x)],
  sigmoid: ['1.0 / (1.0 + exp(-x))', 'g * y * (1.0 - y)', (x) => 1 / (1 + Math.exp(-x))],
  exp: ['exp(x)', 'g * y', (x) => Math.exp(x)],
  neg: ['-x', '-g', (x) => -x],
  scale: ['x * alpha', 'g * alpha', (x, a) => x * a],
  addScalar: ['x + alpha', 'g', (x, a) => x + a],
  square: ['x * x', '2.0 * x * g', (x) => x * x],
  sqrt: ['sqrt(x)', 'g * 0.5 / y', (x) => Math.sqrt(x)],
  // log(0) = -inf and log(x < 0) = NaN spelled out: SwiftShader's log returns finite values there.
  log: ['select(log(x), select(T(-1.0) / (x - x), nanLike(x), x < T(0.0)), x <= T(0.0))', 'g / x', (x) => Math.log(x)],
  // tanh(+-inf) = +-1 spelled out (SwiftShader's is NaN); past |x| = 10, tanh(x) rounds to +-1 in f32.
  tanh: ['select(tanh(x), sign(x), abs(x) > T(10.0))', 'g * (1.0 - y * y)', (x) => Math.tanh(x)],
  copy: ['x', 'g', (x) => x],
  // The gradient s * (1 + x * (1 - s)), s = sigmoid(x), is written without y: it does not cancel for large x.
  swish: [
    'x / (1.0 + exp(-x))',
    'g * (1.0 + x * (1.0 - 1.0 / (1.0 + exp(-x)))) / (1.0 + exp(-x))',
    (x) => x / (1 + Math.exp(-x)),
  ],
  leakyRelu: ['select(x * alpha, x, x > T(0.0))', 'select(g * alpha, g, x > T(0.0))', (x, a) => (x > 0 ? x : x * a)],
  elu: [
    'select(alpha * (exp(x) - 1.0), x, x > T(0.0))',
    'select(g * (y + alpha), g, x > T(0.0))',
    (x, a) => (x > 0 ? x : a * Math.expm1(x)),
  ],
  selu: [
    `${SELU_SCALE} * select(${SELU_ALPHA} * (exp(x) - 1.0), x, x > T(0.0))`,
    `g * ${SELU_SCALE} * select(${SELU_ALPHA} * exp(x), T(1.0), x > T(0.0))`,
    (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
  ],
  gelu: ['x * normCdf(x)', 'g * (normCdf(x) + x * normPdf(x))', (x) => x * normCdf(x)],
  geluTanh: [
    '0.5 * x * (1.0 + geluTanhU(x))',
    'g * geluTanhGrad(x)',
    (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  ],
  softplus: [
    'max(x, T(0.0)) + log1pPos(exp(-abs(x)))',
    'g / (1.0 + exp(-x))',
    (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  ],
  hardSigmoid: [
    'clamp(x / 6.0 + 0.5, T(0.0), T(1.0))',
    'select(T(0.0), g / 6.0, abs(x) < T(3.0))',
    (x) => Math.min(1, Math.max(0, x / 6 + 0.5)),
  ],
  hardSwish: [
    'x * clamp(x / 6.0 + 0.5, T(0.0), T(1.0))',
    'select(select(g * (x / 3.0 + 0.5), g, x > T(3.0)), T(0.0), x < T(-3.0))',
    (x) => x * Math.min(1, Math.max(0, x / 6 + 0.5)),
  ],
  abs: ['abs(x)', 'g * sign(x)', (x) => Math.abs(x)],
  sign: ['sign(x)', 'T(0.0)', (x) => Math.sign(x)],
  clip: [
    'clamp(x, T(alpha), T(beta))',
    'select(T(0.0), g, (x >= T(alpha)) & (x <= T(beta)))',
    (x, lo, hi) => Math.min(hi, Math.max(lo, x)),
  ],
  pow: [
    'powT(x, T(alpha))',
    'select(g * alpha * powT(x, T(alpha - 1.0)), T(0.0), alpha == 0.0)',
    (x, a) => Math.pow(x, a),
  ],
});
export type UnaryOp = keyof typeof UNARY;

/** A binary op: WGSL, a float64 reference and (arithmetic ops) the gradients of a and b. */
interface BinaryDef {
  expr: string;
  ref: (a: number, b: number) => number;
  grad?: readonly [BinaryGrad, BinaryGrad];
}
/** One operand's gradient before it is summed back to the operand's shape (y: the op's output). */
type BinaryGrad = (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor;

/** The comparisons' expression: a mask of 0 and 1, false where either is NaN (as IEEE), no gradient. */
const compare = (wgsl: string, ref: (a: number, b: number) => boolean): BinaryDef => ({
  expr: `select(0.0, 1.0, ${wgsl})`,
  ref: (a, b) => Number(ref(a, b)),
});
/** maximum's and minimum's gradient: to a where a wins, ties included (TensorFlow's; PyTorch splits ties). */
const extremumGrad = (aWins: ComparisonOp, bWins: ComparisonOp): readonly [BinaryGrad, BinaryGrad] => [
  (g, a, b) => mul(g, launchBinary(aWins, a, b, g.shape)),
  (g, a, b) => mul(g, launchBinary(bWins, a, b, g.shape)),
];

export const BINARY = {
  add: { expr: 'a + b', ref: (a, b) => a + b, grad: [(g) => g, (g) => g] },
  sub: { expr: 'a - b', ref: (a, b) => a - b, grad: [(g) => g, (g) => neg(g)] },
  mul: { expr: 'a * b', ref: (a, b) => a * b, grad: [(g, _, b) => mul(g, b), (g, a) => mul(g, a)] },
  div: {
    expr: 'a / b',
    ref: (a, b) => a / b,
    grad: [(g, _, b) => div(g, b), (g, a, b) => neg(div(mul(g, a), square(b)))],
  },
  // `first` broadcasts a to the output shape (b is a dummy); it implements broadcastTo.
  first: { expr: 'a', ref: (a) => a },
  // NaN propagates through maximum and minimum (as PyTorch's). NaN tests are written !(a == a): lavapipe
  // compiles a != a (and a != b) as ordered, false for NaN.
  maximum: {
    expr: 'select(max(a, b), a + b, !(a == a) | !(b == b))',
    ref: (a, b) => Math.max(a, b),
    grad: extremumGrad('greaterEqual', 'less'),
  },
  minimum: {
    expr: 'select(min(a, b), a + b, !(a == a) | !(b == b))',
    ref: (a, b) => Math.min(a, b),
    grad: extremumGrad('lessEqual', 'greater'),
  },
  // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log(a), taken as 0 where a = 0 (PyTorch's rule).
  pow: {
    expr: 'powT(a, b)',
    ref: (a, b) => Math.pow(a, b),
    grad: [
      (g, a, b) => mul(g, mul(b, pow(a, addScalar(b, -1)))),
      (g, a, _, y) => where(a, mul(g, mul(y, log(a))), Tensor.zeros([1])),
    ],
  },
  greater: compare('a > b', (a, b) => a > b),
  greaterEqual: compare('a >= b', (a, b) => a >= b),
  less: compare('a < b', (a, b) => a < b),
  lessEqual: compare('a <= b', (a, b) => a <= b),
  equal: compare('a == b', (a, b) => a === b),
  notEqual: { expr: 'select(1.0, 0.0, a == b)', ref: (a, b) => Number(a !== b) },
} satisfies Record<string, BinaryDef>;
export type BinaryOp = keyof typeof BINARY;
type ComparisonOp = 'greater' | 'greaterEqual' | 'less' | 'lessEqual' | 'equal' | 'notEqual';
/** The binary ops with a gradient (all but `first` and the comparisons). */
const ARITHMETIC = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow'] as const;
type ArithmeticOp = (typeof ARITHMETIC)[number];

// The expression helpers appended once (one string each keeps the pipeline cache keys cheap).
const unaryWithFns = unarySrc + fnsSrc;
const unaryGradWithFns = unaryGradSrc + fnsSrc;
const binaryWithFns = binarySrc + fnsSrc;

/**
 * A unary op's kernel (on vec4s where the size allows): y = f(x), or with `g` dx = f'(x, y, g); x or y
 * may then be null where the gradient does not read it (g stands in for its binding).
 */
function launchUnary(op: UnaryOp, x: Tensor | null, y: Tensor | null, g: Tensor | null, alpha: number, beta: number) {
  const rt = runtime();
  const like = (g ?? x) as Tensor;
  const out = Tensor.empty(like.shape);
  const v = vecWidth(like.size);
  const k = g
    ? rt.kernel(`unary-grad:${op}`, fillTemplate(unaryGradWithFns, { GRAD: UNARY[op].grad, ...vecTypes(v) }))
    : rt.kernel(`unary:${op}`, fillTemplate(unaryWithFns, { EXPR: UNARY[op].expr, ...vecTypes(v) }));
  const io: Record<string, BufferLike> = g
    ? { x: (x ?? g).storage, y: (y ?? g).storage, g: g.storage, dx: out.storage }
    : { x: like.storage, y: out.storage };
  rt.dispatch(k, io, { n: like.size / v, alpha, beta }, rt.grid(like.size / v, 256));
  return out;
}

/** A unary op, unchecked (the ops check their arguments); saves only what its gradient reads. */
function applyUnary(op: UnaryOp, x: Tensor, alpha: number, beta = 0): Tensor {
  const y = launchUnary(op, x, null, null, alpha, beta);
  const grad: string = UNARY[op].grad;
  const [readsX, readsY] = [/\bx\b/.test(grad), /\by\b/.test(grad)];
  const save = [...(readsX ? [x] : []), ...(readsY ? [y] : [])];
  return record(op, [x], y, save, (g, saved) => {
    const xs = readsX ? saved[0] : null;
    const ys = readsY ? saved[readsX ? 1 : 0] : null;
    return [launchUnary(op, xs, ys, g, alpha, beta)];
  });
}

/** A scalar operand: any number (NaN and infinities propagate). */
function checkScalar(v: unknown, what: string): number {
  if (typeof v !== 'number') throw new Error(`ossify: ${what} must be a number, got ${showValue(v)}`);
  return v;
}

/** Apply a unary op from {@link UNARY} with its scalars alpha and beta (differentiable). */
export const unary = defineOp('unary', ['', 'x'], (op: UnaryOp, x: Tensor, alpha: number = 0, beta: number = 0) => {
  const checked = checkChoice(op, 'unary op', Object.keys(UNARY) as UnaryOp[]);
  return applyUnary(checked, x, checkScalar(alpha, 'unary alpha'), checkScalar(beta, 'unary beta'));
});

const unaryOp = (op: UnaryOp) => defineOp(op, ['x'], (x: Tensor): Tensor => applyUnary(op, x, 0));

/** max(x, 0), keeping NaN (as PyTorch and TensorFlow). */
export const relu = unaryOp('relu');
/** ReLU's backward from its output y (y > 0 exactly where the input was); unchecked. */
export const reluGradFromOutput = (y: Tensor, g: Tensor): Tensor => launchUnary('relu', y, null, g, 0, 0);
/** 1 / (1 + exp(-x)), elementwise. */
export const sigmoid = unaryOp('sigmoid');
/** Swish (Ramachandran et al. 2017), also called SiLU: x * sigmoid(x), elementwise (EfficientNet's activation). */
export const swish = unaryOp('swish');
/** The same op as {@link swish}, under PyTorch's name. */
export const silu = swish;
/** e^x, elementwise. */
export const exp = unaryOp('exp');
/** -x, elementwise. */
export const neg = unaryOp('neg');
/** x * x, elementwise. */
export const square = unaryOp('square');
/** The square root of x, elementwise (NaN below 0). */
export const sqrt = unaryOp('sqrt');
/** The natural logarithm of x, elementwise: -Infinity at 0, NaN below 0. */
export const log = unaryOp('log');
/** The hyperbolic tangent of x, elementwise. */
export const tanh = unaryOp('tanh');
const scalarOp = (op: UnaryOp, what: string) =>
  defineOp(op, ['x'], (x: Tensor, s: number): Tensor => applyUnary(op, x, checkScalar(s, what)));
/** x * s for a scalar s. */
export const scale = scalarOp('scale', 'scale factor s');
/** x + s for a scalar s. */
export const addScalar = scalarOp('addScalar', 'addScalar s');

/** The NumPy broadcast of two shapes, or an error naming both. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      const dim = `dimension ${i}: ${da} vs ${db}`;
      throw new Error(`ossify: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together (${dim})`);
    }
    out.push(Math.max(da, db));
  }
  return out;
}

/** Row-major strides of `shape` aligned to `out`, with 0 on broadcast axes. */
function broadcastStrides(shape: Shape, out: Shape): number[] {
  const [s, lead] = [rowMajorStrides(shape), out.length - shape.length];
  return out.map((d, j) => (j < lead || (shape[j - lead] === 1 && d !== 1) ? 0 : s[j - lead]));
}

/** A broadcasting kernel (binary ops, where): operand `name` is read through its strides `s<name>`. */
function launchBroadcast(label: string, src: string, operands: Record<string, Tensor>, shape: Shape, constants = {}) {
  if (shape.length > MAX_LAYOUT_RANK)
    throw new Error(`ossify: broadcasting supports rank <= ${MAX_LAYOUT_RANK}, got ${shapeStr(shape)}`);
  const rt = runtime();
  const out = Tensor.empty(shape);
  const buffers: Record<string, BufferLike> = { out: out.storage };
  const params: Record<string, number | number[]> = { n: out.size, rank: shape.length, shape: pad8(shape) };
  for (const [name, t] of Object.entries(operands)) {
    buffers[name] = t.storage;
    params[`s${name}`] = pad8(broadcastStrides(t.shape, shape));
  }
  rt.dispatch(rt.kernel(label, src, constants), buffers, params, rt.grid(out.size, 256));
  return out;
}

function launchBinary(op: BinaryOp, a: Tensor, b: Tensor, shape: Shape): Tensor {
  const src = fillTemplate(binaryWithFns, { EXPR: BINARY[op].expr });
  const same = a.size === numel(shape) && b.size === numel(shape);
  return launchBroadcast(`binary:${op}`, src, { a, b }, shape, { BROADCAST: same ? 0 : 1 });
}

/** Differentiable binary op with broadcasting. */
export const binary = defineOp('binary', ['', 'a', 'b'], (op: ArithmeticOp, a: Tensor, b: Tensor): Tensor =>
  applyBinary(checkChoice(op, 'binary op', ARITHMETIC), a, b),
);

function applyBinary(op: ArithmeticOp, a: Tensor, b: Tensor): Tensor {
  const out = launchBinary(op, a, b, broadcastShapes(a.shape, b.shape));
  const save = op === 'add' || op === 'sub' ? [] : op === 'pow' ? [a, b, out] : [a, b];
  return record(op, [a, b], out, save, (g, [as, bs, ys]) =>
    BINARY[op].grad.map((grad, i) => ([a, b][i].requiresGrad ? sumTo(grad(g, as, bs, ys), [a, b][i].shape) : null)),
  );
}

const binaryOp = (op: ArithmeticOp) =>
  defineOp(op, ['a', 'b'], (a: Tensor, b: Tensor): Tensor => applyBinary(op, a, b));
/** a + b with broadcasting. */
export const add = binaryOp('add');
/** a - b with broadcasting. */
export const sub = binaryOp('sub');
/** a * b with broadcasting. */
export const mul = binaryOp('mul');
/** a / b with broadcasting. */
export const div = binaryOp('div');

/** Broadcast x to `shape` (a copy; differentiable: the gradient sums back). */
export const broadcastTo = defineOp('broadcastTo', ['x'], (x: Tensor, shape: Shape): Tensor => {
  checkShape(shape, 'broadcastTo shape');
  const target = broadcastShapes(x.shape, shape);
  if (target.length !== shape.length || target.some((d, i) => d !== shape[i]))
    throw new Error(`ossify: cannot broadcast ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  const out = launchBinary('first', x, x, shape);
  return record('broadcastTo', [x], out, [], (g) => [sumTo(g, x.shape)]);
});

/** A view with another shape of the same size (no copy). -1 infers one dimension. f32 or int32. */
export const reshape = defineOp('reshape', ['x:any'], (x: Tensor, shape: readonly number[]): Tensor => {
  const dims = Array.isArray(shape) ? shape : null;
  const inferred = dims?.filter((d) => d === -1).length ?? 0;
  if (!dims || !dims.every((d) => d === -1 || (Number.isInteger(d) && d >= 1)) || inferred > 1) {
    const rule = 'a list of positive integers with at most one -1 (inferred)';
    throw new Error(`ossify: reshape shape must be ${rule}, got ${showValue(shape)}`);
  }
  const known = dims.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const resolved = dims.map((d) => (d === -1 ? x.size / known : d));
  if (resolved.reduce((p, d) => p * d, 1) !== x.size || !resolved.every(Number.isInteger))
    throw new Error(`ossify: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(dims)}`);
  const out = x.alias(resolved);
  return record('reshape', [x], out, [], (g) => [g.alias(x.shape)]);
});

/** Leaky ReLU: x for x > 0, else `alpha` * x. `alpha` defaults to 0.01 (PyTorch; Keras uses 0.3, TF.js 0.2). */
export const leakyRelu = defineOp('leakyRelu', ['x'], (x: Tensor, alpha: number = 0.01): Tensor =>
  applyUnary('leakyRelu', x, checkNumber(alpha, 'leakyRelu alpha')),
);
/** ELU: x for x > 0, else `alpha` * (e^x - 1) (alpha 1 by default, as PyTorch, Keras and TF.js). */
export const elu = defineOp('elu', ['x'], (x: Tensor, alpha: number = 1): Tensor =>
  applyUnary('elu', x, checkNumber(alpha, 'elu alpha')),
);
/** SELU (Klambauer et al. 2017): scale * elu(x, alpha) with scale 1.0507009873554805, alpha 1.6732632423543772. */
export const selu = unaryOp('selu');

/** {@link gelu}'s options. */
export interface GeluOptions {
  /**
   * 'none' (default): x * Phi(x), Phi the normal CDF (Keras's `approximate=False`); 'tanh': 0.5 x (1 +
   * tanh(sqrt(2 / pi) (x + 0.044715 x^3))) (Keras's `approximate=True`; PyTorch names both alike).
   */
  approximate?: 'none' | 'tanh';
}
/** GELU, in its exact (erf) form by default or its tanh approximation (see {@link GeluOptions}). */
export const gelu = defineOp('gelu', ['x'], (x: Tensor, opts: GeluOptions = {}): Tensor => {
  const form = checkChoice(withDefault(opts.approximate, 'none'), 'gelu option approximate', ['none', 'tanh']);
  return applyUnary(form === 'none' ? 'gelu' : 'geluTanh', x, 0);
});
/** Softplus: log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) (no overflow for large |x|). */
export const softplus = unaryOp('softplus');
/** Hard sigmoid: clip(x / 6 + 1/2, 0, 1) (PyTorch's and Keras 3's; Keras 2 used clip(0.2 x + 0.5, 0, 1)). */
export const hardSigmoid = unaryOp('hardSigmoid');
/** Hard swish (MobileNetV3): x * hardSigmoid(x). */
export const hardSwish = unaryOp('hardSwish');
/** |x|, elementwise (gradient sign(x), 0 at 0). */
export const abs = unaryOp('abs');
/** -1, 0 or 1 by the sign of x (NaN for NaN); its gradient is 0. */
export const sign = unaryOp('sign');
/** x clipped to [lo, hi] (either may be infinite; NaN stays NaN). The gradient passes where lo <= x <= hi. */
export const clip = defineOp('clip', ['x'], (x: Tensor, lo: number, hi: number): Tensor => {
  [lo, hi].forEach((v, i) => {
    if (typeof v !== 'number' || Number.isNaN(v))
      throw new Error(`ossify: clip ${i ? 'hi' : 'lo'} must be a number (infinities allowed), got ${showValue(v)}`);
  });
  if (lo > hi) throw new Error(`ossify: clip needs lo <= hi, got lo ${lo} and hi ${hi}`);
  return applyUnary('clip', x, lo, hi);
});
/**
 * x raised to `exponent`, a number or a tensor (broadcast with x), as PyTorch's pow: a negative base
 * with an integer exponent keeps its sign when the exponent is odd, with a fractional one it is NaN;
 * x^0 = 1. Differentiable in both; the exponent's gradient x^e log(x) is taken as 0 where x = 0.
 */
export const pow = defineOp('pow', ['x'], (x: Tensor, exponent: number | Tensor): Tensor => {
  if (exponent instanceof Tensor) return applyBinary('pow', x, checkTensor(exponent, 'pow exponent'));
  return applyUnary('pow', x, checkScalar(exponent, 'pow exponent (a number or a tensor)'));
});
/** The larger of a and b elementwise, with broadcasting; NaN if either is NaN. Ties send the gradient to a. */
export const maximum = binaryOp('maximum');
/** The smaller of a and b elementwise, with broadcasting; NaN if either is NaN. Ties send the gradient to a. */
export const minimum = binaryOp('minimum');

/** A comparison: a mask of 0 and 1 (f32) with broadcasting; not differentiable. */
const comparison = (op: ComparisonOp) =>
  defineOp(op, ['a', 'b'], (a: Tensor, b: Tensor): Tensor => launchBinary(op, a, b, broadcastShapes(a.shape, b.shape)));
/** 1 where a > b, else 0 (broadcasting; false where either is NaN). */
export const greater = comparison('greater');
/** 1 where a >= b, else 0 (broadcasting; false where either is NaN). */
export const greaterEqual = comparison('greaterEqual');
/** 1 where a < b, else 0 (broadcasting; false where either is NaN). */
export const less = comparison('less');
/** 1 where a <= b, else 0 (broadcasting; false where either is NaN). */
export const lessEqual = comparison('lessEqual');
/** 1 where a == b, else 0 (broadcasting; false where either is NaN). */
export const equal = comparison('equal');
/** 1 where a != b, else 0 (broadcasting; true where either is NaN). */
export const notEqual = comparison('notEqual');

function launchWhere(c: Tensor, a: Tensor, b: Tensor): Tensor {
  return launchBroadcast('where', whereSrc, { c, a, b }, broadcastShapes(broadcastShapes(c.shape, a.shape), b.shape));
}

/**
 * a where `cond` is nonzero (NaN counts as true, as PyTorch's bool()), else b, the three broadcast together.
 * Differentiable in a and b (each gets the gradient where it was picked).
 */
export const where = defineOp('where', ['cond', 'a', 'b'], (cond: Tensor, a: Tensor, b: Tensor): Tensor => {
  const out = launchWhere(cond, a, b);
  return record('where', [cond, a, b], out, [cond], (g, [c]) => {
    const zero = Tensor.zeros([1]);
    return [
      null,
      a.requiresGrad ? sumTo(launchWhere(c, g, zero), a.shape) : null,
      b.requiresGrad ? sumTo(launchWhere(c, zero, g), b.shape) : null,
    ];
  });
});

/** Float64 CPU references of the elementwise ops (for tests and for users checking results). */
export const reference = {
  unary(op: UnaryOp, x: ArrayLike<number>, alpha = 0, beta = 0): Float64Array {
    return Float64Array.from(x, (v) => UNARY[op].ref(v, alpha, beta));
  },
  binary(
    op: BinaryOp,
    a: ArrayLike<number>,
    aShape: Shape,
    b: ArrayLike<number>,
    bShape: Shape,
  ): { data: Float64Array; shape: number[] } {
    const shape = broadcastShapes(aShape, bShape);
    const [sa, sb] = [broadcastStrides(aShape, shape), broadcastStrides(bShape, shape)];
    const data = Float64Array.from({ length: numel(shape) }, (_, i) => {
      const c = coords(i, shape);
      return BINARY[op].ref(a[dot(c, sa)], b[dot(c, sb)]);
    });
    return { data, shape };
  },
};
