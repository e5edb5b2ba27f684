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
export { Tensor, tidy, keep, noGrad, isGradEnabled, type Shape, type DType, type TensorOptions } from './tensor.js';
export { backward } from './autograd.js';
// Ops (differentiable; NHWC images, HWIO filters)
export { relu, sigmoid, swish, silu, exp, neg, square, sqrt, log, tanh, scale } from './kernels/elementwise.js';
export { addScalar, add, sub, mul, div, broadcastTo, reshape } from './kernels/elementwise.js';
export { leakyRelu, elu, selu, gelu, softplus, hardSigmoid, hardSwish, abs, sign } from './kernels/elementwise.js';
export { clip, pow, maximum, minimum, where, greater, greaterEqual, less, lessEqual } from './kernels/elementwise.js';
export { equal, notEqual } from './kernels/elementwise.js';
export type { GeluOptions } from './kernels/elementwise.js';
export { sum, mean } from './kernels/reduce.js';
export { matmul, type MatmulOptions } from './kernels/matmul.js';
export { conv2d, type Conv2dOptions, type Conv2dPadding } from './kernels/conv2d.js';
export type { DepthwiseVariant } from './kernels/depthwise.js';
export { zeroPad2d, type Pad2d } from './kernels/layout.js';
export { batchNorm, type BatchNormParams } from './kernels/batchnorm.js';
export { layerNorm, groupNorm, type LayerNormOptions, type GroupNormOptions } from './kernels/norm.js';
export { maxPool2d, avgPool2d, globalAvgPool2d } from './kernels/pool.js';
export type { PoolPadding, AvgPool2dOptions, Pool2dOptions as Pool2dKernelOptions } from './kernels/pool.js';
export { concat, split } from './kernels/concat.js';
export { conv1d, maxPool1d, avgPool1d } from './kernels/conv1d.js';
export type { Conv1dOptions, Pool1dOptions, Padding1d } from './kernels/conv1d.js';
export { conv2dTranspose, type Conv2dTransposeOptions } from './kernels/conv-transpose.js';
export { conv3d, maxPool3d, avgPool3d } from './kernels/conv3d.js';
export type { Conv3dOptions, Pool3dOptions, Padding3d, Triple } from './kernels/conv3d.js';
export { bamCombine, type BamMode } from './kernels/bam.js';
export { dropout } from './kernels/dropout.js';
// Layout ops, int32 conversions and reductions
export { permute, transpose, slice, pad, gather, indexSelect, squeeze, unsqueeze, flatten } from './kernels/layout.js';
export type { SliceRange, PadMode, PadOptions } from './kernels/layout.js';
export { cast, oneHot } from './kernels/dtype.js';
export { max, min, argmax, argmin, logSumExp, prod } from './kernels/reduce.js';
export { logSoftmax } from './kernels/loss.js';
// Losses
export { softmaxCrossEntropy, softmax, type SoftmaxCrossEntropyOptions } from './kernels/loss.js';
// Optimizers
export { Optimizer, Adam, SGD, type OptimizerState, type AdamOptions, type SgdOptions } from './optim/optimizers.js';
// Layers and models
export { Module, buildScope, Conv2d, DepthwiseConv2d, BatchNorm, BatchNorm1d, BatchNorm2d } from './layers/index.js';
export { Normalization, Dense, Linear, LayerNorm, GroupNorm, Activation, ACTIVATIONS, ReLU } from './layers/index.js';
export { Sigmoid, Swish, Softmax, MaxPool2d, AvgPool2d, GlobalAvgPool2d, ZeroPad2d, Dropout } from './layers/index.js';
export { Reshape, Rescaling, Flatten, Identity, Sequential, Concat, Residual, SqueezeExcite } from './layers/index.js';
export { BAM, summary, summaryRows, compilePlan } from './layers/index.js';
export type { ActivationName, ActivationOptions, LayerNormLayerOptions } from './layers/index.js';
export type { GroupNormLayerOptions, LayerOptions, TensorData, StateDict, TraceVisitor } from './layers/index.js';
export type { ParamCount, ConvLayerOptions, Conv2dLayerOptions, DepthwiseConv2dOptions } from './layers/index.js';
export type { BatchNormOptions, NormalizationOptions, DropoutOptions, RescalingOptions } from './layers/index.js';
export type { SqueezeExciteOptions, DenseOptions, Pool2dOptions, BamOptions, SummaryRow } from './layers/index.js';
export type { Plan, PlanOptions, PlanMode } from './layers/index.js';
export { inceptionV3, denseNet121, efficientNetB1, efficientNetV2B2, inceptionV4 } from './models/index.js';
export { buildModel, MODEL_CATALOG, MODELS, Model } from './models/index.js';
export type { ModelName, CatalogEntry, Reference, ModelConfig } from './models/index.js';
export type { ModelOptions, BamPlacement, Architecture } from './models/index.js';
export type { Initializer } from './init.js';
// Weight files (safetensors, checkpoints, PyTorch import; Keras HDF5 import is in ossify/node)
export { encodeSafetensors, decodeSafetensors, saveSafetensors, loadSafetensors } from './io/safetensors.js';
export type { TensorMap, SafetensorsDType, DecodedTensor, DecodedSafetensors } from './io/safetensors.js';
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint } from './io/checkpoint.js';
export type { Checkpoint } from './io/checkpoint.js';
export { importWeights, type ImportTarget, type ImportOptions, type ImportReport } from './io/import.js';
export { importTorchWeights } from './io/torch-import.js';
export type { TorchImportOptions, TorchImportReport, TorchMatch, TorchPair, TorchMismatch } from './io/torch-import.js';
// The fracture classifier in a page: pixels, models from checkpoints, prediction, steps, metrics, charts
export { modelInput, type PixelImage, type Backbone } from './data/pixels.js';
export { modelFromCheckpoint, backboneOf, describeModel, gradCam, DECISION_THRESHOLD } from './train/steps.js';
export { predictImage, trainStep, evalBatch, type ImagePrediction } from './train/steps.js';
export { binaryMetrics, confusionMatrix, rocCurve, rocAuc, majorityBaseline } from './train/metrics.js';
export type { BinaryMetrics, BaselineMetrics, ClassReport, ConfusionMatrix, RocCurve } from './train/metrics.js';
export { lineChartSvg, rocSvg, confusionSvg, overlayHeatmap } from './train/charts.js';
export type { Series, ChartOptions, GrayImage, RgbaImage } from './train/charts.js';
export { makeRng, shuffleInPlace, type Rng } from './data/rng.js';
