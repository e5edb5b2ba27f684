/** The typed layer API. */
export {
  Module,
  buildScope,
  scopeSeed,
  type LayerOptions,
  type TensorData,
  type StateDict,
  type TraceVisitor,
  type ParamCount,
} from './module.js';
export {
  Conv2d,
  DepthwiseConv2d,
  type ConvLayerOptions,
  type Conv2dLayerOptions,
  type DepthwiseConv2dOptions,
} from './conv.js';
export {
  BatchNorm,
  BatchNorm1d,
  BatchNorm2d,
  Normalization,
  type BatchNormOptions,
  type NormalizationOptions,
} from './norm.js';
export { Dense, Linear, type DenseOptions } from './dense.js';
export {
  LayerNorm,
  GroupNorm,
  type LayerNormOptions as LayerNormLayerOptions,
  type GroupNormOptions as GroupNormLayerOptions,
} from './normalization.js';
export {
  Activation,
  ACTIVATIONS,
  ReLU,
  Sigmoid,
  Swish,
  type ActivationName,
  type ActivationOptions,
} from './activation.js';
export {
  Softmax,
  MaxPool2d,
  AvgPool2d,
  GlobalAvgPool2d,
  ZeroPad2d,
  Dropout,
  Reshape,
  Rescaling,
  Flatten,
  Identity,
  type Pool2dOptions,
  type DropoutOptions,
  type RescalingOptions,
} from './basic.js';
export { Sequential, Concat, Residual } from './containers.js';
export { SqueezeExcite, type SqueezeExciteOptions } from './se.js';
export { BAM, type BamOptions } from './bam.js';
export { summary, summaryRows, type SummaryRow } from './summary.js';
export { compilePlan, FUSION_RULES, type Plan, type PlanOptions, type PlanMode } from './plan.js';
