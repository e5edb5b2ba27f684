/**
 * ossify: a deep-learning engine on WebGPU.
 * @packageDocumentation
 */
export { init, runtime, shutdown, Runtime, Kernel, sizeClass, type MemoryStats } from './gpu/runtime.js';
export { acquireDevice, classifyAdapter, type AdapterKind, type DeviceInfo, type AcquireOptions } from './gpu/device.js';
export { Tensor, tidy, keep, noGrad, isGradEnabled, setPoison, releaseNode, numel, type Shape, type DType } from './tensor.js';
export { backward, record } from './autograd.js';
export * from './kernels/elementwise.js';
export { sum, mean, sumTo, sumReference } from './kernels/reduce.js';
export { matmul, matmulReference, type MatmulOptions } from './kernels/matmul.js';
export { setVariant } from './kernels/variants.js';
export { Optimizer, Adam, SGD, adamReference, sgdReference, type AdamOptions, type SgdOptions } from './optim/optimizers.js';
