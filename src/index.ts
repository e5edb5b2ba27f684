/**
 * ossify: a deep-learning engine on WebGPU. This entry is browser-safe (Node-only parts such as
 * the data pipeline and the trainer are in `ossify/node`).
 * @packageDocumentation
 */
// Runtime and tensors
export { init, runtime, shutdown, Runtime, Kernel, sizeClass, STREAM_PER_INVOCATION, type MemoryStats, type BufferLike, type CompileStats } from './gpu/runtime.js';
export { acquireDevice, classifyAdapter, type AdapterKind, type DeviceInfo, type AcquireOptions } from './gpu/device.js';
export { fillTemplate } from './gpu/wgsl.js';
export { Tensor, tidy, keep, noGrad, isGradEnabled, setPoison, releaseNode, numel, defineOp, checkTensor, type Shape, type DType, type GradNode } from './tensor.js';
export { backward, record } from './autograd.js';
// Kernels (each with its float64 CPU reference)
export * from './kernels/elementwise.js';
export { sum, mean, sumTo, sumReference } from './kernels/reduce.js';
export { matmul, matmulReference, type MatmulOptions } from './kernels/matmul.js';
export { fused, type FusedOptions, type AffineMap, type ChannelSlice } from './kernels/fused.js';
export { gemm, gemmShapeKey, resolveGemmVariant, rowMajorB, GEMM_VARIANTS, type GemmCall, type GemmEpilogue, type GemmVariant } from './kernels/gemm.js';
export { setVariant, variant, autotune, tuning, loadTuning } from './kernels/variants.js';
export * from './kernels/conv2d.js';
export { winogradConv2d, winogradWeights, winogradApplies } from './kernels/winograd.js';
export * from './kernels/pad.js';
export * from './kernels/batchnorm.js';
export { maxPool2d, avgPool2d, globalAvgPool2d, poolGeometry, pool2dReference, pool2dBackwardReference, globalAvgPool2dReference, type PoolPadding, type PoolGeometry, type AvgPool2dOptions, type Pool2dOptions as Pool2dKernelOptions } from './kernels/pool.js';
export * from './kernels/concat.js';
export * from './kernels/bam.js';
export * from './kernels/dropout.js';
export * from './kernels/loss.js';
// Optimizers
export { Optimizer, Adam, SGD, adamReference, sgdReference, type AdamOptions, type SgdOptions } from './optim/optimizers.js';
// Layers and models
export * from './layers/index.js';
export * from './models/index.js';
export { Rng, hashSeed, initValues, computeFans, type Initializer } from './init.js';
// Weight files (safetensors, checkpoints, PyTorch import; Keras HDF5 import is in ossify/node)
export {
  encodeSafetensors, decodeSafetensors, saveSafetensors, loadSafetensors, writeFileAtomic, removeStaleTemps,
  type TensorMap, type SafetensorsDType, type DecodedTensor, type DecodedSafetensors,
} from './io/safetensors.js';
export { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, OPTIMIZER_PREFIX, type Checkpoint } from './io/checkpoint.js';
export { importWeights, layerOf, type ImportTarget, type ImportOptions, type ImportReport } from './io/import.js';
export { importTorchWeights, matchTorchByOrder, oihwToHwio, transpose2d, type TorchImportOptions, type TorchImportReport } from './io/torch-import.js';
