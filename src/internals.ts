/**
 * ossify's internals (`import ... from 'ossify/internals'`): the engine's modules as they are (each
 * kernel module whole, with its float64 CPU reference), for ossify's tests, the benchmark and the kernel
 * lab. Unstable: anything here may change in any release, and none of it is in the API report.
 * @packageDocumentation
 */
// GPU runtime
export * from './gpu/runtime.js';
export * from './gpu/device.js';
export * from './gpu/wgsl.js';
// Tensors and autograd
export * from './tensor.js';
export * from './autograd.js';
export * from './init.js';
// Kernels, each with its float64 CPU reference
export * from './kernels/elementwise.js';
export * from './kernels/reduce.js';
export * from './kernels/sum-raw.js';
export * from './kernels/matmul.js';
export * from './kernels/fused.js';
export * from './kernels/gemm.js';
export * from './kernels/variants.js';
export * from './kernels/conv2d.js';
export * from './kernels/batchnorm.js';
export * from './kernels/norm.js';
export * from './kernels/pool.js';
export * from './kernels/conv1d.js';
export * from './kernels/conv-transpose.js';
export * from './kernels/conv3d.js';
export * from './kernels/concat.js';
export * from './kernels/layout.js';
export * from './kernels/dtype.js';
export * from './kernels/bam.js';
export * from './kernels/dropout.js';
export * from './kernels/loss.js';
export * from './optim/optimizers.js';
// Layers and models: what the public entry leaves out
export { scopeSeed } from './layers/index.js';
export { resolveConfig } from './models/index.js';
