import type { GemmLabVariant } from '../lab.js';
import { completeLoaders } from '../../../src/kernels/gemm.js';
import { matmulLoaders } from '../../../src/kernels/matmul.js';
import { fillTemplate } from '../../../src/gpu/wgsl.js';
import { runtime } from '../../../src/gpu/runtime.js';
import regtileSrc from '../../../shaders/gemm_regtile.wgsl';

/**
 * Variant 10 with 8 columns per lane (two vec4s of B per k) instead of 4: the engine's core frame
 * (shaders/gemm_regtile.wgsl) with its own row and k-loop statements. Lane columns start at
 * 2 * n0, n0 being the frame's 4-column origin.
 */
function eightColumnCore(tm: number, lanes: number): string {
  const rows = [...Array(tm).keys()];
  const loads = [...Array(Math.ceil(tm / lanes)).keys()];
  const decl = [
    '  let c0 = n0 * 2u;',
    ...loads.map((j) => `  let row${j} = aRow(m0 + lane % ${lanes}u + ${j * lanes}u);`),
    ...rows.map((r) => `  var acc${r} = vec4<f32>(); var accb${r} = vec4<f32>();`),
  ];
  const loop = [
    '  for (var k = kBeg; k < kEnd; k += 4u) {',
    '    let kk = aK(k);',
    '    let bm = loadB4x4(k, c0); let bn = loadB4x4(k, c0 + 4u);',
    ...loads.map((j) => `    let a${j} = loadA4(row${j}, kk);`),
    ...rows.map((r) => `    { let av = subgroupBroadcast(a${Math.floor(r / lanes)}, ${r % lanes}u); acc${r} += av.x * bm[0] + av.y * bm[1] + av.z * bm[2] + av.w * bm[3]; accb${r} += av.x * bn[0] + av.y * bn[1] + av.z * bn[2] + av.w * bn[3]; }`),
    '  }',
  ];
  const store = rows.map((r) => `  storeRow(m0 + ${r}u, c0, wid.z, acc${r});\n  storeRow(m0 + ${r}u, c0 + 4u, wid.z, accb${r});`);
  return fillTemplate(regtileSrc, { ENABLE: 'enable subgroups;', SG_ARG: ', @builtin(subgroup_invocation_id) lane: u32', TM: tm, LOADERS: '{{LOADERS}}', ROWS_DECL: decl.join('\n'), K_LOOP: loop.join('\n'), ROWS_STORE: store.join('\n') });
}

const TM = 32;
let core: string | null = null;
export const variant: GemmLabVariant = {
  id: '11-subgroup-8col',
  idea: 'Variant 10 with 8 columns per lane: 16 gathers per 256 FMAs on SwiftShader (4 lanes) instead of 12 per 128, 12 per 256 on lavapipe instead of 8 per 128, for 256 accumulator floats per lane: predicted 1.2-1.4x on SwiftShader, less on lavapipe.',
  get core(): string {
    return (core ??= eightColumnCore(TM, Math.min(runtime().info.subgroupSize?.min ?? 4, TM)));
  },
  loaders: completeLoaders(matmulLoaders(true, true)),
  // 8 x 8 invocations: 64 columns (the conv table's N = 64 exactly), 256 rows.
  constants: { WG_X: 8, WG_Y: 8 },
  requires: { k4: true, subgroupSize: 4 },
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / (TM * 8))],
};
