import type { GemmLabVariant } from '../lab.js';
import core from './07-regtile-subgroup-a.wgsl';

/** Variant 05 with A's 8 row values gathered once per subgroup of 4 and broadcast (SwiftShader's subgroup size). */
export const variant: GemmLabVariant = {
  id: '07-regtile-subgroup-a',
  idea: "In variant 05 every lane gathers the same 8 A values per k (lanes differ only in columns): 8 of 12 gathers are redundant. Gathering 2 per lane and broadcasting within the subgroup should cut the loads per k from 12 to 6: predicted 1.5-2x on SwiftShader (subgroup size 4).",
  core,
  selfContained: true,
  requires: { subgroupSize: 4 },
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / 32)],
};
