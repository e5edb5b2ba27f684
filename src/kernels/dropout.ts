/**
 * Inverted dropout (Keras / PyTorch semantics). The mask is a hash of (seed, element index) in WGSL
 * (shaders/dropout.wgsl): no RNG state and no mask buffer; callers pass a fresh seed per step.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp } from '../tensor.js';
import { checkBoolean, checkNumber } from '../validate.js';
import { record } from '../autograd.js';
import dropoutSrc from '../../shaders/dropout.wgsl';

const threshold = (rate: number): number => Math.min(2 ** 32 - 1, Math.round(rate * 2 ** 32));

function launch(x: Tensor, rate: number, seed: number): Tensor {
  const rt = runtime();
  const y = Tensor.empty(x.shape);
  const params = { n: x.size, seed: seed >>> 0, threshold: threshold(rate), scale: 1 / (1 - rate) };
  rt.dispatch(rt.kernel('dropout', dropoutSrc), { x: x.storage, y: y.storage }, params, rt.grid(x.size, 256));
  return y;
}

/**
 * Inverted dropout: each element zeroed (x * 0: NaN stays NaN) with probability `rate` in [0, 1), the others
 * scaled by 1 / (1 - rate); `seed` an integer (modulo 2^32). With `training` false (or rate 0) an identity view.
 */
export const dropout = defineOp(
  'dropout',
  ['x'],
  (x: Tensor, rate: number, seed: number, training: boolean = true): Tensor => {
    checkNumber(rate, 'dropout rate', { min: 0, below: 1 });
    checkNumber(seed, 'dropout seed', { integer: true });
    checkBoolean(training, 'dropout training');
    if (!training || rate === 0) {
      const out = x.alias();
      return record('dropout:identity', [x], out, [], (g) => [g.alias()]);
    }
    const y = launch(x, rate, seed);
    return record('dropout', [x], y, [], (g) => [launch(g, rate, seed)]);
  },
);

function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The keep mask the GPU kernel draws for `n` elements (1 = kept), bit for bit. */
export function dropoutMaskReference(n: number, rate: number, seed: number): Uint8Array {
  const thr = threshold(rate);
  const s = pcg((seed ^ 0x9e3779b9) >>> 0);
  return Uint8Array.from({ length: n }, (_, i) => (pcg(pcg(i) ^ s) >>> 0 >= thr ? 1 : 0));
}

/** Float64 reference of {@link dropout} in training mode. */
export function dropoutReference(x: ArrayLike<number>, rate: number, seed: number): Float64Array {
  const mask = dropoutMaskReference(x.length, rate, seed);
  return Float64Array.from(x, (v, i) => v * (mask[i] ? 1 / (1 - rate) : 0));
}
