import type { GemmLabVariant } from '../lab.js';
import { fillTemplate } from '../../../src/gpu/wgsl.js';
import frame from './frame-8xvec4.wgsl';
import body from './05-regtile-vec4b.wgsl';

/** B through a vec4 binding, no bounds tests inside the k loop (N % 4 == 0 only). */
export const variant: GemmLabVariant = {
  id: '05-regtile-vec4b',
  idea:
    'CPU adapters gather four scalar lanes for B today; one vec4 load per k and no per-element bounds tests ' +
    'should be 1.5-2x faster on lavapipe and SwiftShader.',
  core: fillTemplate(frame, {
    ENABLE: '',
    SG_ARG: '',
    A_TYPE: 'f32',
    B_TYPE: 'vec4<f32>',
    BODY: body,
    COL: 'col0 + j',
  }),
  selfContained: true,
  grid: (M, N) => [Math.ceil(N / 64), Math.ceil(M / 32)],
};
