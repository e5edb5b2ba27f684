/**
 * The fracture classifier's unit steps, browser-safe: a model back from its checkpoint, a training step,
 * an evaluation batch, and an image's prediction with its Grad-CAM overlay. The CLI and the page (web/) share them.
 * @module
 */
import { Tensor, tidy, noGrad } from '../tensor.js';
import { backward } from '../autograd.js';
import { softmaxCrossEntropy, softmax } from '../kernels/loss.js';
import { mean, sum } from '../kernels/reduce.js';
import { mul, relu, reshape } from '../kernels/elementwise.js';
import type { Optimizer } from '../optim/optimizers.js';
import { buildModel, entryOf, type Model, type ModelConfig } from '../models/index.js';
import type { Checkpoint } from '../io/checkpoint.js';
import type { TensorData } from '../io/safetensors.js';
import type { Backbone } from '../data/pixels.js';
import { grayOf, overlayHeatmap, type GrayImage, type RgbaImage } from './charts.js';

/** The backbone's input normalisation. */
export function backboneOf(config: ModelConfig): Backbone {
  return entryOf(config.arch).input;
}

/** A model configuration in a few words, for messages (e.g. `inceptionV3 + BAM, 75 px, width 0.125`). */
export function describeModel(c: ModelConfig): string {
  return `${c.arch}${c.bam ? ' + BAM' : ''}, ${c.inputSize} px, width ${c.widthMultiplier}, ${c.numClasses} classes`;
}

/** Load checkpoint weights into `model`; refuses, naming `source`, weights that are not finite or do not fit. */
export function loadCheckpointWeights(model: Model, weights: ReadonlyMap<string, TensorData>, source: string): void {
  for (const [name, t] of weights) {
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) {
      throw new Error(
        `ossify: ${source}: tensor '${name}' holds ${t.data[i]} at index ${i}: the file is damaged or was saved by a ` +
          'diverged run; use another checkpoint (e.g. best.safetensors of the run) or train again',
      );
    }
  }
  try {
    model.loadStateDict(Object.fromEntries(weights));
  } catch (e) {
    throw new Error(
      `ossify: ${source}: its weights do not fit the model its metadata describes (${describeModel(model.config)}); ` +
        `the file is damaged or its metadata was edited.\n${(e as Error).message.replace(/^ossify: /, '')}`,
    );
  }
}

/**
 * The model a checkpoint was trained as (its `config.modelConfig`) with its weights, in inference mode.
 * @throws when the checkpoint has no model configuration, or weights that are not finite or do not fit
 */
export function modelFromCheckpoint(ck: Checkpoint, source = 'the checkpoint'): Model {
  const cfg = (ck.config as { modelConfig?: ModelConfig }).modelConfig;
  if (!cfg)
    throw new Error(`ossify: ${source} has no model configuration; is it a checkpoint written by ossify train?`);
  const model = buildModel(cfg);
  try {
    loadCheckpointWeights(model, ck.weights, source);
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return model;
}

/** Fractured when P(fractured) > 0.5 (the softmax's argmax), in `ossify predict` and the metrics. */
export const DECISION_THRESHOLD = 0.5;

/** 0/1 labels as an int32 class-label tensor [N] (what the loss takes). */
const labelTensor = (labels: ArrayLike<number>): Tensor =>
  Tensor.from(Int32Array.from(labels), [labels.length], { dtype: 'int32' });

/**
 * One training step: forward in training mode, softmax cross-entropy against the 0/1 `labels`, backward,
 * `opt.step()`, `opt.zeroGrad()`. The caller reads and disposes the loss (a scalar) and logits [N, 2].
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

/** One evaluation batch in inference mode, no autograd: probabilities [N, 2] and mean loss (caller disposes). */
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
 * Predict one image as `ossify predict` does: P(fractured) and the Grad-CAM overlay of the fractured class.
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

/**
 * Where the model looks: Grad-CAM (Selvaraju et al. 2017) for `targetClass` on the last feature map
 * before global pooling (or the last one of at least 7x7 when that is coarser), any backbone:
 *   weights_c = mean over (h, w) of d logit / d A_c ;  cam = relu(sum_c weights_c A_c)
 * as maps [N, h, w] (h, w of the explained feature map), each scaled to [0, 1].
 */
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
