/**
 * Types of the ossify functions the benchmark looks up at run time (see optional.ts), written from the
 * signatures the kernel and model work streams agreed on.
 */
import type { Tensor } from '../../src/tensor.js';

/** Convolution options (src/kernels/conv2d.ts). */
export interface ConvOpts {
  stride?: number | [number, number];
  dilation?: number | [number, number];
  padding?: 'valid' | 'same' | [number, number, number, number];
  groups?: number;
}

/** Batch-norm options (src/kernels/batchnorm.ts). */
export interface BatchNormOpts {
  gamma?: Tensor | null;
  beta?: Tensor | null;
  movingMean: Tensor;
  movingVar: Tensor;
  training: boolean;
  momentum?: number;
  epsilon?: number;
}

/** Something that has parameters and a forward pass (our models). */
export type ModelLike = unknown;

/** EfficientNet options (src/models/efficientnet.ts): the bench sets dropout and drop connect to 0. */
export interface EfficientNetOpts {
  numClasses: number;
  inputSize: number;
  bam?: boolean;
  widthMultiplier?: number;
  dropout?: number;
  dropConnect?: number;
}

export interface OptionalMods {
  conv2d?: (x: Tensor, w: Tensor, bias: Tensor | null, opts?: ConvOpts) => Tensor;
  batchNorm?: (x: Tensor, opts: BatchNormOpts) => Tensor;
  maxPool2d?: (
    x: Tensor,
    opts: { size: number | [number, number]; stride?: number | [number, number]; padding?: 'valid' | 'same' },
  ) => Tensor;
  softmaxCrossEntropy?: (logits: Tensor, labels: Tensor) => Tensor;
  Adam?: new (params: Tensor[], opts: { lr: number }) => { step(): void; zeroGrad?: () => void; dispose(): void };
  inceptionV3?: (opts: { numClasses: number; inputSize: number; bam?: boolean; widthMultiplier?: number }) => ModelLike;
  denseNet121?: (opts: { numClasses: number; inputSize: number; bam?: boolean; widthMultiplier?: number }) => ModelLike;
  inceptionV4?: (opts: { numClasses: number; inputSize: number; bam?: boolean; widthMultiplier?: number }) => ModelLike;
  efficientNetB1?: (opts: EfficientNetOpts) => ModelLike;
  efficientNetV2B2?: (opts: EfficientNetOpts) => ModelLike;
}
