import type { GemmLabVariant } from '../lab.js';
import core from './08-regtile-subgroup-interleaved.wgsl';

/** Variant 07 with interleaved column ownership, so that B's loads are contiguous across the lanes. */
export const variant: GemmLabVariant = {
  id: '08-regtile-subgroup-interleaved',
  idea: 'In 07 each lane loads its own vec4 of B: in SoA that is 4 strided gathers. If lane l owns columns l, l+4, l+8, l+12 of a 16-column block, each scalar B load reads 4 consecutive floats across the lanes, which an adapter may turn into one vector load: predicted 1.2-1.5x over 07 on SwiftShader.',
  core,
  selfContained: true,
  requires: { subgroupSize: 4 },
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / 32)],
};
