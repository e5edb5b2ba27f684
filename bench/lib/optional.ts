/**
 * The ossify functions the benchmark cases call, gathered in one place (typed loosely in
 * optional-types.ts so that a case can also describe what it needs of an engine).
 */
import type { OptionalMods, ModelLike } from './optional-types.js';
import type { ModelSpec } from './cases.js';
import {
  conv2d,
  batchNorm,
  maxPool2d,
  softmaxCrossEntropy,
  Adam,
  inceptionV3,
  denseNet121,
  inceptionV4,
  efficientNetB1,
  efficientNetV2B2,
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
    efficientNetB1,
    efficientNetV2B2,
  } as unknown as OptionalMods;
}

/**
 * A model case's ossify model, full width, as every engine builds it: EfficientNets with dropout and drop
 * connect 0 (both random, so the engines would not run the same function; tfjs converts this very module tree).
 */
export function ossifyModel(mods: OptionalMods, s: ModelSpec): ModelLike {
  const opts = { numClasses: s.numClasses, inputSize: s.size, bam: s.bam, widthMultiplier: 1 };
  const need = <K extends keyof OptionalMods>(key: K, file: string): NonNullable<OptionalMods[K]> => {
    const f = mods[key];
    if (!f) throw new Error(`ossify has no ${String(key)} yet (${file} not landed)`);
    return f as NonNullable<OptionalMods[K]>;
  };
  switch (s.model) {
    case 'inceptionv3':
      return need('inceptionV3', 'src/models/inception_v3.ts')(opts);
    case 'densenet121':
      return need('denseNet121', 'src/models/densenet121.ts')(opts);
    case 'inceptionv4':
      return need('inceptionV4', 'src/models/inception_v4.ts')(opts);
    case 'efficientnetb1':
      return need('efficientNetB1', 'src/models/efficientnet.ts')({ ...opts, dropout: 0, dropConnect: 0 });
    case 'efficientnetv2b2':
      return need('efficientNetV2B2', 'src/models/efficientnet.ts')({ ...opts, dropout: 0, dropConnect: 0 });
  }
}
