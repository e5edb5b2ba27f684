/**
 * What the training options accept and their defaults, shared by `ossify train`'s flags and sweep grids
 * (the same checks, in the same words). No GPU or model code is loaded here.
 * @module
 */
import { MODEL_CATALOG, MODELS, type ModelName } from '../models/catalog.js';
import type { PlateauOptions } from './plateau.js';
import type { NumberRange } from '../validate.js';

export { MODELS, type ModelName };

/** Input sizes: the backbones need 32 px; past 2048 px one image outgrows any GPU's buffers. */
export const IMAGE_SIZE = { integer: true, min: 32, max: 2048 } as const satisfies NumberRange;
/** How help texts describe {@link IMAGE_SIZE}. */
export const IMAGE_SIZE_HELP = `square input size, ${IMAGE_SIZE.min} to ${IMAGE_SIZE.max}`;

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

const COUNT: NumberRange = { integer: true, min: 1 };
const COUNT_OR_0: NumberRange = { integer: true, min: 0 };

/** The numeric training options and the values each accepts. */
export const TRAIN_RANGES = {
  epochs: COUNT,
  batchSize: COUNT,
  lr: { above: 0 },
  width: { above: 0 },
  dropout: { min: 0, below: 1 },
  seed: { integer: true },
  patience: COUNT_OR_0,
  earlyStopping: COUNT_OR_0,
  maxBatches: COUNT_OR_0,
  maxMinutes: { min: 0 },
  workers: COUNT_OR_0,
} satisfies Record<string, NumberRange>;

/** The training options that have a default, at the reference study's recipe (InceptionV3 + 3 BAM, Adam 1e-3). */
export const TRAIN_DEFAULTS = {
  model: 'inceptionv3' as ModelName,
  /** Three BAM modules at the backbone's stage ends. */
  bam: true,
  /** BAM combine: 'sum' (paper) or 'product' (official code). */
  bamCombine: 'sum' as 'sum' | 'product',
  imageSize: 299,
  /** Channel width multiplier (1 = the Keras architecture). */
  width: 1,
  dropout: 0,
  epochs: 100,
  batchSize: 32,
  lr: 1e-3,
  seed: 0,
  /** 'balanced' weights the loss by n / (2 n_c) (scikit-learn's rule). */
  classWeights: 'none' as 'none' | 'balanced',
  /** Balanced sampling (half of each class per epoch) instead of plain shuffling. */
  balancedSampling: false,
  augment: true,
  /** ReduceLROnPlateau options (Keras defaults: factor 0.1, patience 10, min_delta 1e-4). */
  plateau: {} as Partial<PlateauOptions>,
  /** Stop after this many epochs without val-loss improvement (0: never). */
  earlyStopping: 0,
  /** Cap batches per epoch (smoke tests); 0 = no cap. */
  maxBatches: 0,
  /** Stop after the epoch that crosses this many minutes of this invocation (0 = no limit); rerun to continue. */
  maxMinutes: 0,
  /** Write report.md at the end. */
  report: true,
  /** What picks the best checkpoint and drives the schedules: 'val_loss' (the study's) or 'val_auc' (for imbalance). */
  monitor: 'val_loss' as 'val_loss' | 'val_auc',
};
