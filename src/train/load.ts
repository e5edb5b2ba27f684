/**
 * A trained model back from its checkpoint, which carries the model configuration (`config.modelConfig`).
 * {@link modelFromCheckpoint} is browser-safe (a page decodes the bytes with `decodeCheckpoint`);
 * {@link loadModel} reads a file (Node).
 */
import { loadCheckpoint, type Checkpoint } from '../io/checkpoint.js';
import type { TensorData } from '../io/safetensors.js';
import { buildModel, entryOf, type Model, type ModelConfig } from '../models/index.js';
import type { Backbone } from '../data/pixels.js';

/** The backbone's input normalisation. */
export function backboneOf(config: ModelConfig): Backbone {
  return entryOf(config.arch).input;
}

/** A model configuration in a few words, for messages (e.g. `inceptionV3 + BAM, 75 px, width 0.125`). */
export function describeModel(c: ModelConfig): string {
  return `${c.arch}${c.bam ? ' + BAM' : ''}, ${c.inputSize} px, width ${c.widthMultiplier}, ${c.numClasses} classes`;
}

/**
 * Load checkpoint weights into `model`, built from the checkpoint's own configuration; refuses, naming
 * `source`, weights holding NaN or Infinity (a damaged file, a diverged run) or that do not fit the model.
 */
export function loadCheckpointWeights(model: Model, weights: ReadonlyMap<string, TensorData>, source: string): void {
  for (const [name, t] of weights) {
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) {
      throw new Error(
        `ossify: ${source}: tensor '${name}' holds ${t.data[i]} at index ${i}: the file is damaged or was saved by a ` +
          'diverged run; use another checkpoint (e.g. best.safetensors of the run) or train again',
      );
    }
  }
  try {
    model.loadStateDict(Object.fromEntries(weights));
  } catch (e) {
    throw new Error(
      `ossify: ${source}: its weights do not fit the model its metadata describes (${describeModel(model.config)}); ` +
        `the file is damaged or its metadata was edited.\n${(e as Error).message.replace(/^ossify: /, '')}`,
    );
  }
}

/**
 * Rebuild the model a checkpoint was trained as (its `config.modelConfig`) and load its weights, in
 * inference mode. `source` names the file in errors.
 * @throws when the checkpoint has no model configuration, or weights that are not finite or do not fit
 */
export function modelFromCheckpoint(ck: Checkpoint, source = 'the checkpoint'): Model {
  const cfg = (ck.config as { modelConfig?: ModelConfig }).modelConfig;
  if (!cfg)
    throw new Error(`ossify: ${source} has no model configuration; is it a checkpoint written by ossify train?`);
  const model = buildModel(cfg);
  try {
    loadCheckpointWeights(model, ck.weights, source);
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return model;
}

/** Rebuild the model a checkpoint file was trained as and load its weights (inference mode). Node only. */
export async function loadModel(path: string): Promise<Model> {
  return modelFromCheckpoint(await loadCheckpoint(path), path);
}
