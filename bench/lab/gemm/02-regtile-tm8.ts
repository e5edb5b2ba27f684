import type { GemmLabVariant } from '../lab.js';
import { regtileCore } from '../../../src/kernels/gemm.js';

/** Register tiles without barriers: 8 rows x vec4 per invocation, 16 x 4 invocations per workgroup. */
export const variant: GemmLabVariant = {
  id: '02-regtile-tm8',
  idea: 'The engine CPU default. Notes measured 8 x vec4 at 2.5 GFLOP/s on SwiftShader against 1.9 for 4 rows.',
  core: regtileCore(8),
  constants: { WG_X: 16, WG_Y: 4 },
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / (8 * 4))],
};
