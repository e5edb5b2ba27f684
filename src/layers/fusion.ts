/**
 * Peephole fusion for {@link Sequential}: adjacent layers that one kernel can run together.
 * - Conv2d -> BatchNorm (moving statistics) [-> ReLU] without autograd (inference): the batch norm,
 *   with the convolution's bias, becomes a per-channel affine map applied in the convolution's store
 *   (`conv2dFused`): no passes of their own for the batch norm and the ReLU. The map is kept by the
 *   batch norm layer until its inputs change ({@link BatchNorm.affineTable}).
 * - BatchNorm -> ReLU, in any mode: one normalise+ReLU pass (and its backward masks the gradient).
 * - ZeroPad2d -> Conv2d ('valid' or explicit padding), in any mode: the convolution pads (its loads
 *   skip the border), no padded copy; then as above when a batch norm follows.
 * Only the library's own classes are fused (a subclass may override forward); the result equals
 * running the layers one by one (tests compare them).
 */
import { isGradEnabled, type Tensor } from '../tensor.js';
import { conv2d, conv2dFused } from '../kernels/conv2d.js';
import type { Pad2d } from '../kernels/pad.js';
import type { Module } from './module.js';
import { Conv2d } from './conv.js';
import { BatchNorm, BatchNorm2d } from './norm.js';
import { ReLU, ZeroPad2d } from './basic.js';

const isExactly = (m: Module | undefined, cls: abstract new (...args: never[]) => Module): boolean => !!m && Object.getPrototypeOf(m) === cls.prototype;
const isBatchNorm = (m: Module | undefined): m is BatchNorm => isExactly(m, BatchNorm) || isExactly(m, BatchNorm2d);

/**
 * Run `layers[i]` fused with the layers after it when a pattern above matches: the output and how many
 * layers it covered; null when nothing fuses (run `layers[i]` alone).
 */
export function runFused(layers: readonly Module[], i: number, x: Tensor): { y: Tensor; used: number } | null {
  // A zero padding followed by a 'valid' or explicitly padded convolution: the convolution pads.
  const padded = isExactly(layers[i], ZeroPad2d) && isExactly(layers[i + 1], Conv2d) && (layers[i + 1] as Conv2d).convOpts().padding !== 'same';
  const skip = padded ? 1 : 0;
  const [a, b, c] = [layers[i + skip], layers[i + skip + 1], layers[i + skip + 2]];
  if (isExactly(a, Conv2d)) {
    const conv = a as Conv2d;
    const opts = conv.convOpts();
    if (padded) opts.padding = addPadding((layers[i] as ZeroPad2d).padding, opts.padding as 'valid' | Pad2d);
    const relu = isExactly(c, ReLU);
    if (isBatchNorm(b) && !b.usesBatchStats && !isGradEnabled() && (opts.groups ?? 1) === 1) {
      const y = conv2dFused(x, conv.kernel, { table: b.affineTable(conv.bias), relu }, opts);
      return { y, used: skip + (relu ? 3 : 2) };
    }
    if (padded) return { y: conv2d(x, conv.kernel, conv.bias, opts), used: 2 };
  }
  if (isBatchNorm(a) && isExactly(b, ReLU)) return { y: a.forward(x, { relu: true }), used: 2 };
  return null;
}

/** Per-side padding of a zero padding followed by a convolution's own ('valid' or explicit). */
function addPadding(outer: Pad2d, inner: 'valid' | Pad2d): Pad2d {
  const p = inner === 'valid' ? [0, 0, 0, 0] : inner;
  return [outer[0] + p[0], outer[1] + p[1], outer[2] + p[2], outer[3] + p[3]];
}
