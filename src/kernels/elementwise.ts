/**
 * Elementwise ops. Unary and binary ops are declared as data (a WGSL expression for the value and one
 * for the gradient); the table generates the kernels, the autograd rules and the CPU references.
 */
import { runtime } from '../gpu/runtime.js';
import { fillTemplate, reluWgsl } from '../gpu/wgsl.js';
import { Tensor, defineOp, shapeStr, type Shape } from '../tensor.js';
import { checkChoice, checkShape, showValue } from '../validate.js';
import { record } from '../autograd.js';
import { sumTo } from './sum-raw.js';
import { vecWidth, vecTypes } from './vec-width.js';
import unarySrc from '../../shaders/unary.wgsl';
import unaryGradSrc from '../../shaders/unary_grad.wgsl';
import binarySrc from '../../shaders/binary.wgsl';

/**
 * A unary op: WGSL for y = f(x, alpha), its gradient dx = f'(x, y, g, alpha), and a float64 reference.
 * x, y, g have type T (f32, or vec4<f32> for sizes that are multiples of 4): constants that must match
 * them are written T(...); alpha is a scalar f32. The kernel returns NaN for a NaN x whatever the
 * expression gives (shaders/unary.wgsl); `nanLike(x)` is a NaN of type T.
 */
interface UnaryDef {
  expr: string;
  grad: string;
  ref: (x: number, alpha: number) => number;
}

/**
 * The unary op table. `alpha` is a per-call scalar (scale factor, leak, ...). NaN propagates as in
 * PyTorch and TensorFlow: relu(NaN) is NaN (its gradient there is 0, as theirs).
 */
export const UNARY = {
  relu: { expr: reluWgsl('x', 'T(0.0)'), grad: 'select(T(0.0), g, x > T(0.0))', ref: (x) => (x < 0 ? 0 : x) },
  sigmoid: { expr: '1.0 / (1.0 + exp(-x))', grad: 'g * y * (1.0 - y)', ref: (x) => 1 / (1 + Math.exp(-x)) },
  exp: { expr: 'exp(x)', grad: 'g * y', ref: (x) => Math.exp(x) },
  neg: { expr: '-x', grad: '-g', ref: (x) => -x },
  scale: { expr: 'x * alpha', grad: 'g * alpha', ref: (x, a) => x * a },
  addScalar: { expr: 'x + alpha', grad: 'g', ref: (x, a) => x + a },
  square: { expr: 'x * x', grad: '2.0 * x * g', ref: (x) => x * x },
  sqrt: { expr: 'sqrt(x)', grad: 'g * 0.5 / y', ref: (x) => Math.sqrt(x) },
  // log(0) = -inf and log(x < 0) = NaN spelled out: SwiftShader's log returns finite values there.
  log: {
    expr: 'select(log(x), select(T(-1.0) / (x - x), nanLike(x), x < T(0.0)), x <= T(0.0))',
    grad: 'g / x',
    ref: (x) => Math.log(x),
  },
  // tanh(+-inf) = +-1 spelled out (SwiftShader's is NaN); past |x| = 10, tanh(x) rounds to +-1 in f32.
  tanh: { expr: 'select(tanh(x), sign(x), abs(x) > T(10.0))', grad: 'g * (1.0 - y * y)', ref: (x) => Math.tanh(x) },
  copy: { expr: 'x', grad: 'g', ref: (x) => x },
  // Swish / SiLU (Ramachandran et al. 2017; Keras 'swish', PyTorch SiLU): x * sigmoid(x). The gradient
  // s * (1 + x * (1 - s)), s = sigmoid(x), is written without y so that it does not cancel for large x.
  swish: {
    expr: 'x / (1.0 + exp(-x))',
    grad: 'g * (1.0 + x * (1.0 - 1.0 / (1.0 + exp(-x)))) / (1.0 + exp(-x))',
    ref: (x) => x / (1 + Math.exp(-x)),
  },
} satisfies Record<string, UnaryDef>;
export type UnaryOp = keyof typeof UNARY;

/** A binary op: its WGSL expression, a float64 reference, and its gradient rule written with ops. */
export const BINARY = {
  add: { expr: 'a + b', ref: (a: number, b: number) => a + b },
  sub: { expr: 'a - b', ref: (a: number, b: number) => a - b },
  mul: { expr: 'a * b', ref: (a: number, b: number) => a * b },
  div: { expr: 'a / b', ref: (a: number, b: number) => a / b },
  // `first` broadcasts a to the output shape (b is a dummy); it implements broadcastTo.
  first: { expr: 'a', ref: (a: number) => a },
} as const;
export type BinaryOp = keyof typeof BINARY;
/** The binary ops with a gradient (all but `first`). */
type ArithmeticOp = Exclude<BinaryOp, 'first'>;

