/**
 * The combine step of BAM (Park et al., BMVC 2018): out = x * (1 + sigmoid(a)), the channel attention mc
 * [N, C] broadcast over space, the spatial attention ms [N, H, W, 1] over channels. One fused pass forward;
 * backward one elementwise pass (dx and the terms of dmc / dms), then two sums.
 */
import { runtime } from '../gpu/runtime.js';
import { vecWidth, vecSource } from '../gpu/wgsl.js';
import { Tensor, defineOp, shapeStr } from '../tensor.js';
import { checkChoice } from '../validate.js';
import { record } from '../autograd.js';
import { sum } from './reduce.js';
import { storages } from './batchnorm.js';
import bamSrc from '../../shaders/bam.wgsl';
import bamGradSrc from '../../shaders/bam_grad.wgsl';

/** How BAM combines channel and spatial attention: 'sum' (paper) or 'product' (official code). */
export type BamMode = 'sum' | 'product';

/** out = x * (1 + sigmoid(mc + ms)) ('sum') or x * (1 + sigmoid(mc * ms)) ('product'). Differentiable in all three. */
export const bamCombine = defineOp(
  'bamCombine',
  ['x', 'mc', 'ms'],
  (x: Tensor, mc: Tensor, ms: Tensor, mode: BamMode = 'sum'): Tensor => {
    checkChoice(mode, 'bamCombine mode', ['sum', 'product'] as const);
    const rt = runtime();
    if (x.rank !== 4) throw new Error(`ossify: bamCombine takes x as [N, H, W, C], got ${shapeStr(x.shape)}`);
    const [N, H, W, C] = x.shape;
    const shapes = `for x ${shapeStr(x.shape)}, got`;
    if (mc.size !== N * C || (mc.rank !== 2 && mc.rank !== 4))
      throw new Error(`ossify: bamCombine mc must be [${N}, ${C}] ${shapes} ${shapeStr(mc.shape)}`);
    if (ms.size !== N * H * W)
      throw new Error(`ossify: bamCombine ms must be [${N}, ${H}, ${W}, 1] ${shapes} ${shapeStr(ms.shape)}`);
    const product = mode === 'product' ? 1 : 0;
    const v = vecWidth(C);
    const launch = (label: string, src: string, io: Record<string, Tensor>) => {
      const k = rt.kernel(label, vecSource(src, v), { PRODUCT: product });
      rt.dispatch(k, storages(io), { n: x.size / v, C: C / v, HW: H * W }, rt.grid(x.size / v, 256));
    };
    const out = Tensor.empty(x.shape);
    launch('bam-combine', bamSrc, { x, mc, ms, out });
    return record(`bamCombine:${mode}`, [x, mc, ms], out, [x, mc, ms], (g, [xs, mcs, mss]) => {
      const [dx, u] = [Tensor.empty(x.shape), Tensor.empty(x.shape)];
      // Sum mode writes no v (it equals u): a one-element stand-in fills the binding.
      const vt = Tensor.empty(product ? x.shape : [1]);
      launch('bam-combine-grad', bamGradSrc, { x: xs, mc: mcs, ms: mss, g, dx, u, v: vt });
      const dmc = mc.requiresGrad ? sum(u.alias([N, H * W, C]), 1).alias(mc.shape) : null;
      const dms = ms.requiresGrad ? sum((product ? vt : u).alias([N * H * W, C]), 1).alias(ms.shape) : null;
      return [x.requiresGrad ? dx : null, dmc, dms];
    });
  },
);

/**
 * Float64 reference of {@link bamCombine} (x [N, H, W, C], mc [N, C], ms [N, H, W]) and, for an output
 * gradient g, its gradients.
 */
export function bamCombineReference(
  x: ArrayLike<number>,
  shape: readonly number[],
  mc: ArrayLike<number>,
  ms: ArrayLike<number>,
  mode: BamMode = 'sum',
  g: ArrayLike<number> | null = null,
): { y: Float64Array; dx: Float64Array; dmc: Float64Array; dms: Float64Array } {
  const [C, HW] = [shape[3], shape[1] * shape[2]];
  const [y, dx, dmc, dms] = [x.length, x.length, mc.length, ms.length].map((n) => new Float64Array(n));
  for (let i = 0; i < x.length; i++) {
    const pix = Math.floor(i / C);
    const ci = Math.floor(pix / HW) * C + (i % C);
    const s = 1 / (1 + Math.exp(-(mode === 'product' ? mc[ci] * ms[pix] : mc[ci] + ms[pix])));
    y[i] = x[i] * (1 + s);
    if (!g) continue;
    dx[i] = g[i] * (1 + s);
    const da = g[i] * x[i] * s * (1 - s);
    dmc[ci] += mode === 'product' ? da * ms[pix] : da;
    dms[pix] += mode === 'product' ? da * mc[ci] : da;
  }
  return { y, dx, dmc, dms };
}
