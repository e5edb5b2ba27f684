/** Model builders and the config factory. */
import { inceptionV3 } from './inception_v3.js';
import { denseNet121 } from './densenet121.js';
import { efficientNetB1, efficientNetV2B2 } from './efficientnet.js';
import { inceptionV4 } from './inception_v4.js';
import type { Architecture } from './catalog.js';
import type { Model, ModelConfig, ModelOptions } from './model.js';

export { inceptionV3, denseNet121, efficientNetB1, efficientNetV2B2, inceptionV4 };
export { MODEL_CATALOG, MODELS, entryOf, referenceLine } from './catalog.js';
export type { ModelName, CatalogEntry, Reference } from './catalog.js';
export { Model, resolveConfig, type ModelConfig, type ModelOptions, type BamPlacement } from './model.js';
export type { Architecture } from './model.js';

/**
 * Rebuild a model from its {@link ModelConfig} (e.g. one stored in a checkpoint); weights are fresh
 * (load them after).
 */
export function buildModel(
  config: Pick<ModelConfig, 'arch'> & Omit<ModelOptions, 'bam'> & { bam?: ModelOptions['bam'] | ModelConfig['bam'] },
): Model {
  const { arch, bam, ...rest } = config;
  const build = BUILDERS[arch] as ((o: ModelOptions) => Model) | undefined;
  if (!build)
    throw new Error(
      `ossify: unknown architecture '${String(arch)}' in model config (known: ${Object.keys(BUILDERS).join(', ')})`,
    );
  return build({ ...rest, bam: bam ?? false });
}

/** The builder of each architecture. */
const BUILDERS: Record<Architecture, (opts: ModelOptions) => Model> = {
  inceptionV3,
  denseNet121,
  efficientNetB1,
  efficientNetV2B2,
  inceptionV4,
};
