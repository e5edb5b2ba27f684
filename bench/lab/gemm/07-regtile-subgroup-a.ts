import type { GemmLabVariant } from '../lab.js';
import { fillTemplate } from '../../../src/gpu/wgsl.js';
import frame from './frame-8xvec4.wgsl';
import body from './07-regtile-subgroup-a.wgsl';

/** The frame with subgroups enabled and a body whose lanes own `cols` and load B with `bLoad`. */
export function subgroupCore(cols: string, bLoad: string, bType: string, col: string): string {
  return fillTemplate(frame, {
    ENABLE: 'enable subgroups;',
    SG_ARG: ', @builtin(subgroup_invocation_id) sl: u32',
    A_TYPE: 'f32',
    B_TYPE: bType,
    BODY: fillTemplate(body, { COLS: cols, B_LOAD: bLoad }),
    COL: col,
  });
}

/** Variant 05 with A's 8 row values gathered once per subgroup of 4 and broadcast (SwiftShader's subgroup size). */
export const variant: GemmLabVariant = {
  id: '07-regtile-subgroup-a',
  idea:
    'In variant 05 every lane gathers the same 8 A values per k (lanes differ only in columns): 8 of 12 gathers ' +
    'are redundant. Gathering 2 per lane and broadcasting within the subgroup should cut the loads per k from ' +
    '12 to 6: predicted 1.5-2x on SwiftShader (subgroup size 4).',
  core: subgroupCore(
    // Lanes past the last column load the last vec4 (never stored): every lane stays in the loop.
    '  let col0 = (wid.x * 16u + lid.x) * 4u;\n  let n4 = min(wid.x * 16u + lid.x, ' +
      'p.N / 4u - 1u);\n  let N4 = p.N / 4u;',
    'b[k * N4 + n4]',
    'vec4<f32>',
    'col0 + j',
  ),
  selfContained: true,
  requires: { subgroupSize: 4 },
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / 32)],
};
