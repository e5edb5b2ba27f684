/**
 * Shared test tools: seeded random data, NaN-poisoned outputs, float64 comparisons and finite
 * differences. Every kernel test compares the GPU against a float64 CPU reference.
 */
import { expect } from 'vitest';
import { init, Tensor, tidy, backward, noGrad, softmaxCrossEntropy, Adam, type Model } from '../src/index.js';
import { setPoison } from '../src/internals.js';

/** Initialise the runtime with poisoning on (unwritten outputs read back as NaN). */
export async function setup(): Promise<void> {
  await init({ verbose: false });
  setPoison(true);
}

/** A seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` uniform values in [lo, hi), rounded to f32 so the reference sees what the GPU sees. */
export function randArray(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from(Float32Array.from({ length: n }, () => lo + (hi - lo) * r()));
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/**
 * Assert GPU values match a float64 reference: |got - want| <= atol + rtol * |want| everywhere, NaN
 * exactly where the reference has NaN (elsewhere a NaN is a poisoned, unwritten element) and
 * infinities equal. Reports the worst element.
 */
export function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  opts: { atol?: number; rtol?: number; what?: string } = {},
): void {
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  expect(got.length, `${opts.what ?? 'values'}: length`).toBe(want.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if ((!Number.isFinite(g) || !Number.isFinite(w)) && g !== w) {
      worst = i;
      worstExcess = Infinity;
      break;
    }
    const excess = Math.abs(g - w) - (atol + rtol * Math.abs(w));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0)
    expect.fail(
      `${opts.what ?? 'values'}: element ${worst} is ${got[worst]}, expected ${want[worst]} (atol ${atol}, ` +
        `rtol ${rtol})`,
    );
}

/** Relative L2 error ||got - want|| / ||want||. */
export function relL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/**
 * Central finite differences of a float64 scalar function f(x) at x, for `count` sampled coordinates
 * (all when count >= x.length). Returns [indices, derivatives].
 */
export function finiteDiff(
  f: (x: Float64Array) => number,
  x: Float64Array,
  opts: { eps?: number; count?: number; seed?: number } = {},
): [number[], number[]] {
  const eps = opts.eps ?? 1e-6;
  const r = rng(opts.seed ?? 7);
  const idx =
    opts.count && opts.count < x.length
      ? Array.from({ length: opts.count }, () => Math.floor(r() * x.length))
      : [...x.keys()];
  const d = idx.map((i) => {
    const xp = Float64Array.from(x);
    const xm = Float64Array.from(x);
    xp[i] += eps;
    xm[i] -= eps;
    return (f(xp) - f(xm)) / (2 * eps);
  });
  return [idx, d];
}

/**
 * Gradients through the GPU autograd of sum(op(inputs) * weights) with respect to each input, where
 * `weights` is a fixed random tensor (so every output element contributes with its own weight).
 * Returns [output values, gradients per input].
 */
export async function gpuGrads(
  op: (...xs: Tensor[]) => Tensor,
  inputs: { data: ArrayLike<number>; shape: readonly number[] }[],
  weights: ArrayLike<number>,
): Promise<{ out: Float32Array; grads: Float32Array[] }> {
  const { out, grads } = await runOp(op, inputs, () => weights);
  return { out, grads: grads as Float32Array[] };
}

/**
 * gpuGrads for inputs that may be constants (`grad: false`, whose gradient is null), with the weights
 * made from the output's size.
 */
async function runOp(
  op: (...xs: Tensor[]) => Tensor,
  inputs: { data: ArrayLike<number>; shape: readonly number[]; grad?: boolean }[],
  weights: (n: number) => ArrayLike<number>,
): Promise<{ out: Float32Array; grads: (Float32Array | null)[]; dy: Float64Array }> {
  const ts = inputs.map((i) => Tensor.from(Float32Array.from(i.data), i.shape, { requiresGrad: i.grad !== false }));
  const out = tidy(() => op(...ts));
  const dy = Float64Array.from(Float32Array.from(weights(out.size)));
  const w = Tensor.from(Float32Array.from(dy), out.shape);
  backward(out, w);
  const res = {
    out: await out.read(),
    grads: await Promise.all(ts.map((t, k) => (inputs[k].grad === false ? null : t.grad!.read()))),
    dy,
  };
  noGrad(() => {
    for (const t of [...ts, out, w]) {
      t.grad?.dispose();
      t.dispose();
    }
  });
  return res;
}

/** Dot product of a float64 vector with weights: the scalar that finite differences differentiate. */
export function weightedSum(values: ArrayLike<number>, weights: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * weights[i];
  return s;
}

/** A tolerance: |got - want| <= atol + rtol * |want| (expectClose's defaults where left out). */
export interface Tol {
  atol?: number;
  rtol?: number;
}

/** One input of an op under test: its shape and its values (given, or seeded uniform in `range`). */
export interface OpInput {
  shape: readonly number[];
  data?: ArrayLike<number>;
  /** Seed of the random values (default: 1 + the input's index). */
  seed?: number;
  /** Range of the random values (default [-1, 1)). */
  range?: readonly [number, number];
  /** false: a constant (targets, masks): no gradient is taken or checked. */
  grad?: boolean;
}

