/**
 * Loading a trained model back from a checkpoint: the checkpoint carries the model configuration
 * (`config.modelConfig`), so no model flags are needed. Node only.
 */
import { loadCheckpoint } from '../io/checkpoint.js';
import { buildModel, type Model, type ModelConfig } from '../models/index.js';

/** Rebuild the model a checkpoint was trained as and load its weights (inference mode). */
export async function loadModel(path: string): Promise<Model> {
  const ck = await loadCheckpoint(path);
  const cfg = (ck.config as { modelConfig?: ModelConfig }).modelConfig;
  if (!cfg) throw new Error(`ossify: ${path} has no model configuration; is it a checkpoint written by ossify train?`);
  const model = buildModel(cfg);
  model.loadStateDict(Object.fromEntries(ck.weights));
  model.eval();
  return model;
}
