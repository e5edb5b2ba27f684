import type { GemmLabVariant } from '../lab.js';
import { subgroupCore } from './07-regtile-subgroup-a.js';

/**
 * Variant 07 with interleaved columns: lane l of a subgroup of 4 owns columns cb + l + 4j (j < 4) of
 * a 16-column block, so each of its four scalar B loads reads 4 consecutive floats across the lanes.
 */
export const variant: GemmLabVariant = {
  id: '08-regtile-subgroup-interleaved',
  idea:
    'In 07 each lane loads its own vec4 of B: in SoA that is 4 strided gathers. If lane l owns columns l, l+4, ' +
    'l+8, l+12 of a 16-column block, each scalar B load reads 4 consecutive floats across the lanes, ' +
    'which an adapter may turn into one vector load: predicted 1.2-1.5x over 07 on SwiftShader.',
  core: subgroupCore(
    // Columns past N read column N - 1 (never stored).
    [
      '  let c0 = (wid.x * 16u + (lid.x & ~3u)) * 4u + (sl % 4u);',
      '  let j0 = min(c0, p.N - 1u); let j1 = min(c0 + 4u, p.N - 1u); let j2 = min(c0 + 8u, p.N - 1u); ' +
        'let j3 = min(c0 + 12u, p.N - 1u);',
    ].join('\n'),
    'vec4<f32>(b[k * p.N + j0], b[k * p.N + j1], b[k * p.N + j2], b[k * p.N + j3])',
    'f32',
    'c0 + 4u * j',
  ),
  selfContained: true,
  requires: { subgroupSize: 4 },
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / 32)],
};
