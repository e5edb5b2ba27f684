import type { GemmLabVariant } from '../lab.js';
import core from '../../../shaders/gemm_shared.wgsl';

/** The engine's GPU default: 64x64 tiles staged through workgroup memory (BK 16), 4x4 per invocation. */
export const variant: GemmLabVariant = {
  id: '01-shared-64x64x16',
  idea:
    'Classic shared-memory tiling: each A/B element is read from global memory once per tile. ' +
    'Predicted best on GPUs, worst on CPU adapters (barriers are emulated).',
  core,
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / 64)],
};
