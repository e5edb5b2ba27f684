/**
 * Seeded, deterministic weight initialisers with Keras's definitions (keras.initializers).
 *
 * Every parameter draws from its own stream, seeded by hashing the model seed with the parameter's
 * key (`<layer_name>.<weight>`): the values depend only on (seed, name, shape), not on the order in
 * which layers were built, so adding a BAM module does not change the backbone's initial weights.
 */

import { makeRng } from './data/rng.js';

/** A 32-bit seed from a base seed and a string key (FNV-1a, then a murmur3 finaliser). */
export function hashSeed(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  h = Math.imul(h ^ Math.floor(seed / 4294967296), 0x01000193) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Keras's fans: a 2-D kernel [in, out] has fan_in = in, fan_out = out; a conv kernel
 * [..spatial, in, out] multiplies both by the receptive field size; a 1-D shape uses its length, a scalar 1.
 */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const receptive = shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const out = shape.at(-1) ?? 1;
  return { fanIn: (shape.at(-2) ?? out) * receptive, fanOut: out * receptive };
}

/**
 * An initialiser: a Keras name (Keras's definitions, formulas in `DRAWN` below; `heNormalFanOut` is
 * EfficientNet's VarianceScaling(2.0, 'fan_out', 'truncated_normal')), zeros, ones or a constant.
 */
export type Initializer =
  | 'glorotUniform'
  | 'glorotNormal'
  | 'heNormal'
  | 'heUniform'
  | 'lecunUniform'
  | 'heNormalFanOut'
  | 'zeros'
  | 'ones'
  | { constant: number };

/** stddev of a unit normal truncated at +-2 (Keras divides by it so that the variance is as asked). */
const TRUNC_STD = 0.8796256610342398;

/** Each drawn initialiser: uniform in (-s, s) or truncated normal times s, s from the fans. */
const DRAWN: Record<
  Exclude<Initializer, object | 'zeros' | 'ones'>,
  ['uniform' | 'truncated', (fanIn: number, fanOut: number) => number]
> = {
  glorotUniform: ['uniform', (i, o) => Math.sqrt(6 / (i + o))],
  glorotNormal: ['truncated', (i, o) => Math.sqrt(2 / (i + o)) / TRUNC_STD],
  heNormal: ['truncated', (i) => Math.sqrt(2 / i) / TRUNC_STD],
  heNormalFanOut: ['truncated', (_, o) => Math.sqrt(2 / o) / TRUNC_STD],
  heUniform: ['uniform', (i) => Math.sqrt(6 / i)],
  lecunUniform: ['uniform', (i) => Math.sqrt(3 / i)],
};

/** The values of a fresh parameter of `shape`, drawn with `init` from a stream seeded by `seed`. */
export function initValues(init: Initializer, shape: readonly number[], seed: number): Float32Array {
  const out = new Float32Array(shape.reduce((p, d) => p * d, 1));
  if (typeof init === 'object') return out.fill(init.constant);
  if (init === 'zeros') return out;
  if (init === 'ones') return out.fill(1);
  const { fanIn, fanOut } = computeFans(shape);
  if (!(init in DRAWN)) throw new Error(`ossify: unknown initializer ${JSON.stringify(init)}`);
  const [dist, scale] = DRAWN[init];
  const s = scale(fanIn, fanOut);
  const rng = makeRng(seed);
  if (dist === 'uniform') {
    for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-s, s);
    return out;
  }
  // Standard normals by Box-Muller (both of a pair, cosine first), those beyond two deviations redrawn.
  for (let i = 0; i < out.length;) {
    let u = rng.next();
    while (u <= 1e-12) u = rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * rng.next();
    const cosine = r * Math.cos(angle);
    const sine = r * Math.sin(angle);
    if (Math.abs(cosine) <= 2) out[i++] = cosine * s;
    if (Math.abs(sine) <= 2 && i < out.length) out[i++] = sine * s;
  }
  return out;
}
