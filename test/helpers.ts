/**
 * Shared test tools: seeded random data, NaN-poisoned outputs, float64 comparisons and finite
 * differences. Every kernel test compares the GPU against a float64 CPU reference.
 */
import { expect } from 'vitest';
import { init, Tensor, tidy, backward, noGrad } from '../src/index.js';
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
  const ts = inputs.map((i) => Tensor.from(Float32Array.from(i.data), i.shape, { requiresGrad: true }));
  const out = tidy(() => op(...ts));
  const w = Tensor.from(Float32Array.from(weights), out.shape);
  backward(out, w);
  const res = { out: await out.read(), grads: await Promise.all(ts.map((t) => t.grad!.read())) };
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
