/**
 * The backbones as data (architecture, names, input sizes, pixel scaling, defaults, reference counts), read by
 * the model builders, the command line, the trainer and the sweep grids without loading the models.
 * @module
 */
import type { Backbone } from '../data/pixels.js';

/** What is known of a backbone without building it. */
export interface CatalogEntry {
  /** The architecture's name in model configs and checkpoints. */
  readonly arch: string;
  /**
   * The built model's name (Keras's or timm's, e.g. `inception_v3`); not the catalog key, which is the command-line
   * name (`inceptionv3`, what `--model` takes).
   */
  readonly modelName: string;
  /** Default square input size. */
  readonly inputSize: number;
  /** Smallest square input size. */
  readonly minInput: number;
  /** How pixel values are scaled for it (see `loadImage`). */
  readonly input: Backbone;
  /** Default BAM positions (top-level layer names): the ends of the stages before the last three downsamplings. */
  readonly bamPositions: readonly string[];
  /** Default dropout before the classifier (absent: 0). */
  readonly dropout?: number;
  /** Default stochastic depth rate (absent: the architecture has none). */
  readonly dropConnect?: number;
  /** The classifier's name (absent: Keras's automatic `dense`), as the reference's checkpoints name it. */
  readonly head?: string;
  /** The implementation whose parameter counts this one reproduces (at width 1, without BAM). */
  readonly reference: Reference;
}

/** A reference implementation's parameter counts without its classifier. */
export interface Reference {
  /** What it is, e.g. `keras.applications.InceptionV3`. */
  readonly name: string;
  /** Trainable parameters without the classifier. */
  readonly trainable: number;
  /** All parameters without the classifier, buffers included (null where the reference counts no buffers). */
  readonly total: number | null;
  /** Features into the classifier (a Dense / Linear with bias adds (features + 1) x classes). */
  readonly features: number;
  /** How the reference counts, where it differs from ours. */
  readonly note?: string;
}

/** The backbones by their command-line names. */
export const MODEL_CATALOG = {
  inceptionv3: {
    arch: 'inceptionV3',
    modelName: 'inception_v3',
    inputSize: 299,
    minInput: 75,
    input: 'inception',
    bamPositions: ['activation_4', 'mixed2', 'mixed7'],
    reference: { name: 'keras.applications.InceptionV3', trainable: 21_768_352, total: 21_802_784, features: 2048 },
  },
  densenet121: {
    arch: 'denseNet121',
    modelName: 'densenet121',
    inputSize: 224,
    minInput: 32,
    input: 'densenet',
    bamPositions: ['conv2', 'conv3', 'conv4'],
    reference: { name: 'keras.applications.DenseNet121', trainable: 6_953_856, total: 7_037_504, features: 1024 },
  },
  efficientnetb1: {
    arch: 'efficientNetB1',
    modelName: 'efficientnetb1',
    inputSize: 240,
    minInput: 32,
    input: 'raw',
    bamPositions: ['block2c', 'block3c', 'block5d'],
    dropout: 0.2,
    dropConnect: 0.2,
    reference: {
      name: 'keras.applications.EfficientNetB1',
      trainable: 6_513_184,
      total: 6_575_239,
      features: 1280,
      note: "the Normalization layer's mean, variance and count are non-trainable weights",
    },
  },
  efficientnetv2b2: {
    arch: 'efficientNetV2B2',
    modelName: 'efficientnetv2-b2',
    inputSize: 260,
    minInput: 32,
    input: 'raw',
    bamPositions: ['block2c', 'block3c', 'block5f'],
    dropout: 0.2,
    dropConnect: 0.2,
    // 10,178,374 with its 1000-class top (1408 x 1000 + 1000).
    reference: { name: 'keras.applications.EfficientNetV2B2', trainable: 8_687_086, total: 8_769_374, features: 1408 },
  },
  // timm's inception_v4 (tf_in1k: mean 0.5, std 0.5); below 75 px the input is zero-padded to 75.
  inceptionv4: {
    arch: 'inceptionV4',
    modelName: 'inception_v4',
    inputSize: 299,
    minInput: 32,
    input: 'inception',
    bamPositions: ['features.4', 'features.9', 'features.17'],
    head: 'last_linear',
    reference: {
      name: "timm's inception_v4",
      trainable: 41_142_816,
      total: null,
      features: 1536,
      note: "its batch norms' running statistics are buffers, not parameters; here they are non-trainable",
    },
  },
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

/**
 * A line for `ossify summary`: the reference's counts with the same classifier, and whether this model's
 * counts match them (they do at width 1 without BAM).
 */
export function referenceLine(
  name: ModelName,
  model: { numClasses: number; widthMultiplier: number; bam: boolean },
  counts: { trainable: number; total: number },
): string {
  const r: Reference = MODEL_CATALOG[name].reference;
  const head = (r.features + 1) * model.numClasses;
  const n = (v: number) => v.toLocaleString('en-US');
  const want = { trainable: r.trainable + head, total: r.total === null ? null : r.total + head };
  const counted = `${n(want.trainable)} trainable${want.total === null ? '' : `, ${n(want.total)} in all`}`;
  const same = counts.trainable === want.trainable && (want.total === null || counts.total === want.total);
  const why = [model.bam ? 'BAM modules' : '', model.widthMultiplier !== 1 ? `width ${model.widthMultiplier}` : '']
    .filter(Boolean)
    .join(', ');
  return (
    `Reference: ${r.name} with a ${model.numClasses}-class classifier: ${counted}` +
    `${r.note ? ` (${r.note})` : ''}; ` +
    (same ? 'this model matches it.' : `this model differs${why ? ` (${why})` : ''}.`)
  );
}