function launchUnary(op: UnaryOp, x: Tensor, alpha: number): Tensor {
  const rt = runtime();
  const y = Tensor.empty(x.shape);
  const v = vecWidth(x.size);
  const k = rt.kernel(`unary:${op}`, fillTemplate(unarySrc, { EXPR: UNARY[op].expr, ...vecTypes(v) }));
  rt.dispatch(k, { x: x.storage, y: y.storage }, { n: x.size / v, alpha }, rt.grid(x.size / v, 256));
  return y;
}

/** Which of x and y a gradient expression reads: only those are kept alive for backward. */
function gradReads(op: UnaryOp): { x: boolean; y: boolean } {
  const grad: string = UNARY[op].grad;
  return { x: /\bx\b/.test(grad), y: /\by\b/.test(grad) };
}

function launchUnaryGrad(op: UnaryOp, x: Tensor | null, y: Tensor | null, g: Tensor, alpha: number): Tensor {
  const rt = runtime();
  const dx = Tensor.empty(g.shape);
  const v = vecWidth(g.size);
  const k = rt.kernel(`unary-grad:${op}`, fillTemplate(unaryGradSrc, { GRAD: UNARY[op].grad, ...vecTypes(v) }));
  // Bindings the expression does not read get g as a stand-in.
  rt.dispatch(
    k,
    { x: (x ?? g).storage, y: (y ?? g).storage, g: g.storage, dx: dx.storage },
    { n: g.size / v, alpha },
    rt.grid(g.size / v, 256),
  );
  return dx;
}

/** A unary op from the table, unchecked (the ops below check their arguments). */
function applyUnary(op: UnaryOp, x: Tensor, alpha: number): Tensor {
  const y = launchUnary(op, x, alpha);
  const reads = gradReads(op);
  const save = [...(reads.x ? [x] : []), ...(reads.y ? [y] : [])];
  return record(op, [x], y, save, (g, saved) => {
    const xs = reads.x ? saved[0] : null;
    const ys = reads.y ? saved[reads.x ? 1 : 0] : null;
    return [launchUnaryGrad(op, xs, ys, g, alpha)];
  });
}

/** A scalar operand: any number (NaN and infinities propagate as IEEE arithmetic does). */
function checkScalar(v: unknown, what: string): number {
  if (typeof v !== 'number') throw new Error(`ossify: ${what} must be a number, got ${showValue(v)}`);
  return v;
}

/** Apply a unary op from {@link UNARY} (differentiable). */
export const unary = defineOp('unary', ['', 'x'], (op: UnaryOp, x: Tensor, alpha: number = 0): Tensor =>
  applyUnary(checkChoice(op, 'unary op', Object.keys(UNARY) as UnaryOp[]), x, checkScalar(alpha, 'unary alpha')),
);

/** An op of the table with no scalar, under its own name. */
const unaryOp = (op: UnaryOp) => defineOp(op, ['x'], (x: Tensor): Tensor => applyUnary(op, x, 0));

/** max(x, 0), keeping NaN (as PyTorch and TensorFlow). */
export const relu = unaryOp('relu');
/** ReLU's backward from its output y (y > 0 exactly where the input was): g where y > 0, else 0. */
export const reluGradFromOutput = defineOp('reluGradFromOutput', ['y', 'g'], (y: Tensor, g: Tensor): Tensor => {
  if (y.size !== g.size) {
    const got = `${shapeStr(y.shape)} and ${shapeStr(g.shape)}`;
    throw new Error(`ossify: reluGradFromOutput needs y and g of one size, got ${got}`);
  }
  return launchUnaryGrad('relu', y, null, g, 0);
});
/** 1 / (1 + exp(-x)), elementwise. */
export const sigmoid = unaryOp('sigmoid');
/**
 * Swish, also called SiLU: x * sigmoid(x), elementwise (Keras's `swish` activation, PyTorch's `SiLU`;
 * EfficientNet's activation). Its gradient is sigmoid(x) * (1 + x * (1 - sigmoid(x))).
 */
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
/** x * s for a scalar s. */
export const scale = defineOp('scale', ['x'], (x: Tensor, s: number): Tensor =>
  applyUnary('scale', x, checkScalar(s, 'scale factor s')),
);
/** x + s for a scalar s. */
export const addScalar = defineOp('addScalar', ['x'], (x: Tensor, s: number): Tensor =>
  applyUnary('addScalar', x, checkScalar(s, 'addScalar s')),
);

