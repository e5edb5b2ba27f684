import type { GemmLabVariant } from '../lab.js';
import { completeLoaders, regtileCore } from '../../../src/kernels/gemm.js';
import { matmulLoaders } from '../../../src/kernels/matmul.js';
import { runtime } from '../../../src/gpu/runtime.js';

/**
 * The engine's subgroup core (rows shared across a subgroup, k stepped by 4 with A and B as vec4s), for
 * `tm` rows and `cols` columns (4 or 8) per invocation on a `wgX` x `wgY` workgroup. The lanes are the
 * adapter's (fixed) subgroup size, read when the variant is first compiled.
 */
export function subgroupVariant(
  id: string,
  tm: number,
  idea: string,
  cols: 4 | 8 = 4,
  [wgX, wgY] = [16, 4],
): GemmLabVariant {
  const sgLanes = (): number => Math.min(runtime().info.subgroupSize?.min ?? 4, tm);
  let core: string | null = null;
  return {
    id,
    idea,
    get core(): string {
      return (core ??= regtileCore(tm, { sgLanes: sgLanes(), k4: true, a4: true, cols }));
    },
    loaders: completeLoaders(matmulLoaders(true, true)),
    constants: { WG_X: wgX, WG_Y: wgY },
    requires: { k4: true, subgroupSize: 4 },
    grid: (M, N) => [Math.ceil(N / (cols * wgX)), Math.ceil(M / (tm * wgY))],
  };
}

export const variant = subgroupVariant(
  '09-subgroup-tm8',
  8,
  'The engine core before #25 (8 rows x vec4, A shared across the subgroup, vec4 A and B, k steps of 4): ' +
    'the baseline for 10.',
);
