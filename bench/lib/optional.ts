/**
 * The ossify functions the benchmark cases call, gathered in one place (typed loosely in
 * optional-types.ts so that a case can also describe what it needs of an engine).
 */
import type { OptionalMods } from './optional-types.js';
import {
  conv2d,
  batchNorm,
  maxPool2d,
  softmaxCrossEntropy,
  Adam,
  inceptionV3,
  denseNet121,
  inceptionV4,
} from '../../src/index.js';

/** Every ossify function the suite uses. */
export async function loadOptional(): Promise<OptionalMods> {
  return {
    conv2d,
    batchNorm,
    maxPool2d,
    softmaxCrossEntropy,
    Adam,
    inceptionV3,
    denseNet121,
    inceptionV4,
  } as unknown as OptionalMods;
}