/** The NumPy broadcast of two shapes, or an error naming both. */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new Error(
        `ossify: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together (dimension ${i}: ` +
          `${da} vs ${db})`,
      );
    out.push(Math.max(da, db));
  }
  return out;
}

/** Row-major strides of `shape` aligned to `out`, with 0 on broadcast axes. */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = out.length - shape.length + i;
    strides[j] = shape[i] === 1 && out[j] !== 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

const MAX_RANK = 8;
function launchBinary(op: BinaryOp, a: Tensor, b: Tensor, outShape: Shape): Tensor {
  const rt = runtime();
  if (outShape.length > MAX_RANK)
    throw new Error(`ossify: broadcasting supports rank <= ${MAX_RANK}, got ${shapeStr(outShape)}`);
  const out = Tensor.empty(outShape);
  const same = a.size === out.size && b.size === out.size;
  const k = rt.kernel(`binary:${op}`, fillTemplate(binarySrc, { EXPR: BINARY[op].expr }), { BROADCAST: same ? 0 : 1 });
  const pad = (v: number[]) => [...v, ...new Array(MAX_RANK - v.length).fill(0)];
  rt.dispatch(
    k,
    { a: a.storage, b: b.storage, out: out.storage },
    {
      n: out.size,
      rank: outShape.length,
      shape: pad([...outShape]),
      sa: pad(broadcastStrides(a.shape, outShape)),
      sb: pad(broadcastStrides(b.shape, outShape)),
    },
    rt.grid(out.size, 256),
  );
  return out;
}

/** Differentiable binary op with broadcasting. */
export const binary = defineOp('binary', ['', 'a', 'b'], (op: ArithmeticOp, a: Tensor, b: Tensor): Tensor =>
  applyBinary(checkChoice(op, 'binary op', ['add', 'sub', 'mul', 'div'] as const), a, b),
);

/** A binary op, unchecked (the ops check their arguments). */
function applyBinary(op: ArithmeticOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const out = launchBinary(op, a, b, shape);
  const needs = op === 'mul' || op === 'div';
  return record(op, [a, b], out, needs ? [a, b] : [], (g, saved) => {
    const [as, bs] = saved;
    switch (op) {
      case 'add':
        return [sumTo(g, a.shape), sumTo(g, b.shape)];
      case 'sub':
        return [sumTo(g, a.shape), sumTo(neg(g), b.shape)];
      case 'mul':
        return [a.requiresGrad ? sumTo(mul(g, bs), a.shape) : null, b.requiresGrad ? sumTo(mul(g, as), b.shape) : null];
      case 'div': {
        // d(a/b)/da = 1/b; d(a/b)/db = -a/b^2
        const ga = a.requiresGrad ? sumTo(div(g, bs), a.shape) : null;
        const gb = b.requiresGrad ? sumTo(neg(div(mul(g, as), square(bs))), b.shape) : null;
        return [ga, gb];
      }
    }
  });
}

/** A binary op of the table under its own name. */
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
  if (resolved.reduce((p, d) => p * d, 1) !== x.size || !resolved.every(Number.isInteger)) {
    throw new Error(`ossify: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(dims)}`);
  }
  const out = x.alias(resolved);
  return record('reshape', [x], out, [], (g) => [g.alias(x.shape)]);
});

/** Float64 CPU references of the elementwise ops (for tests and for users checking results). */
export const reference = {
  unary(op: UnaryOp, x: ArrayLike<number>, alpha = 0): Float64Array {
    return Float64Array.from(x, (v) => UNARY[op].ref(v, alpha));
  },
  binary(
    op: BinaryOp,
    a: ArrayLike<number>,
    aShape: Shape,
    b: ArrayLike<number>,
    bShape: Shape,
  ): { data: Float64Array; shape: number[] } {
    const shape = broadcastShapes(aShape, bShape);
    const sa = broadcastStrides(aShape, shape);
    const sb = broadcastStrides(bShape, shape);
    const n = shape.reduce((p, d) => p * d, 1);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let rem = i;
      let ia = 0;
      let ib = 0;
      for (let d = shape.length - 1; d >= 0; d--) {
        const c = rem % shape[d];
        rem = Math.floor(rem / shape[d]);
        ia += c * sa[d];
        ib += c * sb[d];
      }
      data[i] = BINARY[op].ref(a[ia], b[ib]);
    }
    return { data, shape };
  },
};
