import { subgroupVariant } from './09-subgroup-tm8.js';

/** Variant 10 with 8 columns per invocation (two vec4s of B per k) on 8 x 8 workgroups: 64 columns, 256 rows. */
export const variant = subgroupVariant(
  '11-subgroup-8col',
  32,
  'Variant 10 with 8 columns per lane: 16 gathers per 256 FMAs on SwiftShader (4 lanes) instead of 12 per 128, ' +
    '12 per 256 on lavapipe instead of 8 per 128, for 256 accumulator floats per lane: ' +
    'predicted 1.2-1.4x on SwiftShader, less on lavapipe. 8 x 8 invocations so that N = 64 fills a workgroup row ' +
    '(16 x 4 left half the columns idle there).',
  8,
  [8, 8],
);
