/**
 * What the training options accept: numeric ranges, the models and the named choices, shared by
 * `ossify train`'s flags and sweep grids, so that both check a value the same way and say what is
 * accepted in the same words. No GPU or model code is loaded here.
 * @module
 */
import { MODEL_CATALOG, MODELS, type ModelName } from '../models/catalog.js';

export { MODELS, type ModelName };
import type { TrainOptions } from './trainer.js';

/** The values a numeric option accepts, and how to say so. */
export interface Range {
  ok: (n: number) => boolean;
  /** What is accepted, as the end of "give ..." (e.g. 'a positive integer'). */
  want: string;
}

/** Integers from `min` to `max`. */
export function int(min: number, max = Infinity): Range {
  const want =
    max < Infinity ? `an integer from ${min} to ${max}` : min === 1 ? 'a positive integer' : `an integer >= ${min}`;
  return { ok: (n) => Number.isInteger(n) && n >= min && n <= max, want };
}

/** Any integer (seeds). */
export const ANY_INT: Range = { ok: Number.isInteger, want: 'an integer' };
/** Numbers above 0 (learning rate, width). */
export const POSITIVE: Range = { ok: (n) => n > 0, want: 'a number > 0' };
/** Numbers from 0 (time limits). */
export const NON_NEGATIVE: Range = { ok: (n) => n >= 0, want: 'a number >= 0' };
/** Dropout rates. */
export const DROPOUT: Range = { ok: (n) => n >= 0 && n < 1, want: 'a number from 0 to below 1' };
/** Input sizes: the backbones need 32 px; past 2048 px one image outgrows any GPU's buffers. */
export const IMAGE_SIZE = int(32, 2048);
/** How help texts describe {@link IMAGE_SIZE}. */
export const IMAGE_SIZE_HELP = 'square input size, 32 to 2048';

/** Each model's default input size (Keras's) and the smallest input it accepts. */
export const MODEL_SIZES: Record<ModelName, { readonly inputSize: number; readonly minInput: number }> = MODEL_CATALOG;

/** A model name as written in any case, with or without '-' and '_', as its name; null when it is none. */
export function modelName(s: string): ModelName | null {
  const m = s.toLowerCase().replace(/[-_]/g, '');
  return (MODELS as readonly string[]).includes(m) ? (m as ModelName) : null;
}

/** The options that take one of a few words. */
export const CHOICES = {
  bamCombine: ['sum', 'product'],
  classWeights: ['none', 'balanced'],
  monitor: ['val_loss', 'val_auc'],
} as const;

/** The numeric training options and the values each accepts. */
export const TRAIN_RANGES = {
  epochs: int(1),
  batchSize: int(1),
  lr: POSITIVE,
  imageSize: IMAGE_SIZE,
  width: POSITIVE,
  dropout: DROPOUT,
  seed: ANY_INT,
  patience: int(0),
  earlyStopping: int(0),
  maxBatches: int(0),
  maxMinutes: NON_NEGATIVE,
  workers: int(0),
} satisfies Record<string, Range>;

/** The reference study's recipe: InceptionV3 + 3 BAM, Adam 1e-3, batch 32, 100 epochs, 299 px. */
export const TRAIN_DEFAULTS: Omit<TrainOptions, 'data' | 'out'> = {
  model: 'inceptionv3',
  bam: true,
  bamCombine: 'sum',
  imageSize: 299,
  width: 1,
  dropout: 0,
  epochs: 100,
  batchSize: 32,
  lr: 1e-3,
  seed: 0,
  classWeights: 'none',
  balancedSampling: false,
  augment: true,
  plateau: {},
  earlyStopping: 0,
  maxBatches: 0,
  maxMinutes: 0,
  report: true,
  monitor: 'val_loss',
};
