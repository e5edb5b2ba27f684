import type { GemmLabVariant } from '../lab.js';
import { regtileCore } from '../../../src/kernels/gemm.js';

/** Register tiles without barriers: 4 rows x vec4 per invocation, 16 x 4 invocations per workgroup. */
export const variant: GemmLabVariant = {
  id: '03-regtile-tm4',
  idea:
    'Half the rows: twice the workgroups for small M; predicted slower on large shapes (less reuse of each B ' +
    'load).',
  core: regtileCore(4),
  constants: { WG_X: 16, WG_Y: 4 },
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / (4 * 4))],
};
