/**
 * The backbones this ossify builds, as data: each command-line name with its architecture, the input
 * size Keras (or timm) builds it at by default, the smallest input its downsampling leaves a feature
 * map for, and how images are scaled for it. One place, read by the model builders, the command line,
 * the trainer and the sweep grids (which must not load the models to check their options).
 * @module
 */
import type { Backbone } from '../data/images.js';

/** What is known of a backbone without building it. */
export interface CatalogEntry {
  /** The architecture's name in model configs and checkpoints. */
  readonly arch: string;
  /** Default square input size. */
  readonly inputSize: number;
  /** Smallest square input size. */
  readonly minInput: number;
  /** How pixel values are scaled for it (see `loadImage`). */
  readonly input: Backbone;
}

/** The backbones by their command-line names. */
export const MODEL_CATALOG = {
  inceptionv3: { arch: 'inceptionV3', inputSize: 299, minInput: 75, input: 'inception' },
  densenet121: { arch: 'denseNet121', inputSize: 224, minInput: 32, input: 'densenet' },
  // timm's inception_v4 (tf_in1k: mean 0.5, std 0.5); below 75 px the input is zero-padded to 75.
  inceptionv4: { arch: 'inceptionV4', inputSize: 299, minInput: 32, input: 'inception' },
} as const satisfies Record<string, CatalogEntry>;

/** A backbone this ossify builds, by its command-line name. */
export type ModelName = keyof typeof MODEL_CATALOG;
/** The architectures `buildModel` knows (the names model configs and checkpoints carry). */
export type Architecture = (typeof MODEL_CATALOG)[ModelName]['arch'];
/** The command-line names of the backbones. */
export const MODELS = Object.keys(MODEL_CATALOG) as ModelName[];

/** The catalog entry of an architecture. */
export function entryOf(arch: Architecture): CatalogEntry & { name: ModelName } {
  const name = MODELS.find((n) => MODEL_CATALOG[n].arch === arch);
  if (!name) throw new Error(`ossify: unknown architecture '${String(arch)}'; known: ${MODELS.join(', ')}`);
  return { ...MODEL_CATALOG[name], name };
}
