import { subgroupVariant } from './09-subgroup-tm8.js';

/** Variant 09 with 32 rows per invocation. */
export const variant = subgroupVariant(
  '10-subgroup-tm32',
  32,
  'With A shared across the subgroup a lane gathers only tm / subgroupSize A values per k, ' +
    'so more rows cost little: 32 rows cut the gathers per FMA from 6 per 32 to 12 per 128 (SwiftShader, 4 lanes) ' +
    'and 5 per 32 to 8 per 128 (lavapipe, 8 lanes), at the price of 128 accumulator registers spilled to the ' +
    'stack. Predicted 1.2-1.4x on both CPU adapters.',
);
