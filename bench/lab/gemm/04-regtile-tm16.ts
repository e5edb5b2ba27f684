import type { GemmLabVariant } from '../lab.js';
import { regtileCore } from '../../../src/kernels/gemm.js';

/** Register tiles without barriers: 16 rows x vec4 per invocation, 16 x 4 invocations per workgroup. */
export const variant: GemmLabVariant = {
  id: '04-regtile-tm16',
  idea:
    'Twice the rows: more reuse per B load, more registers; notes measured 2.6 on SwiftShader (vs 2.5 for 8): ' +
    'predicted a small gain at best.',
  core: regtileCore(16),
  constants: { WG_X: 16, WG_Y: 4 },
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / (16 * 4))],
};
