import type { GemmLabVariant } from '../lab.js';
import { fillTemplate } from '../../../src/gpu/wgsl.js';
import frame from './frame-8xvec4.wgsl';
import body from './06-regtile-vec4ab.wgsl';

/** A and B through vec4 bindings, k unrolled by 4 (K % 4 == 0 and N % 4 == 0 only). */
export const variant: GemmLabVariant = {
  id: '06-regtile-vec4ab',
  idea:
    'Scalar A loads (one per row per k, each bounds-checked by the adapter) dominate once B is vec4; ' +
    'loading A as vec4 along k and unrolling k by 4 quarters the loads per FMA: ' +
    'predicted 2-4x over 05 on CPU adapters.',
  core: fillTemplate(frame, {
    ENABLE: '',
    SG_ARG: '',
    A_TYPE: 'vec4<f32>',
    B_TYPE: 'vec4<f32>',
    BODY: body,
    COL: 'col0 + j',
  }),
  selfContained: true,
  requires: { k4: true },
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / 32)],
};
