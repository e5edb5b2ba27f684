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
  /** The published model its layers follow, and that model's parameter count without its top (`include_top=False`). */
  readonly reference: { readonly model: string; readonly withoutTop: number };
}

/** The backbones by their command-line names. */
export const MODEL_CATALOG = {
  inceptionv3: {
    arch: 'inceptionV3',
    inputSize: 299,
    minInput: 75,
    input: 'inception',
    reference: { model: 'keras.applications.InceptionV3', withoutTop: 21_802_784 },
  },
  densenet121: {
    arch: 'denseNet121',
    inputSize: 224,
    minInput: 32,
    input: 'densenet',
    reference: { model: 'keras.applications.DenseNet121', withoutTop: 7_037_504 },
  },
  efficientnetb1: {
    arch: 'efficientNetB1',
    inputSize: 240,
    minInput: 32,
    input: 'raw',
    reference: { model: 'keras.applications.EfficientNetB1', withoutTop: 6_575_239 },
  },
  efficientnetv2b2: {
    arch: 'efficientNetV2B2',
    inputSize: 260,
    minInput: 32,
    input: 'raw',
    // 10,178,374 with its 1000-class top (1408 x 1000 + 1000).
    reference: { model: 'keras.applications.EfficientNetV2B2', withoutTop: 8_769_374 },
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
 * Which published count a model's parameter count matches: the reference without its top plus this
 * model's head (Dense features -> classes), compared with `total` (a model with BAM, another width or
 * other input channels differs, and the line says so).
 */
export function referenceNote(name: ModelName, total: number, features: number, classes: number): string {
  const { model, withoutTop } = MODEL_CATALOG[name].reference;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const head = features * classes + classes;
  const want = withoutTop + head;
  const verdict =
    total === want
      ? 'this count matches it'
      : `this model has ${fmt(total - want)} more (BAM, width or input channels differ from the reference)`;
  return (
    `Reference: ${model}(include_top=False) ${fmt(withoutTop)} + Dense ${features} x ${classes} + ${classes} = ` +
    `${fmt(want)}: ${verdict}`
  );
}
