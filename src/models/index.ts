/** Model builders and the config factory. */
import { inceptionV3 } from './inception_v3.js';
import { denseNet121 } from './densenet121.js';
import type { Model, ModelConfig } from './model.js';

export { inceptionV3, INCEPTION_V3_BAM_POSITIONS } from './inception_v3.js';
export { denseNet121, DENSENET121_BLOCKS, DENSENET121_BAM_POSITIONS } from './densenet121.js';
export {
  Model,
  resolveConfig,
  type ModelConfig,
  type ModelOptions,
  type BamPlacement,
  type Architecture,
} from './model.js';

/**
 * Rebuild a model from its {@link ModelConfig} (e.g. one stored in a checkpoint); weights are fresh
 * (load them after).
 */
export function buildModel(config: ModelConfig): Model {
  const { arch, bam, ...rest } = config;
  const opts = { ...rest, bam: bam ?? false };
  switch (arch) {
    case 'inceptionV3':
      return inceptionV3(opts);
    case 'denseNet121':
      return denseNet121(opts);
    default:
      throw new Error(
        `ossify: unknown architecture '${String(arch)}' in model config (known: inceptionV3, denseNet121)`,
      );
  }
}
