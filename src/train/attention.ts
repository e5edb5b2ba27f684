/**
 * Where the model looks: Grad-CAM (Selvaraju et al. 2017) for the fractured class on the last feature
 * map before global pooling (or the last one of at least 7x7 when that is coarser), any backbone:
 *   weights_c = mean over (h, w) of d logit_fractured / d A_c ;  cam = relu(sum_c weights_c A_c)
 * normalised to [0, 1] per image.
 */
import { Tensor, tidy, noGrad } from '../tensor.js';
import { backward } from '../autograd.js';
import { mean, sum } from '../kernels/reduce.js';
import { mul, relu, reshape } from '../kernels/elementwise.js';
import type { Model } from '../models/index.js';

/** Grad-CAM maps [N, h, w] (h, w of the last feature map), each scaled to [0, 1]. */
export async function gradCam(
  model: Model,
  x: Tensor,
  targetClass = 1,
): Promise<{ maps: Float32Array; h: number; w: number; logits: Float32Array }> {
  const layers = model.layers;
  const gap = layers.findIndex((l) => l.kind === 'GlobalAveragePooling2D');
  if (gap < 0) throw new Error(`ossify: ${model.name} has no global average pooling layer for Grad-CAM`);
  // The last feature map is 1x1 to 3x3 at small inputs (InceptionV3 at 75 px): then explain the last
  // layer whose map is at least 7x7 instead, as Grad-CAM on a coarse map says nothing about where.
  let shape: number[] = [...x.shape];
  const sizes = layers.slice(0, gap).map((l) => (shape = l.outputShape(shape))[1]);
  const last7 = sizes.map((h) => h >= 7).lastIndexOf(true);
  const split = sizes[gap - 1] < 7 && last7 >= 0 ? last7 + 1 : gap;
  const wasTraining = model.training;
  model.eval();
  try {
    const feats = noGrad(() => tidy(() => layers.slice(0, split).reduce((y, l) => l.forward(y), x)));
    const [N, h, w] = feats.shape;
    feats.requiresGrad = true;
    const logits = tidy(() => layers.slice(split).reduce((y, l) => l.forward(y), feats));
    const sel = new Float32Array(N * logits.shape[1]);
    for (let i = 0; i < N; i++) sel[i * logits.shape[1] + targetClass] = 1;
    const gradOut = Tensor.from(sel, logits.shape);
    backward(logits, gradOut);
    const cam = noGrad(() =>
      tidy(() => {
        const wts = mean(feats.grad!, [1, 2], true); // [N, 1, 1, C]
        return relu(reshape(sum(mul(feats, wts), [3]), [N, h, w]));
      }),
    );
    const maps = await cam.read();
    const lg = await logits.read();
    for (const t of [cam, gradOut, logits, feats.grad!, feats]) t.dispose();
    // The backward pass also reached the later layers' weights: drop those gradients.
    model.zeroGrad();
    for (let i = 0; i < N; i++) {
      const m = maps.subarray(i * h * w, (i + 1) * h * w);
      const max = m.reduce((a, b) => Math.max(a, b), 0);
      if (max > 0) for (let j = 0; j < m.length; j++) m[j] /= max;
    }
    return { maps, h, w, logits: lg };
  } finally {
    if (wasTraining) model.train();
  }
}