/** An op's check: the GPU op, its float64 references and the tolerances of each comparison. */
export interface OpCheck {
  op: (...xs: Tensor[]) => Tensor;
  inputs: readonly OpInput[];
  /** The float64 forward reference, on the inputs' values. */
  ref?: (...xs: Float64Array[]) => ArrayLike<number>;
  /** Forward tolerance (expectClose's defaults where left out). */
  fwd?: Tol;
  /**
   * The float64 backward reference: the gradient of sum(op(xs) * dy) for each input that takes one
   * (null where it has none).
   */
  backwardRef?: (dy: Float64Array, ...xs: Float64Array[]) => readonly (ArrayLike<number> | null)[];
  /** Tolerance of the backward reference, one for all inputs or one per input; an atol may scale with the gradient. */
  bwd?: GradTol | readonly GradTol[];
  /**
   * Finite differences of `ref` at (count) sampled coordinates of every input that takes a gradient,
   * against the GPU gradients; one tolerance for all inputs or one per input; false: none.
   */
  fd?: false | FdTol | readonly FdTol[];
  /**
   * The composite of primitive ops that a fused `op` replaces: its output and gradients on the GPU
   * must equal the fused op's.
   */
  composite?: { op: (...xs: Tensor[]) => Tensor; fwd?: Tol; bwd?: Tol };
  /** The output's gradient weights: given, or the seed of random ones (default 99). */
  dy?: ArrayLike<number> | number;
  /** Names the case in failure messages. */
  what?: string;
}

export type GradTol = { atol?: number | ((want: ArrayLike<number>) => number); rtol?: number };
export type FdTol = Tol & { count?: number; eps?: number };

/**
 * The op-test helper (as tinygrad's `helper_test_op`): runs `op` on the GPU with poisoned outputs and
 * checks its output against the float64 forward reference, and the gradients of sum(op(xs) * dy) for
 * every differentiable input against the float64 backward reference and against finite differences of
 * the forward reference. Returns the values it used and got, for a case's own further checks.
 */
export async function checkOp(c: OpCheck): Promise<{
  xs: Float64Array[];
  dy: Float64Array;
  out: Float32Array;
  grads: (Float32Array | null)[];
}> {
  setPoison(true);
  const what = c.what ? `${c.what}: ` : '';
  const xs = c.inputs.map((i, k) =>
    i.data
      ? Float64Array.from(Float32Array.from(i.data))
      : randArray(numel(i.shape), i.seed ?? 1 + k, ...(i.range ?? [-1, 1])),
  );
  const want = c.ref?.(...xs);
  const inputs = xs.map((data, k) => ({ data, shape: c.inputs[k].shape, grad: c.inputs[k].grad }));
  const { out, grads, dy } = await runOp(c.op, inputs, (n) =>
    typeof c.dy === 'object' ? c.dy : randArray(n, c.dy ?? 99),
  );
  if (want) expectClose(out, want, { ...c.fwd, what: `${what}forward` });
  const perInput = <T>(t: T | readonly T[] | undefined, k: number): T | undefined =>
    Array.isArray(t) ? (t as readonly T[])[k] : (t as T | undefined);
  if (c.backwardRef) {
    const wantGrads = c.backwardRef(dy, ...xs);
    grads.forEach((g, k) => {
      const w = wantGrads[k];
      if (!g || !w) return;
      const tol = perInput(c.bwd, k) ?? {};
      const atol = typeof tol.atol === 'function' ? tol.atol(w) : tol.atol;
      expectClose(g, w, { atol, rtol: tol.rtol, what: `${what}gradient ${k} vs backward reference` });
    });
  }
  if (c.fd !== false && c.ref) {
    const ref = c.ref;
    grads.forEach((g, k) => {
      if (!g) return;
      const tol = perInput(c.fd as FdTol | readonly FdTol[] | undefined, k) ?? {};
      const f = (v: Float64Array) => weightedSum(ref(...xs.map((x, j) => (j === k ? v : x))), dy);
      const [idx, d] = finiteDiff(f, xs[k], { count: tol.count, eps: tol.eps });
      expectClose(
        idx.map((i) => g[i]),
        d,
        { atol: tol.atol, rtol: tol.rtol, what: `${what}gradient ${k} vs finite differences` },
      );
    });
  }
  if (c.composite) {
    const comp = await runOp(c.composite.op, inputs, () => dy);
    expectClose(out, comp.out, { ...c.composite.fwd, what: `${what}fused vs composite forward` });
    grads.forEach(
      (g, k) =>
        g && expectClose(g, comp.grads[k]!, { ...c.composite!.bwd, what: `${what}fused vs composite grad ${k}` }),
    );
  }
  return { xs, dy, out, grads };
}

/**
 * `steps` training steps of `model` on one batch (softmax cross-entropy on one-hot `y`, Adam at `lr`): the
 * losses, for the overfit tests of the models.
 */
export async function overfitLosses(model: Model, x: Tensor, y: Tensor, steps = 20, lr = 3e-3): Promise<number[]> {
  const opt = new Adam(model.parameters(), { lr });
  model.train();
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = tidy(() => {
      const l = softmaxCrossEntropy(model.forwardTrain(x), y);
      backward(l);
      return l;
    });
    opt.step();
    opt.zeroGrad();
    losses.push(await loss.item());
    loss.dispose();
  }
  opt.dispose();
  return losses;
}
