/**
 * The fracture classifier's unit steps, browser-safe (no Node module): one training step, one evaluation
 * batch, and one image's prediction with its Grad-CAM overlay. The trainer, `ossify eval` and `ossify
 * predict` run them in Node; the web page (web/) runs the same functions in a browser.
 * @module
 */
import { Tensor, tidy, noGrad } from '../tensor.js';
import { backward } from '../autograd.js';
import { softmaxCrossEntropy, softmax } from '../kernels/loss.js';
import type { Optimizer } from '../optim/optimizers.js';
import type { Model } from '../models/index.js';
import { gradCam } from './attention.js';
import { grayOf, overlayHeatmap, type GrayImage, type RgbaImage } from './charts.js';

/**
 * The decision threshold of `ossify predict` and the metrics: fractured when P(fractured) > 0.5, which
 * is the argmax of the two-way softmax. Checkpoints carry no threshold of their own.
 */
export const DECISION_THRESHOLD = 0.5;

/** 0/1 labels as an int32 class-label tensor [N] (what the loss takes). */
const labelTensor = (labels: ArrayLike<number>): Tensor =>
  Tensor.from(Int32Array.from(labels), [labels.length], { dtype: 'int32' });

/**
 * One training step on a batch: forward in training mode (batch statistics, dropout), softmax
 * cross-entropy against the 0/1 `labels` (with optional class weights), backward, `opt.step()` and
 * `opt.zeroGrad()`. Everything else it makes is freed; the caller reads and disposes the returned
 * loss (a scalar) and logits [N, 2].
 * @param x NHWC images, `shape` [N, H, W, 3]
 */
export function trainStep(
  model: Model,
  opt: Optimizer,
  x: Float32Array,
  shape: readonly number[],
  labels: ArrayLike<number>,
  classWeights?: readonly number[] | null,
): { loss: Tensor; logits: Tensor } {
  const out = tidy(() => {
    const lg = model.forwardTrain(Tensor.from(x, [...shape]));
    const l = softmaxCrossEntropy(lg, labelTensor(labels), classWeights ? { classWeights } : {});
    backward(l);
    return { loss: l, logits: lg };
  });
  opt.step();
  opt.zeroGrad();
  return out;
}

/**
 * One evaluation batch in inference mode without autograd: the softmax probabilities [N, 2] and the
 * mean cross-entropy (a scalar) against the 0/1 `labels`. The caller reads and disposes both.
 */
export function evalBatch(
  model: Model,
  x: Float32Array,
  shape: readonly number[],
  labels: ArrayLike<number>,
): [probs: Tensor, loss: Tensor] {
  return noGrad(() =>
    tidy(() => {
      const logits = model.predict(Tensor.from(x, [...shape]));
      const loss = softmaxCrossEntropy(logits, labelTensor(labels));
      return [softmax(logits), loss];
    }),
  );
}

/** What {@link predictImage} says about one image. */
export interface ImagePrediction {
  /** P(fractured): the softmax of the two logits, class 1. */
  probability: number;
  /** The two logits [not fractured, fractured]. */
  logits: Float32Array;
  /** Grad-CAM of the fractured class in [0, 1], at the explained layer's size (see `gradCam`). */
  heatmap: GrayImage;
  /** The heatmap (jet colours, alpha 0.4) over the model's view of the image, at the input size. */
  overlay: RgbaImage;
}

/**
 * Predict one image as `ossify predict` does: P(fractured) and the Grad-CAM overlay of the fractured
 * class (the same layer choice), on a model in inference mode.
 * @param input the image as the model takes it: `size * size * 3` float32 (e.g. from `modelInput`)
 */
export async function predictImage(model: Model, input: Float32Array): Promise<ImagePrediction> {
  const size = model.config.inputSize;
  if (input.length !== size * size * 3) {
    throw new Error(
      `ossify: predictImage: ${input.length} values, but the model takes ${size}x${size}x3 = ${size * size * 3}; ` +
        `make the input with modelInput(image, ${size}, backbone)`,
    );
  }
  const x = Tensor.from(input, [1, size, size, 3]);
  const cam = await gradCam(model, x).finally(() => x.dispose());
  const logits = cam.logits.slice(0, 2);
  const heatmap = { data: cam.maps, width: cam.w, height: cam.h };
  return {
    probability: 1 / (1 + Math.exp(logits[0] - logits[1])),
    logits,
    heatmap,
    overlay: overlayHeatmap({ data: grayOf(input, size, size), width: size, height: size }, heatmap),
  };
}
