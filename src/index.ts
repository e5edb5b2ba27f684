/**
 * ossify: a deep-learning engine on WebGPU. This browser-safe entry names every export it promises
 * (Node-only parts are in `ossify/node`, unstable internals in `ossify/internals`); `api/ossify.api.md`
 * records it, and `npm test` fails when it changes unreviewed.
 * @packageDocumentation
 * @module ossify
 */
// Runtime control
export { init, runtime, shutdown, type Runtime, type MemoryStats, type CompileStats } from './gpu/runtime.js';
export { type AdapterKind, type DeviceInfo, type AcquireOptions } from './gpu/device.js';
export { setVariant, autotune, tuning, loadTuning } from './kernels/variants.js';
export { GEMM_VARIANTS, type GemmVariant } from './kernels/gemm.js';
// Tensors and autograd
export { Tensor, tidy, keep, noGrad, isGradEnabled, type Shape, type DType } from './tensor.js';
export { backward } from './autograd.js';
// Ops (differentiable; NHWC images, HWIO filters)
export {
  relu,
  sigmoid,
  swish,
  silu,
  exp,
  neg,
  square,
  sqrt,
  log,
  tanh,
  scale,
  addScalar,
  add,
  sub,
  mul,
  div,
  broadcastTo,
  reshape,
} from './kernels/elementwise.js';
export {
  leakyRelu,
  elu,
  selu,
  gelu,
  softplus,
  hardSigmoid,
  hardSwish,
  abs,
  sign,
  clip,
  pow,
  maximum,
  minimum,
  where,
  greater,
  greaterEqual,
  less,
  lessEqual,
  equal,
  notEqual,
  type GeluOptions,
} from './kernels/elementwise.js';
export { sum, mean } from './kernels/reduce.js';
export { matmul, type MatmulOptions } from './kernels/matmul.js';
export { conv2d, type Conv2dOptions, type Conv2dPadding, type Conv3x3Variant } from './kernels/conv2d.js';
export type { DepthwiseVariant } from './kernels/depthwise.js';
export { zeroPad2d, type Pad2d } from './kernels/pad.js';
export { batchNorm, type BatchNormParams } from './kernels/batchnorm.js';
export { layerNorm, groupNorm, type LayerNormOptions, type GroupNormOptions } from './kernels/norm.js';
export {
  maxPool2d,
  avgPool2d,
  globalAvgPool2d,
  type PoolPadding,
  type AvgPool2dOptions,
  type Pool2dOptions as Pool2dKernelOptions,
} from './kernels/pool.js';
export { concat, split } from './kernels/concat.js';
export {
  conv1d,
  maxPool1d,
  avgPool1d,
  type Conv1dOptions,
  type Pool1dOptions,
  type Padding1d,
} from './kernels/conv1d.js';
export { conv2dTranspose, type Conv2dTransposeOptions } from './kernels/conv-transpose.js';
export {
  conv3d,
  maxPool3d,
  avgPool3d,
  type Conv3dOptions,
  type Pool3dOptions,
  type Padding3d,
  type Triple,
} from './kernels/conv3d.js';
export { bamCombine, type BamMode } from './kernels/bam.js';
export { dropout } from './kernels/dropout.js';
// Layout ops, int32 conversions and reductions
export {
  permute,
  transpose,
  slice,
  pad,
  gather,
  indexSelect,
  squeeze,
  unsqueeze,
  flatten,
  type SliceRange,
  type PadMode,
  type PadOptions,
} from './kernels/layout.js';
export { cast, oneHot } from './kernels/dtype.js';
export { max, min, argmax, argmin, logSumExp, prod } from './kernels/reduce.js';
export { logSoftmax } from './kernels/loss.js';
// Losses
export { softmaxCrossEntropy, softmax, type SoftmaxCrossEntropyOptions } from './kernels/loss.js';
// Optimizers
export { Optimizer, Adam, SGD, type AdamOptions, type SgdOptions } from './optim/optimizers.js';
// Layers and models
export {
  Module,
  buildScope,
  Conv2d,
  DepthwiseConv2d,
  BatchNorm,
  BatchNorm1d,
  BatchNorm2d,
  Normalization,
  Dense,
  Linear,
  LayerNorm,
  GroupNorm,
  KERAS_NORM_EPSILON,
  Activation,
  ACTIVATIONS,
  type ActivationName,
  type ActivationOptions,
  type LayerNormLayerOptions,
  type GroupNormLayerOptions,
  ReLU,
  Sigmoid,
  Swish,
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
  Sequential,
  Concat,
  Residual,
  SqueezeExcite,
  BAM,
  BAM_DEFAULTS,
  summary,
  summaryRows,
  type LayerOptions,
  type TensorData,
  type StateDict,
  type TraceVisitor,
  type ParamCount,
  type Conv2dLayerOptions,
  type DepthwiseConv2dOptions,
  type BatchNormOptions,
  type NormalizationOptions,
  type DropoutOptions,
  type RescalingOptions,
  type SqueezeExciteOptions,
  type DenseOptions,
  type Pool2dOptions,
  type BamOptions,
  type SummaryRow,
  compilePlan,
  FUSION_RULES,
  type Plan,
  type PlanOptions,
  type PlanMode,
  type FusionRule,
} from './layers/index.js';
export {
  inceptionV3,
  INCEPTION_V3_BAM_POSITIONS,
  denseNet121,
  DENSENET121_BLOCKS,
  DENSENET121_BAM_POSITIONS,
  efficientNetB1,
  efficientNetV2B2,
  EFFICIENTNET_B0_STAGES,
  EFFICIENTNETV2_B0_STAGES,
  EFFICIENTNET_B1_BAM_POSITIONS,
  EFFICIENTNETV2_B2_BAM_POSITIONS,
  type EfficientNetStage,
  inceptionV4,
  INCEPTION_V4_BAM_POSITIONS,
  INCEPTION_V4_ALIASES,
  INCEPTION_V4_NATIVE_MIN,
  buildModel,
  MODEL_CATALOG,
  MODELS,
  type ModelName,
  type CatalogEntry,
  type Reference,
  Model,
  type ModelConfig,
  type ModelOptions,
  type BamPlacement,
  type Architecture,
} from './models/index.js';
export { initValues, type Initializer } from './init.js';
// Weight files (safetensors, checkpoints, PyTorch import; Keras HDF5 import is in ossify/node)
export {
  encodeSafetensors,
  decodeSafetensors,
  saveSafetensors,
  loadSafetensors,
  type TensorMap,
  type SafetensorsDType,
  type DecodedTensor,
  type DecodedSafetensors,
} from './io/safetensors.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  type Checkpoint,
} from './io/checkpoint.js';
export { importWeights, type ImportTarget, type ImportOptions, type ImportReport } from './io/import.js';
export {
  importTorchWeights,
  oihwToHwio,
  type TorchImportOptions,
  type TorchImportReport,
  type TorchMatch,
  type TorchPair,
  type TorchMismatch,
} from './io/torch-import.js';
// The fracture classifier in a page: pixels, models from checkpoints, prediction, steps, metrics, charts
export {
  modelInput,
  resizePixels,
  resizeBilinear,
  normalizeInto,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type PixelImage,
  type Backbone,
} from './data/pixels.js';
export { modelFromCheckpoint, backboneOf, describeModel } from './train/load.js';
export { predictImage, trainStep, evalBatch, DECISION_THRESHOLD, type ImagePrediction } from './train/steps.js';
export { gradCam } from './train/attention.js';
export {
  binaryMetrics,
  confusionMatrix,
  rocCurve,
  rocAuc,
  majorityBaseline,
  type BinaryMetrics,
  type BaselineMetrics,
  type ClassReport,
  type ConfusionMatrix,
  type RocCurve,
} from './train/metrics.js';
export {
  lineChartSvg,
  rocSvg,
  confusionSvg,
  overlayHeatmap,
  grayOf,
  jet,
  type Series,
  type ChartOptions,
  type GrayImage,
  type RgbaImage,
} from './train/charts.js';
export { makeRng, shuffleInPlace, hashSeed, type Rng } from './data/rng.js';
