/**
 * Peephole fusion for {@link Sequential}: adjacent layers that one kernel can run together.
 * - Conv2d -> BatchNorm (moving statistics) [-> ReLU] without autograd (inference): the batch norm,
 *   with the convolution's bias, becomes a per-channel affine map applied in the convolution's store
 *   (`conv2dFused`): no passes of their own for the batch norm and the ReLU.
 * - BatchNorm -> ReLU, in any mode: one normalise+ReLU pass (and its backward masks the gradient).
 * Only the library's own classes are fused (a subclass may override forward); the result equals
 * running the layers one by one (tests compare them).
 */
import { isGradEnabled, type Tensor } from '../tensor.js';
import { conv2dFused } from '../kernels/conv2d.js';
import { batchNormAffineTable } from '../kernels/batchnorm.js';
import type { Module } from './module.js';
import { Conv2d } from './conv.js';
import { BatchNorm, BatchNorm2d } from './norm.js';
import { ReLU } from './basic.js';

const isExactly = (m: Module | undefined, cls: abstract new (...args: never[]) => Module): boolean => !!m && Object.getPrototypeOf(m) === cls.prototype;
const isBatchNorm = (m: Module | undefined): m is BatchNorm => isExactly(m, BatchNorm) || isExactly(m, BatchNorm2d);

/**
 * Run `layers[i]` fused with the layers after it when a pattern above matches: the output and how many
 * layers it covered; null when nothing fuses (run `layers[i]` alone).
 */
export function runFused(layers: readonly Module[], i: number, x: Tensor): { y: Tensor; used: number } | null {
  const [a, b, c] = [layers[i], layers[i + 1], layers[i + 2]];
  const relu = isExactly(c, ReLU);
  if (isExactly(a, Conv2d) && isBatchNorm(b) && !b.usesBatchStats && !isGradEnabled()) {
    const conv = a as Conv2d;
    if ((conv.opts.groups ?? 1) === 1) {
      const table = batchNormAffineTable({ gamma: b.gamma, beta: b.beta, movingMean: b.movingMean, movingVar: b.movingVar, epsilon: b.epsilon }, conv.bias);
      const y = conv2dFused(x, conv.kernel, { table, relu }, conv.convOpts());
      table.dispose();
      return { y, used: relu ? 3 : 2 };
    }
  }
  if (isBatchNorm(a) && isExactly(b, ReLU)) return { y: a.forward(x, { relu: true }), used: 2 };
  return null;
}
